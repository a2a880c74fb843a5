// Package config loads Argus's policy file: the YAML settings that may
// change while the server runs (scrape targets, rule files, dashboard
// files, notifications, actions, limits, derived metrics). Process facts
// such as listen addresses and the data directory are flags, not config.
//
// Load validates the whole file and reports every problem at once, so a
// bad edit is fixed in one go. A reload that fails validation leaves the
// running configuration in place.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	amconfig "github.com/prometheus/alertmanager/config"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	// The service discoveries scrape_configs may use register themselves
	// with Prometheus's config parser on import.
	_ "github.com/prometheus/prometheus/discovery/file" // file_sd_configs
	_ "github.com/prometheus/prometheus/discovery/http" // http_sd_configs
	promyaml "go.yaml.in/yaml/v2"
	"go.yaml.in/yaml/v3"

	"github.com/argus-obs/argus/internal/alert"
	"github.com/argus-obs/argus/internal/dashboard"
)

// Config is the policy file. The zero value is the default configuration.
//
// An example, with one scrape job in Prometheus's format:
//
//	global:
//	  scrape_interval: 15s
//	scrape_configs:
//	  - job_name: shop
//	    static_configs:
//	      - targets: ["127.0.0.1:8080"]
//	limits:
//	  max_request_bytes: 16MiB
type Config struct {
	// Global, ScrapeConfigs and Alerting are Prometheus's own
	// configuration sections, in Prometheus's format, so an existing
	// prometheus.yml's scrape jobs and alertmanagers work unchanged. They
	// are validated by Prometheus's config package, which returns the
	// parsed form.
	Global        yaml.Node `yaml:"global"`
	ScrapeConfigs yaml.Node `yaml:"scrape_configs"`
	// Alerting names the Alertmanagers firing alerts are forwarded to,
	// in Prometheus's format (alertmanagers, alert_relabel_configs).
	Alerting yaml.Node `yaml:"alerting"`

	Limits Limits `yaml:"limits"`

	// RuleFiles are Prometheus rule files, as in prometheus.yml: paths or
	// globs, relative to this file's directory. Each is validated at load
	// and on reload.
	RuleFiles []string `yaml:"rule_files"`

	// DashboardFiles are dashboard files (Argus's YAML or JSON, or
	// Grafana's JSON): paths or globs, relative to this file's
	// directory, as rule_files. Each is validated at load and on reload.
	DashboardFiles []string `yaml:"dashboard_files"`

	// Notifications is an Alertmanager configuration (route, receivers,
	// inhibit_rules, templates, time_intervals) in Alertmanager's own
	// format: how Argus groups, routes and delivers its alerts.
	Notifications yaml.Node `yaml:"notifications"`

	// Actions are the automated responses to alerts.
	Actions alert.ActionsConfig `yaml:"actions"`

	// Derive configures the metrics derived from spans at ingest.
	Derive Derive `yaml:"derive"`

	// notifications is Notifications parsed; the default when absent.
	notifications *amconfig.Config

	// ruleFiles are RuleFiles with the globs expanded, in order.
	ruleFiles []string
	// dashboards are the dashboards of DashboardFiles, loaded.
	dashboards []*dashboard.Dashboard

	// dir is the directory of the file the config came from: relative
	// paths in scrape jobs (file_sd files, password and TLS files) are
	// resolved against it, as Prometheus does.
	dir string
	// promText is the file with every line outside the Prometheus
	// sections blanked, so Prometheus's loader sees only its own sections
	// and its errors name the lines of the user's file.
	promText string
}

// Limits bound what clients may send.
type Limits struct {
	// MaxRequestBytes caps one ingest request body, compressed and
	// decompressed alike. Zero means DefaultMaxRequestBytes.
	MaxRequestBytes ByteSize `yaml:"max_request_bytes"`
	// MaxLogLineBytes caps one log record's line (Loki's max_line_size);
	// longer records are refused alone. Zero means the ingest default,
	// 256KiB.
	MaxLogLineBytes ByteSize `yaml:"max_log_line_bytes"`
	// MaxLogAttributes caps the attributes (structured metadata) of one
	// log record; records with more are refused alone. Zero means the
	// ingest default, 128.
	MaxLogAttributes int `yaml:"max_log_attributes"`
}

