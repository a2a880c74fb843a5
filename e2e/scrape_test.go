package e2e

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type promTargets struct {
	ActiveTargets []struct {
		Labels     map[string]string `json:"labels"`
		ScrapePool string            `json:"scrapePool"`
		Health     string            `json:"health"`
		LastError  string            `json:"lastError"`
	} `json:"activeTargets"`
}

// TestScrape scrapes a real client_golang /metrics endpoint and argus's
// own, then reloads the config to add a target that is down.
func TestScrape(t *testing.T) {
	reg := prometheus.NewRegistry()
	orders := prometheus.NewCounter(prometheus.CounterOpts{Name: "shop_orders_total", Help: "Orders placed."})
	reg.MustRegister(orders)
	orders.Add(42)
	target := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer target.Close()

	dir := t.TempDir()
	cfg := filepath.Join(dir, "argus.yml")
	write := func(extra string) {
		doc := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 500ms
scrape_configs:
  - job_name: shop
    static_configs:
      - targets: [%q]
        labels:
          team: checkout
%s`, target.Listener.Addr().String(), extra)
		if err := os.WriteFile(cfg, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("")
	s := startArgus(t, filepath.Join(dir, "data"), "--config="+cfg)

	eventually(t, 30*time.Second, func() error {
		v := s.query(`shop_orders_total{job="shop",team="checkout"}`)
		if len(v.Result) != 1 || v.Value(0) != "42" {
			return fmt.Errorf("shop_orders_total: %+v", v.Result)
		}
		v = s.query(`up{job="argus"}`)
		if len(v.Result) != 1 || v.Value(0) != "1" {
			return fmt.Errorf("argus does not scrape itself: %+v", v.Result)
		}
		return nil
	})

	// A reload adds a job whose target refuses connections: it shows as
	// down with its error, and the other jobs carry on.
	write(`  - job_name: broken
    static_configs:
      - targets: ["127.0.0.1:1"]
`)
	s.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, 30*time.Second, func() error {
		var tr promResponse[promTargets]
		s.getJSON("/api/v1/targets", 200, &tr)
		health := map[string]string{}
		for _, at := range tr.Data.ActiveTargets {
			health[at.ScrapePool] = at.Health
			if at.ScrapePool == "broken" && at.LastError == "" && at.Health == "down" {
				return fmt.Errorf("down target without an error")
			}
		}
		if health["shop"] != "up" || health["argus"] != "up" || health["broken"] != "down" {
			return fmt.Errorf("target health: %v", health)
		}
		v := s.query(`up{job="broken"}`)
		if len(v.Result) != 1 || v.Value(0) != "0" {
			return fmt.Errorf("up{job=broken}: %+v", v.Result)
		}
		return nil
	})
	orders.Add(1)
	eventually(t, 30*time.Second, func() error {
		if v := s.query(`shop_orders_total{job="shop"}`); len(v.Result) != 1 || v.Value(0) != "43" {
			return fmt.Errorf("shop_orders_total after reload: %+v", v.Result)
		}
		return nil
	})
}
