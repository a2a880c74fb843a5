// Package app wires Argus's subsystems into one server: the stores, the
// ingest receivers, the query APIs and the listeners they are served on.
// Only cmd/argus and end-to-end tests import it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"

	"github.com/argus-obs/argus/internal/alert"
	"github.com/argus-obs/argus/internal/api/alerts"
	"github.com/argus-obs/argus/internal/api/correlate"
	"github.com/argus-obs/argus/internal/api/dashboards"
	"github.com/argus-obs/argus/internal/api/jaeger"
	"github.com/argus-obs/argus/internal/api/loki"
	promapi "github.com/argus-obs/argus/internal/api/prometheus"
	"github.com/argus-obs/argus/internal/buildinfo"
	"github.com/argus-obs/argus/internal/config"
	"github.com/argus-obs/argus/internal/dashboard"
	"github.com/argus-obs/argus/internal/derive"
	"github.com/argus-obs/argus/internal/ingest/otlp"
	"github.com/argus-obs/argus/internal/ingest/otlpmetrics"
	"github.com/argus-obs/argus/internal/ingest/promremote"
	"github.com/argus-obs/argus/internal/ingest/scrape"
	"github.com/argus-obs/argus/internal/query/logql"
	"github.com/argus-obs/argus/internal/store/colstore"
	"github.com/argus-obs/argus/internal/store/exemplars"
	"github.com/argus-obs/argus/internal/store/logs"
	"github.com/argus-obs/argus/internal/store/metrics"
	"github.com/argus-obs/argus/internal/store/traces"
	"github.com/argus-obs/argus/internal/ui"
)

// Options are the process facts the server runs with (flags). Policy
// comes from the config file.
type Options struct {
	HTTPAddr     string // web UI, query APIs, OTLP/HTTP, /metrics
	OTLPGRPCAddr string // OTLP/gRPC
	OTLPHTTPAddr string // OTLP/HTTP on its conventional port
	// SyslogAddr, when set, receives syslog over TCP and UDP.
	SyslogAddr string
	DataDir    string
	Retention  time.Duration
	// ConfigFile is the policy file; empty means defaults.
	ConfigFile string
	Logger     *slog.Logger
	// FlushInterval overrides how often the column store writes parts;
	// zero keeps its default.
	FlushInterval time.Duration
}

// App is a running Argus server. Its lifecycle is New, Start, Shutdown.
type App struct {
	opts     Options
	log      *slog.Logger
	registry *prometheus.Registry

	traceStore   *colstore.Store
	logStore     *colstore.Store
	metricsStore *metrics.Store
	// exemplarStore keeps every accepted exemplar for the retention.
	exemplarStore *colstore.Store
	deriver       *derive.Deriver
	rules         *alert.Rules
	forwarder     *alert.Forwarder // to external Alertmanagers
	notifications *alert.Notifications
	actions       *alert.Actions
	actionStore   *colstore.Store // the actions audit log
	// logRules evaluates the LogQL of rules over logs; set once the log
	// store is open, before any rule runs.
	logRules    *logql.Engine
	logQuerier  logql.Querier
	alertStore  *colstore.Store // alert history
	externalURL *url.URL        // filled in by Start, once the address is known
	receiver    *otlp.Receiver
	logIngest   logIngest
	scraper     *scrape.Scraper
	promAPI     *promapi.API
	// dashboards holds the config's dashboard files, swapped on reload,
	// and makes the built-ins.
	dashboards *dashboard.Catalog
	// promCfg is the Prometheus-format config in force (scrape jobs with
	// the self-scrape job added); nil until Start knows the HTTP address.
	promCfg atomic.Pointer[promconfig.Config]

	httpServer     *http.Server
	otlpHTTPServer *http.Server
	grpcServer     *grpc.Server
	listeners      []net.Listener

	cfgMu sync.Mutex
	cfg   atomic.Pointer[config.Config]

	ready    atomic.Bool
	errc     chan error
	shutdown sync.Once
	shutErr  error
	reloads  *prometheus.CounterVec
}

