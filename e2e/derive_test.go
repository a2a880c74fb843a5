package e2e

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// deriveConfig writes derived metrics every second, adds the request
// method as a dimension, and caps each service at 5 label combinations.
const deriveConfig = `
derive:
  interval: 1s
  span_metrics:
    dimensions: [http.request.method]
    max_series_per_service: 5
  service_graph:
    wait: 2s
`

// shopTraffic is what sendShopTraffic sent, for the checks.
type shopTraffic struct {
	requests          int
	inventoryFailures int
	inventorySeconds  []float64 // durations of inventory's server spans
	traceIDs          []string
	correlation       map[string]string // correlation ID → trace ID
}

// sendShopTraffic exports, with the OpenTelemetry SDK over OTLP/gRPC,
// n requests through the shop: frontend's root server span, its client
// span to inventory and inventory's server span (every fourth fails), and
// frontend's client span to a PostgreSQL database that sends no spans.
func sendShopTraffic(t *testing.T, s *server, n int) shopTraffic {
	t.Helper()
	exp := grpcExporter(t, s)
	provider := func(res *resource.Resource) *sdktrace.TracerProvider {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))
		t.Cleanup(func() { tp.Shutdown(context.Background()) })
		return tp
	}
	ft := provider(resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName("frontend"))).Tracer("shop")
	it := provider(resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName("inventory"))).Tracer("shop")
	out := shopTraffic{requests: n, correlation: map[string]string{}}
	start := time.Now().Add(-30 * time.Second)
	for i := range n {
		t0 := start.Add(time.Duration(i) * 100 * time.Millisecond)
		corr := fmt.Sprintf("order-%04d", i)
		ctx, root := ft.Start(context.Background(), "GET /checkout", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(t0),
			trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.String("correlation_id", corr)))
		cctx, client := ft.Start(ctx, "GET /stock", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(t0.Add(time.Millisecond)))
		// Inventory takes 5 to 44 ms, so the quantiles are known.
		invDur := time.Duration(5+i%40) * time.Millisecond
		_, srv := it.Start(cctx, "GET /stock", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(t0.Add(2*time.Millisecond)),
			trace.WithAttributes(attribute.String("correlation_id", corr)))
		if i%4 == 3 {
			srv.SetStatus(codes.Error, "out of stock service")
			out.inventoryFailures++
		}
		srv.End(trace.WithTimestamp(t0.Add(2*time.Millisecond + invDur)))
		out.inventorySeconds = append(out.inventorySeconds, invDur.Seconds())
		client.End(trace.WithTimestamp(t0.Add(3*time.Millisecond + invDur)))
		_, db := ft.Start(ctx, "SELECT orders", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(t0.Add(50*time.Millisecond)),
			trace.WithAttributes(attribute.String("db.system", "postgresql"), attribute.String("db.name", "orders")))
		db.End(trace.WithTimestamp(t0.Add(60 * time.Millisecond)))
		root.End(trace.WithTimestamp(t0.Add(70 * time.Millisecond)))
		tid := root.SpanContext().TraceID().String()
		out.traceIDs = append(out.traceIDs, tid)
		out.correlation[corr] = tid
	}
	return out
}

