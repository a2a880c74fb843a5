package promremote

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/argus-obs/argus/internal/store/metrics"
)

// TestFastPathStoresAndAnswersAsPrometheus sends the same requests to the
// handler with the fast path and to Prometheus's handler alone, each over
// a TSDB of its own, and requires the same answers and the same stored
// samples, request by request.
func TestFastPathStoresAndAnswersAsPrometheus(t *testing.T) {
	now := time.Now()
	ms := func(d time.Duration) int64 { return now.Add(d).UnixMilli() }
	series := func(name string, extra []prompb.Label, samples ...prompb.Sample) prompb.TimeSeries {
		ls := append([]prompb.Label{{Name: "job", Value: "shop"}, {Name: "__name__", Value: name}}, extra...)
		return prompb.TimeSeries{Labels: ls, Samples: samples}
	}
	sample := func(d time.Duration, v float64) prompb.Sample { return prompb.Sample{Timestamp: ms(d), Value: v} }
	marshal := func(req *prompb.WriteRequest) []byte {
		b, err := req.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	many := &prompb.WriteRequest{}
	for i := range 500 {
		many.Timeseries = append(many.Timeseries, series("http_requests_total",
			[]prompb.Label{{Name: "instance", Value: fmt.Sprintf("10.0.0.%d:80", i%7)}, {Name: "code", Value: fmt.Sprint(200 + i)}},
			sample(-2*time.Minute, float64(i)), sample(-time.Minute, float64(i+1))))
	}
	withUnknown := marshal(&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{series("unknown_fields", nil, sample(-time.Minute, 1))}})
	withUnknown = protowire.AppendTag(withUnknown, 9, protowire.VarintType) // an unknown top-level field
	withUnknown = protowire.AppendVarint(withUnknown, 42)

	steps := []struct {
		name  string
		body  []byte // uncompressed request; snappy-compressed unless raw
		raw   bool
		taken bool // by the fast path, rather than handed over
	}{
		{"floats", marshal(many), false, true},
		{"more floats, NaN and Inf", marshal(&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
			series("gauge", nil, sample(-50*time.Second, math.NaN()), sample(-40*time.Second, math.Inf(1))),
			series("http_requests_total", []prompb.Label{{Name: "instance", Value: "10.0.0.1:80"}, {Name: "code", Value: "201"}}, sample(-30*time.Second, 7)),
		}}), false, true},
		{"some samples too old", marshal(&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
			series("late", nil, sample(-3*time.Hour, 1)),
			series("on_time", nil, sample(-20*time.Second, 2)),
		}}), false, true},
		{"a duplicate with another value", marshal(&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
			series("gauge", nil, sample(-40*time.Second, 3)),
			series("on_time", nil, sample(-10*time.Second, 3)),
		}}), false, true},
		{"no metric name", marshal(&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
			{Labels: []prompb.Label{{Name: "job", Value: "x"}}, Samples: []prompb.Sample{sample(-time.Second, 1)}},
			series("kept", nil, sample(-time.Second, 1)),
		}}), false, false},
		{"invalid UTF-8", marshal(&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
			series("bad_value", []prompb.Label{{Name: "path", Value: "\xff\xfe"}}, sample(-time.Second, 1)),
		}}), false, false},
		{"duplicate label names", marshal(&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
			series("dup", []prompb.Label{{Name: "a", Value: "1"}, {Name: "a", Value: "2"}}, sample(-time.Second, 1)),
		}}), false, false},
		{"far in the future", marshal(&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
			series("future", nil, sample(time.Hour, 1)),
			series("present", nil, sample(-time.Second, 1)),
		}}), false, false},
		{"exemplars and histograms", marshal(&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
			{
				Labels:    []prompb.Label{{Name: "__name__", Value: "latency_seconds"}},
				Samples:   []prompb.Sample{sample(-5*time.Second, 0.2)},
				Exemplars: []prompb.Exemplar{{Labels: []prompb.Label{{Name: "trace_id", Value: "abc"}}, Value: 0.2, Timestamp: ms(-5 * time.Second)}},
			},
			{
				Labels: []prompb.Label{{Name: "__name__", Value: "latency_native"}},
				Histograms: []prompb.Histogram{{
					Count: &prompb.Histogram_CountInt{CountInt: 2}, Sum: 0.5, Schema: 0,
					ZeroCount: &prompb.Histogram_ZeroCountInt{ZeroCountInt: 0}, Timestamp: ms(-5 * time.Second),
					PositiveSpans: []prompb.BucketSpan{{Offset: 0, Length: 1}}, PositiveDeltas: []int64{2},
				}},
			},
		}}), false, false},
		{"metadata only", marshal(&prompb.WriteRequest{Metadata: []prompb.MetricMetadata{{MetricFamilyName: "x", Type: prompb.MetricMetadata_COUNTER}}}), false, false},
		{"unknown field", withUnknown, false, true},
		{"empty", nil, false, true},
		{"truncated", marshal(many)[:1000], false, false},
		{"not snappy", []byte("plain text"), true, false},
	}

	fast, stock := newTestHandler(t, true), newTestHandler(t, false)
	for _, st := range steps {
		if !st.raw {
			b := &requestBuffers{raw: st.body}
			if err := b.decode(now.Add(maxAheadOfTime).UnixMilli()); (err == nil) != st.taken {
				t.Errorf("%s: decode: %v; want the fast path to take it: %v", st.name, err, st.taken)
			}
		}
		body := st.body
		if !st.raw {
			body = snappy.Encode(nil, st.body)
		}
		fc, fb := fast.post(t, body)
		sc, sb := stock.post(t, body)
		if fc != sc || fb != sb {
			t.Errorf("%s: fast path answered %d %q, Prometheus's handler %d %q", st.name, fc, fb, sc, sb)
		}
		if f, s := fast.dump(t), stock.dump(t); f != s {
			t.Fatalf("%s: stored samples differ:\nfast path:\n%s\nPrometheus's handler:\n%s", st.name, f, s)
		}
	}
	if !strings.Contains(fast.dump(t), "http_requests_total") {
		t.Fatal("nothing stored")
	}
}

