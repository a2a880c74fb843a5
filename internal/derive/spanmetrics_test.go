package derive

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-obs/argus/internal/model"
)

// labelSet is one combination of the span metrics' labels and the
// durations sent for it.
type labelSet struct {
	service, name string
	kind          model.SpanKind
	status        model.StatusCode
	durations     []time.Duration
}

func (ls *labelSet) selector(metric string, extra ...string) string {
	m := []string{
		fmt.Sprintf("service_name=%q", ls.service),
		fmt.Sprintf("span_name=%q", ls.name),
		fmt.Sprintf("span_kind=%q", SpanKindLabel(ls.kind)),
		fmt.Sprintf("status_code=%q", StatusCodeLabel(ls.status)),
	}
	return metric + "{" + strings.Join(append(m, extra...), ",") + "}"
}

func (ls *labelSet) seconds() []float64 {
	out := make([]float64, len(ls.durations))
	for i, d := range ls.durations {
		out[i] = float64(d.Nanoseconds()) / 1e9
	}
	return out
}

// logNormalDurations returns n durations spread like request latencies:
// log-normal around median, at nanosecond resolution.
func logNormalDurations(r *rand.Rand, n int, median time.Duration, sigma float64) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(float64(median) * math.Exp(r.NormFloat64()*sigma))
		if out[i] <= 0 {
			out[i] = 1
		}
	}
	return out
}

// trueQuantile is the q-quantile of vs by rank: the smallest value with at
// least q·n values at or below it.
func trueQuantile(vs []float64, q float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(i, 0)]
}

