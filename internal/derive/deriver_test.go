package derive

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/argus-obs/argus/internal/model"
)

// TestStaleness checks that series without spans for StaleAfter end with
// a staleness marker, so queries stop returning them at once, and are
// forgotten; and that the same labels later start a new series.
func TestStaleness(t *testing.T) {
	e := newEnv(t, Options{StaleAfter: time.Minute, ServiceGraph: ServiceGraphOptions{Wait: time.Second}})
	calls := `traces_span_metrics_calls_total{service_name="frontend",span_name="GET /stock"}`
	send := func() {
		client, server := e.call(1, model.StatusUnset, model.StatusUnset)
		lonely := e.mk(span{service: "frontend", name: "GET /stock", kind: model.SpanKindClient, duration: time.Millisecond, trace: 9, id: 9, parent: 1})
		e.observe(client, server, lonely)
	}
	send()
	e.clock.Advance(15 * time.Second)
	e.flush()
	e.clock.Advance(40 * time.Second)
	e.flush() // 55s idle: not stale yet
	live := e.now()

	selectors := []string{
		calls,
		`traces_span_metrics_duration_seconds{service_name="frontend"}`,
		`traces_span_metrics_duration_seconds_bucket{service_name="frontend",le="0.2"}`,
		`traces_span_metrics_duration_seconds_sum{service_name="frontend"}`,
		`traces_span_metrics_duration_seconds_count{service_name="frontend"}`,
		`traces_service_graph_request_total`,
		`traces_service_graph_request_failed_total`,
		`traces_service_graph_request_server_seconds{client="frontend"}`,
		`traces_service_graph_request_client_seconds_count{client="frontend"}`,
	}
	unpaired := `traces_service_graph_unpaired_spans_total{client="frontend"}`
	for _, s := range append(selectors, unpaired) {
		if len(e.query(s, live)) == 0 {
			t.Errorf("%s: no sample at %s, before StaleAfter", s, live.Format(time.TimeOnly))
		}
	}

	e.clock.Advance(15 * time.Second) // 70s idle
	e.flush()
	stale := e.now()
	for _, s := range selectors {
		e.expectAbsent(s, stale)
		// Well within the lookback delta, but after the marker: gone.
		e.expectAbsent(s, stale.Add(time.Minute))
		if len(e.query(s, stale.Add(-time.Millisecond))) == 0 {
			t.Errorf("%s: gone before its staleness marker", s)
		}
	}
	// The lonely client span was counted as unpaired when it expired, at
	// the first flush: its counter was updated then, and lives on until
	// StaleAfter past that.
	e.expectValue(unpaired, stale, 1)
	e.clock.Advance(15 * time.Second)
	e.flush()
	stale2 := e.now()
	e.expectAbsent(unpaired, stale2)

	// The last sample of every derived series is a staleness marker.
	for name, samples := range e.series(`{__name__=~"traces_.+"}`) {
		want := stale.UnixMilli()
		if strings.Contains(name, "unpaired") {
			want = stale2.UnixMilli()
		}
		if last := samples[len(samples)-1]; !last.stale || last.t != want {
			t.Errorf("%s: last sample %+v, want a staleness marker at %d", name, last, want)
		}
	}

	e.d.mu.Lock()
	nSpans, nPer := len(e.d.spans.series), e.d.spans.perService["frontend"]
	nEdges, nUnpaired := len(e.d.graph.edges), len(e.d.graph.unpaired)
	e.d.mu.Unlock()
	if nSpans != 0 || nPer != 0 || nEdges != 0 || nUnpaired != 0 {
		t.Errorf("in memory after staleness: %d span series (%d counted for frontend), %d edges, %d unpaired counters", nSpans, nPer, nEdges, nUnpaired)
	}
	if got := gatherSum(t, e.reg, "argus_derive_series", nil); got != 0 {
		t.Errorf("argus_derive_series = %g, want 0", got)
	}

	// A later flush writes nothing more for them.
	e.clock.Advance(15 * time.Second)
	e.flush()
	for name, samples := range e.series(`{__name__=~"traces_.+"}`) {
		if last := samples[len(samples)-1]; last.t > stale2.UnixMilli() {
			t.Errorf("%s: written after it was forgotten: %+v", name, last)
		}
	}

	// The spans come back: the series starts over from a zero sample.
	e.clock.Advance(10 * time.Second)
	restart := e.now()
	send()
	e.clock.Advance(15 * time.Second)
	e.flush()
	e.expectValue(calls, e.now(), 2)
	e.expectValue("increase("+calls+"[10m])", e.now(), 4)
	raw := e.series(calls)
	samples := raw[sortedKeys(raw)[0]]
	tail := samples[len(samples)-2:]
	if tail[0].t != restart.UnixMilli() || tail[0].f != 0 || tail[1].f != 2 {
		t.Errorf("samples after the restart: %+v", tail)
	}
	e.expectValue(`traces_service_graph_request_total`, e.now(), 1)
}

