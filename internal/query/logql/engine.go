package logql

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// EngineOptions configures an Engine. The zero value works: every zero
// field takes its default.
type EngineOptions struct {
	// MaxEntries caps a log query's limit (default 5000, Loki's
	// max_entries_limit_per_query).
	MaxEntries int
	// MaxSeries caps the series of a metric query's result (default 500,
	// Loki's max_query_series).
	MaxSeries int
	// MaxPoints caps the steps of a range query (default 11000, as
	// Prometheus and Loki).
	MaxPoints int
	// MaxIntermediateSeries caps the series a range aggregation holds
	// before any vector aggregation reduces them (default 100000). It
	// bounds memory when a query such as max(count_over_time(...)) meets
	// high-cardinality structured metadata.
	MaxIntermediateSeries int
	// Timeout bounds each query; 0 means only the context's deadline.
	Timeout time.Duration
}

// Engine evaluates LogQL queries. It holds no state between queries and
// is safe for concurrent use.
type Engine struct {
	opts EngineOptions
}

// NewEngine returns an engine with opts, defaults filled in.
func NewEngine(opts EngineOptions) *Engine {
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 5000
	}
	if opts.MaxSeries <= 0 {
		opts.MaxSeries = 500
	}
	if opts.MaxPoints <= 0 {
		opts.MaxPoints = 11000
	}
	if opts.MaxIntermediateSeries <= 0 {
		opts.MaxIntermediateSeries = 100000
	}
	return &Engine{opts: opts}
}

// Params is one query request. An instant query has Start == End and
// Step == 0; a range query has Step > 0 and evaluates metric queries at
// Start, Start+Step, ... up to End.
type Params struct {
	Query      string
	Start, End time.Time
	Step       time.Duration
	// Interval, for log queries, keeps only entries at least Interval
	// apart within each result stream (Loki's interval parameter).
	Interval time.Duration
	// Limit caps the entries of a log query (0 means 100, Loki's
	// default); it may not exceed EngineOptions.MaxEntries.
	Limit     int
	Direction Direction
}

// ValueType is the type of a query result, named as in Loki's responses.
type ValueType string

// The result types.
const (
	ValueStreams ValueType = "streams"
	ValueMatrix  ValueType = "matrix"
	ValueVector  ValueType = "vector"
	ValueScalar  ValueType = "scalar"
)

// Result is the answer to a query; the field Type names is set.
type Result struct {
	Type    ValueType
	Streams []Stream // log queries
	Matrix  []Series // range metric queries
	Vector  []Sample // instant metric queries
	Scalar  Point    // instant queries of a number
	Stats   Stats
	// Direction is the order of a log query's entries.
	Direction Direction
}

// Stream is a log query's result stream: entries with equal labels.
type Stream struct {
	// Labels are the stream labels, structured metadata and parsed labels
	// together, as Loki returns them by default.
	Labels  labels.Labels
	Entries []StreamEntry // in the query's direction
}

// StreamEntry is one log line of a result stream. StructuredMetadata and
// Parsed split the labels that did not come from the stream, as Loki's
// categorize-labels encoding returns them.
type StreamEntry struct {
	Time               int64 // Unix nanoseconds
	Line               string
	StructuredMetadata labels.Labels
	Parsed             labels.Labels
}

// Series is one series of a range metric query.
type Series struct {
	Labels labels.Labels
	Points []Point
}

// Point is a metric value at a time.
type Point struct {
	T int64 // Unix nanoseconds
	V float64
}

// Sample is one series of an instant metric query.
type Sample struct {
	Labels labels.Labels
	T      int64 // Unix nanoseconds
	V      float64
}

// Stats describes the work of a query.
type Stats struct {
	EntriesScanned  int64         // entries the store passed to the engine
	BytesScanned    int64         // their line bytes
	EntriesReturned int64         // entries in a log query's result
	ExecTime        time.Duration // wall time of Query
}

// Query parses and evaluates p.Query, reading entries through q.
func (e *Engine) Query(ctx context.Context, q Querier, p Params) (*Result, error) {
	start := time.Now()
	expr, err := ParseExpr(p.Query)
	if err != nil {
		return nil, err
	}
	if e.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.opts.Timeout)
		defer cancel()
	}
	var res *Result
	if le, ok := expr.(*LogExpr); ok {
		res, err = e.execLog(ctx, q, le, p)
	} else {
		res, err = e.execMetric(ctx, q, expr, p)
	}
	if err != nil {
		return nil, err
	}
	res.Stats.ExecTime = time.Since(start)
	return res, nil
}

// ctxCheckEvery is how many entries pass between context checks.
const ctxCheckEvery = 4096