// TestSpanMetrics sends spans of several label combinations and reads the
// calls counter, the classic histogram and the native histogram back from
// the TSDB with PromQL.
func TestSpanMetrics(t *testing.T) {
	e := newEnv(t, Options{})
	r := rand.New(rand.NewPCG(7, 11))
	sets := []*labelSet{
		{service: "checkout", name: "GET /cart", kind: model.SpanKindServer, status: model.StatusUnset,
			durations: logNormalDurations(r, 400, 40*time.Millisecond, 0.8)},
		{service: "checkout", name: "GET /cart", kind: model.SpanKindServer, status: model.StatusError,
			durations: logNormalDurations(r, 37, 300*time.Millisecond, 0.5)},
		{service: "checkout", name: "SELECT orders", kind: model.SpanKindClient, status: model.StatusOK,
			// Exact bucket bounds fall in the bucket they bound (le).
			durations: append(logNormalDurations(r, 120, 3*time.Millisecond, 0.6), 10*time.Millisecond, 100*time.Millisecond, 2*time.Millisecond)},
		{service: "inventory", name: "reserve", kind: model.SpanKindServer, status: model.StatusOK,
			durations: logNormalDurations(r, 250, 900*time.Millisecond, 1.2)},
		{service: "inventory", name: "publish", kind: model.SpanKindProducer, status: model.StatusError,
			durations: []time.Duration{20 * time.Second, 7 * time.Millisecond}},
	}
	// Interleave the sets as a receiver would, in batches, a second apart.
	var batch []model.Span
	id := uint64(1)
	for i := 0; ; i++ {
		more := false
		for _, ls := range sets {
			if i < len(ls.durations) {
				more = true
				batch = append(batch, e.mk(span{service: ls.service, name: ls.name, kind: ls.kind, status: ls.status,
					duration: ls.durations[i], trace: id, id: id}))
				id++
			}
		}
		if !more || len(batch) >= 100 {
			e.observe(batch...)
			batch = nil
			e.clock.Advance(time.Second)
		}
		if !more {
			break
		}
	}
	e.clock.Advance(5 * time.Second)
	e.flush()
	at := e.now()

	if n := len(e.query(`{__name__="traces_span_metrics_calls_total"}`, at)); n != len(sets) {
		t.Errorf("%d calls series, want %d", n, len(sets))
	}
	for _, ls := range sets {
		t.Run(ls.service+"/"+ls.name+"/"+StatusCodeLabel(ls.status), func(t *testing.T) {
			n := float64(len(ls.durations))
			secs := ls.seconds()
			parent := e.t
			e.t = t
			defer func() { e.t = parent }()

			e.expectValue(ls.selector(SpanCallsMetric), at, n)
			e.expectValue(ls.selector(SpanDurationMetric+"_count"), at, n)
			var sum float64
			for _, s := range secs {
				sum += s
			}
			if got := e.scalar(ls.selector(SpanDurationMetric+"_sum"), at); math.Abs(got-sum) > 1e-9*sum {
				t.Errorf("_sum = %g, want %g", got, sum)
			}
			for _, bound := range append(slices.Clone(DefaultDurationBuckets), math.Inf(1)) {
				var cum float64
				for _, s := range secs {
					if s <= bound {
						cum++
					}
				}
				le := fmt.Sprintf("le=%q", formatBound(bound))
				e.expectValue(ls.selector(SpanDurationMetric+"_bucket", le), at, cum)
			}
			if got := len(e.query(ls.selector(SpanDurationMetric+"_bucket"), at)); got != len(DefaultDurationBuckets)+1 {
				t.Errorf("%d _bucket series, want %d", got, len(DefaultDurationBuckets)+1)
			}

			// The native histogram.
			native := ls.selector(SpanDurationMetric)
			vec := e.query(native, at)
			if len(vec) != 1 || vec[0].H == nil {
				t.Fatalf("%s: want one native histogram, got %v", native, vec)
			}
			if err := vec[0].H.Validate(); err != nil {
				t.Errorf("native histogram: %v", err)
			}
			e.expectValue("histogram_count("+native+")", at, n)
			if got := e.scalar("histogram_sum("+native+")", at); math.Abs(got-sum) > 1e-9*sum {
				t.Errorf("histogram_sum = %g, want %g", got, sum)
			}
			if len(secs) < 100 {
				return // too few for a quantile to be meaningful
			}
			for _, q := range []float64{0.5, 0.9, 0.99} {
				want := trueQuantile(secs, q)
				got := e.scalar(fmt.Sprintf("histogram_quantile(%g, %s)", q, native), at)
				// Schema 3: a bucket spans a factor of 2^(1/8) ≈ 1.0905.
				if rel := math.Abs(got-want) / want; rel > math.Exp2(1.0/8)-1 {
					t.Errorf("histogram_quantile(%g) = %g, true quantile %g: off by %.1f%%", q, got, want, 100*rel)
				}
				// The classic buckets are far coarser, but still bracket it.
				classic := e.scalar(fmt.Sprintf("histogram_quantile(%g, sum by (le) (%s))", q, ls.selector(SpanDurationMetric+"_bucket")), at)
				lo, hi := bucketRange(DefaultDurationBuckets, want)
				if classic < lo || classic > hi {
					t.Errorf("classic histogram_quantile(%g) = %g, outside the bucket (%g, %g] of the true %g", q, classic, lo, hi, want)
				}
			}
		})
	}
}

// bucketRange returns the classic bucket (lo, hi] that holds v.
func bucketRange(bounds []float64, v float64) (lo, hi float64) {
	i := bucketIndex(bounds, v)
	if i > 0 {
		lo = bounds[i-1]
	}
	if i == len(bounds) {
		return lo, math.Inf(1)
	}
	return lo, bounds[i]
}