// TestStalenessNeverFlushed checks that a series that goes stale before
// it was ever written leaves nothing in the TSDB.
func TestStalenessNeverFlushed(t *testing.T) {
	e := newEnv(t, Options{StaleAfter: time.Minute})
	e.observe(e.mk(span{service: "checkout", name: "x", kind: model.SpanKindServer, duration: time.Millisecond, trace: 1, id: 1}))
	e.clock.Advance(2 * time.Minute)
	e.flush()
	if got := e.series(`{__name__=~".+"}`); len(got) != 0 {
		t.Errorf("series written: %v", sortedKeys(got))
	}
}

// TestApplyOptionsKeepsCounters reloads options between flushes: the
// series whose labels the new options still produce keep counting from
// their values, never from zero.
func TestApplyOptionsKeepsCounters(t *testing.T) {
	e := newEnv(t, Options{})
	send := func(n int, route string) {
		var attrs []model.Attribute
		if route != "" {
			attrs = []model.Attribute{model.String("http.route", route)}
		}
		for range n {
			e.observe(e.mk(span{service: "checkout", name: "GET", kind: model.SpanKindServer, duration: 5 * time.Millisecond, trace: 1, id: 1, attrs: attrs}))
		}
	}
	plain := `traces_span_metrics_calls_total{service_name="checkout",span_name="GET",http_route=""}`
	routeA := `traces_span_metrics_calls_total{service_name="checkout",span_name="GET",http_route="/a"}`
	plainCount := `traces_span_metrics_duration_seconds_count{service_name="checkout",span_name="GET",http_route=""}`

	send(5, "")
	send(2, "/a")
	e.clock.Advance(15 * time.Second)
	e.flush()
	e.expectValue(plain, e.now(), 7)

	// Only the limit changes: every key stays the same.
	e.d.ApplyOptions(Options{SpanMetrics: SpanMetricsOptions{MaxSeriesPerService: 100}})
	send(1, "")
	e.clock.Advance(15 * time.Second)
	e.flush()
	e.expectValue(plain, e.now(), 8)

	// A dimension is added: spans without it keep the labels they had,
	// so they keep counting in the same series; spans with it start one.
	e.d.ApplyOptions(Options{SpanMetrics: SpanMetricsOptions{Dimensions: []string{"http.route"}}})
	send(3, "")
	send(4, "/a")
	e.clock.Advance(15 * time.Second)
	e.flush()
	e.expectValue(plain, e.now(), 11)
	e.expectValue(plainCount, e.now(), 11)
	e.expectValue(routeA, e.now(), 4)

	// The dimension is dropped again: spans with the attribute count in
	// the series without it, as before, and /a's series ages out.
	e.d.ApplyOptions(Options{})
	send(1, "/a")
	send(1, "")
	e.clock.Advance(15 * time.Second)
	e.flush()
	e.expectValue(plain, e.now(), 13)
	e.expectValue(routeA, e.now(), 4)

	// No sample of the series without the route ever went down: no
	// counter reset, and the range covers every span sent to it.
	for name, samples := range e.series(plain) {
		for i := 1; i < len(samples); i++ {
			if samples[i].f < samples[i-1].f {
				t.Errorf("%s went from %g to %g at %d", name, samples[i-1].f, samples[i].f, samples[i].t)
			}
		}
	}
	if got := e.scalar("resets("+plain+"[10m])", e.now()); got != 0 {
		t.Errorf("resets = %g", got)
	}
	e.d.mu.Lock()
	per := e.d.spans.perService["checkout"]
	e.d.mu.Unlock()
	if per != 2 {
		t.Errorf("perService[checkout] = %d, want 2", per)
	}

	// ApplyOptions keeps the clock, logger, registerer and appendable.
	e.d.mu.Lock()
	kept := e.d.opts.Appendable == storage.AppendableV2(e.app) && e.d.opts.Registerer == e.reg && e.d.opts.Now != nil && e.d.opts.Logger != nil
	e.d.mu.Unlock()
	if !kept {
		t.Error("ApplyOptions lost Appendable, Registerer, Now or Logger")
	}
}