// Derive configures the span metrics and service graph Argus derives from
// every ingested span. Both are on unless disabled:
//
//	derive:
//	  interval: 15s
//	  span_metrics:
//	    dimensions: [http.request.method, http.response.status_code]
//	    max_series_per_service: 2000
//	  service_graph:
//	    wait: 10s
//	    peer_attributes: [peer.service, db.name, db.system, server.address]
type Derive struct {
	// Interval is how often derived series are written; zero means 15s.
	Interval     model.Duration `yaml:"interval"`
	SpanMetrics  SpanMetrics    `yaml:"span_metrics"`
	ServiceGraph ServiceGraph   `yaml:"service_graph"`
}

// SpanMetrics configures the RED metrics of spans.
type SpanMetrics struct {
	Disabled bool `yaml:"disabled"`
	// Dimensions are span or resource attributes added as labels.
	Dimensions []string `yaml:"dimensions"`
	// MaxSeriesPerService caps one service's label combinations; past
	// it, spans are counted in an overflow series. Zero means 2000.
	MaxSeriesPerService int `yaml:"max_series_per_service"`
	// Buckets are the classic histogram bounds in seconds; empty means
	// the spanmetrics connector's defaults.
	Buckets []float64 `yaml:"buckets"`
}

// ServiceGraph configures the service graph.
type ServiceGraph struct {
	Disabled bool `yaml:"disabled"`
	// Wait is how long one side of a call waits for the other; zero
	// means 10s.
	Wait model.Duration `yaml:"wait"`
	// MaxPendingEdges caps the calls awaiting their other side; zero
	// means 10000.
	MaxPendingEdges int `yaml:"max_pending_edges"`
	// PeerAttributes name an uninstrumented callee from its client span;
	// empty means peer.service, db.namespace, db.name, db.system.name,
	// db.system, server.address.
	PeerAttributes []string `yaml:"peer_attributes"`
	// Buckets are the latency bounds in seconds; empty means Tempo's.
	Buckets []float64 `yaml:"buckets"`
}

// DefaultMaxRequestBytes is the request cap when none is configured.
const DefaultMaxRequestBytes = 16 << 20

// EffectiveMaxRequestBytes returns the request cap in force.
func (l Limits) EffectiveMaxRequestBytes() int64 {
	if l.MaxRequestBytes == 0 {
		return DefaultMaxRequestBytes
	}
	return int64(l.MaxRequestBytes)
}

// Default returns the configuration used when no file is given.
func Default() *Config { return &Config{} }

// LoadFile reads and validates the file at path.
func LoadFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := parse(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Parse decodes and validates a configuration. Unknown keys are errors
// (a misspelt setting must not be silently ignored). The returned error
// lists every problem found, one per line.
func Parse(data []byte) (*Config, error) { return parse(data, "") }

func parse(data []byte, dir string) (*Config, error) {
	cfg := Default()
	cfg.dir = dir
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return nil, errors.New(strings.Join(te.Errors, "\n"))
		}
		return nil, err
	}
	cfg.promText = prometheusSections(data)
	var errs []error
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if _, err := cfg.loadPrometheus(nil); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, cfg.loadRuleFiles()...)
	errs = append(errs, cfg.loadDashboardFiles()...)
	if err := cfg.loadNotifications(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return cfg, nil
}

// configFile is a file a config key names: its path, and its name as the
// config gives it (relative to the config's directory when given so).
type configFile struct{ path, name string }

// expandFiles expands the paths and globs of key (rule_files,
// dashboard_files), relative to the config's directory, in order and each
// file once. A path without glob characters must name a file.
func (c *Config) expandFiles(key string, patterns []string) ([]configFile, []error) {
	var files []configFile
	var errs []error
	seen := map[string]bool{}
	for _, pattern := range patterns {
		full := pattern
		relative := c.dir != "" && !filepath.IsAbs(pattern)
		if relative {
			full = filepath.Join(c.dir, pattern)
		}
		matches, err := filepath.Glob(full)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q: %w", key, pattern, err))
			continue
		}
		if len(matches) == 0 && !strings.ContainsAny(pattern, "*?[") {
			errs = append(errs, fmt.Errorf("%s: %s: no such file", key, pattern))
		}
		for _, m := range matches {
			if seen[m] {
				continue
			}
			seen[m] = true
			name := m
			if relative {
				if rel, err := filepath.Rel(c.dir, m); err == nil {
					name = rel
				}
			}
			files = append(files, configFile{path: m, name: name})
		}
	}
	return files, errs
}

