// Package exemplars keeps exemplars for the whole retention, on the
// column store that traces and logs share.
//
// The Prometheus TSDB holds exemplars in a fixed-size ring in memory,
// rebuilt from its write-ahead log at start-up: once the head is compacted
// and the log truncated, or once newer exemplars fill the ring, they are
// gone, while the traces they point at are still stored. Here every
// exemplar the TSDB accepts (from scrape, remote write, OTLP and the
// derived span metrics) is also written as a row, and queries for
// exemplars are answered from these rows, so an exemplar lasts as long as
// the samples and the trace it links.
//
// A row's stream is the metric name; its time is the exemplar's; its
// fields are the series labels, the exemplar labels, the value, and the
// trace ID and correlation ID (bloom-indexed, so the exemplars of one
// trace or one request are found without a scan).
package exemplars

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"math"
	"slices"
	"sync"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/argus-obs/argus/internal/store/colstore"
)

// Column names of an exemplar row.
const (
	colSeries      = "series"   // series labels but __name__, encoded
	colLabels      = "labels"   // exemplar labels, encoded
	colValue       = "value"    // float64 bits
	colTraceID     = "trace_id" // 16 bytes, when the exemplar has a valid trace_id
	colCorrelation = "correlation_id"
)

// Exemplar label names with a column of their own.
const (
	TraceIDLabel     = "trace_id"
	CorrelationLabel = "correlation_id"
)

// Store keeps exemplars. It is safe for concurrent use.
type Store struct {
	cs  *colstore.Store
	log *slog.Logger

	mu sync.Mutex
	// last is the last exemplar kept per series (by label hash). The TSDB
	// drops a repeat of a series' last exemplar without an error, and a
	// scrape repeats it until the client replaces it, so repeats are
	// recognised here.
	last map[uint64]exemplarKey // guarded by mu
}

type exemplarKey struct {
	ts     int64
	value  float64
	labels uint64
}

// maxTracked bounds the series whose last exemplar is remembered; past
// it the memory starts over, at the cost of keeping one repeat per series.
const maxTracked = 1 << 20

// New returns an exemplar store over an open column store, which the
// caller keeps owning (and closes).
func New(cs *colstore.Store, log *slog.Logger) *Store {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{cs: cs, log: log, last: map[uint64]exemplarKey{}}
}

// Appendable wraps app so every exemplar app accepts is also written to
// the store when the appender commits. An exemplar app refuses (a
// duplicate of the series' last one, as a scrape sends every time, or an
// out-of-order one) is not kept.
func (s *Store) Appendable(app storage.AppendableV2) storage.AppendableV2 {
	return recordingAppendable{app: app, s: s}
}

type recordingAppendable struct {
	app storage.AppendableV2
	s   *Store
}

func (r recordingAppendable) AppenderV2(ctx context.Context) storage.AppenderV2 {
	return &recordingAppender{AppenderV2: r.app.AppenderV2(ctx), s: r.s, ctx: ctx}
}

// recordingAppender buffers the accepted exemplars of one transaction.
type recordingAppender struct {
	storage.AppenderV2
	s    *Store
	ctx  context.Context
	rows []colstore.Row
}

func (a *recordingAppender) Append(ref storage.SeriesRef, ls labels.Labels, st, t int64, v float64,
	h *histogram.Histogram, fh *histogram.FloatHistogram, o storage.AOptions) (storage.SeriesRef, error) {
	ref, err := a.AppenderV2.Append(ref, ls, st, t, v, h, fh, o)
	if len(o.Exemplars) > 0 {
		a.keep(ls, o.Exemplars, err)
	}
	return ref, err
}

// AppendExemplars implements storage.ExemplarAppenderV2 when the wrapped
// appender does.
func (a *recordingAppender) AppendExemplars(ref storage.SeriesRef, ls labels.Labels, es []exemplar.Exemplar) (storage.SeriesRef, error) {
	ea, ok := a.AppenderV2.(storage.ExemplarAppenderV2)
	if !ok {
		return ref, errors.New("exemplars: the underlying appender takes no exemplars")
	}
	ref, err := ea.AppendExemplars(ref, ls, es)
	a.keep(ls, es, err)
	return ref, err
}