// TestApplyOptionsServiceGraph checks that a reload keeps the edges and
// the pending halves of the service graph, and that disabling and
// enabling span metrics works.
func TestApplyOptionsServiceGraph(t *testing.T) {
	e := newEnv(t, Options{})
	client, server := e.call(1, model.StatusUnset, model.StatusUnset)
	e.observe(client, server)
	client2, server2 := e.call(2, model.StatusUnset, model.StatusUnset)
	e.observe(client2)
	e.clock.Advance(time.Second)
	e.flush()
	e.clock.Advance(time.Second)
	e.d.ApplyOptions(Options{ServiceGraph: ServiceGraphOptions{Wait: time.Minute}, SpanMetrics: SpanMetricsOptions{Disabled: true}})
	e.observe(server2) // pairs with the half kept across the reload
	e.clock.Advance(time.Second)
	e.flush()
	e.expectValue(`traces_service_graph_request_total{client="frontend",server="inventory"}`, e.now(), 2)
	// Span metrics are off: nothing new is counted, and nothing is
	// written.
	e.expectValue(`sum(traces_span_metrics_calls_total)`, e.now().Add(-time.Second), 3)

	e.d.ApplyOptions(Options{SpanMetrics: SpanMetricsOptions{Disabled: true}, ServiceGraph: ServiceGraphOptions{Disabled: true}})
	e.observe(e.call(3, model.StatusUnset, model.StatusUnset))
	e.clock.Advance(time.Second)
	e.d.ApplyOptions(Options{})
	e.observe(e.call(4, model.StatusUnset, model.StatusUnset))
	e.clock.Advance(time.Second)
	e.flush()
	// Disabled and enabled again, both start over: call 3 went uncounted
	// and call 4 is counted from zero; increase() sees both calls 1, 2
	// and 4.
	edge := `traces_service_graph_request_total{client="frontend",server="inventory"}`
	e.expectValue(edge, e.now(), 1)
	e.expectValue("increase("+edge+"[5m])", e.now(), 3)
	e.expectValue(`sum(traces_span_metrics_calls_total)`, e.now(), 2)
}

// TestOutOfRangeKindAndStatus checks that a span kind or status code out
// of OTLP's range is counted with the unspecified/unset one it is
// labelled as, in the same series.
func TestOutOfRangeKindAndStatus(t *testing.T) {
	e := newEnv(t, Options{})
	for i, k := range []struct {
		kind   model.SpanKind
		status model.StatusCode
	}{{0, 0}, {9, 0}, {0, 5}, {-3, -1}} {
		e.observe(e.mk(span{service: "checkout", name: "x", kind: k.kind, status: k.status, duration: time.Millisecond, trace: uint64(i + 1), id: 1}))
	}
	e.clock.Advance(15 * time.Second)
	e.flush()
	e.expectValue(`traces_span_metrics_calls_total{service_name="checkout",span_kind="SPAN_KIND_UNSPECIFIED",status_code="STATUS_CODE_UNSET"}`, e.now(), 4)
}

