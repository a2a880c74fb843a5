package derive

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/argus-obs/argus/internal/model"
)

// t0 is the fake clock's start. The derived samples are written at the
// fake clock's times, so every query below is at a time derived from it.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is the injected Options.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// recordingAppendable passes appends to the TSDB and keeps every error it
// returns, including the partial (exemplar) errors the deriver tolerates,
// so a test sees a sample or exemplar the TSDB refused.
type recordingAppendable struct {
	db   *tsdb.DB
	mu   sync.Mutex
	errs []error
}

func (r *recordingAppendable) AppenderV2(ctx context.Context) storage.AppenderV2 {
	return &recordingAppender{AppenderV2: r.db.AppenderV2(ctx), r: r}
}

func (r *recordingAppendable) takeErrors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	errs := r.errs
	r.errs = nil
	return errs
}

type recordingAppender struct {
	storage.AppenderV2
	r *recordingAppendable
}

func (a *recordingAppender) Append(ref storage.SeriesRef, ls labels.Labels, st, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, opts storage.AOptions) (storage.SeriesRef, error) {
	ref, err := a.AppenderV2.Append(ref, ls, st, t, v, h, fh, opts)
	if err != nil {
		a.r.mu.Lock()
		a.r.errs = append(a.r.errs, fmt.Errorf("%s @%d: %w", ls, t, err))
		a.r.mu.Unlock()
	}
	return ref, err
}

// env is a Deriver writing into a real TSDB in a temporary directory,
// with a fake clock, a registry for its own metrics and a log buffer.
type env struct {
	t      testing.TB
	db     *tsdb.DB
	dbReg  *prometheus.Registry
	app    *recordingAppendable
	engine *promql.Engine
	clock  *fakeClock
	reg    *prometheus.Registry
	logs   *syncBuffer
	d      *Deriver
	// lenient skips the check that every flush is accepted whole.
	lenient bool
}

func newEnv(t testing.TB, opts Options) *env {
	t.Helper()
	o := tsdb.DefaultOptions()
	o.EnableExemplarStorage = true
	o.MaxExemplars = 1000
	dbReg := prometheus.NewRegistry()
	db, err := tsdb.Open(t.TempDir(), nil, dbReg, o, tsdb.NewDBStats())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	e := &env{
		t:     t,
		db:    db,
		dbReg: dbReg,
		app:   &recordingAppendable{db: db},
		engine: promql.NewEngine(promql.EngineOpts{
			MaxSamples:           1_000_000,
			Timeout:              time.Minute,
			LookbackDelta:        5 * time.Minute,
			EnableAtModifier:     true,
			EnableNegativeOffset: true,
		}),
		clock: &fakeClock{now: t0},
		reg:   prometheus.NewRegistry(),
		logs:  &syncBuffer{},
	}
	opts.Appendable = e.app
	opts.Now = e.clock.Now
	opts.Registerer = e.reg
	opts.Logger = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.d = New(opts)
	return e
}

// flush writes the derived series at the fake clock's time and checks
// that the TSDB took every sample and exemplar.
func (e *env) flush() {
	e.t.Helper()
	if err := e.d.Flush(context.Background()); err != nil {
		e.t.Fatalf("Flush: %v", err)
	}
	errs := e.app.takeErrors()
	if e.lenient {
		return
	}
	if len(errs) > 0 {
		e.t.Fatalf("the TSDB refused %d appends of the flush at %s, first: %v", len(errs), e.clock.Now().Format(time.TimeOnly), errors.Join(errs...))
	}
	if n := testutil.ToFloat64(e.d.metrics.refused); n != 0 {
		e.t.Fatalf("argus_derive_samples_refused_total = %g", n)
	}
	if n := e.tsdbMetric("prometheus_tsdb_exemplar_out_of_order_exemplars_total"); n != 0 {
		e.t.Fatalf("the TSDB dropped %g out-of-order exemplars", n)
	}
	if n := e.tsdbMetric("prometheus_tsdb_out_of_order_samples_total"); n != 0 {
		e.t.Fatalf("the TSDB refused %g out-of-order samples", n)
	}
}

// tsdbMetric sums the samples of one metric family of the TSDB's registry.
func (e *env) tsdbMetric(name string) float64 {
	e.t.Helper()
	return gatherSum(e.t, e.dbReg, name, nil)
}

// gatherSum sums the counter, gauge or untyped samples of the family name
// in reg whose labels include want.
func gatherSum(t testing.TB, reg prometheus.Gatherer, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue metrics
				}
			}
			switch {
			case m.Counter != nil:
				sum += m.GetCounter().GetValue()
			case m.Gauge != nil:
				sum += m.GetGauge().GetValue()
			case m.Untyped != nil:
				sum += m.GetUntyped().GetValue()
			}
		}
	}
	return sum
}

func (e *env) observe(spans ...model.Span) { e.d.Observe(spans) }

// now returns the fake clock's time.
func (e *env) now() time.Time { return e.clock.Now() }

