package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	cfg, err := Parse([]byte("limits:\n  max_request_bytes: 8MiB\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Limits.EffectiveMaxRequestBytes(); got != 8<<20 {
		t.Errorf("max_request_bytes = %d, want %d", got, 8<<20)
	}
	cfg, err = Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Limits.EffectiveMaxRequestBytes(); got != DefaultMaxRequestBytes {
		t.Errorf("default max_request_bytes = %d", got)
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	_, err := Parse([]byte("limits:\n  max_request_bytes: lots\n  max_reqest_bytes: 1\nscrape: {}\n"))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`"lots" is not a byte size`, "max_reqest_bytes", "scrape"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestValidate(t *testing.T) {
	_, err := Parse([]byte("limits:\n  max_request_bytes: -1\n"))
	if err == nil || !strings.Contains(err.Error(), "must not be negative") {
		t.Fatalf("err = %v", err)
	}
	_, err = Parse([]byte("limits:\n  max_request_bytes: 2GiB\n"))
	if err == nil || !strings.Contains(err.Error(), "at most 1GiB") {
		t.Fatalf("err = %v", err)
	}
}

func TestScrapeConfigs(t *testing.T) {
	cfg, err := Parse([]byte(`
global:
  scrape_interval: 5s
scrape_configs:
  - job_name: shop
    metrics_path: /stats
    static_configs:
      - targets: ["127.0.0.1:8080"]
    relabel_configs:
      - target_label: team
        replacement: checkout
`))
	if err != nil {
		t.Fatal(err)
	}
	prom, err := cfg.Prometheus("127.0.0.1:7070")
	if err != nil {
		t.Fatal(err)
	}
	if len(prom.ScrapeConfigs) != 2 {
		t.Fatalf("jobs: %d", len(prom.ScrapeConfigs))
	}
	shop, self := prom.ScrapeConfigs[0], prom.ScrapeConfigs[1]
	if shop.JobName != "shop" || shop.MetricsPath != "/stats" || shop.ScrapeInterval.String() != "5s" {
		t.Errorf("shop job: %s %s %s", shop.JobName, shop.MetricsPath, shop.ScrapeInterval)
	}
	if self.JobName != SelfScrapeJob || self.MetricsPath != "/metrics" || self.ScrapeInterval.String() != "5s" {
		t.Errorf("self job: %s %s %s", self.JobName, self.MetricsPath, self.ScrapeInterval)
	}
}

func TestScrapeConfigErrors(t *testing.T) {
	_, err := Parse([]byte(`
scrape_configs:
  - job_name: shop
    scrape_interval: 5s
    scrape_timeout: 10s
    static_configs:
      - targets: ["127.0.0.1:8080"]
`))
	if err == nil || !strings.Contains(err.Error(), "scrape timeout greater than scrape interval") {
		t.Fatalf("err = %v", err)
	}
}

func TestRelativePathsFollowTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "argus.yml")
	doc := "scrape_configs:\n  - job_name: files\n    file_sd_configs:\n      - files: [targets/*.json]\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	prom, err := cfg.Prometheus("127.0.0.1:7070")
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(prom.ScrapeConfigs[0].ServiceDiscoveryConfigs[0])
	if !strings.Contains(got, filepath.Join(dir, "targets")) {
		t.Errorf("file_sd path not resolved against the config's directory: %s", got)
	}
}

func TestLogLimits(t *testing.T) {
	cfg, err := Parse([]byte("limits:\n  max_log_line_bytes: 64KiB\n  max_log_attributes: 32\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Limits.MaxLogLineBytes != 64<<10 || cfg.Limits.MaxLogAttributes != 32 {
		t.Errorf("limits = %+v", cfg.Limits)
	}
	_, err = Parse([]byte("limits:\n  max_log_line_bytes: -1\n  max_log_attributes: 20000\n"))
	if err == nil || !strings.Contains(err.Error(), "max_log_line_bytes") || !strings.Contains(err.Error(), "max_log_attributes") {
		t.Errorf("bad log limits: %v; want both named", err)
	}
}

// TestPrometheusErrorsNameFileLines checks that an error in a scrape job
// names the line of the user's file, not of some re-encoded copy.
func TestPrometheusErrorsNameFileLines(t *testing.T) {
	doc := `limits:
  max_request_bytes: 8MiB
  max_log_attributes: 10
scrape_configs:
  - job_name: shop
    scrape_intervall: 15s
`
	_, err := Parse([]byte(doc))
	if err == nil || !strings.Contains(err.Error(), "line 6") || !strings.Contains(err.Error(), "scrape_intervall") {
		t.Errorf("error = %v; want it to name line 6 and the field", err)
	}
}

func TestDerive(t *testing.T) {
	cfg, err := Parse([]byte(`derive:
  interval: 30s
  span_metrics:
    dimensions: [http.request.method, deployment.environment]
    max_series_per_service: 500
    buckets: [0.01, 0.1, 1]
  service_graph:
    wait: 5s
    max_pending_edges: 100
    peer_attributes: [peer.service]
`))
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Derive
	if time.Duration(d.Interval) != 30*time.Second || len(d.SpanMetrics.Dimensions) != 2 || d.SpanMetrics.MaxSeriesPerService != 500 ||
		len(d.SpanMetrics.Buckets) != 3 || time.Duration(d.ServiceGraph.Wait) != 5*time.Second || d.ServiceGraph.MaxPendingEdges != 100 ||
		len(d.ServiceGraph.PeerAttributes) != 1 || d.SpanMetrics.Disabled || d.ServiceGraph.Disabled {
		t.Errorf("derive = %+v", d)
	}
	_, err = Parse([]byte(`derive:
  interval: 100ms
  span_metrics:
    dimensions: [a, a, service.name, ""]
    max_series_per_service: -1
    buckets: [1, 0.5]
  service_graph:
    max_pending_edges: -3
    buckets: [-1]
`))
	for _, want := range []string{"derive.interval", `"a" listed twice`, `"service.name" is always a label`, "empty attribute name",
		"max_series_per_service", "derive.span_metrics.buckets", "max_pending_edges", "derive.service_graph.buckets"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad derive section: error %v; want it to name %q", err, want)
		}
	}
}