// TestWriter checks that spans are derived from only once stored.
func TestWriter(t *testing.T) {
	e := newEnv(t, Options{})
	next := &fakeTraceWriter{}
	w := Writer{Next: next, Deriver: e.d}
	sp := e.mk(span{service: "checkout", name: "x", kind: model.SpanKindServer, duration: time.Millisecond, trace: 1, id: 1})
	if err := w.WriteSpans(context.Background(), []model.Span{sp, sp}); err != nil {
		t.Fatal(err)
	}
	next.err = errors.New("disk full")
	if err := w.WriteSpans(context.Background(), []model.Span{sp}); !errors.Is(err, next.err) {
		t.Fatalf("WriteSpans: %v, want the store's error", err)
	}
	e.clock.Advance(15 * time.Second)
	e.flush()
	e.expectValue(SpanCallsMetric, e.now(), 2)
	if next.n != 3 {
		t.Errorf("the store got %d spans, want 3", next.n)
	}
}

type fakeTraceWriter struct {
	n   int
	err error
}

func (f *fakeTraceWriter) WriteSpans(_ context.Context, spans []model.Span) error {
	f.n += len(spans)
	return f.err
}

// TestObserveDoesNotKeepSpans checks that the deriver copies what it
// keeps: reusing the spans' memory afterwards changes nothing, neither
// the series nor the halves of calls waiting for their other side nor
// the exemplars' correlation IDs.
func TestObserveDoesNotKeepSpans(t *testing.T) {
	e := newEnv(t, Options{SpanMetrics: SpanMetricsOptions{Dimensions: []string{"k"}}})
	buf := []byte("operation|service|value|corr-1|server-svc")
	str := func(from, to int) string { return unsafeString(buf[from:to]) }
	name, svc, val, corr, serverSvc := str(0, 9), str(10, 17), str(18, 23), str(24, 30), str(31, 41)
	client := e.mk(span{kind: model.SpanKindClient, duration: time.Millisecond, trace: 1, id: 1, parent: 2})
	client.Name, client.Resource.ServiceName = name, svc
	client.Attributes = []model.Attribute{model.String("k", val), model.String("peer.service", val), model.String(CorrelationKey, corr)}
	server := e.mk(span{kind: model.SpanKindServer, duration: time.Millisecond, trace: 2, id: 3, parent: 4})
	server.Name, server.Resource.ServiceName = name, serverSvc
	server.Attributes = []model.Attribute{model.String(CorrelationKey, corr)}
	e.observe(client, server)
	for i := range buf {
		buf[i] = 'X'
	}
	e.clock.Advance(time.Minute)
	e.flush()
	e.expectValue(`traces_span_metrics_calls_total{service_name="service",span_name="operation",k="value"}`, e.now(), 1)
	e.expectValue(`traces_service_graph_request_total{client="service",server="value"}`, e.now(), 1)
	e.expectValue(`traces_service_graph_unpaired_spans_total{server="server-svc"}`, e.now(), 1)
	// The overflow counter of the deriver's own metrics keeps its label
	// value too.
	e.d.ApplyOptions(Options{SpanMetrics: SpanMetricsOptions{MaxSeriesPerService: 1, Dimensions: []string{"k"}}})
	copy(buf, "operation|service|value|corr-1|server-svc")
	other := e.mk(span{kind: model.SpanKindServer, duration: time.Millisecond, trace: 5, id: 5})
	other.Name, other.Resource.ServiceName = str(18, 23), svc
	e.observe(other)
	for i := range buf {
		buf[i] = 'X'
	}
	if got := gatherSum(t, e.reg, "argus_span_metrics_overflow_spans_total", map[string]string{"service": "service"}); got != 1 {
		t.Errorf("argus_span_metrics_overflow_spans_total{service=service} = %g, want 1", got)
	}
	for _, sel := range []string{
		`traces_span_metrics_calls_total{service_name="service"}`,
		`traces_service_graph_request_client_seconds{client="service"}`,
	} {
		res := e.exemplars(sel)
		if len(res) != 1 || len(res[0].Exemplars) != 1 || res[0].Exemplars[0].Labels.Get("correlation_id") != "corr-1" {
			t.Errorf("exemplars of %s: %v", sel, res)
		}
	}
}

