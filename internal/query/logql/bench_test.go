package logql_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-obs/argus/internal/query/logql"
	"github.com/argus-obs/argus/internal/query/logql/logqltest"
)

// benchEntries spreads n entries evenly over 24 hours, across 10
// streams, with a level and a per-entry trace ID as structured metadata.
func benchEntries(n int) []logql.Entry {
	levels := []string{"info", "warn", "error", "debug"}
	streams := make([]labels.Labels, 10)
	for i := range streams {
		streams[i] = labels.FromStrings("service_name", "x", "pod", fmt.Sprintf("pod-%d", i), "namespace", "prod")
	}
	step := int64(24*time.Hour) / int64(n)
	es := make([]logql.Entry, n)
	for i := range es {
		lvl := levels[i%len(levels)]
		es[i] = logql.Entry{
			Time:     int64(i) * step,
			Line:     fmt.Sprintf(`level=%s msg="request done" status=%d duration=%dms user=u%d`, lvl, 200+i%5*100, i%1000, i%97),
			Stream:   streams[i%len(streams)],
			Metadata: labels.FromStrings("level", lvl, "trace_id", fmt.Sprintf("%016x", i)),
		}
	}
	return es
}

func benchQuery(b *testing.B, q logql.Querier, p logql.Params) {
	b.Helper()
	eng := logql.NewEngine(logql.EngineOptions{})
	b.ReportAllocs()
	var res *logql.Result
	for b.Loop() {
		var err error
		if res, err = eng.Query(context.Background(), q, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(res.Stats.EntriesScanned), "entries/op")
}

// BenchmarkCountOverTime is Grafana's log volume query over a day.
func BenchmarkCountOverTime(b *testing.B) {
	q := logqltest.NewMemQuerier(benchEntries(1_000_000))
	day := time.Unix(0, int64(24*time.Hour))
	b.Run("sum_by_level", func(b *testing.B) {
		benchQuery(b, q, logql.Params{Query: `sum by (level) (count_over_time({service_name="x"}[1m]))`, Start: time.Unix(0, 0), End: day, Step: time.Minute})
	})
	b.Run("per_stream", func(b *testing.B) {
		benchQuery(b, q, logql.Params{Query: `count_over_time({service_name="x"} | trace_id!="" | drop trace_id [5m])`, Start: time.Unix(0, 0), End: day, Step: time.Minute})
	})
	b.Run("line_filter", func(b *testing.B) {
		benchQuery(b, q, logql.Params{Query: `sum(count_over_time({service_name="x"} |= "status=500" [1m]))`, Start: time.Unix(0, 0), End: day, Step: time.Minute})
	})
}

// BenchmarkPipeline runs 100k entries through typical pipelines.
func BenchmarkPipeline(b *testing.B) {
	q := logqltest.NewMemQuerier(benchEntries(100_000))
	day := time.Unix(0, int64(24*time.Hour))
	for _, tc := range []struct{ name, query string }{
		{"line_filter", `sum(count_over_time({service_name="x"} |= "status=500" != "u1" [1h]))`},
		{"regexp_filter", `sum(count_over_time({service_name="x"} |~ "status=(4|5)00" [1h]))`},
		{"metadata_filter", `sum(count_over_time({service_name="x"} | level="error" [1h]))`},
		{"logfmt", `sum by (status) (count_over_time({service_name="x"} | logfmt | status >= 400 [1h]))`},
		{"logfmt_unwrap", `avg_over_time({service_name="x"} | logfmt | unwrap duration(duration) [1h]) by (status)`},
		{"pattern", `sum by (status) (count_over_time({service_name="x"} | pattern "level=<_> msg=<_> status=<status> <_>" [1h]))`},
		{"line_format", `sum(count_over_time({service_name="x"} | logfmt | line_format "{{.status}} {{.user}}" |= "500" [1h]))`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			benchQuery(b, q, logql.Params{Query: tc.query, Start: time.Unix(0, 0), End: day, Step: time.Hour})
		})
	}
	b.Run("log_query", func(b *testing.B) {
		benchQuery(b, q, logql.Params{Query: `{service_name="x"} | logfmt | status >= 500`, Start: time.Unix(0, 0), End: day, Limit: 1000})
	})
}

// TestCountOverTimeAllocs holds the fused count path to a fixed
// allocation budget: nothing may be allocated per entry.
func TestCountOverTimeAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	q := logqltest.NewMemQuerier(benchEntries(50_000))
	eng := logql.NewEngine(logql.EngineOptions{})
	p := logql.Params{Query: `sum by (level) (count_over_time({service_name="x"} |= "status" | level!="x" [1m]))`, Start: time.Unix(0, 0), End: time.Unix(0, int64(24*time.Hour)), Step: 10 * time.Minute}
	allocs := testing.AllocsPerRun(3, func() {
		if _, err := eng.Query(context.Background(), q, p); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 2000 {
		t.Errorf("%v allocations for 50000 entries: something allocates per entry", allocs)
	}
}
