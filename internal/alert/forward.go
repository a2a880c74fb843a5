package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	"github.com/prometheus/prometheus/notifier"
	"github.com/prometheus/prometheus/rules"
)

// Forwarder sends firing and resolved alerts to external Alertmanagers,
// as a Prometheus server does: the alertmanagers of the config's
// alerting section (Prometheus's format, with service discovery and
// alert_relabel_configs), through Prometheus's notifier, which queues,
// batches and retries. Its lifecycle is NewForwarder, ApplyConfig, Start,
// Shutdown.
type Forwarder struct {
	log       *slog.Logger
	manager   *notifier.Manager
	discovery *discovery.Manager
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	started   bool
	once      sync.Once
}

// NewForwarder returns a forwarder with no Alertmanager configured.
// Its notifier's metrics (prometheus_notifications_*) go to reg.
func NewForwarder(reg prometheus.Registerer, log *slog.Logger) (*Forwarder, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The discovery mechanisms' own metrics are registered once, by the
	// scrape discovery; this manager's go to a registry of their own.
	sdMetrics, err := discovery.CreateAndRegisterSDMetrics(prometheus.NewRegistry())
	if err != nil {
		return nil, fmt.Errorf("alertmanager discovery metrics: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := discovery.NewManager(ctx, log.With("component", "discovery"), reg, sdMetrics, discovery.Name("notify"))
	if d == nil {
		cancel()
		return nil, errors.New("alertmanager discovery could not be created")
	}
	m := notifier.NewManager(&notifier.Options{QueueCapacity: 10000, DrainOnShutdown: true, Registerer: reg}, model.UTF8Validation, log.With("component", "notifier"))
	return &Forwarder{log: log, manager: m, discovery: d, cancel: cancel}, nil
}

// ApplyConfig points the forwarder at cfg's alertmanagers.
func (f *Forwarder) ApplyConfig(cfg *promconfig.Config) error {
	if err := f.manager.ApplyConfig(cfg); err != nil {
		return fmt.Errorf("alerting: %w", err)
	}
	sd := map[string]discovery.Configs{}
	for name, am := range cfg.AlertingConfig.AlertmanagerConfigs.ToMap() {
		sd[name] = am.ServiceDiscoveryConfigs
	}
	return f.discovery.ApplyConfig(sd)
}

// Notify returns the function the rules engine hands alerts to;
// externalURL (called at each send) is the generator URL's base.
func (f *Forwarder) Notify(externalURL func() string) rules.NotifyFunc {
	return func(ctx context.Context, expr string, alerts ...*rules.Alert) {
		rules.SendAlerts(f.manager, externalURL())(ctx, expr, alerts...)
	}
}

// Start runs discovery and the send queue.
func (f *Forwarder) Start() {
	f.started = true
	f.wg.Add(2)
	go func() {
		defer f.wg.Done()
		if err := f.discovery.Run(); err != nil && !errors.Is(err, context.Canceled) {
			f.log.Error("alertmanager discovery stopped", "error", err)
		}
	}()
	go func() {
		defer f.wg.Done()
		f.manager.Run(f.discovery.SyncCh())
	}()
}

// Shutdown sends what is queued (while the Alertmanagers answer) and
// stops. It is idempotent.
func (f *Forwarder) Shutdown() {
	f.once.Do(func() {
		if f.started {
			f.manager.Stop()
		}
		f.cancel()
		f.wg.Wait()
	})
}