// TestSpanMetricsCumulative checks that each flush writes the running
// totals, and that the zero sample at the series' creation makes
// increase() count the observations before the first flush.
func TestSpanMetricsCumulative(t *testing.T) {
	e := newEnv(t, Options{})
	ls := &labelSet{service: "checkout", name: "GET /cart", kind: model.SpanKindServer}
	send := func(n int, d time.Duration) {
		for i := range n {
			e.observe(e.mk(span{service: ls.service, name: ls.name, kind: ls.kind, duration: d, trace: uint64(i + 1), id: uint64(i + 1)}))
		}
	}
	created := e.now()
	send(5, 20*time.Millisecond)
	t1 := e.clock.Advance(15 * time.Second)
	e.flush()
	e.clock.Advance(5 * time.Second)
	send(3, 200*time.Millisecond)
	t2 := e.clock.Advance(10 * time.Second)
	e.flush()

	calls := ls.selector(SpanCallsMetric)
	e.expectValue(calls, t1, 5)
	e.expectValue(calls, t2, 8)

	raw := e.series(calls)
	if len(raw) != 1 {
		t.Fatalf("%s: %d series", calls, len(raw))
	}
	var got []string
	for _, s := range raw[sortedKeys(raw)[0]] {
		got = append(got, fmt.Sprintf("%g@%d", s.f, s.t))
	}
	want := []string{
		fmt.Sprintf("0@%d", created.UnixMilli()),
		fmt.Sprintf("5@%d", t1.UnixMilli()),
		fmt.Sprintf("8@%d", t2.UnixMilli()),
	}
	if !slices.Equal(got, want) {
		t.Errorf("samples of %s: %v, want %v", calls, got, want)
	}

	// increase() over both flushes counts every span, the first five
	// included: the zero sample anchors the counter at its creation.
	const eps = 1e-9
	for q, want := range map[string]float64{
		"increase(" + calls + "[5m])":                                                  8,
		"increase(" + ls.selector(SpanDurationMetric+"_count") + "[5m])":               8,
		"histogram_count(increase(" + ls.selector(SpanDurationMetric) + "[5m]))":       8,
		"increase(" + ls.selector(SpanDurationMetric+"_bucket", `le="0.05"`) + "[5m])": 5,
		"increase(" + ls.selector(SpanDurationMetric+"_bucket", `le="0.4"`) + "[5m])":  8,
	} {
		if got := e.scalar(q, t2); math.Abs(got-want) > eps {
			t.Errorf("%s = %g, want %g", q, got, want)
		}
	}
	// Within the first interval alone, increase() sees 0 → 5.
	if got := e.scalar("increase("+calls+"[5m])", t1); math.Abs(got-5) > eps {
		t.Errorf("increase at the first flush = %g, want 5", got)
	}
	// The native histogram's first sample is empty, its second holds the
	// first five observations.
	nraw := e.series(ls.selector(SpanDurationMetric))
	samples := nraw[sortedKeys(nraw)[0]]
	if len(samples) != 3 || samples[0].h == nil || samples[0].h.Count != 0 || samples[1].h.Count != 5 || samples[2].h.Count != 8 {
		t.Errorf("native histogram samples: %+v", samples)
	}
}

// TestSpanMetricsZeroSampleSameMillisecond checks a series created in the
// millisecond it is flushed: its zero sample goes a millisecond earlier.
func TestSpanMetricsZeroSampleSameMillisecond(t *testing.T) {
	e := newEnv(t, Options{ServiceGraph: ServiceGraphOptions{Disabled: true}})
	ls := &labelSet{service: "checkout", name: "GET /cart", kind: model.SpanKindServer}
	e.observe(e.mk(span{service: ls.service, name: ls.name, kind: ls.kind, duration: time.Millisecond, trace: 1, id: 1}))
	e.flush()
	raw := e.series(ls.selector(SpanCallsMetric))
	samples := raw[sortedKeys(raw)[0]]
	if len(samples) != 2 || samples[0].t != e.now().UnixMilli()-1 || samples[0].f != 0 || samples[1].f != 1 {
		t.Errorf("samples: %+v", samples)
	}
}