// spmFamily is Jaeger's MetricFamily JSON.
type spmFamily struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Metrics []struct {
		Labels []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"labels"`
		MetricPoints []struct {
			GaugeValue struct {
				DoubleValue float64 `json:"doubleValue"`
			} `json:"gaugeValue"`
			Timestamp string `json:"timestamp"`
		} `json:"metricPoints"`
	} `json:"metrics"`
}

// value runs an instant query that must return exactly one sample.
func (s *server) value(q string) (float64, error) {
	v := s.query(q)
	if len(v.Result) != 1 {
		return 0, fmt.Errorf("%s: %d samples, want 1: %+v", q, len(v.Result), v.Result)
	}
	return strconv.ParseFloat(v.Value(0), 64)
}

// wantValue waits until an instant query returns want.
func (s *server) wantValue(q string, want float64) {
	s.t.Helper()
	eventually(s.t, 30*time.Second, func() error {
		got, err := s.value(q)
		if err != nil {
			return err
		}
		if math.Abs(got-want) > 1e-9 {
			return fmt.Errorf("%s = %v, want %v", q, got, want)
		}
		return nil
	})
}

// ownMetric reads one sample of Argus's own /metrics, by the series as
// the exposition writes it; -1 when it is absent.
func (s *server) ownMetric(series string) float64 {
	s.t.Helper()
	resp, err := http.Get(s.url("/metrics"))
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for line := range strings.Lines(string(body)) {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				s.t.Fatalf("/metrics: %q: %v", line, err)
			}
			return v
		}
	}
	return -1
}

func quantile(sorted []float64, q float64) float64 {
	// The rank histogram_quantile estimates: q of the way through.
	return sorted[int(math.Ceil(q*float64(len(sorted))))-1]
}

type exemplarResult struct {
	SeriesLabels map[string]string `json:"seriesLabels"`
	Exemplars    []struct {
		Labels    map[string]string `json:"labels"`
		Value     string            `json:"value"`
		Timestamp float64           `json:"timestamp"`
	} `json:"exemplars"`
}

// exemplars queries /api/v1/query_exemplars.
func (s *server) exemplars(q string, start, end time.Time) []exemplarResult {
	s.t.Helper()
	var r promResponse[[]exemplarResult]
	s.getJSON(fmt.Sprintf("/api/v1/query_exemplars?query=%s&start=%d&end=%d", url.QueryEscape(q), start.Unix(), end.Unix()), 200, &r)
	return r.Data
}

// TestDerivedSignals sends spans with the OpenTelemetry SDK and checks,
// through PromQL and the Jaeger API, the span metrics and service graph
// Argus derives from them, their exemplars, and lookups by correlation ID.
func TestDerivedSignals(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "argus.yml")
	if err := os.WriteFile(cfg, []byte(deriveConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startArgus(t, dir, "--config="+cfg)
	const n = 40
	sent := sendShopTraffic(t, s, n)

	// Span metrics: calls by status, and the dimension.
	inv := `service_name="inventory",span_name="GET /stock",span_kind="SPAN_KIND_SERVER"`
	s.wantValue(`sum(traces_span_metrics_calls_total{`+inv+`})`, n)
	s.wantValue(`traces_span_metrics_calls_total{`+inv+`,status_code="STATUS_CODE_ERROR"}`, float64(sent.inventoryFailures))
	s.wantValue(`traces_span_metrics_calls_total{`+inv+`,status_code="STATUS_CODE_UNSET"}`, float64(n-sent.inventoryFailures))
	s.wantValue(`traces_span_metrics_calls_total{service_name="frontend",span_name="GET /checkout",span_kind="SPAN_KIND_SERVER",http_request_method="GET"}`, n)
	s.wantValue(`traces_span_metrics_calls_total{service_name="frontend",span_name="GET /stock",span_kind="SPAN_KIND_CLIENT"}`, n)

	// Latency: the classic buckets' count and sum, and quantiles from the
	// classic and the native histogram.
	s.wantValue(`sum(traces_span_metrics_duration_seconds_count{`+inv+`})`, n)
	sorted := slices.Sorted(slices.Values(sent.inventorySeconds))
	var total float64
	for _, d := range sorted {
		total += d
	}
	if got, err := s.value(`sum(traces_span_metrics_duration_seconds_sum{` + inv + `})`); err != nil || math.Abs(got-total) > 1e-6 {
		t.Errorf("duration sum = %v (%v), want %v", got, err, total)
	}
	if got, err := s.value(`histogram_count(sum(traces_span_metrics_duration_seconds{` + inv + `}))`); err != nil || got != n {
		t.Errorf("native histogram count = %v (%v), want %d", got, err, n)
	}
	bounds := []float64{0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1}
	for _, q := range []float64{0.5, 0.9, 0.99} {
		truth := quantile(sorted, q)
		native, err := s.value(fmt.Sprintf(`histogram_quantile(%g, sum(traces_span_metrics_duration_seconds{%s}))`, q, inv))
		if err != nil || math.Abs(native-truth)/truth > 0.1 {
			t.Errorf("native p%g = %v (%v), want within 10%% of %v", q*100, native, err, truth)
		}
		classic, err := s.value(fmt.Sprintf(`histogram_quantile(%g, sum by (le) (traces_span_metrics_duration_seconds_bucket{%s}))`, q, inv))
		// A classic estimate lies in the bucket that holds the truth.
		i := sort.SearchFloat64s(bounds, truth)
		if err != nil || i == 0 || i == len(bounds) || classic < bounds[i-1] || classic > bounds[i] {
			t.Errorf("classic p%g = %v (%v), want in the bucket of %v", q*100, classic, err, truth)
		}
	}

	// Service graph: the edges of the call pattern.
	s.wantValue(`traces_service_graph_request_total{client="frontend",server="inventory"}`, n)
	s.wantValue(`traces_service_graph_request_failed_total{client="frontend",server="inventory"}`, float64(sent.inventoryFailures))
	s.wantValue(`traces_service_graph_request_total{client="frontend",server="orders",connection_type="database"}`, n)
	s.wantValue(`traces_service_graph_request_total{client="user",server="frontend",connection_type="virtual_node"}`, n)
	s.wantValue(`traces_service_graph_request_server_seconds_count{client="frontend",server="inventory"}`, n)
	s.wantValue(`histogram_count(traces_service_graph_request_client_seconds{client="frontend",server="inventory"})`, n)

	// Jaeger's dependencies: the traced edge and the database.
	var deps jaegerResponse[[]struct {
		Parent    string `json:"parent"`
		Child     string `json:"child"`
		CallCount int    `json:"callCount"`
	}]
	s.getJSON("/jaeger/api/dependencies?lookback=3600000", 200, &deps)
	got := map[string]int{}
	for _, d := range deps.Data {
		got[d.Parent+"->"+d.Child] = d.CallCount
	}
	if got["frontend->inventory"] != n || got["frontend->orders"] != n {
		t.Errorf("dependencies = %v, want frontend->inventory and frontend->orders with %d calls", got, n)
	}

	// Jaeger's Service Performance Monitoring API, from the span metrics.
	spm := func(path string) spmFamily {
		t.Helper()
		var mf spmFamily
		s.getJSON("/jaeger/api/metrics/"+path, 200, &mf)
		return mf
	}
	last := func(mf spmFamily, labels ...string) float64 {
		t.Helper()
		for _, m := range mf.Metrics {
			have := map[string]string{}
			for _, l := range m.Labels {
				have[l.Name] = l.Value
			}
			match := true
			for i := 0; i < len(labels); i += 2 {
				match = match && have[labels[i]] == labels[i+1]
			}
			if match && len(m.MetricPoints) > 0 {
				return m.MetricPoints[len(m.MetricPoints)-1].GaugeValue.DoubleValue
			}
		}
		t.Fatalf("%s: no series with %v: %+v", mf.Name, labels, mf)
		return 0
	}
	window := "&lookback=300000&step=5000&ratePer=120000"
	calls := spm("calls?service=inventory&service=frontend" + window)
	if calls.Name != "service_call_rate" || last(calls, "service_name", "inventory") <= 0 || last(calls, "service_name", "frontend") <= 0 {
		t.Errorf("calls: %+v", calls)
	}
	errs := spm("errors?service=inventory&service=frontend" + window)
	// rate() extrapolates each counter by its own first sample: close, not exact.
	if got := last(errs, "service_name", "inventory"); math.Abs(got-float64(sent.inventoryFailures)/n) > 0.01 {
		t.Errorf("inventory error rate = %v, want %v", got, float64(sent.inventoryFailures)/n)
	}
	if got := last(errs, "service_name", "frontend"); got != 0 {
		t.Errorf("frontend error rate = %v, want 0", got)
	}
	lat := spm("latencies?service=inventory&quantile=0.95&groupByOperation=true" + window)
	if lat.Name != "service_operation_latencies" {
		t.Errorf("latencies name = %q", lat.Name)
	}
	// Milliseconds, within the classic bucket of the true quantile.
	if got := last(lat, "service_name", "inventory", "operation", "GET /stock"); got < 10 || got > 50 {
		t.Errorf("inventory p95 = %v ms, want within the (10ms, 50ms] bucket", got)
	}
	clientCalls := spm("calls?service=frontend&spanKind=client&groupByOperation=true" + window)
	if got := last(clientCalls, "operation", "SELECT orders"); got <= 0 {
		t.Errorf("frontend client calls to the database: %v", got)
	}
	s.getJSON("/jaeger/api/metrics/calls", 400, nil)
	s.getJSON("/jaeger/api/metrics/latencies?service=inventory", 400, nil)
	s.getJSON("/jaeger/api/metrics/calls?service=inventory&spanKind=sideways", 400, nil)
	s.getJSON("/jaeger/api/metrics/minstep", 200, nil)

	// Exemplars: each resolves to a stored trace.
	now := time.Now()
	checkExemplars := func(when string) {
		t.Helper()
		res := s.exemplars(`traces_span_metrics_duration_seconds_bucket{`+inv+`}`, now.Add(-time.Hour), now.Add(time.Hour))
		if len(res) == 0 {
			t.Fatalf("%s: no exemplars for inventory's latency", when)
		}
		found := 0
		for _, r := range res {
			for _, e := range r.Exemplars {
				tid := e.Labels["trace_id"]
				if !slices.Contains(sent.traceIDs, tid) {
					t.Errorf("%s: exemplar trace_id %q is not one sent", when, tid)
					continue
				}
				if corr := e.Labels["correlation_id"]; sent.correlation[corr] != tid {
					t.Errorf("%s: exemplar correlation_id %q does not belong to trace %s", when, corr, tid)
				}
				var tr jaegerResponse[[]jaegerTrace]
				s.getJSON("/jaeger/api/traces/"+tid, 200, &tr)
				if len(tr.Data) != 1 || len(tr.Data[0].Spans) != 4 {
					t.Errorf("%s: trace %s of an exemplar: %d traces", when, tid, len(tr.Data))
				}
				found++
			}
		}
		if found == 0 {
			t.Fatalf("%s: exemplar results without exemplars: %+v", when, res)
		}
	}
	checkExemplars("before restart")

	// The correlation lookup returns the exemplars that name the request.
	ex := s.exemplars(`traces_span_metrics_duration_seconds{`+inv+`}`, now.Add(-time.Hour), now.Add(time.Hour))
	if len(ex) == 0 || len(ex[0].Exemplars) == 0 {
		t.Fatalf("no exemplars on the native histogram: %+v", ex)
	}
	corrID := ex[0].Exemplars[0].Labels["correlation_id"]
	var corr struct {
		Spans     []struct{ TraceID string } `json:"spans"`
		Exemplars []struct {
			Series map[string]string `json:"series"`
			Labels map[string]string `json:"labels"`
			Value  *float64          `json:"value"`
		} `json:"exemplars"`
	}
	s.getJSON("/api/argus/v1/correlate/"+corrID, 200, &corr)
	if len(corr.Spans) == 0 || len(corr.Exemplars) == 0 {
		t.Fatalf("correlate %s: %d spans, %d exemplars", corrID, len(corr.Spans), len(corr.Exemplars))
	}
	for _, e := range corr.Exemplars {
		if e.Labels["trace_id"] != sent.correlation[corrID] || e.Value == nil || e.Series["__name__"] == "" {
			t.Errorf("correlate %s: exemplar %+v", corrID, e)
		}
	}

	// A correlation ID is accepted wherever a trace ID is.
	var byCorr jaegerResponse[[]jaegerTrace]
	s.getJSON("/jaeger/api/traces/order-0007", 200, &byCorr)
	if len(byCorr.Data) != 1 || byCorr.Data[0].TraceID != sent.correlation["order-0007"] || len(byCorr.Data[0].Spans) != 4 {
		t.Errorf("trace by correlation ID: %+v", byCorr.Data)
	}
	var v3 struct {
		Result struct {
			ResourceSpans []any `json:"resourceSpans"`
		} `json:"result"`
	}
	s.getJSON("/jaeger/api/v3/traces/order-0007", 200, &v3)
	if len(v3.Result.ResourceSpans) == 0 {
		t.Error("api/v3 trace by correlation ID: no spans")
	}
	s.getJSON("/jaeger/api/traces/no-such-request", 400, nil)
	var search jaegerResponse[[]jaegerTrace]
	s.getJSON("/jaeger/api/traces?traceID=order-0007&traceID=no-such-request", 200, &search)
	if len(search.Data) != 1 || search.Data[0].TraceID != sent.correlation["order-0007"] || len(search.Errors) != 1 {
		t.Errorf("trace lookup by correlation IDs: %+v", search)
	}

	// Exemplars survive a restart.
	s.stop()
	s = startArgus(t, dir, "--config="+cfg)
	checkExemplars("after restart")
}

// TestExemplarsOutliveHeadCompaction checks that an exemplar stays
// queryable, and resolves to its trace, after the TSDB has compacted its
// sample out of the head into a block and the server has restarted.
func TestExemplarsOutliveHeadCompaction(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(t.TempDir(), "argus.yml")
	// No self-scrape: a sample at the current time would make the old
	// one below too old to append.
	if err := os.WriteFile(cfg, []byte(deriveConfig+"scrape_configs:\n  - job_name: argus\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startArgus(t, dir, "--config="+cfg)
	// A sample five hours old with an exemplar naming a trace; then the
	// trace itself, whose span metrics bring samples at the current time:
	// the head spans more than three hours, so the TSDB compacts the old
	// sample into a block.
	old := time.Now().Add(-5 * time.Hour)
	exp := grpcExporter(t, s)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp),
		sdktrace.WithResource(resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName("checkout"))))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	ctx, root := tp.Tracer("checkout").Start(context.Background(), "POST /pay", trace.WithSpanKind(trace.SpanKindServer))
	traceID := root.SpanContext().TraceID().String()
	if code, body := remoteWrite(t, s, prompb.TimeSeries{
		Labels:    []prompb.Label{{Name: "__name__", Value: "payment_seconds"}, {Name: "job", Value: "rw"}},
		Samples:   []prompb.Sample{{Timestamp: old.UnixMilli(), Value: 0.25}},
		Exemplars: []prompb.Exemplar{{Labels: []prompb.Label{{Name: "trace_id", Value: traceID}}, Value: 0.25, Timestamp: old.UnixMilli()}},
	}); code/100 != 2 {
		t.Fatalf("remote write: %d %s", code, body)
	}
	_, child := tp.Tracer("checkout").Start(ctx, "charge card", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("peer.service", "card-processor")))
	child.End()
	root.End()
	eventually(t, 60*time.Second, func() error {
		if v := s.ownMetric("prometheus_tsdb_compactions_total"); v < 1 {
			return fmt.Errorf("no head compaction yet: %v", v)
		}
		return nil
	})
	s.stop()
	s = startArgus(t, dir, "--config="+cfg)
	if v := s.ownMetric("prometheus_tsdb_blocks_loaded"); v < 1 {
		t.Fatalf("prometheus_tsdb_blocks_loaded = %v after the compaction", v)
	}
	res := s.exemplars(`payment_seconds`, old.Add(-time.Minute), old.Add(time.Minute))
	if len(res) != 1 || len(res[0].Exemplars) != 1 || res[0].Exemplars[0].Labels["trace_id"] != traceID {
		t.Fatalf("exemplar of a compacted sample after restart: %+v", res)
	}
	var tr jaegerResponse[[]jaegerTrace]
	s.getJSON("/jaeger/api/traces/"+traceID, 200, &tr)
	if len(tr.Data) != 1 || len(tr.Data[0].Spans) != 2 {
		t.Fatalf("trace %s of the exemplar: %+v", traceID, tr.Data)
	}
	// The span metrics' own exemplar names the same trace.
	res = s.exemplars(`traces_span_metrics_duration_seconds_bucket{service_name="checkout"}`, time.Now().Add(-time.Hour), time.Now())
	if len(res) == 0 || len(res[0].Exemplars) == 0 || res[0].Exemplars[0].Labels["trace_id"] != traceID {
		t.Fatalf("span metrics exemplar after restart: %+v", res)
	}
}

// TestSpanMetricsLimits checks the bad-input rules of span metrics: spans
// without a service name count under unknown_service, and a service past
// its series limit is folded into one overflow series, reported once.
func TestSpanMetricsLimits(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "argus.yml")
	if err := os.WriteFile(cfg, []byte(deriveConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startArgus(t, t.TempDir(), "--config="+cfg)
	send := func(res *resource.Resource, names ...string) {
		// A provider's shutdown shuts its exporter down: one each.
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(grpcExporter(t, s)), sdktrace.WithResource(res))
		defer tp.Shutdown(context.Background())
		for _, name := range names {
			_, sp := tp.Tracer("limits").Start(context.Background(), name, trace.WithSpanKind(trace.SpanKindInternal))
			sp.End()
		}
	}
	// No service.name at all (an empty resource, not the SDK's default).
	send(resource.Empty(), "a", "b", "c")
	var names []string
	for i := range 12 {
		names = append(names, fmt.Sprintf("job-%02d", i))
	}
	send(resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName("chatty")), names...)

	s.wantValue(`sum(traces_span_metrics_calls_total{service_name="unknown_service"})`, 3)
	s.wantValue(`count(traces_span_metrics_calls_total{service_name="chatty",otel_metric_overflow=""})`, 5)
	s.wantValue(`traces_span_metrics_calls_total{service_name="chatty",otel_metric_overflow="true"}`, 7)
	if v := s.ownMetric(`argus_span_metrics_overflow_spans_total{service="chatty"}`); v != 7 {
		t.Errorf("argus_span_metrics_overflow_spans_total = %v, want 7", v)
	}
	send(resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName("chatty")), "job-99", "job-98")
	s.wantValue(`traces_span_metrics_calls_total{service_name="chatty",otel_metric_overflow="true"}`, 9)
	if c := strings.Count(s.logs(), "reached max_series_per_service"); c != 1 {
		t.Errorf("overflow reported %d times in the log, want once", c)
	}
}