// New opens the data directory and builds every subsystem. It binds no
// port; Start does.
func New(opts Options) (_ *App, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	a := &App{opts: opts, log: opts.Logger, registry: prometheus.NewRegistry(), errc: make(chan error, 4)}
	cfg := config.Default()
	if opts.ConfigFile != "" {
		var err error
		if cfg, err = config.LoadFile(opts.ConfigFile); err != nil {
			return nil, err
		}
	}
	a.cfg.Store(cfg)

	a.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfoCollector(),
	)
	a.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "argus_config_reloads_total", Help: "Config reloads by result.",
	}, []string{"result"})
	a.registry.MustRegister(a.reloads)

	// What is opened is closed again if a later step fails.
	var opened []func() error
	defer func() {
		if err != nil {
			for i := len(opened) - 1; i >= 0; i-- {
				opened[i]()
			}
		}
	}()
	a.metricsStore, err = metrics.Open(metrics.Options{
		Dir:        filepath.Join(opts.DataDir, "metrics"),
		Retention:  opts.Retention,
		Logger:     a.log.With("component", "tsdb"),
		Registerer: a.registry,
	})
	if err != nil {
		return nil, fmt.Errorf("open metrics store: %w", err)
	}
	opened = append(opened, a.metricsStore.Close)
	if a.exemplarStore, err = a.openColumnStore("exemplars", "exemplar store", 0); err != nil {
		return nil, err
	}
	opened = append(opened, a.exemplarStore.Close)
	exemplarStore := exemplars.New(a.exemplarStore, a.log.With("component", "exemplars"))
	// Every writer of samples goes through the exemplar store, so the
	// exemplars the TSDB accepts are kept for the retention.
	appendable := exemplarStore.Appendable(a.metricsStore.DB())
	a.deriver = derive.New(deriveOptions(cfg, appendable, a.log.With("component", "derive"), a.registry))
	if a.traceStore, err = a.openColumnStore("traces", "trace store", 0); err != nil {
		return nil, err
	}
	opened = append(opened, a.traceStore.Close)
	traceStore := traces.New(a.traceStore)
	a.receiver, err = otlp.New(otlp.Options{
		// Spans feed the span metrics and service graph once stored.
		Writer:          derive.Writer{Next: traceStore, Deriver: a.deriver},
		Logger:          a.log,
		Registerer:      a.registry,
		MaxRequestBytes: cfg.Limits.EffectiveMaxRequestBytes(),
	})
	if err != nil {
		return nil, err
	}
	if a.logStore, err = a.openColumnStore("logs", "log store", logs.BlockRows); err != nil {
		return nil, err
	}
	opened = append(opened, a.logStore.Close)
	logStore := logs.New(a.logStore)
	a.logRules, a.logQuerier = logql.NewEngine(logql.EngineOptions{}), logStore
	if err := a.logIngest.build(a, cfg, logStore); err != nil {
		return nil, err
	}
	lokiAPI, err := loki.New(loki.Options{Reader: logStore, Logger: a.log.With("component", "loki-api"), Prefix: "/loki"})
	if err != nil {
		return nil, err
	}
	if a.alertStore, err = a.openColumnStore("alerts", "alert store", 0); err != nil {
		return nil, err
	}
	opened = append(opened, a.alertStore.Close)
	history, err := alert.NewHistory(context.Background(), a.alertStore, a.log.With("component", "alerts"))
	if err != nil {
		return nil, err
	}
	a.externalURL = &url.URL{Scheme: "http"}
	if a.actionStore, err = a.openColumnStore("actions", "actions audit store", 0); err != nil {
		return nil, err
	}
	opened = append(opened, a.actionStore.Close)
	a.actions = alert.NewActions(a.actionStore, a.externalURL.String, a.log.With("component", "actions"))
	if err := a.actions.Apply(cfg.Actions); err != nil {
		return nil, err
	}
	if a.forwarder, err = alert.NewForwarder(a.registry, a.log.With("component", "alerting")); err != nil {
		return nil, err
	}
	a.notifications, err = alert.NewNotifications(alert.NotificationsOptions{
		Dir:         filepath.Join(opts.DataDir, "alertmanager"),
		Retention:   opts.Retention,
		ExternalURL: func() *url.URL { return a.externalURL },
		Prefix:      "/alertmanager",
		Logger:      a.log.With("component", "notifications"),
		Registerer:  a.registry,
	})
	if err != nil {
		return nil, err
	}
	opened = append(opened, func() error { a.notifications.Shutdown(); return nil })
	// History events drive the actions, and acknowledgements mute.
	history.OnEvents(func(events []alert.Event) {
		a.actions.OnEvents(events)
		a.notifications.OnEvents(events)
	})
	notify, forward := a.notifications.Notify(), a.forwarder.Notify(a.externalURL.String)
	a.rules = alert.NewRules(alert.RulesOptions{
		History: history,
		Logs:    a.evalLogRule,
		// Alerts go to Argus's own notifications and to any external
		// Alertmanager.
		Notify: func(ctx context.Context, expr string, alerts ...*rules.Alert) {
			notify(ctx, expr, alerts...)
			forward(ctx, expr, alerts...)
		},
		Queryable:   a.metricsStore.DB(),
		Appendable:  appendable,
		Engine:      func() promql.QueryEngine { return a.promAPI.Engine() },
		ExternalURL: a.externalURL,
		Logger:      a.log.With("component", "rules"),
		Registerer:  a.registry,
	})
	a.scraper, err = scrape.New(appendable, a.registry, a.log)
	if err != nil {
		return nil, err
	}
	a.promAPI, err = promapi.New(promapi.Options{
		Store:         a.metricsStore,
		Appendable:    appendable,
		Exemplars:     exemplarStore,
		Rules:         a.rules.Manager(),
		Targets:       a.scraper.Targets(),
		Config:        a.prometheusConfig,
		ListenAddress: opts.HTTPAddr,
		Logger:        a.log.With("component", "prometheus-api"),
		Registerer:    a.registry,
		Gatherer:      a.registry,
		Flags: map[string]string{
			"http.addr": opts.HTTPAddr, "data.dir": opts.DataDir, "retention": opts.Retention.String(),
		},
	})
	if err != nil {
		return nil, err
	}
	opened = append(opened, a.promAPI.Close)
	promAPI := a.promAPI
	// The services with a built-in dashboard are those the Jaeger API
	// lists: the services that sent spans.
	a.dashboards = dashboard.NewCatalog(traceStore.Services)
	a.applyDashboards(cfg)
	jaegerAPI, err := jaeger.New(jaeger.Options{Reader: traceStore, Metrics: promAPI, Logger: a.log, Prefix: "/jaeger"})
	if err != nil {
		return nil, err
	}
	// OTLP/HTTP metrics at the standard path go to the same Prometheus
	// receiver that serves /api/v1/otlp/v1/metrics.
	otlpMetrics := a.limitBody(otlpmetrics.PartialSuccess(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/api/v1/otlp/v1/metrics"
		promAPI.ServeHTTP(w, r2)
	}), a.registry))

	api := newAPIMetrics(a.registry)
	mux := http.NewServeMux()
	otlpMux := http.NewServeMux()
	mux.Handle("POST /v1/traces", api.instrument("otlp_traces", a.receiver))
	mux.Handle("/jaeger/", api.instrument("jaeger", jaegerAPI))
	mux.Handle("POST /v1/metrics", api.instrument("otlp_metrics", otlpMetrics))
	mux.Handle("/loki/", api.instrument("loki", lokiAPI))
	mux.Handle("/alertmanager/", api.instrument("alertmanager", a.notifications.Handler()))
	alertsAPI := alerts.New(history, a.actions, a.log.With("component", "alerts-api"))
	mux.Handle("/api/argus/v1/alerts/", api.instrument("alerts", alertsAPI))
	mux.Handle("/api/argus/v1/actions/", api.instrument("actions", alertsAPI))
	mux.Handle("GET /api/argus/v1/correlate/{id}", api.instrument("correlate", correlate.New(logStore, traceStore, exemplarStore, a.log)))
	dashboardsAPI := api.instrument("dashboards", dashboards.New(a.dashboards, a.log.With("component", "dashboards-api")))
	mux.Handle("/api/argus/v1/dashboards", dashboardsAPI)
	mux.Handle("/api/argus/v1/dashboards/", dashboardsAPI)
	a.logIngest.mount(mux, otlpMux, api)
	mux.Handle("/api/v1/", api.instrument("prometheus", a.limitBody(promAPI)))
	mux.Handle("POST /api/v1/write", api.instrument("remote_write",
		a.limitBody(promremote.New(appendable, a.registry, a.log.With("component", "remote-write")))))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", a.serveReady)
	mux.Handle("GET /metrics", promhttpHandler(a.registry))
	mux.HandleFunc("POST /-/reload", a.serveReload)
	// The web UI answers every other path: its assets, and index.html for
	// the app's own routes. GET / stays shared with Elasticsearch clients.
	webUI := ui.New()
	mux.Handle("/", webUI)
	mux.Handle("GET /{$}", a.logIngest.rootHandler(http.HandlerFunc(webUI.ServeIndex)))
	// Profiles, as Prometheus and Jaeger serve them: the first thing asked
	// for when a server is slow or large. The port is loopback by default.
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	a.httpServer = newHTTPServer(a.logIngest.wrap(mux, api))

	otlpMux.Handle("POST /v1/traces", api.instrument("otlp_traces", a.receiver))
	otlpMux.Handle("POST /v1/metrics", api.instrument("otlp_metrics", otlpMetrics))
	a.otlpHTTPServer = newHTTPServer(otlpMux)

	a.grpcServer = grpc.NewServer(
		grpc.MaxRecvMsgSize(int(cfg.Limits.EffectiveMaxRequestBytes())),
		grpc.ConnectionTimeout(30*time.Second),
	)
	ptraceotlp.RegisterGRPCServer(a.grpcServer, a.receiver.GRPCServer())
	pmetricotlp.RegisterGRPCServer(a.grpcServer, otlpmetrics.New(otlpMetrics, a.log))
	plogotlp.RegisterGRPCServer(a.grpcServer, a.logIngest.otlp.GRPCServer())
	return a, nil
}

