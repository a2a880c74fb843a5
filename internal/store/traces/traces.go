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

	labelServiceName = "service.name"
	// labelTypes holds the value types of the resource attributes, one
	// byte each, when any is not a string.
	labelTypes = "__types__"
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
	var enc encoder
	for i := range spans {
		enc.spanRow(&rows[i], &spans[i])
	}
	err := s.cs.Write(ctx, rows)
	if errors.Is(err, colstore.ErrOverloaded) {
		return fmt.Errorf("%w: %w", store.ErrOverloaded, err)
	}
	return err
}

// encoder turns spans into rows. Rows of one call share its buffers, so
// a batch costs a few allocations rather than several per span.
type encoder struct {
	prevRes *model.Resource
	stream  []colstore.Label
}

func (e *encoder) spanRow(r *colstore.Row, s *model.Span) {
	if e.prevRes == nil || !sameResource(e.prevRes, &s.Resource) {
		e.stream = resourceLabels(&s.Resource)
		e.prevRes = &s.Resource
	}
	r.Stream = e.stream
	r.Time = s.StartUnixNano
	f := make([]colstore.Field, 0, 12+len(s.Attributes))
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
	f = appendInt(f, colStatusCode, int64(s.StatusCode))
	f = appendStr(f, colStatusMessage, s.StatusMessage)
	f = appendStr(f, colTraceState, s.TraceState)
	f = appendInt(f, colFlags, int64(s.Flags))
	f = appendStr(f, colScopeName, s.Scope.Name)
	f = appendStr(f, colScopeVersion, s.Scope.Version)
	if len(s.Attributes) > 0 {
		f = append(f, colstore.Field{Name: colAttrKeys, Type: colstore.TypeString, Str: string(appendAttrKeys(nil, s.Attributes))})
		for _, a := range s.Attributes {
			f = append(f, colstore.Field{Name: attrPrefix + a.Key, Type: colstore.TypeString, Str: a.Value})
		}
	}
	if len(s.Events) > 0 {
		f = append(f, colstore.Field{Name: colEvents, Type: colstore.TypeBytes, Bytes: appendEvents(nil, s.Events)})
	}
	if len(s.Links) > 0 {
		f = append(f, colstore.Field{Name: colLinks, Type: colstore.TypeBytes, Bytes: appendLinks(nil, s.Links)})
	}
	f = appendInt(f, colDroppedAttrs, int64(s.DroppedAttributes))
	f = appendInt(f, colDroppedEvents, int64(s.DroppedEvents))
	f = appendInt(f, colDroppedLinks, int64(s.DroppedLinks))
	r.Fields = f
}

func appendStr(f []colstore.Field, name, v string) []colstore.Field {
	if v == "" {
		return f
	}
	return append(f, colstore.Field{Name: name, Type: colstore.TypeString, Str: v})
}

func appendInt(f []colstore.Field, name string, v int64) []colstore.Field {
	if v == 0 {
		return f
	}
	return append(f, colstore.Field{Name: name, Type: colstore.TypeInt, Int: v})
}

func sameResource(a, b *model.Resource) bool {
	return a.ServiceName == b.ServiceName && slices.Equal(a.Attributes, b.Attributes)
}

func resourceLabels(res *model.Resource) []colstore.Label {
	labels := make([]colstore.Label, 0, 1+len(res.Attributes))
	labels = append(labels, colstore.Label{Name: labelServiceName, Value: res.ServiceName})
	var types []byte
	for i, a := range res.Attributes {
		labels = append(labels, colstore.Label{Name: a.Key, Value: a.Value})
		if a.Type != model.ValueString && types == nil {
			types = make([]byte, len(res.Attributes))
			for j := range i {
				types[j] = byte(model.ValueString)
			}
		}
		if types != nil {
			types[i] = byte(a.Type)
		}
	}
	if types != nil {
		labels = append(labels, colstore.Label{Name: labelTypes, Value: string(types)})
	}
	return labels
}

