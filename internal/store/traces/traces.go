// Package traces stores spans in the column store and answers trace
// queries from it. It implements store.TraceWriter and store.TraceReader.
//
// A span becomes one row: its stream is its resource (service.name first,
// then the other resource attributes), its time is its start, and every
// other field is a column. Each span attribute is a column of its own
// (named "a." + key) so a tag search reads and bloom-checks only that
// column; the attribute keys and types, in order, are one more column
// that dictionary encoding makes nearly free when spans look alike.
package traces

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
	"github.com/argus-obs/argus/internal/store/colstore"
	"github.com/argus-obs/argus/internal/store/resource"
)

// Column names of the span row.
const (
	colTraceID       = "trace_id"
	colSpanID        = "span_id"
	colParentSpanID  = "parent_span_id"
	colName          = "name"
	colKind          = "kind"
	colDuration      = "duration"
	colStatusCode    = "status_code"
	colStatusMessage = "status_message"
	colTraceState    = "trace_state"
	colFlags         = "flags"
	colScopeName     = "scope_name"
	colScopeVersion  = "scope_version"
	colAttrKeys      = "attr_keys"
	colEvents        = "events"
	colLinks         = "links"
	colDroppedAttrs  = "dropped_attributes"
	colDroppedEvents = "dropped_events"
	colDroppedLinks  = "dropped_links"
	attrPrefix       = "a."
)

// Store is the trace store. It is safe for concurrent use.
type Store struct {
	cs *colstore.Store
}

var (
	_ store.TraceWriter = (*Store)(nil)
	_ store.TraceReader = (*Store)(nil)
)

// New returns a trace store over an open column store, which the caller
// keeps owning (and closes).
func New(cs *colstore.Store) *Store { return &Store{cs: cs} }

// WriteSpans implements store.TraceWriter.
func (s *Store) WriteSpans(ctx context.Context, spans []model.Span) error {
	rows := make([]colstore.Row, len(spans))
	n := 0
	for i := range spans {
		n += maxSpanFields + len(spans[i].Attributes)
	}
	enc := encoder{fields: make([]colstore.Field, 0, n), attrCols: map[string]string{}}
	for i := range spans {
		enc.spanRow(&rows[i], &spans[i])
	}
	err := s.cs.Write(ctx, rows)
	if errors.Is(err, colstore.ErrOverloaded) {
		return fmt.Errorf("%w: %w", store.ErrOverloaded, err)
	}
	return err
}

// maxSpanFields is the most fields a span row has besides attributes.
const maxSpanFields = 20

// encoder turns spans into rows. Rows of one call share its buffers, and
// what consecutive spans share (resource, attribute keys) is computed
// once, so a batch costs a few allocations rather than several per span.
type encoder struct {
	fields   []colstore.Field // arena for every row's fields
	prevRes  *model.Resource
	stream   []colstore.Label
	prevAttr []model.Attribute // the last span's attributes
	attrKeys string            // and their encoded keys
	attrCols map[string]string // attribute key to column name
}

func (e *encoder) spanRow(r *colstore.Row, s *model.Span) {
	if e.prevRes == nil || !resource.Same(e.prevRes, &s.Resource) {
		e.stream = resource.Labels(&s.Resource)
		e.prevRes = &s.Resource
	}
	r.Stream = e.stream
	r.Time = s.StartUnixNano
	start := len(e.fields)
	f := e.fields
	f = append(f,
		colstore.Field{Name: colTraceID, Type: colstore.TypeID, Bytes: s.TraceID[:]},
		colstore.Field{Name: colSpanID, Type: colstore.TypeBytes, Bytes: s.SpanID[:]},
		colstore.Field{Name: colName, Type: colstore.TypeString, Str: s.Name},
		colstore.Field{Name: colKind, Type: colstore.TypeInt, Int: int64(s.Kind)},
		colstore.Field{Name: colDuration, Type: colstore.TypeInt, Int: s.Duration()},
	)
	if !s.ParentSpanID.IsZero() {
		f = append(f, colstore.Field{Name: colParentSpanID, Type: colstore.TypeBytes, Bytes: s.ParentSpanID[:]})
	}
	f = colstore.AppendInt(f, colStatusCode, int64(s.StatusCode))
	f = colstore.AppendString(f, colStatusMessage, s.StatusMessage)
	f = colstore.AppendString(f, colTraceState, s.TraceState)
	f = colstore.AppendInt(f, colFlags, int64(s.Flags))
	f = colstore.AppendString(f, colScopeName, s.Scope.Name)
	f = colstore.AppendString(f, colScopeVersion, s.Scope.Version)
	if len(s.Attributes) > 0 {
		if !model.SameKeys(e.prevAttr, s.Attributes) {
			e.attrKeys = string(appendAttrKeys(nil, s.Attributes))
			e.prevAttr = s.Attributes
		}
		f = append(f, colstore.Field{Name: colAttrKeys, Type: colstore.TypeString, Str: e.attrKeys})
		for _, a := range s.Attributes {
			col, ok := e.attrCols[a.Key]
			if !ok {
				col = attrPrefix + a.Key
				e.attrCols[a.Key] = col
			}
			f = append(f, colstore.Field{Name: col, Type: colstore.TypeString, Str: a.Value})
		}
	}
	if len(s.Events) > 0 {
		f = append(f, colstore.Field{Name: colEvents, Type: colstore.TypeBytes, Bytes: appendEvents(nil, s.Events)})
	}
	if len(s.Links) > 0 {
		f = append(f, colstore.Field{Name: colLinks, Type: colstore.TypeBytes, Bytes: appendLinks(nil, s.Links)})
	}
	f = colstore.AppendInt(f, colDroppedAttrs, int64(s.DroppedAttributes))
	f = colstore.AppendInt(f, colDroppedEvents, int64(s.DroppedEvents))
	f = colstore.AppendInt(f, colDroppedLinks, int64(s.DroppedLinks))
	e.fields = f
	r.Fields = f[start:len(f):len(f)]
}