// keep buffers the exemplars the append accepted: all of them when err
// is nil, those not named by a partial error, none for any other error.
func (a *recordingAppender) keep(ls labels.Labels, es []exemplar.Exemplar, err error) {
	var refused []int
	if err != nil {
		var partial *storage.AppendPartialError
		if !errors.As(err, &partial) {
			return
		}
		for _, e := range partial.ExemplarErrors {
			refused = append(refused, e.Index)
		}
	}
	h := ls.Hash()
	a.s.mu.Lock()
	defer a.s.mu.Unlock()
	for i := range es {
		if slices.Contains(refused, i) {
			continue
		}
		k := exemplarKey{ts: es[i].Ts, value: es[i].Value, labels: es[i].Labels.Hash()}
		if prev, ok := a.s.last[h]; ok && (prev == k || k.ts < prev.ts) {
			continue // a repeat, or older than one kept: the TSDB dropped it
		}
		if len(a.s.last) >= maxTracked {
			clear(a.s.last)
		}
		a.s.last[h] = k
		a.rows = append(a.rows, row(ls, &es[i]))
	}
}

func (a *recordingAppender) Commit() error {
	if err := a.AppenderV2.Commit(); err != nil {
		a.rows = nil
		return err
	}
	if len(a.rows) == 0 {
		return nil
	}
	// The samples are committed; a failure here loses only the long-term
	// copy of these exemplars (the TSDB still holds them), so it is
	// logged rather than failing a write whose samples are stored.
	ctx := context.WithoutCancel(a.ctx)
	if err := a.s.cs.Write(ctx, a.rows); err != nil {
		a.s.log.Warn("exemplars: could not keep exemplars for the retention", "exemplars", len(a.rows), "error", err)
	}
	a.rows = nil
	return nil
}

func (a *recordingAppender) Rollback() error {
	a.rows = nil
	return a.AppenderV2.Rollback()
}

// row makes the stored form of one exemplar of the series ls.
func row(ls labels.Labels, e *exemplar.Exemplar) colstore.Row {
	var series, exLabels []byte
	name := ""
	ls.Range(func(l labels.Label) {
		if l.Name == model.MetricNameLabel {
			name = l.Value
			return
		}
		series = appendLabel(series, l)
	})
	fields := make([]colstore.Field, 0, 5)
	var traceID []byte
	corr := ""
	e.Labels.Range(func(l labels.Label) {
		exLabels = appendLabel(exLabels, l)
		switch l.Name {
		case TraceIDLabel:
			if id, err := hex.DecodeString(l.Value); err == nil && len(id) == 16 {
				traceID = id
			}
		case CorrelationLabel:
			corr = l.Value
		}
	})
	fields = append(fields,
		colstore.Field{Name: colSeries, Type: colstore.TypeBytes, Bytes: series},
		colstore.Field{Name: colLabels, Type: colstore.TypeBytes, Bytes: exLabels},
		colstore.Field{Name: colValue, Type: colstore.TypeInt, Int: int64(math.Float64bits(e.Value))},
	)
	if traceID != nil {
		fields = append(fields, colstore.Field{Name: colTraceID, Type: colstore.TypeID, Bytes: traceID})
	}
	fields = colstore.AppendString(fields, colCorrelation, corr)
	ts := e.Ts
	return colstore.Row{
		Stream: []colstore.Label{{Name: model.MetricNameLabel, Value: name}},
		Time:   ts * 1e6,
		Fields: fields,
	}
}

// appendLabel encodes a label as its name and value, each followed by a
// zero byte (which neither may contain).
func appendLabel(dst []byte, l labels.Label) []byte {
	dst = append(dst, l.Name...)
	dst = append(dst, 0)
	dst = append(dst, l.Value...)
	return append(dst, 0)
}

// decodeLabels is the inverse of a run of appendLabel, with name (when
// set) added as __name__.
func decodeLabels(b *labels.ScratchBuilder, name string, enc []byte) (labels.Labels, error) {
	b.Reset()
	if name != "" {
		b.Add(model.MetricNameLabel, name)
	}
	for len(enc) > 0 {
		i := slices.Index(enc, 0)
		if i < 0 {
			return labels.EmptyLabels(), errors.New("exemplars: corrupt label encoding")
		}
		j := slices.Index(enc[i+1:], 0)
		if j < 0 {
			return labels.EmptyLabels(), errors.New("exemplars: corrupt label encoding")
		}
		b.Add(string(enc[:i]), string(enc[i+1:i+1+j]))
		enc = enc[i+2+j:]
	}
	b.Sort()
	return b.Labels(), nil
}

// ExemplarQuerier implements storage.ExemplarQueryable, so Prometheus's
// /api/v1/query_exemplars answers from the store.
func (s *Store) ExemplarQuerier(ctx context.Context) (storage.ExemplarQuerier, error) {
	return querier{s: s, ctx: ctx}, nil
}

type querier struct {
	s   *Store
	ctx context.Context
}