func resourceFromLabels(labels []colstore.Label) model.Resource {
	var res model.Resource
	var types string
	n := len(labels)
	if n > 0 && labels[n-1].Name == labelTypes {
		types = labels[n-1].Value
		n--
	}
	for i, l := range labels[:n] {
		if i == 0 && l.Name == labelServiceName {
			res.ServiceName = l.Value
			continue
		}
		a := model.Attribute{Key: l.Name, Value: l.Value}
		if j := i - 1; j >= 0 && j < len(types) {
			a.Type = model.ValueType(types[j])
		}
		res.Attributes = append(res.Attributes, a)
	}
	return res
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
	var spans []model.Span
	var derr error
	err := s.cs.Search(ctx, colstore.Query{
		Filters: []colstore.Filter{{Column: colTraceID, Type: colstore.TypeID, Op: colstore.OpEqual, Value: id[:]}},
	}, func(r *colstore.Row) bool {
		sp, err := rowToSpan(r)
		if err != nil {
			derr = err
			return false
		}
		spans = append(spans, sp)
		return true
	})
	if err = cmp.Or(err, derr); err != nil {
		return nil, err
	}
	if len(spans) == 0 {
		return nil, store.ErrTraceNotFound
	}
	sortSpans(spans)
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
		if len(labels) > 0 && labels[0].Name == labelServiceName && !seen[labels[0].Value] {
			seen[labels[0].Value] = true
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
		return len(labels) > 0 && labels[0].Name == labelServiceName && labels[0].Value == name
	}
}

// Operations implements store.TraceReader.
func (s *Store) Operations(ctx context.Context, q store.OperationQuery) ([]store.Operation, error) {
	query := colstore.Query{Stream: serviceIs(q.Service), Columns: []string{colName, colKind}}
	if q.Kind != model.SpanKindUnspecified {
		query.Filters = []colstore.Filter{{Column: colKind, Type: colstore.TypeInt, Op: colstore.OpRange, Min: int64(q.Kind), Max: int64(q.Kind)}}
	}
	seen := map[store.Operation]bool{}
	err := s.cs.Search(ctx, query, func(r *colstore.Row) bool {
		var op store.Operation
		for _, f := range r.Fields {
			switch f.Name {
			case colName:
				op.Name = f.Str
			case colKind:
				op.Kind = model.SpanKind(f.Int)
			}
		}
		if !seen[op] {
			op.Name = string([]byte(op.Name)) // r is only valid during the call
			seen[op] = true
		}
		return true
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

// FindTraces implements store.TraceReader. The column store narrows the
// search by service, operation, duration and time (skipping blocks by
// their headers and bloom filters); attribute conditions are applied to
// the decoded spans with store.SpanMatches, since a tag may live in span
// attributes, resource attributes or fields Jaeger derives.
func (s *Store) FindTraces(ctx context.Context, q store.TraceQuery) ([]store.Trace, error) {
	query := colstore.Query{}
	if !q.StartMin.IsZero() {
		query.MinTime = q.StartMin.UnixNano()
	}
	if !q.StartMax.IsZero() {
		query.MaxTime = q.StartMax.UnixNano()
	}
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
	latest := map[model.TraceID]int64{}
	var derr error
	err := s.cs.Search(ctx, query, func(r *colstore.Row) bool {
		var id model.TraceID
		if len(q.Attributes) > 0 {
			sp, err := rowToSpan(r)
			if err != nil {
				derr = err
				return false
			}
			if !store.SpanMatches(&sp, &q) {
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
	if err = cmp.Or(err, derr); err != nil {
		return nil, err
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
	limit := q.Limit
	if limit <= 0 {
		limit = store.DefaultTraceLimit
	}
	out := make([]store.Trace, 0, min(limit, len(hits)))
	for _, h := range hits[:min(limit, len(hits))] {
		spans, err := s.GetTrace(ctx, h.id)
		if err != nil {
			return nil, err
		}
		out = append(out, store.Trace{ID: h.id, Spans: spans})
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