// TestExemplars checks the trace and span IDs attached to the calls
// counter, to each classic bucket and to the native histogram.
func TestExemplars(t *testing.T) {
	e := newEnv(t, Options{ServiceGraph: ServiceGraphOptions{Disabled: true}})
	ls := &labelSet{service: "checkout", name: "GET /cart", kind: model.SpanKindServer}
	mk := func(id uint64, d time.Duration, attrs ...model.Attribute) model.Span {
		return e.mk(span{service: ls.service, name: ls.name, kind: ls.kind, duration: d, trace: 100 + id, id: id, attrs: attrs})
	}
	s1 := mk(1, 3*time.Millisecond)
	e.clock.Advance(time.Second)
	s2 := mk(2, 30*time.Millisecond, model.String("http.route", "/cart"))
	e.clock.Advance(time.Second)
	s3 := mk(3, 300*time.Millisecond, model.String(CorrelationKey, "corr-42"))
	e.observe(s1, s2, s3)
	e.clock.Advance(10 * time.Second)
	e.flush()

	exLabels := func(sp model.Span, corr string) string {
		if corr != "" {
			return labels.FromStrings("correlation_id", corr, "span_id", sp.SpanID.String(), "trace_id", sp.TraceID.String()).String()
		}
		return labels.FromStrings("span_id", sp.SpanID.String(), "trace_id", sp.TraceID.String()).String()
	}
	type ex struct {
		labels string
		value  float64
		ts     int64
	}
	get := func(selector string) []ex {
		t.Helper()
		res := e.exemplars(selector)
		if len(res) > 1 {
			t.Fatalf("%s: exemplars of %d series", selector, len(res))
		}
		var out []ex
		for _, r := range res {
			for _, x := range r.Exemplars {
				out = append(out, ex{x.Labels.String(), x.Value, x.Ts})
			}
		}
		return out
	}
	check := func(selector string, want ...ex) {
		t.Helper()
		if got := get(selector); !slices.Equal(got, want) {
			t.Errorf("exemplars of %s:\n got %v\nwant %v", selector, got, want)
		}
	}
	end := func(sp model.Span) int64 { return sp.EndUnixNano / 1e6 }

	// The counter: the latest span, with its correlation ID.
	check(ls.selector(SpanCallsMetric), ex{exLabels(s3, "corr-42"), 1, end(s3)})
	// Each classic bucket: the latest span in it.
	check(ls.selector(SpanDurationMetric+"_bucket", `le="0.004"`), ex{exLabels(s1, ""), 0.003, end(s1)})
	check(ls.selector(SpanDurationMetric+"_bucket", `le="0.05"`), ex{exLabels(s2, ""), 0.03, end(s2)})
	check(ls.selector(SpanDurationMetric+"_bucket", `le="0.4"`), ex{exLabels(s3, "corr-42"), 0.3, end(s3)})
	check(ls.selector(SpanDurationMetric+"_bucket", `le="0.002"`))
	check(ls.selector(SpanDurationMetric + "_sum"))
	check(ls.selector(SpanDurationMetric + "_count"))
	// The native histogram: all of them, in time order.
	check(ls.selector(SpanDurationMetric),
		ex{exLabels(s1, ""), 0.003, end(s1)}, ex{exLabels(s2, ""), 0.03, end(s2)}, ex{exLabels(s3, "corr-42"), 0.3, end(s3)})

	// A correlation ID on the resource counts too; the next flush adds
	// exemplars after the earlier ones.
	e.clock.Advance(time.Second)
	s4 := e.mk(span{service: ls.service, name: ls.name, kind: ls.kind, duration: 3500 * time.Microsecond, trace: 104, id: 4,
		resAttrs: []model.Attribute{model.String(CorrelationKey, "corr-res")}})
	e.observe(s4)
	e.clock.Advance(10 * time.Second)
	e.flush()
	check(ls.selector(SpanCallsMetric), ex{exLabels(s3, "corr-42"), 1, end(s3)}, ex{exLabels(s4, "corr-res"), 1, end(s4)})
	check(ls.selector(SpanDurationMetric+"_bucket", `le="0.004"`), ex{exLabels(s1, ""), 0.003, end(s1)}, ex{exLabels(s4, "corr-res"), 0.0035, end(s4)})
	// Nothing new in a bucket: no new exemplar.
	check(ls.selector(SpanDurationMetric+"_bucket", `le="0.4"`), ex{exLabels(s3, "corr-42"), 0.3, end(s3)})

	// A flush without observations adds none.
	e.clock.Advance(15 * time.Second)
	e.flush()
	if got := get(ls.selector(SpanCallsMetric)); len(got) != 2 {
		t.Errorf("after an idle flush: %d counter exemplars, want 2", len(got))
	}

	// A correlation ID too long for OpenMetrics' 128-rune limit is left
	// out; the IDs stay.
	e.clock.Advance(time.Second)
	s5 := mk(5, time.Millisecond, model.String(CorrelationKey, strings.Repeat("x", 100)))
	e.observe(s5)
	e.clock.Advance(10 * time.Second)
	e.flush()
	if got := get(ls.selector(SpanCallsMetric)); len(got) != 3 || got[2].labels != exLabels(s5, "") {
		t.Errorf("exemplar with an overlong correlation ID: %v", got)
	}
}