// Attribute keys and types: per attribute, a length-prefixed key then
// its type byte.
func appendAttrKeys(dst []byte, attrs []model.Attribute) []byte {
	for _, a := range attrs {
		dst = binary.AppendUvarint(dst, uint64(len(a.Key)))
		dst = append(dst, a.Key...)
		dst = append(dst, byte(a.Type))
	}
	return dst
}

// appendAttrs encodes full attributes (for events and links, which are
// read whole and never searched).
func appendAttrs(dst []byte, attrs []model.Attribute) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(attrs)))
	for _, a := range attrs {
		dst = appendString(dst, a.Key)
		dst = append(dst, byte(a.Type))
		dst = appendString(dst, a.Value)
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendEvents(dst []byte, events []model.Event) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(events)))
	for _, e := range events {
		dst = binary.AppendVarint(dst, e.TimeUnixNano)
		dst = appendString(dst, e.Name)
		dst = appendAttrs(dst, e.Attributes)
	}
	return dst
}

func appendLinks(dst []byte, links []model.Link) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(links)))
	for _, l := range links {
		dst = append(dst, l.TraceID[:]...)
		dst = append(dst, l.SpanID[:]...)
		dst = appendString(dst, l.TraceState)
		dst = appendAttrs(dst, l.Attributes)
	}
	return dst
}

// GetTrace implements store.TraceReader.
func (s *Store) GetTrace(ctx context.Context, id model.TraceID) ([]model.Span, error) {
	byID, err := s.getTraces(ctx, []model.TraceID{id})
	if err != nil {
		return nil, err
	}
	spans := byID[id]
	if len(spans) == 0 {
		return nil, store.ErrTraceNotFound
	}
	return spans, nil
}

func sortSpans(spans []model.Span) {
	slices.SortStableFunc(spans, func(a, b model.Span) int {
		return cmp.Or(cmp.Compare(a.StartUnixNano, b.StartUnixNano), slices.Compare(a.SpanID[:], b.SpanID[:]))
	})
}

// Services implements store.TraceReader.
func (s *Store) Services(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	err := s.cs.Streams(ctx, 0, 0, func(labels []colstore.Label) {
		if name := resource.ServiceName(labels); name != "" {
			seen[name] = true
		}
	})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(seen))
	for name := range seen {
		out = append(out, name)
	}
	slices.Sort(out)
	return out, nil
}

func serviceIs(name string) func([]colstore.Label) bool {
	return func(labels []colstore.Label) bool {
		return resource.ServiceName(labels) == name
	}
}

// Operations implements store.TraceReader. It asks the column store for
// the distinct (name, kind) pairs of the service's streams, which parts
// keep once computed.
func (s *Store) Operations(ctx context.Context, q store.OperationQuery) ([]store.Operation, error) {
	seen := map[store.Operation]bool{}
	err := s.cs.Distinct(ctx, colstore.Query{Stream: serviceIs(q.Service)}, []string{colName, colKind},
		func(_ []colstore.Label, values []colstore.Field) {
			op := store.Operation{Name: values[0].Str, Kind: model.SpanKind(values[1].Int)}
			if q.Kind != model.SpanKindUnspecified && op.Kind != q.Kind {
				return
			}
			if !seen[op] {
				op.Name = clone(op.Name) // values are only valid during the call
				seen[op] = true
			}
		})
	if err != nil {
		return nil, err
	}
	out := make([]store.Operation, 0, len(seen))
	for op := range seen {
		out = append(out, op)
	}
	slices.SortFunc(out, func(a, b store.Operation) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Kind, b.Kind))
	})
	return out, nil
}