type testHandler struct {
	h  http.Handler
	db *metrics.Store
}

func newTestHandler(t *testing.T, fast bool) *testHandler {
	t.Helper()
	db, err := metrics.Open(metrics.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &testHandler{h: newHandler(db.DB(), prometheus.NewRegistry(), slog.New(slog.DiscardHandler), fast), db: db}
}

func (th *testHandler) post(t *testing.T, body []byte) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	rec := httptest.NewRecorder()
	th.h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

// dump lists every stored series with its samples.
func (th *testHandler) dump(t *testing.T) string {
	t.Helper()
	q, err := th.db.DB().Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	set := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	var sb strings.Builder
	for set.Next() {
		s := set.At()
		fmt.Fprintf(&sb, "%s:", s.Labels())
		it := s.Iterator(nil)
		for typ := it.Next(); typ != chunkenc.ValNone; typ = it.Next() {
			switch typ {
			case chunkenc.ValFloat:
				ts, v := it.At()
				fmt.Fprintf(&sb, " %d=%v", ts, v)
			default:
				ts, h := it.AtFloatHistogram(nil)
				fmt.Fprintf(&sb, " %d=%s", ts, h)
			}
		}
		sb.WriteString("\n")
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	return sb.String()
}

// FuzzFastDecode checks the fast path's decoder against the generated
// protobuf code: whatever it takes, the generated code reads the same.
func FuzzFastDecode(f *testing.F) {
	req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:  []prompb.Label{{Name: "__name__", Value: "up"}, {Name: "job", Value: "a"}},
		Samples: []prompb.Sample{{Timestamp: 1000, Value: 1}, {Timestamp: 2000, Value: 0}},
	}}}
	b, _ := req.Marshal()
	f.Add(b)
	f.Add(b[:len(b)-3])
	f.Fuzz(func(t *testing.T, data []byte) {
		fb := bufferPool.Get().(*requestBuffers)
		defer fb.release()
		fb.raw = append(fb.raw[:0], data...)
		if fb.decode(math.MaxInt64) != nil {
			return // handed over: Prometheus's handler decides
		}
		var want prompb.WriteRequest
		if err := want.Unmarshal(data); err != nil {
			t.Fatalf("fast path took a request the generated code refuses: %v", err)
		}
		if len(want.Timeseries) != len(fb.series) {
			t.Fatalf("%d series, generated code %d", len(fb.series), len(want.Timeseries))
		}
		b := labels.NewScratchBuilder(0)
		for i, ts := range want.Timeseries {
			got := fb.series[i]
			if wl := ts.ToLabels(&b, nil); !labels.Equal(wl, got.labels) {
				t.Fatalf("series %d: labels %s, generated code %s", i, got.labels, wl)
			}
			if len(ts.Samples) != len(got.samples) {
				t.Fatalf("series %d: %d samples, generated code %d", i, len(got.samples), len(ts.Samples))
			}
			for j, s := range ts.Samples {
				g := got.samples[j]
				if g.t != s.Timestamp || math.Float64bits(g.v) != math.Float64bits(s.Value) {
					t.Fatalf("series %d sample %d: %v@%d, generated code %v@%d", i, j, g.v, g.t, s.Value, s.Timestamp)
				}
			}
		}
	})
}