func (e *Engine) execLog(ctx context.Context, q Querier, le *LogExpr, p Params) (*Result, error) {
	if p.Start.Equal(p.End) && p.Step == 0 {
		return nil, fmt.Errorf("%w: log queries are not supported as an instant query type, please change your query to a range query type", ErrUnsupported)
	}
	if p.End.Before(p.Start) {
		return nil, fmt.Errorf("%w: end timestamp must not be before start time", ErrUnsupported)
	}
	limit := p.Limit
	if limit == 0 {
		limit = 100
	}
	if limit < 0 {
		return nil, fmt.Errorf("%w: limit must be positive", ErrUnsupported)
	}
	if limit > e.opts.MaxEntries {
		return nil, newLimitError("max entries limit per query exceeded, limit > max_entries_limit (%d > %d)", limit, e.opts.MaxEntries)
	}
	pl, err := compilePipeline(le.Stages)
	if err != nil {
		return nil, err
	}
	sp := SelectParams{
		Start:       p.Start.UnixNano(),
		End:         p.End.UnixNano(),
		Matchers:    le.Matchers,
		Direction:   p.Direction,
		AllMetadata: true,
	}
	sp.LineContains, sp.MetadataEquals = selectHints(le.Matchers, le.Stages)

	res := &Result{Type: ValueStreams, Direction: p.Direction}
	type resultStream struct {
		s    *Stream
		last int64
	}
	streams := map[string]*resultStream{}
	var order []*resultStream
	var key []byte
	var sb labels.ScratchBuilder
	var ps procState
	interval := p.Interval.Nanoseconds()
	var ctxErr error
	n := 0
	err = q.SelectLogs(ctx, sp, func(en *Entry) bool {
		res.Stats.EntriesScanned++
		res.Stats.BytesScanned += int64(len(en.Line))
		if res.Stats.EntriesScanned%ctxCheckEvery == 0 {
			if ctxErr = ctx.Err(); ctxErr != nil {
				return false
			}
		}
		if !pl.process(en, &ps, true) {
			return true
		}
		key = pl.st.appendKey(key[:0])
		rs := streams[string(key)]
		if rs == nil {
			rs = &resultStream{s: &Stream{Labels: pl.st.labels(&sb, nil)}}
			streams[string(key)] = rs
			order = append(order, rs)
		} else if interval > 0 {
			d := en.Time - rs.last
			if d < 0 {
				d = -d
			}
			if d < interval {
				return true
			}
		}
		rs.last = en.Time
		rs.s.Entries = append(rs.s.Entries, StreamEntry{
			Time:               en.Time,
			Line:               strings.Clone(ps.line),
			StructuredMetadata: pl.st.labels(&sb, func(c category) bool { return c == catMetadata }),
			Parsed:             pl.st.labels(&sb, func(c category) bool { return c == catParsed }),
		})
		n++
		return n < limit
	})
	if err == nil {
		err = ctxErr
	}
	if err != nil {
		return nil, fmt.Errorf("select logs: %w", err)
	}
	res.Streams = make([]Stream, len(order))
	for i, rs := range order {
		res.Streams[i] = *rs.s
	}
	slices.SortFunc(res.Streams, func(a, b Stream) int { return labels.Compare(a.Labels, b.Labels) })
	res.Stats.EntriesReturned = int64(n)
	return res, nil
}

// selectHints derives the LineContains and MetadataEquals hints from the
// stages before the first one that changes the line or the labels.
func selectHints(ms []*labels.Matcher, stages []Stage) ([]string, []labels.Label) {
	var contains []string
	var meta []labels.Label
	inSelector := func(name string) bool {
		for _, m := range ms {
			if m.Name == name {
				return true
			}
		}
		return false
	}
	var addMeta func(f LabelFilter)
	addMeta = func(f LabelFilter) {
		switch f := f.(type) {
		case *BinaryLabelFilter:
			if f.And {
				addMeta(f.LHS)
				addMeta(f.RHS)
			}
		case *StringLabelFilter:
			m := f.Matcher
			// A name_extracted label is metadata the store knows as name:
			// leave it to the engine.
			if m.Type == labels.MatchEqual && m.Value != "" && !strings.HasPrefix(m.Name, "__") &&
				!strings.HasSuffix(m.Name, extractedSuffix) && !inSelector(m.Name) {
				meta = append(meta, labels.Label{Name: m.Name, Value: m.Value})
			}
		}
	}
	for _, s := range stages {
		switch s := s.(type) {
		case *LineFilter:
			if s.Op == LineContains && len(s.Values) == 1 && !s.Values[0].IP && s.Values[0].Value != "" {
				contains = append(contains, s.Values[0].Value)
			}
		case *LabelFilterStage:
			addMeta(s.Filter)
		default:
			return contains, meta
		}
	}
	return contains, meta
}

// pipelineError is the error of a metric query whose entries carry
// __error__, worded as Loki words it.
func pipelineError(lbls string, kind string) error {
	return fmt.Errorf("%w: '%s' for series: '%s'. Use a label filter to intentionally skip this error. "+
		"(e.g | __error__!=\"%s\"). To skip all potential errors you can match empty errors.(e.g __error__=\"\") "+
		"The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__=\"\" )",
		ErrPipeline, kind, lbls, kind)
}