// openColumnStore opens the column store of one signal under the data
// directory, with the retention and flush interval every store shares;
// what names it in errors, and blockRows is its block size (0: the
// column store's default).
func (a *App) openColumnStore(name, what string, blockRows int) (*colstore.Store, error) {
	cs, err := colstore.Open(colstore.Options{
		Dir:           filepath.Join(a.opts.DataDir, name),
		Name:          name,
		BlockRows:     blockRows,
		Retention:     a.opts.Retention,
		FlushInterval: a.opts.FlushInterval,
		Logger:        a.log,
		Registerer:    a.registry,
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", what, err)
	}
	return cs, nil
}

// newHTTPServer applies the timeouts every Argus listener uses, so a slow
// or stuck client cannot hold a connection forever.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
	}
}

// Start binds every listener and serves in the background. It returns an
// error if a port cannot be bound; later server failures arrive on Err.
func (a *App) Start(ctx context.Context) error {
	var lc net.ListenConfig
	bind := func(addr, what string) (net.Listener, error) {
		l, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			for _, l := range a.listeners {
				l.Close()
			}
			return nil, fmt.Errorf("listen %s on %s: %w", what, addr, err)
		}
		a.listeners = append(a.listeners, l)
		return l, nil
	}
	httpL, err := bind(a.opts.HTTPAddr, "http")
	if err != nil {
		return err
	}
	grpcL, err := bind(a.opts.OTLPGRPCAddr, "otlp grpc")
	if err != nil {
		return err
	}
	otlpHTTPL, err := bind(a.opts.OTLPHTTPAddr, "otlp http")
	if err != nil {
		return err
	}
	serve := func(name string, f func() error) {
		go func() {
			if err := f(); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, grpc.ErrServerStopped) {
				a.errc <- fmt.Errorf("%s server: %w", name, err)
			}
		}()
	}
	serve("http", func() error { return a.httpServer.Serve(httpL) })
	serve("otlp http", func() error { return a.otlpHTTPServer.Serve(otlpHTTPL) })
	serve("otlp grpc", func() error { return a.grpcServer.Serve(grpcL) })
	syslogTCP, syslogUDP, err := a.logIngest.start(ctx)
	if err != nil {
		for _, l := range a.listeners {
			l.Close()
		}
		return err
	}
	// Scraping starts once the HTTP address is known: the self-scrape job
	// targets it.
	if err := a.applyScrapeConfig(a.cfg.Load()); err != nil {
		return err
	}
	a.scraper.Start()
	a.forwarder.Start()
	a.externalURL.Host = httpL.Addr().String()
	if err := a.notifications.Apply(a.cfg.Load().NotificationConfig()); err != nil {
		return err
	}
	if err := a.applyRules(a.cfg.Load()); err != nil {
		return err
	}
	a.rules.Start()
	a.deriver.Start(ctx)
	a.ready.Store(true)
	ready := []any{"http", httpL.Addr().String(), "otlp_grpc", grpcL.Addr().String(), "otlp_http", otlpHTTPL.Addr().String()}
	if syslogTCP != "" {
		ready = append(ready, "syslog_tcp", syslogTCP, "syslog_udp", syslogUDP)
	}
	a.log.Info("argus is ready", append(ready, "data_dir", a.opts.DataDir, "version", buildinfo.Get().Version)...)
	return nil
}

