package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/argus-obs/argus/internal/dashboard"
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

func TestDashboardFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("dashboards/shop.yml", "title: Shop\npanels:\n  - title: Requests\n    expr: sum(rate(http_server_requests_total[$__rate_interval]))\n")
	write("dashboards/orders.json", `{"title": "Orders", "panels": []}`)
	write("grafana.json", `{"title": "From Grafana", "schemaVersion": 39, "panels": [{"type": "text", "title": "note"}]}`)
	path := filepath.Join(dir, "argus.yml")
	// The same file twice through two globs is loaded once.
	write("argus.yml", "dashboard_files: [\"dashboards/*\", dashboards/shop.yml, grafana.json]\n")
	cfg, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range cfg.Dashboards() {
		got = append(got, d.ID+" "+d.Path)
	}
	want := "file/orders dashboards/orders.json,file/shop dashboards/shop.yml,file/grafana grafana.json"
	if strings.Join(got, ",") != want {
		t.Errorf("dashboards %q, want %s", got, want)
	}

	// Every problem, the config's and each file's, at once, with lines.
	write("dashboards/bad.yml", "title: Bad\npanels:\n  - title: Latency\n    expr: rate(x[5m]\n")
	write("argus.yml", "limits:\n  max_request_bytes: -1\ndashboard_files: [\"dashboards/*.yml\", missing.yml]\n")
	_, err = LoadFile(path)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"limits.max_request_bytes",
		"dashboard_files: missing.yml: no such file",
		`dashboard_files: dashboards/bad.yml:4: panel "Latency": expr: 1:11: parse error: unclosed left parenthesis`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if strings.HasPrefix(line, "dashboard_files:") && strings.Contains(line, dir) {
			t.Errorf("dashboard errors name the files as the config does, not by absolute path: %s", line)
		}
	}
}

// The Argus dashboard selects the self-scrape job.
func TestSelfScrapeJobIsTheArgusDashboards(t *testing.T) {
	if SelfScrapeJob != dashboard.SelfJob {
		t.Errorf("SelfScrapeJob %q, dashboard.SelfJob %q", SelfScrapeJob, dashboard.SelfJob)
	}
}