// query evaluates a PromQL instant query at ts.
func (e *env) query(q string, ts time.Time) promql.Vector {
	e.t.Helper()
	qry, err := e.engine.NewInstantQuery(context.Background(), e.db, nil, q, ts)
	if err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	defer qry.Close()
	res := qry.Exec(context.Background())
	if res.Err != nil {
		e.t.Fatalf("%s: %v", q, res.Err)
	}
	vec, err := res.Vector()
	if err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return vec
}

// scalar evaluates q at ts and returns the float value of its only
// sample.
func (e *env) scalar(q string, ts time.Time) float64 {
	e.t.Helper()
	vec := e.query(q, ts)
	if len(vec) != 1 {
		e.t.Fatalf("%s at %s: %d samples, want 1: %v", q, ts.Format(time.TimeOnly), len(vec), vec)
	}
	if vec[0].H != nil {
		e.t.Fatalf("%s: a histogram, want a float: %v", q, vec[0].H)
	}
	return vec[0].F
}

// expectValue checks the value of the only sample of q at ts.
func (e *env) expectValue(q string, ts time.Time, want float64) {
	e.t.Helper()
	if got := e.scalar(q, ts); got != want {
		e.t.Errorf("%s at %s = %g, want %g", q, ts.Format(time.TimeOnly), got, want)
	}
}

// expectAbsent checks that q has no sample at ts.
func (e *env) expectAbsent(q string, ts time.Time) {
	e.t.Helper()
	if vec := e.query(q, ts); len(vec) != 0 {
		e.t.Errorf("%s at %s: want no sample, got %v", q, ts.Format(time.TimeOnly), vec)
	}
}

// rawSample is a sample as the TSDB holds it: a float (NaN for a
// staleness marker) or a native histogram.
type rawSample struct {
	t     int64
	f     float64
	h     *histogram.Histogram
	stale bool
}

// series returns, for each series matching the selector, its raw samples
// in the TSDB, staleness markers included, keyed by the series' labels.
func (e *env) series(selector string) map[string][]rawSample {
	e.t.Helper()
	ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(selector)
	if err != nil {
		e.t.Fatalf("%s: %v", selector, err)
	}
	q, err := e.db.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		e.t.Fatal(err)
	}
	defer q.Close()
	ss := q.Select(context.Background(), true, nil, ms...)
	out := map[string][]rawSample{}
	var it chunkenc.Iterator
	for ss.Next() {
		s := ss.At()
		it = s.Iterator(it)
		var samples []rawSample
		for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
			switch vt {
			case chunkenc.ValFloat:
				ts, v := it.At()
				samples = append(samples, rawSample{t: ts, f: v, stale: value.IsStaleNaN(v)})
			case chunkenc.ValHistogram:
				ts, h := it.AtHistogram(nil)
				samples = append(samples, rawSample{t: ts, h: h, stale: value.IsStaleNaN(h.Sum)})
			case chunkenc.ValFloatHistogram:
				ts, fh := it.AtFloatHistogram(nil)
				samples = append(samples, rawSample{t: ts, stale: value.IsStaleNaN(fh.Sum)})
			}
		}
		if err := it.Err(); err != nil {
			e.t.Fatal(err)
		}
		out[s.Labels().String()] = samples
	}
	if err := ss.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// exemplars returns the exemplars of the series matching selector.
func (e *env) exemplars(selector string) []exemplar.QueryResult {
	e.t.Helper()
	ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(selector)
	if err != nil {
		e.t.Fatalf("%s: %v", selector, err)
	}
	eq, err := e.db.ExemplarQuerier(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := eq.Select(math.MinInt64, math.MaxInt64, ms)
	if err != nil {
		e.t.Fatalf("%s: %v", selector, err)
	}
	return res
}

// span describes a test span; mk turns it into a model.Span ending at the
// fake clock's time.
type span struct {
	service  string
	name     string
	kind     model.SpanKind
	status   model.StatusCode
	duration time.Duration
	trace    uint64
	id       uint64
	parent   uint64
	attrs    []model.Attribute
	resAttrs []model.Attribute
}

func traceID(n uint64) model.TraceID {
	var id model.TraceID
	binary.BigEndian.PutUint64(id[:8], 0xa1b2c3d4)
	binary.BigEndian.PutUint64(id[8:], n)
	return id
}

func spanID(n uint64) model.SpanID {
	var id model.SpanID
	binary.BigEndian.PutUint64(id[:], n)
	return id
}

func (e *env) mk(s span) model.Span {
	end := e.now().UnixNano()
	sp := model.Span{
		TraceID:       traceID(s.trace),
		SpanID:        spanID(s.id),
		Name:          s.name,
		Kind:          s.kind,
		StartUnixNano: end - int64(s.duration),
		EndUnixNano:   end,
		StatusCode:    s.status,
		Attributes:    s.attrs,
		Resource:      model.Resource{ServiceName: s.service, Attributes: s.resAttrs},
	}
	if s.parent != 0 {
		sp.ParentSpanID = spanID(s.parent)
	}
	return sp
}

// sortedKeys returns the keys of m in order, for stable messages.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// countLines counts the lines of s that contain sub.
func countLines(s, sub string) int {
	n := 0
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			n++
		}
	}
	return n
}
