package derive

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"sort"
	"unicode/utf8"

	promodel "github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"

	"github.com/argus-obs/argus/internal/model"
)

// metricNameLabel is the label that holds a series' metric name.
const metricNameLabel = promodel.MetricNameLabel

// A derived series lives in memory between flushes. At each flush it is
// written as a cumulative sample at the flush time, as a scrape of a
// client library would write it. Its first flush also writes a zero at
// the time the series was created, so rate() and increase() count the
// first observations (Prometheus's created-timestamp zero sample); after
// StaleAfter without change it is ended with a staleness marker and
// forgotten.
type seriesState struct {
	created  int64 // ms
	updated  int64 // ms of the last observation
	written  bool  // the zero sample is written
	exemplar pendingExemplar
}

// pendingExemplar is the trace that illustrates a series since the last
// flush: the most recent observation's.
type pendingExemplar struct {
	set     bool
	value   float64
	ts      int64 // ms
	trace   model.TraceID
	span    model.SpanID
	corrID  []byte // a copy: the span's strings are not kept
	lastTs  int64  // ts of the last exemplar written, for ordering
	hasLast bool
}

func (e *pendingExemplar) record(v float64, ts int64, trace model.TraceID, span model.SpanID, corrID string) {
	e.set, e.value, e.ts, e.trace, e.span = true, v, ts, trace, span
	if len(corrID) > 0 || len(e.corrID) > 0 { // no copying without one
		e.corrID = append(e.corrID[:0], corrID...)
	}
}

// take returns the pending exemplar for a sample at t, or nil. Its time
// is the observation's, kept after the previous exemplar's and not after
// t, because the TSDB accepts a series' exemplars only in time order.
func (e *pendingExemplar) take(t int64) []exemplar.Exemplar {
	if !e.set {
		return nil
	}
	e.set = false
	ts := min(e.ts, t)
	if e.hasLast && ts <= e.lastTs {
		if e.lastTs >= t {
			return nil
		}
		ts = e.lastTs + 1
	}
	e.lastTs, e.hasLast = ts, true
	ls := labels.FromStrings("span_id", e.span.String(), "trace_id", e.trace.String())
	if len(e.corrID) > 0 {
		withCorr := labels.FromStrings("correlation_id", string(e.corrID), "span_id", e.span.String(), "trace_id", e.trace.String())
		// OpenMetrics caps an exemplar's labels at 128 runes; the IDs
		// alone always fit.
		if labelRunes(withCorr) <= exemplar.ExemplarMaxLabelSetLength {
			ls = withCorr
		}
	}
	return []exemplar.Exemplar{{Labels: ls, Value: e.value, Ts: ts, HasTs: true}}
}

func labelRunes(ls labels.Labels) int {
	n := 0
	ls.Range(func(l labels.Label) {
		n += utf8.RuneCountInString(l.Name) + utf8.RuneCountInString(l.Value)
	})
	return n
}

// counter is a derived monotonic counter.
type counter struct {
	seriesState
	labels labels.Labels
	value  float64
}

func (c *counter) add(v float64, now int64) {
	c.value += v
	c.updated = now
}

func (c *counter) write(w *flushWriter, t int64) {
	if !c.written {
		w.float(c.labels, c.zeroTime(t), 0, nil)
		c.written = true
	}
	w.float(c.labels, t, c.value, c.exemplar.take(t))
}

// end marks the series stale, so queries stop returning it at once
// rather than five minutes later, as a scrape does for a vanished series.
func (c *counter) end(w *flushWriter, t int64) {
	if c.written {
		w.float(c.labels, t, math.Float64frombits(value.StaleNaN), nil)
	}
}

// zeroTime is when a series' zero sample goes: its creation, or just
// before t when it was created within the same millisecond.
func (s *seriesState) zeroTime(t int64) int64 { return min(s.created, t-1) }

// histogramSeries is a derived latency histogram, written as a native
// histogram under its name and as classic _bucket, _sum and _count series.
//
// Every classic bucket keeps the trace of its latest observation as its
// exemplar, as Prometheus's client libraries do, so each latency range
// of each interval links to a trace; the native histogram carries them
// all.
type histogramSeries struct {
	seriesState
	bounds    []float64
	h         *durationHistogram
	native    labels.Labels
	buckets   []labels.Labels   // one per bound, then +Inf
	exemplars []pendingExemplar // one per bucket
	sum       labels.Labels
	count     labels.Labels
	nativeEx  []exemplar.Exemplar // reused
}