// Addrs returns the bound addresses (useful with port 0): HTTP, OTLP/gRPC,
// OTLP/HTTP. Valid after Start.
func (a *App) Addrs() (httpAddr, grpcAddr, otlpHTTPAddr string) {
	return a.listeners[0].Addr().String(), a.listeners[1].Addr().String(), a.listeners[2].Addr().String()
}

// Err delivers the failure of a server after Start.
func (a *App) Err() <-chan error { return a.errc }

// Reload re-reads the config file and applies it. An invalid file is
// reported and the running configuration stays.
func (a *App) Reload() error {
	a.cfgMu.Lock()
	defer a.cfgMu.Unlock()
	if a.opts.ConfigFile == "" {
		a.reloads.WithLabelValues("success").Inc()
		return nil
	}
	cfg, err := config.LoadFile(a.opts.ConfigFile)
	if err != nil {
		a.reloads.WithLabelValues("failure").Inc()
		a.log.Error("config reload failed; keeping the running config", "error", err)
		return err
	}
	if err := a.applyScrapeConfig(cfg); err != nil {
		a.reloads.WithLabelValues("failure").Inc()
		a.log.Error("config reload failed; keeping the running config", "error", err)
		return err
	}
	if err := a.applyRules(cfg); err != nil {
		a.reloads.WithLabelValues("failure").Inc()
		a.log.Error("config reload failed; keeping the running rules", "error", err)
		return err
	}
	if err := a.notifications.Apply(cfg.NotificationConfig()); err != nil {
		a.reloads.WithLabelValues("failure").Inc()
		a.log.Error("config reload failed; keeping the running notifications", "error", err)
		return err
	}
	if err := a.actions.Apply(cfg.Actions); err != nil { // validated at load: cannot fail
		return err
	}
	a.applyDashboards(cfg) // loaded and validated with the config
	a.receiver.SetMaxRequestBytes(cfg.Limits.EffectiveMaxRequestBytes())
	a.logIngest.applyLimits(cfg.Limits)
	a.deriver.ApplyOptions(deriveOptions(cfg, nil, nil, nil))
	a.cfg.Store(cfg)
	a.reloads.WithLabelValues("success").Inc()
	a.log.Info("config reloaded", "file", a.opts.ConfigFile)
	return nil
}

