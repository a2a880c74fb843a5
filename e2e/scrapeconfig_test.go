package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metricsServer serves one client_golang registry; check, when set,
// guards it (authentication).
func metricsServer(t *testing.T, reg *prometheus.Registry, check func(*http.Request) bool) string {
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if check != nil && !check(r) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func gaugeRegistry(name string, v float64, labels prometheus.Labels) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: name, ConstLabels: labels})
	g.Set(v)
	reg.MustRegister(g)
	return reg
}

// TestScrapeConfigFeatures checks that Prometheus's scrape options reach
// the scraper through the Argus config: basic auth and bearer tokens (one
// read from a file next to the config), file-based discovery with a path
// relative to the config, HTTP discovery, metric_relabel_configs and
// honor_labels.
func TestScrapeConfigFeatures(t *testing.T) {
	basic := metricsServer(t, gaugeRegistry("basic_up_value", 1, nil), func(r *http.Request) bool {
		u, p, ok := r.BasicAuth()
		return ok && u == "shop" && p == "s3cret"
	})
	bearer := metricsServer(t, gaugeRegistry("bearer_up_value", 2, nil), func(r *http.Request) bool {
		return r.Header.Get("Authorization") == "Bearer tok-123"
	})
	reg := gaugeRegistry("filesd_value", 3, nil)
	drop := prometheus.NewGauge(prometheus.GaugeOpts{Name: "filesd_noisy", Help: "dropped by metric relabelling"})
	reg.MustRegister(drop)
	filesd := metricsServer(t, reg, nil)
	honor := metricsServer(t, gaugeRegistry("honor_value", 4, prometheus.Labels{"job": "from-target"}), nil)
	httpTarget := metricsServer(t, gaugeRegistry("httpsd_value", 5, nil), nil)
	sd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `[{"targets": [%q], "labels": {"source": "http"}}]`, httpTarget)
	}))
	defer sd.Close()

	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("token", "tok-123\n")
	if err := os.MkdirAll(filepath.Join(dir, "targets"), 0o755); err != nil {
		t.Fatal(err)
	}
	write("targets/shop.json", fmt.Sprintf(`[{"targets": [%q], "labels": {"source": "file"}}]`, filesd))
	write("argus.yml", fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 500ms
scrape_configs:
  - job_name: basic
    basic_auth: {username: shop, password: s3cret}
    static_configs: [{targets: [%q]}]
  - job_name: bearer
    authorization: {credentials_file: token}
    static_configs: [{targets: [%q]}]
  - job_name: files
    file_sd_configs: [{files: [targets/*.json], refresh_interval: 1s}]
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: filesd_noisy
        action: drop
  - job_name: honor
    honor_labels: true
    static_configs: [{targets: [%q]}]
  - job_name: httpsd
    http_sd_configs: [{url: %q, refresh_interval: 1s}]
`, basic, bearer, honor, sd.URL))
	s := startArgus(t, filepath.Join(dir, "data"), "--config="+filepath.Join(dir, "argus.yml"))

	eventually(t, 30*time.Second, func() error {
		for q, want := range map[string]string{
			`basic_up_value{job="basic"}`:             "1",
			`bearer_up_value{job="bearer"}`:           "2",
			`filesd_value{job="files",source="file"}`: "3",
			`honor_value{job="from-target"}`:          "4",
			`count(filesd_noisy) or vector(0)`:        "0",
		} {
			v := s.query(q)
			if len(v.Result) != 1 || v.Value(0) != want {
				return fmt.Errorf("%s: %+v, want %s", q, v.Result, want)
			}
		}
		return nil
	})
}