// TestExemplarsSameMillisecond sends spans that end in a few distinct
// milliseconds, one in every classic bucket, so the native histogram gets
// one exemplar per bucket, many with equal timestamps: the TSDB takes
// those only in increasing value order, so the order of a flush's
// exemplars must not depend on the sort's whims.
func TestExemplarsSameMillisecond(t *testing.T) {
	e := newEnv(t, Options{ServiceGraph: ServiceGraphOptions{Disabled: true}})
	ls := &labelSet{service: "checkout", name: "GET /cart", kind: model.SpanKindServer}
	bounds := append(slices.Clone(DefaultDurationBuckets), 20)
	r := rand.New(rand.NewPCG(1, 1))
	// The TSDB keeps 1000 exemplars: those of the native histogram, of
	// the classic buckets and of the counter, 35 a round, all fit.
	const rounds = 20
	id := uint64(1)
	for range rounds {
		var spans []model.Span
		for _, b := range bounds {
			d := time.Duration(b * 0.99 * float64(time.Second))
			sp := e.mk(span{service: ls.service, name: ls.name, kind: ls.kind, duration: d, trace: id, id: id})
			id++
			// End in one of three milliseconds.
			shift := int64(r.IntN(3)) * int64(time.Millisecond)
			sp.StartUnixNano += shift
			sp.EndUnixNano += shift
			spans = append(spans, sp)
		}
		r.Shuffle(len(spans), func(i, j int) { spans[i], spans[j] = spans[j], spans[i] })
		e.observe(spans...)
		e.clock.Advance(15 * time.Second)
		e.flush() // fails on an exemplar the TSDB refused
	}
	res := e.exemplars(ls.selector(SpanDurationMetric))
	if len(res) != 1 || len(res[0].Exemplars) != rounds*len(bounds) {
		t.Fatalf("native histogram exemplars: %d series, want 1 with %d exemplars", len(res), rounds*len(bounds))
	}
	for i, ex := range res[0].Exemplars[1:] {
		if prev := res[0].Exemplars[i]; ex.Ts < prev.Ts || ex.Ts == prev.Ts && ex.Value <= prev.Value {
			t.Fatalf("exemplar %v after %v", ex, prev)
		}
	}
}

// TestDimensions checks that configured attributes become labels, that a
// missing attribute leaves its label out and that resource attributes
// count.
func TestDimensions(t *testing.T) {
	e := newEnv(t, Options{SpanMetrics: SpanMetricsOptions{
		Dimensions: []string{"http.request.method", "deployment.environment", "1st-try"},
	}})
	prod := []model.Attribute{model.String("deployment.environment", "prod")}
	send := func(n int, attrs, res []model.Attribute) {
		for range n {
			e.observe(e.mk(span{service: "checkout", name: "handle", kind: model.SpanKindServer, duration: time.Millisecond,
				trace: 1, id: 1, attrs: attrs, resAttrs: res}))
		}
	}
	send(3, []model.Attribute{model.String("http.request.method", "GET")}, prod)
	send(2, []model.Attribute{model.String("http.request.method", "POST"), model.Int("1st-try", 1)}, prod)
	send(4, nil, prod)
	send(1, nil, nil)
	// A span's own attribute wins over its resource's.
	send(1, []model.Attribute{model.String("deployment.environment", "canary")}, prod)
	e.clock.Advance(15 * time.Second)
	e.flush()

	got := map[string]float64{}
	for _, s := range e.query(SpanCallsMetric, e.now()) {
		got[s.Metric.String()] = s.F
	}
	base := `__name__="traces_span_metrics_calls_total", `
	tail := `, service_name="checkout", span_kind="SPAN_KIND_SERVER", span_name="handle", status_code="STATUS_CODE_UNSET"}`
	want := map[string]float64{
		`{` + base + `deployment_environment="prod", http_request_method="GET"` + tail:                   3,
		`{` + base + `deployment_environment="prod", http_request_method="POST", key_1st_try="1"` + tail: 2,
		`{` + base + `deployment_environment="prod"` + tail:                                              4,
		`{` + strings.TrimSuffix(base, ", ") + tail:                                                      1,
		`{` + base + `deployment_environment="canary"` + tail:                                            1,
	}
	for _, k := range sortedKeys(want) {
		if got[k] != want[k] {
			t.Errorf("%s = %g, want %g", k, got[k], want[k])
		}
	}
	if len(got) != len(want) {
		t.Errorf("series: %v", sortedKeys(got))
	}
	// Every series of the histogram carries the same labels.
	if n := len(e.query(`traces_span_metrics_duration_seconds_count{http_request_method="POST",key_1st_try="1"}`, e.now())); n != 1 {
		t.Errorf("%d _count series with the POST labels, want 1", n)
	}
}