// TestFlushRefused checks that samples the store refuses are counted and
// logged, and that a failed commit is reported.
func TestFlushRefused(t *testing.T) {
	e := newEnv(t, Options{})
	e.lenient = true
	e.observe(e.mk(span{service: "checkout", name: "x", kind: model.SpanKindServer, duration: time.Millisecond, trace: 1, id: 1}))
	e.clock.Advance(15 * time.Second)
	e.flush()
	// Flushing at an earlier time: every sample is out of order.
	e.clock.Advance(-time.Minute)
	e.observe(e.mk(span{service: "checkout", name: "x", kind: model.SpanKindServer, duration: time.Millisecond, trace: 1, id: 1}))
	if err := e.d.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := gatherSum(t, e.reg, "argus_derive_samples_refused_total", nil); got == 0 {
		t.Error("argus_derive_samples_refused_total = 0")
	}
	if !strings.Contains(e.logs.String(), "samples refused by the metrics store") {
		t.Errorf("no log of the refused samples:\n%s", e.logs)
	}
	if got := gatherSum(t, e.reg, "argus_derive_flushes_total", map[string]string{"result": "success"}); got != 2 {
		t.Errorf("argus_derive_flushes_total{result=success} = %g, want 2", got)
	}

	failing := New(Options{Appendable: failingAppendable{}, Now: e.clock.Now})
	failing.Observe([]model.Span{e.mk(span{service: "a", name: "b", duration: 1})})
	if err := failing.Flush(context.Background()); err == nil {
		t.Error("Flush: no error from a failed commit")
	}
}

type failingAppendable struct{}

func (failingAppendable) AppenderV2(context.Context) storage.AppenderV2 { return failingAppendable{} }
func (failingAppendable) Append(storage.SeriesRef, labels.Labels, int64, int64, float64, *histogram.Histogram, *histogram.FloatHistogram, storage.AOptions) (storage.SeriesRef, error) {
	return 0, nil
}
func (failingAppendable) Commit() error   { return errors.New("commit failed") }
func (failingAppendable) Rollback() error { return nil }

// TestStartShutdown runs the periodic writes on the real clock and checks
// that Shutdown writes what was observed since the last tick.
func TestStartShutdown(t *testing.T) {
	e := newEnv(t, Options{Interval: 10 * time.Millisecond})
	e.d.Start(context.Background())
	e.observe(e.mk(span{service: "checkout", name: "x", kind: model.SpanKindServer, duration: time.Millisecond, trace: 1, id: 1}))
	deadline := time.Now().Add(5 * time.Second)
	for gatherSum(t, e.reg, "argus_derive_flushes_total", nil) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no periodic flush")
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.d.ApplyOptions(Options{Interval: 20 * time.Millisecond})
	e.clock.Advance(time.Second)
	e.observe(e.mk(span{service: "checkout", name: "x", kind: model.SpanKindServer, duration: time.Millisecond, trace: 1, id: 1}))
	e.clock.Advance(time.Second)
	if err := e.d.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.d.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	e.expectValue(SpanCallsMetric, e.now(), 2)
	if errs := e.app.takeErrors(); len(errs) > 0 {
		// The fake clock stands still between ticks: repeated writes at one
		// time are duplicates, which the TSDB accepts.
		t.Errorf("refused: %v", errs)
	}
}

// unsafeString returns a string sharing b's memory, to catch a deriver
// that keeps a span's strings.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
