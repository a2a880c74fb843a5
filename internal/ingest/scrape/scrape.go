// Package scrape runs Prometheus's pull model inside Argus: Prometheus's
// service discovery and scrape managers, configured by the scrape_configs
// of the Argus config file, appending to the metrics store.
//
// Static targets, file_sd_configs and http_sd_configs (registered by
// package config, which parses them) are available;
// relabelling, authentication, intervals and timeouts behave as in
// Prometheus because they are Prometheus's code.
package scrape

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	promscrape "github.com/prometheus/prometheus/scrape"
	"github.com/prometheus/prometheus/storage"
)

// Scraper scrapes the configured targets. Its lifecycle is New, Start,
// Shutdown; ApplyConfig may be called at any time after New.
type Scraper struct {
	log       *slog.Logger
	discovery *discovery.Manager
	manager   *promscrape.Manager
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	once      sync.Once
}

// New builds the discovery and scrape managers, appending to app and
// registering their metrics (prometheus_target_*, prometheus_sd_*) on reg.
func New(app storage.AppendableV2, reg prometheus.Registerer, log *slog.Logger) (*Scraper, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sdMetrics, err := discovery.CreateAndRegisterSDMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("service discovery metrics: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := discovery.NewManager(ctx, log.With("component", "discovery"), reg, sdMetrics, discovery.Name("scrape"))
	if d == nil {
		cancel()
		return nil, fmt.Errorf("service discovery manager could not be created")
	}
	m, err := promscrape.NewManager(&promscrape.Options{}, log.With("component", "scrape"), nil, nil, app, reg)
	if err != nil {
		cancel()
		return nil, err
	}
	return &Scraper{log: log, discovery: d, manager: m, cancel: cancel}, nil
}

// ApplyConfig points the scraper at cfg's scrape jobs: new jobs start,
// removed ones stop, changed ones restart; unchanged targets keep their
// state.
func (s *Scraper) ApplyConfig(cfg *promconfig.Config) error {
	// The scrape manager first, as Prometheus does: it must know a job's
	// settings before discovery hands it the job's targets.
	if err := s.manager.ApplyConfig(cfg); err != nil {
		return err
	}
	jobs, err := cfg.GetScrapeConfigs()
	if err != nil {
		return err
	}
	sd := make(map[string]discovery.Configs, len(jobs))
	for _, j := range jobs {
		sd[j.JobName] = j.ServiceDiscoveryConfigs
	}
	return s.discovery.ApplyConfig(sd)
}

// Start runs discovery and scraping in the background.
func (s *Scraper) Start() {
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		// Shutdown cancels discovery's context: that is no error.
		if err := s.discovery.Run(); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Error("service discovery stopped", "error", err)
		}
	}()
	go func() {
		defer s.wg.Done()
		if err := s.manager.Run(s.discovery.SyncCh()); err != nil {
			s.log.Error("scrape manager stopped", "error", err)
		}
	}()
}

// Targets returns what /api/v1/targets reports: the scrape manager.
func (s *Scraper) Targets() *promscrape.Manager { return s.manager }

// Shutdown stops scraping and discovery and waits for them. It is
// idempotent and safe without Start.
func (s *Scraper) Shutdown() {
	s.once.Do(func() {
		s.manager.Stop()
		s.cancel()
		s.wg.Wait()
	})
}
