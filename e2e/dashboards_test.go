package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// dashboardJSON is a dashboard as the API serves it, the web UI's
// contract, read with its JSON names.
type dashboardJSON struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Source      string   `json:"source"`
	Path        string   `json:"path"`
	Tags        []string `json:"tags"`
	Time        struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"time"`
	Refresh   string `json:"refresh"`
	Variables []struct {
		Name       string   `json:"name"`
		Type       string   `json:"type"`
		Source     string   `json:"source"`
		Query      string   `json:"query"`
		LabelName  string   `json:"labelName"`
		Match      string   `json:"match"`
		Options    []string `json:"options"`
		Default    string   `json:"default"`
		Multi      bool     `json:"multi"`
		IncludeAll bool     `json:"includeAll"`
	} `json:"variables"`
	Panels []struct {
		Title   string `json:"title"`
		Type    string `json:"type"`
		Unit    string `json:"unit"`
		GridPos struct {
			X int `json:"x"`
			Y int `json:"y"`
			W int `json:"w"`
			H int `json:"h"`
		} `json:"gridPos"`
		Targets []struct {
			Expr    string `json:"expr"`
			Legend  string `json:"legend"`
			Source  string `json:"source"`
			Instant bool   `json:"instant"`
		} `json:"targets"`
	} `json:"panels"`
	Warnings []string `json:"warnings"`
}

type dashboardSummary struct {
	ID     string   `json:"id"`
	Title  string   `json:"title"`
	Source string   `json:"source"`
	Path   string   `json:"path"`
	Tags   []string `json:"tags"`
}

const shopDashboard = `title: Shop
tags: [shop]
variables:
  - name: route
    query: label_values(http_server_requests_total, route)
panels:
  - title: Requests
    unit: reqps
    expr: sum by (route) (rate(http_server_requests_total{route=~"$route"}[$__rate_interval]))
    legend: "{{route}}"
  - title: Inventory logs
    type: logs
    expr: '{service_name="inventory"}'