// TestFastLabelsDoNotAliasTheRequest checks that the labels handed to the
// TSDB own their bytes: the request buffer is reused for the next
// request, and the TSDB keeps a new series' labels.
func TestFastLabelsDoNotAliasTheRequest(t *testing.T) {
	req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:  []prompb.Label{{Name: "__name__", Value: "up"}, {Name: "job", Value: "api"}},
		Samples: []prompb.Sample{{Timestamp: 1000, Value: 1}},
	}}}
	raw, _ := req.Marshal()
	b := &requestBuffers{builder: labels.NewScratchBuilder(4), raw: raw}
	if err := b.decode(math.MaxInt64); err != nil {
		t.Fatal(err)
	}
	want := b.series[0].labels.String()
	for i := range b.raw {
		b.raw[i] = 'x'
	}
	if got := b.series[0].labels.String(); got != want {
		t.Fatalf("labels changed with the request buffer: %s, was %s", got, want)
	}
}

// BenchmarkRemoteWrite sends rounds of 10 requests of 2,000 series (one
// float sample each, 9 labels as a scrape gives them) to the handler with
// the fast path and to Prometheus's handler alone, each over its own
// TSDB, as a Prometheus server's queue would send them.
func BenchmarkRemoteWrite(b *testing.B) {
	const requests, perRequest = 10, 2000
	build := func(round int) [][]byte {
		bodies := make([][]byte, requests)
		ts := time.Now().Add(-time.Hour).UnixMilli() + int64(round)*15000
		for r := range requests {
			req := &prompb.WriteRequest{}
			for i := range perRequest {
				n := r*perRequest + i
				req.Timeseries = append(req.Timeseries, prompb.TimeSeries{
					Labels: []prompb.Label{
						{Name: "__name__", Value: "http_requests_total"}, {Name: "code", Value: fmt.Sprint(200 + n%5)},
						{Name: "handler", Value: fmt.Sprintf("/api/v1/items/%d", n/100)}, {Name: "instance", Value: fmt.Sprintf("10.1.%d.%d:8080", n/250%250, n%250)},
						{Name: "job", Value: "checkout"}, {Name: "method", Value: "GET"}, {Name: "namespace", Value: "shop"},
						{Name: "pod", Value: fmt.Sprintf("checkout-%d", n/200)}, {Name: "zone", Value: "zone-1"},
					},
					Samples: []prompb.Sample{{Timestamp: ts, Value: float64(round)}},
				})
			}
			raw, err := req.Marshal()
			if err != nil {
				b.Fatal(err)
			}
			bodies[r] = snappy.Encode(nil, raw)
		}
		return bodies
	}
	for _, fast := range []bool{true, false} {
		name := "prometheus"
		if fast {
			name = "fast"
		}
		b.Run(name, func(b *testing.B) {
			db, err := metrics.Open(metrics.Options{Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			h := newHandler(db.DB(), prometheus.NewRegistry(), slog.New(slog.DiscardHandler), fast)
			b.ReportAllocs()
			round := 0
			for b.Loop() {
				b.StopTimer()
				bodies := build(round)
				round++
				b.StartTimer()
				for _, body := range bodies {
					req := httptest.NewRequest(http.MethodPost, "/api/v1/write", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/x-protobuf")
					req.Header.Set("Content-Encoding", "snappy")
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusNoContent {
						b.Fatalf("%d %s", rec.Code, rec.Body)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*requests*perRequest), "ns/sample")
		})
	}
}