// FindTraces implements store.TraceReader.
//
// The column store narrows the search by service, operation, duration and
// time, skipping blocks by their headers and bloom filters; attribute
// conditions are applied to the decoded spans with store.SpanMatches,
// since a tag may live in span attributes, resource attributes or fields
// Jaeger derives.
//
// Only the most recent traces are wanted, so the time range is searched
// backwards in windows that grow fourfold, and the search stops as soon as
// a window leaves enough traces: every trace not yet found matches only
// before that window, so it ranks below all those found. A search over an
// hour of ten million spans so reads a few blocks, not all of them.
func (s *Store) FindTraces(ctx context.Context, q store.TraceQuery) ([]store.Trace, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = store.DefaultTraceLimit
	}
	lo, hi, ok := s.cs.TimeRange()
	if !ok {
		return nil, nil
	}
	if !q.StartMin.IsZero() {
		lo = max(lo, q.StartMin.UnixNano())
	}
	if !q.StartMax.IsZero() {
		hi = min(hi, q.StartMax.UnixNano())
	}
	if lo > hi {
		return nil, nil
	}
	latest := map[model.TraceID]int64{}
	size := max((hi-lo)/256, int64(10*time.Second))
	for {
		from := lo
		if hi-lo >= size {
			from = hi - size + 1
		}
		if err := s.findInWindow(ctx, &q, from, hi, latest); err != nil {
			return nil, err
		}
		if len(latest) >= limit || from <= lo {
			break
		}
		hi = from - 1
		size = min(size*4, math.MaxInt64/8)
	}

	type hit struct {
		id     model.TraceID
		latest int64
	}
	hits := make([]hit, 0, len(latest))
	for id, t := range latest {
		hits = append(hits, hit{id, t})
	}
	slices.SortFunc(hits, func(a, b hit) int {
		return cmp.Or(cmp.Compare(b.latest, a.latest), slices.Compare(a.id[:], b.id[:]))
	})
	hits = hits[:min(limit, len(hits))]
	ids := make([]model.TraceID, len(hits))
	for i, h := range hits {
		ids[i] = h.id
	}
	byID, err := s.getTraces(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]store.Trace, 0, len(hits))
	for _, id := range ids {
		if spans := byID[id]; len(spans) > 0 {
			out = append(out, store.Trace{ID: id, Spans: spans})
		}
	}
	return out, nil
}

// findInWindow records, for every trace with a span matching q that
// starts in [from, to], the latest such start.
func (s *Store) findInWindow(ctx context.Context, q *store.TraceQuery, from, to int64, latest map[model.TraceID]int64) error {
	query := colstore.Query{MinTime: from, MaxTime: to}
	if q.Service != "" {
		query.Stream = serviceIs(q.Service)
	}
	if q.Operation != "" {
		query.Filters = append(query.Filters, colstore.Filter{Column: colName, Type: colstore.TypeString, Op: colstore.OpEqual, Value: []byte(q.Operation)})
	}
	if q.DurationMin > 0 || q.DurationMax > 0 {
		f := colstore.Filter{Column: colDuration, Type: colstore.TypeInt, Op: colstore.OpRange, Min: int64(q.DurationMin), Max: math.MaxInt64}
		if q.DurationMax > 0 {
			f.Max = int64(q.DurationMax)
		}
		query.Filters = append(query.Filters, f)
	}
	if len(q.Attributes) == 0 {
		query.Columns = []string{colTraceID}
	}
	var derr error
	err := s.cs.Search(ctx, query, func(r *colstore.Row) bool {
		var id model.TraceID
		if len(q.Attributes) > 0 {
			sp, err := rowToSpan(r)
			if err != nil {
				derr = err
				return false
			}
			if !store.SpanMatches(&sp, q) {
				return true
			}
			id = sp.TraceID
		} else if f := r.Field(colTraceID); f != nil {
			copy(id[:], f.Bytes)
		}
		if t, ok := latest[id]; !ok || r.Time > t {
			latest[id] = r.Time
		}
		return true
	})
	return cmp.Or(err, derr)
}