`

// badDashboard has two errors, on lines 4 and 6.
const badDashboard = `title: Broken
panels:
  - title: Latency
    expr: histogram_quantile(0.9, rate(x_bucket[5m])
  - title: Odd
    type: piechart
    expr: up
`

func (s *server) dashboards() []dashboardSummary {
	s.t.Helper()
	var r struct {
		Dashboards []dashboardSummary `json:"dashboards"`
	}
	s.getJSON("/api/argus/v1/dashboards", http.StatusOK, &r)
	return r.Dashboards
}

func (s *server) dashboard(id string) dashboardJSON {
	s.t.Helper()
	var d dashboardJSON
	s.getJSON("/api/argus/v1/dashboards/"+id, http.StatusOK, &d)
	return d
}

// TestDashboards starts argus with a config naming a YAML dashboard and a
// Grafana export, and checks the list (built-ins for Argus and for each
// service that sent spans, then the files), each dashboard, a Grafana
// import, that every query of the Argus dashboard runs against Argus's
// own metrics, that a bad dashboard file stops argus at start with its
// lines, and that an edited file is served after a reload while a broken
// edit is refused.
func TestDashboards(t *testing.T) {
	dir := t.TempDir()
	grafana, err := os.ReadFile("../internal/dashboard/testdata/grafana-shop.json")
	if err != nil {
		t.Fatal(err)
	}
	shop := filepath.Join(dir, "dashboards", "shop.yml")
	for path, text := range map[string]string{
		shop: shopDashboard,
		filepath.Join(dir, "dashboards", "grafana-shop.json"): string(grafana),
		// Argus scrapes itself every second, so its own metrics are there
		// to query at once.
		filepath.Join(dir, "argus.yml"): "global:\n  scrape_interval: 1s\ndashboard_files: [\"dashboards/*\"]\n",
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "argus.yml")
	s := startArgus(t, t.TempDir(), "--config="+cfg)
	if !strings.Contains(s.logs(), `"msg":"dashboards loaded","dashboards":2`) {
		t.Errorf("no log of the dashboards loaded")
	}

	// Services appear once they sent spans.
	sendShopTraffic(t, s, 4)
	var list []dashboardSummary
	eventually(t, 20*time.Second, func() error {
		list = s.dashboards()
		if len(list) != 5 {
			return fmt.Errorf("%d dashboards: %+v", len(list), list)
		}
		return nil
	})
	want := []dashboardSummary{
		{ID: "argus", Title: "Argus", Source: "builtin", Tags: []string{"argus"}},
		{ID: "service/frontend", Title: "Service frontend", Source: "builtin", Tags: []string{"service"}},
		{ID: "service/inventory", Title: "Service inventory", Source: "builtin", Tags: []string{"service"}},
		{ID: "file/shop", Title: "Shop", Source: "file", Path: "dashboards/shop.yml", Tags: []string{"shop"}},
		{ID: "file/grafana-shop", Title: "Shop overview", Source: "file", Path: "dashboards/grafana-shop.json", Tags: []string{"shop", "red"}},
	}
	for i := range want {
		if g, w := list[i], want[i]; g.ID != w.ID || g.Title != w.Title || g.Source != w.Source || g.Path != w.Path || !slices.Equal(g.Tags, w.Tags) {
			t.Errorf("dashboard %d: %+v, want %+v", i, g, w)
		}
	}

	// Each dashboard of the list is served.
	for _, sum := range list {
		d := s.dashboard(sum.ID)
		if d.ID != sum.ID || d.Title != sum.Title || d.Source != sum.Source || len(d.Panels) == 0 || d.Time.From == "" || d.Variables == nil {
			t.Errorf("%s: %+v", sum.ID, d)
		}
	}
	d := s.dashboard("file/shop")
	if len(d.Variables) != 1 || d.Variables[0].LabelName != "route" || d.Variables[0].Match != "http_server_requests_total" ||
		d.Panels[0].Targets[0].Legend != "{{route}}" || d.Panels[1].Targets[0].Source != "loki" || d.Panels[1].GridPos.W != 24 {
		t.Errorf("file/shop: %+v", d)
	}
	g := s.dashboard("file/grafana-shop")
	if len(g.Panels) != 12 || len(g.Warnings) != 16 || g.Panels[0].Unit != "reqps" {
		t.Errorf("file/grafana-shop: %d panels, %d warnings: %+v", len(g.Panels), len(g.Warnings), g)
	}
	inv := s.dashboard("service/inventory")
	if last := inv.Panels[len(inv.Panels)-1]; last.Type != "logs" || last.Targets[0].Expr != `{service_name="inventory"}` {
		t.Errorf("service/inventory logs panel: %+v", last)
	}
	var notFound struct {
		Error string `json:"error"`
	}
	s.getJSON("/api/argus/v1/dashboards/service/nobody", http.StatusNotFound, &notFound)
	if notFound.Error != `dashboard "service/nobody" not found` {
		t.Errorf("404: %+v", notFound)
	}

	// Every query of the Argus dashboard runs, and every metric it reads
	// is one Argus serves.
	argus := s.dashboard("argus")
	names := map[string]bool{}
	for _, p := range argus.Panels {
		for _, tg := range p.Targets {
			expr := strings.ReplaceAll(tg.Expr, "$__rate_interval", "1m")
			s.query(expr) // fails the test unless the query API takes it
			e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
			if err != nil {
				t.Fatalf("%s: %v", expr, err)
			}
			parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
				if vs, ok := n.(*parser.VectorSelector); ok {
					names[vs.Name] = true
				}
				return nil
			})
		}
	}
	eventually(t, 30*time.Second, func() error {
		var r promResponse[[]string]
		s.getJSON("/api/v1/label/__name__/values", http.StatusOK, &r)
		for name := range names {
			if !slices.Contains(r.Data, name) {
				return fmt.Errorf("the Argus dashboard reads %s, which Argus's self-scrape does not have", name)
			}
		}
		return nil
	})
	// The service dashboards' span metrics are there.
	for _, p := range inv.Panels {
		if p.Title == "Requests per second" {
			q := strings.ReplaceAll(p.Targets[0].Expr, "rate(", "increase(")
			eventually(t, 30*time.Second, func() error {
				if v := s.query(strings.ReplaceAll(q, "$__rate_interval", "10m")); len(v.Result) == 0 {
					return fmt.Errorf("%s: no data", q)
				}
				return nil
			})
		}
	}

	// An import converts and says what it left out; nothing is stored.
	var imp struct {
		Dashboard dashboardJSON `json:"dashboard"`
		Warnings  []string      `json:"warnings"`
	}
	body := s.post("/api/argus/v1/dashboards/import", "application/json", []byte(`{"dashboard":`+string(grafana)+`,"meta":{"slug":"shop"}}`), http.StatusOK)
	if err := json.Unmarshal(body, &imp); err != nil {
		t.Fatal(err)
	}
	if imp.Dashboard.ID != "import/shop-overview" || imp.Dashboard.Source != "import" || len(imp.Dashboard.Panels) != 12 ||
		!slices.Contains(imp.Warnings, `panel "Read me": panel type "text" is not supported; left out`) {
		t.Errorf("import: %+v", imp)
	}
	if got := string(s.post("/api/argus/v1/dashboards/import", "application/json", []byte(`{"rows": 3}`), http.StatusBadRequest)); !strings.Contains(got, `"error":"not a Grafana dashboard`) {
		t.Errorf("bad import: %s", got)
	}
	if len(s.dashboards()) != 5 {
		t.Error("an import was stored")
	}

	// An edit is served after a reload; a broken edit is refused with its
	// lines, and the dashboard in force stays.
	if err := os.WriteFile(shop, []byte(strings.Replace(shopDashboard, "title: Shop", "title: Shop floor", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	s.post("/-/reload", "text/plain", nil, http.StatusOK)
	if d := s.dashboard("file/shop"); d.Title != "Shop floor" {
		t.Errorf("after reload: title %q", d.Title)
	}
	if err := os.WriteFile(shop, []byte(badDashboard), 0o644); err != nil {
		t.Fatal(err)
	}
	got := string(s.post("/-/reload", "text/plain", nil, http.StatusBadRequest))
	for _, want := range []string{
		`dashboards/shop.yml:4: panel "Latency": expr: 1:43: parse error: unclosed left parenthesis`,
		`dashboards/shop.yml:6: panel "Odd": type "piechart"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("reload error lacks %q:\n%s", want, got)
		}
	}
	if d := s.dashboard("file/shop"); d.Title != "Shop floor" {
		t.Errorf("after a failed reload: title %q", d.Title)
	}
	s.stop()

	// The broken file stops argus at start, with its lines.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, argusBin, "--config="+cfg, "--data.dir="+t.TempDir(),
		"--http.addr=127.0.0.1:0", "--otlp.grpc.addr=127.0.0.1:0", "--otlp.http.addr=127.0.0.1:0").CombinedOutput()
	if err == nil {
		t.Fatalf("argus started with a broken dashboard file:\n%s", out)
	}
	for _, want := range []string{"dashboards/shop.yml:4:", "dashboards/shop.yml:6:"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("start-up error lacks %q:\n%s", want, out)
		}
	}
}

// TestDashboardsDemo checks, on "argus demo", that the built-in
// dashboards of the shop's services select the series their panels are
// made of: span metrics by service_name, the Go runtime by the job the
// demo scrapes each service as, logs by service_name.
func TestDashboardsDemo(t *testing.T) {
	d := startDemo(t)
	// Ctrl-C, as a user stops it: the demo stops its services, which a
	// kill would leave running. (Cleanups run last first: this before the
	// harness's kill.)
	t.Cleanup(func() {
		d.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-d.exited:
		case <-time.After(90 * time.Second):
			t.Error("argus demo did not stop within 90s of SIGINT")
		}
	})
	for _, svc := range []string{"frontend", "inventory"} {
		var db dashboardJSON
		eventually(t, 60*time.Second, func() error {
			for _, sum := range d.dashboards() {
				if sum.ID == "service/"+svc {
					db = d.dashboard(sum.ID)
					return nil
				}
			}
			return fmt.Errorf("no dashboard for %s yet", svc)
		})
		for _, p := range db.Panels {
			switch p.Title {
			case "Error ratio", "Outgoing calls per second":
				continue // the traffic need not make any
			}
			for _, tg := range p.Targets {
				eventually(t, 90*time.Second, func() error {
					if tg.Source == "loki" {
						if lines := d.lokiLines(tg.Expr); len(lines) == 0 {
							return fmt.Errorf("%s: panel %q: %s: no log lines", svc, p.Title, tg.Expr)
						}
						return nil
					}
					// A wide range: the demo's span metrics are written
					// every 15 seconds.
					expr := strings.ReplaceAll(tg.Expr, "$__rate_interval", "1m")
					if v := d.query(expr); len(v.Result) == 0 {
						return fmt.Errorf("%s: panel %q: %s: no data", svc, p.Title, expr)
					}
					return nil
				})
			}
		}
	}
}
