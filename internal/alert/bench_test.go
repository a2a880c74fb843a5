package alert

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
)

// BenchmarkEvaluateRules measures one evaluation of 1,000 alerting rules
// over 100,000 series: 1,000 services of 100 series each (10 instances ×
// 10 status codes) with five minutes of 15-second samples, and per
// service one rule on its error ratio, as a team writes them:
//
//	sum(rate(http_requests_total{service="svc-0042",code=~"5.."}[5m]))
//	  / sum(rate(http_requests_total{service="svc-0042"}[5m])) > 0.05
//
// Each op evaluates every group once, one after another (the rules
// manager runs groups concurrently, so a scheduled evaluation takes at
// most this long). The 15 s target is per op.
func BenchmarkEvaluateRules(b *testing.B) {
	const services, perService, samples = 1000, 100, 21
	codes := []string{"200", "201", "204", "301", "304", "400", "404", "409", "500", "503"}
	db, err := tsdb.Open(b.TempDir(), nil, nil, tsdb.DefaultOptions(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	end := time.Now().Truncate(time.Minute)
	start := end.Add(-time.Duration(samples-1) * 15 * time.Second)
	for svc := range services {
		app := db.AppenderV2(context.Background())
		for i := range perService {
			ls := labels.FromStrings("__name__", "http_requests_total", "service", fmt.Sprintf("svc-%04d", svc),
				"instance", fmt.Sprintf("10.0.%d.%d:8080", svc%250, i/10), "code", codes[i%10])
			var ref storage.SeriesRef
			for s := range samples {
				ts := start.Add(time.Duration(s) * 15 * time.Second).UnixMilli()
				if ref, err = app.Append(ref, ls, 0, ts, float64(s*(i+1)), nil, nil, storage.AOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	var rules strings.Builder
	rules.WriteString("groups:\n")
	for g := range 10 {
		fmt.Fprintf(&rules, "  - name: slo-%d\n    rules:\n", g)
		for r := range 100 {
			svc := fmt.Sprintf("svc-%04d", g*100+r)
			fmt.Fprintf(&rules, "      - alert: ErrorRatio%04d\n        expr: sum(rate(http_requests_total{service=%q,code=~\"5..\"}[5m])) / sum(rate(http_requests_total{service=%q}[5m])) > 0.05\n        for: 1m\n        labels: {service: %q}\n", g*100+r, svc, svc, svc)
		}
	}
	file := filepath.Join(b.TempDir(), "rules.yml")
	if err := os.WriteFile(file, []byte(rules.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 50_000_000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	r := NewRules(RulesOptions{Queryable: db, Appendable: db, Engine: func() promql.QueryEngine { return engine }})
	defer r.Shutdown()
	if err := r.Apply([]string{file}, 15*time.Second); err != nil {
		b.Fatal(err)
	}
	groups := r.Manager().RuleGroups()
	if len(groups) != 10 {
		b.Fatalf("%d groups", len(groups))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ts := end.Add(time.Duration(i) * time.Millisecond)
		for _, g := range groups {
			g.Eval(context.Background(), ts)
		}
	}
	b.StopTimer()
	firing := 0
	for _, ar := range r.Manager().AlertingRules() {
		firing += ar.ActiveAlertsCount()
		if err := ar.LastError(); err != nil {
			b.Fatal(err)
		}
	}
	if firing == 0 {
		b.Fatal("no rule is active: the benchmark measures nothing")
	}
	b.ReportMetric(float64(firing), "active_alerts")
}