// getTraces fetches the spans of several traces in one pass over the
// store, each trace's spans sorted by start time.
func (s *Store) getTraces(ctx context.Context, ids []model.TraceID) (map[model.TraceID][]model.Span, error) {
	out := make(map[model.TraceID][]model.Span, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	values := make([][]byte, len(ids))
	for i := range ids {
		values[i] = ids[i][:]
	}
	f := colstore.Filter{Column: colTraceID, Type: colstore.TypeID, Op: colstore.OpIn, Values: values}
	if len(ids) == 1 {
		f = colstore.Filter{Column: colTraceID, Type: colstore.TypeID, Op: colstore.OpEqual, Value: values[0]}
	}
	var derr error
	err := s.cs.Search(ctx, colstore.Query{Filters: []colstore.Filter{f}}, func(r *colstore.Row) bool {
		sp, err := rowToSpan(r)
		if err != nil {
			derr = err
			return false
		}
		out[sp.TraceID] = append(out[sp.TraceID], sp)
		return true
	})
	if err = cmp.Or(err, derr); err != nil {
		return nil, err
	}
	for _, spans := range out {
		sortSpans(spans)
	}
	return out, nil
}

// Dependencies implements store.TraceReader. It reads the span, parent
// and trace ID columns of the window, so its cost grows with the window;
// the derived service graph answers the same question incrementally.
func (s *Store) Dependencies(ctx context.Context, start, end time.Time) ([]store.DependencyLink, error) {
	type spanKey struct {
		trace model.TraceID
		span  model.SpanID
	}
	type child struct {
		parent  spanKey
		service string
	}
	services := map[spanKey]string{}
	var children []child
	// Parents may start before the window: look back a little further
	// for them than for the children.
	query := colstore.Query{MinTime: start.Add(-time.Hour).UnixNano(), MaxTime: end.UnixNano(),
		Columns: []string{colTraceID, colSpanID, colParentSpanID}}
	startNanos := start.UnixNano()
	interned := map[string]string{}
	err := s.cs.Search(ctx, query, func(r *colstore.Row) bool {
		if len(r.Stream) == 0 {
			return true
		}
		svc, ok := interned[r.Stream[0].Value]
		if !ok {
			svc = string([]byte(r.Stream[0].Value))
			interned[svc] = svc
		}
		var k spanKey
		var parent model.SpanID
		for _, f := range r.Fields {
			switch f.Name {
			case colTraceID:
				copy(k.trace[:], f.Bytes)
			case colSpanID:
				copy(k.span[:], f.Bytes)
			case colParentSpanID:
				copy(parent[:], f.Bytes)
			}
		}
		services[k] = svc
		if !parent.IsZero() && r.Time >= startNanos {
			children = append(children, child{spanKey{k.trace, parent}, svc})
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	counts := map[[2]string]uint64{}
	for _, c := range children {
		if p, ok := services[c.parent]; ok && p != c.service {
			counts[[2]string{p, c.service}]++
		}
	}
	out := make([]store.DependencyLink, 0, len(counts))
	for k, n := range counts {
		out = append(out, store.DependencyLink{Parent: k[0], Child: k[1], CallCount: n})
	}
	slices.SortFunc(out, func(a, b store.DependencyLink) int {
		return cmp.Or(cmp.Compare(a.Parent, b.Parent), cmp.Compare(a.Child, b.Child))
	})
	return out, nil
}

// ByID returns the spans whose trace ID or "correlation_id" attribute is
// id, ordered by start time: the spans of one request, found by either
// key. An id that is not a trace ID is looked up as a correlation ID only.
// Both lookups are bloom-checked column filters.
func (s *Store) ByID(ctx context.Context, id string) ([]model.Span, error) {
	var spans []model.Span
	var traceID model.TraceID
	isTrace := false
	if tid, err := model.ParseTraceID(id); err == nil && len(id) >= 16 {
		traceID, isTrace = tid, true
		byID, err := s.getTraces(ctx, []model.TraceID{tid})
		if err != nil {
			return nil, err
		}
		spans = byID[tid]
	}
	var derr error
	q := colstore.Query{Filters: []colstore.Filter{{
		Column: attrPrefix + model.CorrelationIDKey, Type: colstore.TypeString, Op: colstore.OpEqual, Value: []byte(id),
	}}}
	err := s.cs.Search(ctx, q, func(r *colstore.Row) bool {
		sp, err := rowToSpan(r)
		if err != nil {
			derr = err
			return false
		}
		if !isTrace || sp.TraceID != traceID {
			spans = append(spans, sp)
		}
		return true
	})
	if err = cmp.Or(err, derr); err != nil {
		return nil, err
	}
	sortSpans(spans)
	return spans, nil
}