// loadRuleFiles expands the rule file globs and validates every file.
func (c *Config) loadRuleFiles() []error {
	files, errs := c.expandFiles("rule_files", c.RuleFiles)
	c.ruleFiles = nil
	for _, f := range files {
		c.ruleFiles = append(c.ruleFiles, f.path)
	}
	for _, err := range alert.CheckFiles(c.ruleFiles...) {
		errs = append(errs, fmt.Errorf("rule_files: %w", err))
	}
	return errs
}

// loadDashboardFiles expands the dashboard file globs and loads every
// file. Files are named, in errors and in the dashboards, by their path as
// the config gives it: relative to the config's directory.
func (c *Config) loadDashboardFiles() []error {
	files, errs := c.expandFiles("dashboard_files", c.DashboardFiles)
	dfiles := make([]dashboard.File, 0, len(files))
	for _, f := range files {
		dfiles = append(dfiles, dashboard.File{Path: f.path, Name: f.name})
	}
	ds, derrs := dashboard.LoadFiles(dfiles)
	for _, err := range derrs {
		errs = append(errs, fmt.Errorf("dashboard_files: %w", err))
	}
	c.dashboards = ds
	return errs
}

// Dashboards returns the dashboards of the dashboard files, loaded and
// validated. They are shared: callers must not modify them.
func (c *Config) Dashboards() []*dashboard.Dashboard { return c.dashboards }

// defaultNotifications groups alerts and delivers them nowhere: they can
// still be seen, grouped, through the Alertmanager API.
const defaultNotifications = "route:\n  receiver: none\nreceivers:\n  - name: none\n"

func (c *Config) loadNotifications() error {
	text := defaultNotifications
	if c.Notifications.Kind != 0 {
		out, err := yaml.Marshal(&c.Notifications)
		if err != nil {
			return fmt.Errorf("notifications: %w", err)
		}
		text = string(out)
	}
	am, err := alert.ParseConfig(text)
	if err != nil {
		return fmt.Errorf("notifications (Alertmanager's format, from line %d): %w", c.Notifications.Line, err)
	}
	c.notifications = am
	return nil
}

// NotificationConfig returns the notifications section, parsed.
func (c *Config) NotificationConfig() *amconfig.Config {
	if c.notifications != nil {
		return c.notifications
	}
	am, _ := alert.ParseConfig(defaultNotifications) // it parses
	return am
}

// RuleFilePaths returns the rule files the config names, globs expanded.
func (c *Config) RuleFilePaths() []string { return c.ruleFiles }

// SelfScrapeJob is the job under which Argus scrapes its own /metrics
// unless the config defines a job of that name.
const SelfScrapeJob = "argus"

// Prometheus returns the Prometheus configuration the scrape manager and
// query API run with: the file's global and scrape_configs sections, with
// defaults applied, plus a job scraping Argus's own /metrics at selfAddr
// when the file has no job named "argus".
func (c *Config) Prometheus(selfAddr string) (*promconfig.Config, error) {
	self := &promconfig.ScrapeConfig{}
	return c.loadPrometheus(func(cfg *promconfig.Config) error {
		for _, sc := range cfg.ScrapeConfigs {
			if sc.JobName == SelfScrapeJob {
				return nil
			}
		}
		doc := fmt.Sprintf("job_name: %s\nstatic_configs:\n  - targets: [%q]\n", SelfScrapeJob, selfAddr)
		if err := promyaml.UnmarshalStrict([]byte(doc), self); err != nil {
			return err
		}
		if err := self.Validate(cfg.GlobalConfig); err != nil {
			return err
		}
		cfg.ScrapeConfigs = append(cfg.ScrapeConfigs, self)
		return nil
	})
}

// loadPrometheus hands the Prometheus sections to Prometheus's config
// loader, which applies its defaults and validates them, then lets edit
// adjust the result.
func (c *Config) loadPrometheus(edit func(*promconfig.Config) error) (*promconfig.Config, error) {
	cfg, err := promconfig.Load(c.promText, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, fmt.Errorf("scrape_configs: %w", err)
	}
	if c.dir != "" {
		cfg.SetDirectory(c.dir)
	}
	if edit != nil {
		if err := edit(cfg); err != nil {
			return nil, fmt.Errorf("scrape_configs: %w", err)
		}
	}
	return cfg, nil
}