// Select returns the exemplars in [start, end] (milliseconds) of the
// series that match every matcher of at least one of the sets, grouped
// by series in label order, each series' exemplars in time order.
func (q querier) Select(start, end int64, matcherSets ...[]*labels.Matcher) ([]exemplar.QueryResult, error) {
	query := colstore.Query{MinTime: start * 1e6, MaxTime: end*1e6 + 999_999}
	// Streams are metric names: skip those no set's __name__ matcher
	// accepts.
	query.Stream = func(stream []colstore.Label) bool {
		name := ""
		if len(stream) > 0 {
			name = stream[0].Value
		}
		for _, set := range matcherSets {
			if nameMatches(set, name) {
				return true
			}
		}
		return false
	}
	return q.s.search(q.ctx, query, func(series labels.Labels) bool {
		for _, set := range matcherSets {
			if matchesAll(set, series) {
				return true
			}
		}
		return false
	})
}

// ByID returns the exemplars whose trace ID or correlation ID is id, in
// [start, end] (milliseconds; zero end means no bound).
func (s *Store) ByID(ctx context.Context, id string, start, end int64) ([]exemplar.QueryResult, error) {
	query := colstore.Query{MinTime: start * 1e6}
	if end != 0 {
		query.MaxTime = end*1e6 + 999_999
	}
	filter := colstore.Filter{Column: colCorrelation, Type: colstore.TypeString, Op: colstore.OpEqual, Value: []byte(id)}
	if raw, err := hex.DecodeString(id); err == nil && len(raw) == 16 {
		// Looked up as a trace ID; an ID of this shape used as a
		// correlation ID is rare enough to be found with a second pass.
		byTrace, err := s.search(ctx, colstore.Query{MinTime: query.MinTime, MaxTime: query.MaxTime,
			Filters: []colstore.Filter{{Column: colTraceID, Type: colstore.TypeID, Op: colstore.OpEqual, Value: raw}}}, nil)
		if err != nil || len(byTrace) > 0 {
			return byTrace, err
		}
	}
	query.Filters = []colstore.Filter{filter}
	return s.search(ctx, query, nil)
}

func (s *Store) search(ctx context.Context, query colstore.Query, keep func(labels.Labels) bool) ([]exemplar.QueryResult, error) {
	bySeries := map[string]*exemplar.QueryResult{}
	var b labels.ScratchBuilder
	var rowErr error
	err := s.cs.Search(ctx, query, func(r *colstore.Row) bool {
		name := ""
		if len(r.Stream) > 0 {
			name = r.Stream[0].Value
		}
		var seriesEnc, labelsEnc []byte
		var val int64
		for _, f := range r.Fields {
			switch f.Name {
			case colSeries:
				seriesEnc = f.Bytes
			case colLabels:
				labelsEnc = f.Bytes
			case colValue:
				val = f.Int
			}
		}
		key := name + "\xff" + string(seriesEnc)
		res := bySeries[key]
		if res == nil {
			series, err := decodeLabels(&b, name, seriesEnc)
			if err != nil {
				rowErr = err
				return false
			}
			if keep != nil && !keep(series) {
				bySeries[key] = &exemplar.QueryResult{} // remembered as not wanted
				return true
			}
			res = &exemplar.QueryResult{SeriesLabels: series}
			bySeries[key] = res
		} else if res.SeriesLabels.IsEmpty() {
			return true
		}
		exLabels, err := decodeLabels(&b, "", labelsEnc)
		if err != nil {
			rowErr = err
			return false
		}
		res.Exemplars = append(res.Exemplars, exemplar.Exemplar{
			Labels: exLabels, Value: math.Float64frombits(uint64(val)), Ts: r.Time / 1e6, HasTs: true,
		})
		return true
	})
	if err == nil {
		err = rowErr
	}
	if err != nil {
		return nil, err
	}
	out := make([]exemplar.QueryResult, 0, len(bySeries))
	for _, res := range bySeries {
		if res.SeriesLabels.IsEmpty() {
			continue
		}
		slices.SortStableFunc(res.Exemplars, func(a, b exemplar.Exemplar) int { return cmp.Compare(a.Ts, b.Ts) })
		out = append(out, *res)
	}
	slices.SortFunc(out, func(a, b exemplar.QueryResult) int { return labels.Compare(a.SeriesLabels, b.SeriesLabels) })
	return out, nil
}

func nameMatches(set []*labels.Matcher, name string) bool {
	for _, m := range set {
		if m.Name == model.MetricNameLabel && !m.Matches(name) {
			return false
		}
	}
	return true
}

func matchesAll(set []*labels.Matcher, ls labels.Labels) bool {
	for _, m := range set {
		if !m.Matches(ls.Get(m.Name)) {
			return false
		}
	}
	return true
}