// applyScrapeConfig applies cfg's Prometheus sections: the scraper gets
// its jobs plus the self-scrape job for the bound HTTP address, the
// forwarder its alertmanagers.
func (a *App) applyScrapeConfig(cfg *config.Config) error {
	if len(a.listeners) == 0 {
		return nil // not started: Start applies it
	}
	prom, err := cfg.Prometheus(a.listeners[0].Addr().String())
	if err != nil {
		return err
	}
	if err := a.scraper.ApplyConfig(prom); err != nil {
		return fmt.Errorf("apply scrape config: %w", err)
	}
	if err := a.forwarder.ApplyConfig(prom); err != nil {
		return err
	}
	a.promCfg.Store(prom)
	return nil
}

// applyRules loads cfg's rule files; groups without an interval of their
// own are evaluated every global evaluation_interval.
func (a *App) applyRules(cfg *config.Config) error {
	interval := time.Duration(a.prometheusConfig().GlobalConfig.EvaluationInterval)
	if err := a.rules.Apply(cfg.RuleFilePaths(), interval); err != nil {
		return err
	}
	if files := cfg.RuleFilePaths(); len(files) > 0 {
		a.log.Info("rules loaded", "files", len(files), "groups", len(a.rules.Manager().RuleGroups()))
	}
	return nil
}

// applyDashboards serves cfg's dashboard files, and logs what their
// Grafana conversions left out.
func (a *App) applyDashboards(cfg *config.Config) {
	ds := cfg.Dashboards()
	a.dashboards.SetFiles(ds)
	if len(cfg.DashboardFiles) == 0 {
		return
	}
	for _, d := range ds {
		for _, w := range d.Warnings {
			a.log.Warn("dashboard converted from Grafana without all of it", "file", d.Path, "warning", w)
		}
	}
	a.log.Info("dashboards loaded", "dashboards", len(ds))
}