// newHistogramSeries makes the series of histogram name with the labels
// of base (which has no metric name).
func newHistogramSeries(name string, base labels.Labels, bounds []float64, now int64) *histogramSeries {
	b := labels.NewBuilder(base)
	with := func(metric string, le string) labels.Labels {
		b.Set(metricNameLabel, metric)
		if le != "" {
			b.Set(labels.BucketLabel, le)
		} else {
			b.Del(labels.BucketLabel)
		}
		return b.Labels()
	}
	h := &histogramSeries{
		seriesState: seriesState{created: now, updated: now},
		bounds:      bounds,
		h:           newDurationHistogram(bounds),
		exemplars:   make([]pendingExemplar, len(bounds)+1),
	}
	h.native = with(name, "")
	for _, bound := range bounds {
		h.buckets = append(h.buckets, with(name+"_bucket", formatBound(bound)))
	}
	h.buckets = append(h.buckets, with(name+"_bucket", "+Inf"))
	h.sum = with(name+"_sum", "")
	h.count = with(name+"_count", "")
	return h
}

func (h *histogramSeries) observe(seconds float64, now int64) {
	h.h.observe(h.bounds, seconds)
	h.updated = now
}

func (h *histogramSeries) recordExemplar(seconds float64, ts int64, trace model.TraceID, span model.SpanID, corrID string) {
	h.exemplars[bucketIndex(h.bounds, seconds)].record(seconds, ts, trace, span, corrID)
}

func (h *histogramSeries) write(w *flushWriter, t int64) {
	if !h.written {
		zt := h.zeroTime(t)
		w.histogram(h.native, zt, newDurationHistogram(h.bounds).nativeHistogram(), nil)
		for _, ls := range h.buckets {
			w.float(ls, zt, 0, nil)
		}
		w.float(h.sum, zt, 0, nil)
		w.float(h.count, zt, 0, nil)
		h.written = true
	}
	h.nativeEx = h.nativeEx[:0]
	var cum uint64
	for i, ls := range h.buckets {
		cum += h.h.classic[i]
		ex := h.exemplars[i].take(t)
		w.float(ls, t, float64(cum), ex)
		h.nativeEx = append(h.nativeEx, ex...)
	}
	// A native histogram's exemplars go in time order, and those of one
	// millisecond in value order, or the TSDB drops them as out of order.
	slices.SortFunc(h.nativeEx, func(a, b exemplar.Exemplar) int {
		return cmp.Or(cmp.Compare(a.Ts, b.Ts), cmp.Compare(a.Value, b.Value))
	})
	w.histogram(h.native, t, h.h.nativeHistogram(), h.nativeEx)
	w.float(h.sum, t, h.h.sum, nil)
	w.float(h.count, t, float64(h.h.count), nil)
}

func (h *histogramSeries) end(w *flushWriter, t int64) {
	if !h.written {
		return
	}
	stale := math.Float64frombits(value.StaleNaN)
	w.histogram(h.native, t, &histogram.Histogram{Sum: stale}, nil)
	for _, ls := range h.buckets {
		w.float(ls, t, stale, nil)
	}
	w.float(h.sum, t, stale, nil)
	w.float(h.count, t, stale, nil)
}

// bucketIndex is the classic bucket of v: the first bound v does not
// exceed, or the +Inf bucket.
func bucketIndex(bounds []float64, v float64) int { return sort.SearchFloat64s(bounds, v) }

// flushWriter appends a flush's samples and counts what the TSDB refused.
type flushWriter struct {
	app      storage.AppenderV2
	samples  int
	refused  int
	firstErr error
}

func (w *flushWriter) float(ls labels.Labels, t int64, v float64, ex []exemplar.Exemplar) {
	w.add(w.app.Append(0, ls, 0, t, v, nil, nil, storage.AOptions{Exemplars: ex}))
}

func (w *flushWriter) histogram(ls labels.Labels, t int64, h *histogram.Histogram, ex []exemplar.Exemplar) {
	w.add(w.app.Append(0, ls, 0, t, 0, h, nil, storage.AOptions{Exemplars: ex}))
}

func (w *flushWriter) add(_ storage.SeriesRef, err error) {
	w.samples++
	var partial *storage.AppendPartialError
	if err == nil || errors.As(err, &partial) { // a refused exemplar keeps its sample
		return
	}
	w.refused++
	if w.firstErr == nil {
		w.firstErr = err
	}
}