// prometheusSections returns data with the lines of every top-level
// section but global and scrape_configs blanked. Lines keep their
// numbers, so an error Prometheus's loader reports points into the
// user's file. A document that does not parse as a YAML mapping is
// returned as it is: decoding it has already failed with a clearer error.
func prometheusSections(data []byte) string {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return ""
	}
	lines := strings.Split(string(data), "\n")
	keys := doc.Content[0].Content
	for i := 0; i+1 < len(keys); i += 2 {
		if name := keys[i].Value; name == "global" || name == "scrape_configs" || name == "alerting" {
			continue
		}
		from, to := keys[i].Line-1, len(lines) // 0-based, end exclusive
		if i+2 < len(keys) {
			to = keys[i+2].Line - 1
		}
		for l := from; l < to && l < len(lines); l++ {
			lines[l] = ""
		}
	}
	return strings.Join(lines, "\n")
}

// Validate checks every setting and returns all problems joined.
func (c *Config) Validate() error {
	var errs []error
	if c.Limits.MaxRequestBytes < 0 {
		errs = append(errs, fmt.Errorf("limits.max_request_bytes: must not be negative, got %d", c.Limits.MaxRequestBytes))
	}
	if c.Limits.MaxRequestBytes > 1<<30 {
		errs = append(errs, fmt.Errorf("limits.max_request_bytes: at most 1GiB, got %d", c.Limits.MaxRequestBytes))
	}
	if c.Limits.MaxLogLineBytes < 0 || c.Limits.MaxLogLineBytes > 64<<20 {
		errs = append(errs, fmt.Errorf("limits.max_log_line_bytes: must be 0 to 64MiB, got %d", c.Limits.MaxLogLineBytes))
	}
	if c.Limits.MaxLogAttributes < 0 || c.Limits.MaxLogAttributes > 10000 {
		errs = append(errs, fmt.Errorf("limits.max_log_attributes: must be 0 to 10000, got %d", c.Limits.MaxLogAttributes))
	}
	errs = append(errs, c.Derive.validate()...)
	errs = append(errs, c.Actions.Validate()...)
	return errors.Join(errs...)
}

func (d *Derive) validate() []error {
	var errs []error
	if d.Interval != 0 && time.Duration(d.Interval) < time.Second {
		errs = append(errs, fmt.Errorf("derive.interval: at least 1s, got %s", d.Interval))
	}
	if d.SpanMetrics.MaxSeriesPerService < 0 {
		errs = append(errs, fmt.Errorf("derive.span_metrics.max_series_per_service: must not be negative, got %d", d.SpanMetrics.MaxSeriesPerService))
	}
	seen := map[string]bool{}
	for _, dim := range d.SpanMetrics.Dimensions {
		switch {
		case dim == "":
			errs = append(errs, errors.New("derive.span_metrics.dimensions: empty attribute name"))
		case seen[dim]:
			errs = append(errs, fmt.Errorf("derive.span_metrics.dimensions: %q listed twice", dim))
		case slices.Contains([]string{"service.name", "span.name", "span.kind", "status.code"}, dim):
			errs = append(errs, fmt.Errorf("derive.span_metrics.dimensions: %q is always a label", dim))
		}
		seen[dim] = true
	}
	if d.ServiceGraph.Wait < 0 {
		errs = append(errs, fmt.Errorf("derive.service_graph.wait: must not be negative, got %s", d.ServiceGraph.Wait))
	}
	if d.ServiceGraph.MaxPendingEdges < 0 {
		errs = append(errs, fmt.Errorf("derive.service_graph.max_pending_edges: must not be negative, got %d", d.ServiceGraph.MaxPendingEdges))
	}
	for name, b := range map[string][]float64{"span_metrics": d.SpanMetrics.Buckets, "service_graph": d.ServiceGraph.Buckets} {
		for i, v := range b {
			if v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) || (i > 0 && v <= b[i-1]) {
				errs = append(errs, fmt.Errorf("derive.%s.buckets: bounds must be positive, finite and increasing, got %v", name, b))
				break
			}
		}
	}
	return errs
}

// ByteSize is a size in bytes, written in YAML as a number or with a unit:
// "512KiB", "16MiB", "1GB".
type ByteSize int64

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
	{"B", 1},
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	s := strings.TrimSpace(n.Value)
	mult := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// A TypeError lets the decoder carry on and report other problems.
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a byte size (use a number or a unit such as 16MiB)", n.Line, n.Value)}}
	}
	*b = ByteSize(v * mult)
	return nil
}