// evalLogRule evaluates a rule's LogQL metric query at ts, for the rules
// engine, as a PromQL vector.
func (a *App) evalLogRule(ctx context.Context, query string, ts time.Time) (promql.Vector, error) {
	res, err := a.logRules.Query(ctx, a.logQuerier, logql.Params{Query: query, Start: ts, End: ts})
	if err != nil {
		return nil, err
	}
	switch res.Type {
	case logql.ValueVector:
		out := make(promql.Vector, 0, len(res.Vector))
		for _, s := range res.Vector {
			out = append(out, promql.Sample{Metric: s.Labels, T: ts.UnixMilli(), F: s.V})
		}
		return out, nil
	case logql.ValueScalar:
		return promql.Vector{{Metric: labels.EmptyLabels(), T: ts.UnixMilli(), F: res.Scalar.V}}, nil
	}
	return nil, fmt.Errorf("rule over logs: %q is not a metric query", query)
}

// prometheusConfig returns the Prometheus-format config in force, for the
// Prometheus API (its /status/config and OTLP translation settings).
func (a *App) prometheusConfig() promconfig.Config {
	if c := a.promCfg.Load(); c != nil {
		return *c
	}
	return promconfig.DefaultConfig
}

// Shutdown stops taking requests, lets those in flight finish (until ctx
// ends), then flushes and closes the stores, so everything acknowledged
// is in parts on disk. It is idempotent.
func (a *App) Shutdown(ctx context.Context) error {
	a.shutdown.Do(func() {
		a.ready.Store(false)
		var errs []error
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			stopped := make(chan struct{})
			go func() { a.grpcServer.GracefulStop(); close(stopped) }()
			select {
			case <-stopped:
			case <-ctx.Done():
				a.grpcServer.Stop()
			}
		}()
		for _, srv := range []*http.Server{a.httpServer, a.otlpHTTPServer} {
			if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs = append(errs, err)
				srv.Close()
			}
		}
		wg.Wait()
		if err := a.logIngest.shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		a.scraper.Shutdown()
		a.rules.Shutdown()
		a.forwarder.Shutdown()
		a.notifications.Shutdown()
		a.actions.Shutdown()
		// The last derived samples go in before the metrics store closes.
		if err := a.deriver.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("write derived metrics: %w", err))
		}
		if err := a.traceStore.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close trace store: %w", err))
		}
		if err := a.logStore.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close log store: %w", err))
		}
		if err := a.promAPI.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close query engine: %w", err))
		}
		if err := a.metricsStore.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close metrics store: %w", err))
		}
		if err := a.exemplarStore.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close exemplar store: %w", err))
		}
		if err := a.alertStore.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close alert store: %w", err))
		}
		if err := a.actionStore.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close actions audit store: %w", err))
		}
		a.shutErr = errors.Join(errs...)
	})
	return a.shutErr
}

// limitBody caps request bodies at the configured ingest limit (413
// beyond it), for handlers that do not enforce one themselves.
func (a *App) limitBody(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := a.cfg.Load().Limits.EffectiveMaxRequestBytes()
		if r.ContentLength > limit {
			http.Error(w, fmt.Sprintf("request body of %d bytes exceeds the limit of %d", r.ContentLength, limit), http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		h.ServeHTTP(w, r)
	})
}

func (a *App) serveReady(w http.ResponseWriter, _ *http.Request) {
	if !a.ready.Load() {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

func (a *App) serveReload(w http.ResponseWriter, _ *http.Request) {
	if err := a.Reload(); err != nil {
		http.Error(w, "reload failed: "+err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprintln(w, "config reloaded")
}

// deriveOptions turns the config's derive section into the deriver's
// options. app, log and reg may be nil on reload, where the deriver keeps
// its own.
func deriveOptions(cfg *config.Config, app storage.AppendableV2, log *slog.Logger, reg prometheus.Registerer) derive.Options {
	d := cfg.Derive
	return derive.Options{
		Appendable: app,
		Interval:   time.Duration(d.Interval),
		SpanMetrics: derive.SpanMetricsOptions{
			Disabled:            d.SpanMetrics.Disabled,
			Dimensions:          d.SpanMetrics.Dimensions,
			MaxSeriesPerService: d.SpanMetrics.MaxSeriesPerService,
			Buckets:             d.SpanMetrics.Buckets,
		},
		ServiceGraph: derive.ServiceGraphOptions{
			Disabled:        d.ServiceGraph.Disabled,
			Wait:            time.Duration(d.ServiceGraph.Wait),
			MaxPendingEdges: d.ServiceGraph.MaxPendingEdges,
			PeerAttributes:  d.ServiceGraph.PeerAttributes,
			Buckets:         d.ServiceGraph.Buckets,
		},
		Logger:     log,
		Registerer: reg,
	}
}