// TestDimensionEmptyValue checks that an attribute with an empty value is
// counted as missing: Prometheus has no empty labels, so a series for it
// would be the same series as the one without the attribute.
func TestDimensionEmptyValue(t *testing.T) {
	e := newEnv(t, Options{SpanMetrics: SpanMetricsOptions{Dimensions: []string{"http.route"}}})
	for i := range 6 {
		var attrs []model.Attribute
		if i%2 == 0 {
			attrs = []model.Attribute{model.String("http.route", "")}
		}
		e.observe(e.mk(span{service: "checkout", name: "handle", kind: model.SpanKindServer, duration: time.Millisecond, trace: 1, id: 1, attrs: attrs}))
	}
	e.clock.Advance(15 * time.Second)
	e.flush() // fails if two in-memory series write the same TSDB series
	e.expectValue(SpanCallsMetric, e.now(), 6)
}

// TestLabelName checks the attribute → label name translation.
func TestLabelName(t *testing.T) {
	for in, want := range map[string]string{
		"http.request.method": "http_request_method",
		"k8s.pod-name":        "k8s_pod_name",
		"already_ok":          "already_ok",
		"2xx":                 "key_2xx",
		"":                    "",
	} {
		if got := LabelName(in); got != want {
			t.Errorf("LabelName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCardinalityLimit checks that a service past MaxSeriesPerService gets
// one overflow series, that the overflow is counted in the deriver's own
// metric, and that it is logged once.
func TestCardinalityLimit(t *testing.T) {
	e := newEnv(t, Options{SpanMetrics: SpanMetricsOptions{MaxSeriesPerService: 3}})
	send := func(service string, names, each int) {
		for i := range names {
			for range each {
				e.observe(e.mk(span{service: service, name: fmt.Sprintf("op-%d", i), kind: model.SpanKindServer,
					duration: time.Duration(i+1) * time.Millisecond, trace: 1, id: 1}))
			}
		}
	}
	send("checkout", 10, 2)
	send("inventory", 2, 1) // another service has its own limit
	e.clock.Advance(15 * time.Second)
	e.flush()
	// More spans, in old and new names, in a second round.
	send("checkout", 12, 1)
	e.clock.Advance(15 * time.Second)
	e.flush()
	at := e.now()

	for i := range 3 {
		e.expectValue(fmt.Sprintf(`traces_span_metrics_calls_total{service_name="checkout",span_name="op-%d"}`, i), at, 3)
	}
	// 7 names × 2, then 9 names × 1.
	const overflowed = 7*2 + 9
	overflow := `traces_span_metrics_calls_total{service_name="checkout",otel_metric_overflow="true"}`
	e.expectValue(overflow, at, overflowed)
	e.expectValue(`count(traces_span_metrics_calls_total{service_name="checkout"})`, at, 4)
	e.expectValue(`traces_span_metrics_duration_seconds_count{service_name="checkout",otel_metric_overflow="true"}`, at, overflowed)
	e.expectValue(`histogram_count(traces_span_metrics_duration_seconds{service_name="checkout",otel_metric_overflow="true"})`, at, overflowed)
	// The overflow series has no span labels.
	for _, s := range e.query(overflow, at) {
		if s.Metric.Has(LabelSpanName) || s.Metric.Has(LabelSpanKind) || s.Metric.Has(LabelStatusCode) {
			t.Errorf("overflow series with span labels: %s", s.Metric)
		}
	}
	e.expectValue(`count(traces_span_metrics_calls_total{service_name="inventory"})`, at, 2)
	e.expectAbsent(`traces_span_metrics_calls_total{service_name="inventory",otel_metric_overflow="true"}`, at)

	if got := gatherSum(t, e.reg, "argus_span_metrics_overflow_spans_total", map[string]string{"service": "checkout"}); got != overflowed {
		t.Errorf("argus_span_metrics_overflow_spans_total{service=checkout} = %g, want %d", got, overflowed)
	}
	if err := testutil.GatherAndCompare(e.reg, strings.NewReader(fmt.Sprintf(`
# HELP argus_span_metrics_overflow_spans_total Spans counted in their service's overflow series because the service has max_series_per_service series.
# TYPE argus_span_metrics_overflow_spans_total counter
argus_span_metrics_overflow_spans_total{service="checkout"} %d
`, overflowed)), "argus_span_metrics_overflow_spans_total"); err != nil {
		t.Error(err)
	}
	if n := countLines(e.logs.String(), "max_series_per_service"); n != 1 {
		t.Errorf("the overflow was logged %d times, want once:\n%s", n, e.logs.String())
	}
	if !strings.Contains(e.logs.String(), "service=checkout") {
		t.Errorf("the overflow log does not name the service:\n%s", e.logs.String())
	}
}

// TestUnknownService checks that a span without a service name is counted
// under unknown_service.
func TestUnknownService(t *testing.T) {
	e := newEnv(t, Options{})
	e.observe(e.mk(span{name: "orphan", kind: model.SpanKindInternal, duration: time.Millisecond, trace: 1, id: 1}))
	e.observe(e.mk(span{name: "orphan", kind: model.SpanKindInternal, duration: time.Millisecond, trace: 2, id: 2}))
	e.clock.Advance(15 * time.Second)
	e.flush()
	e.expectValue(`traces_span_metrics_calls_total{service_name="unknown_service",span_name="orphan",span_kind="SPAN_KIND_INTERNAL"}`, e.now(), 2)
	e.expectValue(`count(traces_span_metrics_calls_total)`, e.now(), 1)
}

// TestSpanKindAndStatusLabels checks every label value, out-of-range ones
// included.
func TestSpanKindAndStatusLabels(t *testing.T) {
	for k, want := range map[model.SpanKind]string{
		model.SpanKindUnspecified: "SPAN_KIND_UNSPECIFIED", model.SpanKindInternal: "SPAN_KIND_INTERNAL",
		model.SpanKindServer: "SPAN_KIND_SERVER", model.SpanKindClient: "SPAN_KIND_CLIENT",
		model.SpanKindProducer: "SPAN_KIND_PRODUCER", model.SpanKindConsumer: "SPAN_KIND_CONSUMER",
		-1: "SPAN_KIND_UNSPECIFIED", 99: "SPAN_KIND_UNSPECIFIED",
	} {
		if got := SpanKindLabel(k); got != want {
			t.Errorf("SpanKindLabel(%d) = %q, want %q", k, got, want)
		}
	}
	for c, want := range map[model.StatusCode]string{
		model.StatusUnset: "STATUS_CODE_UNSET", model.StatusOK: "STATUS_CODE_OK", model.StatusError: "STATUS_CODE_ERROR", 7: "STATUS_CODE_UNSET",
	} {
		if got := StatusCodeLabel(c); got != want {
			t.Errorf("StatusCodeLabel(%d) = %q, want %q", c, got, want)
		}
	}
}
