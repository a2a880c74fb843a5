package logs

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store/colstore"
	"github.com/argus-obs/argus/internal/store/resource"
)

// Series returns the distinct LogQL label sets of the streams with records
// in [start, end] (Unix nanoseconds, inclusive) that match any of the
// matcher sets (every stream when there are none), sorted.
func (s *Store) Series(ctx context.Context, start, end int64, matcherSets [][]*labels.Matcher) ([]labels.Labels, error) {
	seen := map[string]labels.Labels{}
	err := s.cs.Streams(ctx, start, end, func(ls []colstore.Label) {
		lbls := StreamLabels(ls)
		if !matchesAny(lbls, matcherSets) {
			return
		}
		seen[lbls.String()] = lbls
	})
	if err != nil {
		return nil, err
	}
	out := make([]labels.Labels, 0, len(seen))
	for _, l := range seen {
		out = append(out, l)
	}
	slices.SortFunc(out, labels.Compare)
	return out, nil
}

func matchesAny(lbls labels.Labels, sets [][]*labels.Matcher) bool {
	if len(sets) == 0 {
		return true
	}
	for _, set := range sets {
		ok := true
		for _, m := range set {
			if !m.Matches(lbls.Get(m.Name)) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// LabelNames returns the stream label names in use in [start, end] by
// streams matching matchers (all streams when there are none), sorted.
// Like Loki's labels endpoint it lists stream labels, not structured
// metadata.
func (s *Store) LabelNames(ctx context.Context, start, end int64, matchers []*labels.Matcher) ([]string, error) {
	series, err := s.Series(ctx, start, end, setOf(matchers))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, l := range series {
		l.Range(func(l labels.Label) { seen[l.Name] = true })
	}
	return sortedKeys(seen), nil
}

// LabelValues returns the values of one stream label in [start, end]
// among streams matching matchers, sorted.
func (s *Store) LabelValues(ctx context.Context, name string, start, end int64, matchers []*labels.Matcher) ([]string, error) {
	series, err := s.Series(ctx, start, end, setOf(matchers))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, l := range series {
		if v := l.Get(name); v != "" {
			seen[v] = true
		}
	}
	return sortedKeys(seen), nil
}

func setOf(m []*labels.Matcher) [][]*labels.Matcher {
	if len(m) == 0 {
		return nil
	}
	return [][]*labels.Matcher{m}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Services returns the names of the services that sent logs, sorted.
func (s *Store) Services(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	err := s.cs.Streams(ctx, 0, 0, func(ls []colstore.Label) {
		if name := resource.ServiceName(ls); name != "" {
			seen[name] = true
		}
	})
	return sortedKeys(seen), err
}

// ByID returns the records in [start, end] (Unix nanoseconds, inclusive;
// zero end means no bound) whose trace ID or correlation ID is id, ordered
// by time, at most limit of them (0: no limit). An id that is not a trace
// ID is looked up as a correlation ID only. Both lookups are bloom-checked
// column filters, so they read only the blocks that may hold id.
func (s *Store) ByID(ctx context.Context, id string, start, end int64, limit int) ([]model.LogRecord, error) {
	var out []model.LogRecord
	var decodeErr error
	collect := func(skipTrace *model.TraceID) func(*colstore.Row) bool {
		return func(r *colstore.Row) bool {
			rec, err := rowToRecord(r)
			if err != nil {
				decodeErr = err
				return false
			}
			if skipTrace != nil && rec.TraceID == *skipTrace {
				return true // found by the trace ID already
			}
			out = append(out, rec)
			return true
		}
	}
	var traceID *model.TraceID
	if tid, err := model.ParseTraceID(id); err == nil && len(id) >= 16 {
		traceID = &tid
		q := colstore.Query{MinTime: start, MaxTime: end, Filters: []colstore.Filter{
			{Column: colTraceID, Type: colstore.TypeID, Op: colstore.OpEqual, Value: tid[:]},
		}}
		if err := s.cs.Search(ctx, q, collect(nil)); err != nil {
			return nil, err
		}
	}
	q := colstore.Query{MinTime: start, MaxTime: end, Filters: []colstore.Filter{
		{Column: colCorrelationID, Type: colstore.TypeString, Op: colstore.OpEqual, Value: []byte(id)},
	}}
	if err := s.cs.Search(ctx, q, collect(traceID)); err != nil {
		return nil, err
	}
	if decodeErr != nil {
		return nil, decodeErr
	}
	slices.SortStableFunc(out, func(a, b model.LogRecord) int { return cmp.Compare(a.TimeUnixNano, b.TimeUnixNano) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

var errBadRow = errors.New("malformed log row")

// rowToRecord rebuilds a record from its row, copying every value (the
// row's memory belongs to the column store).
func rowToRecord(r *colstore.Row) (model.LogRecord, error) {
	var rec model.LogRecord
	rec.Resource = resource.FromLabels(r.Stream)
	rec.Resource.ServiceName = strings.Clone(rec.Resource.ServiceName)
	for i := range rec.Resource.Attributes {
		a := &rec.Resource.Attributes[i]
		a.Key, a.Value = strings.Clone(a.Key), strings.Clone(a.Value)
	}
	rec.TimeUnixNano = r.Time
	var attrKeys string
	var attrs []model.Attribute
	for i := range r.Fields {
		f := &r.Fields[i]
		switch f.Name {
		case colBody:
			rec.Body = strings.Clone(f.Str)
		case colSeverity:
			rec.Severity = model.Severity(f.Int)
		case colSeverityText:
			rec.SeverityText = strings.Clone(f.Str)
		case colTraceID:
			copy(rec.TraceID[:], f.Bytes)
		case colSpanID:
			copy(rec.SpanID[:], f.Bytes)
		case colFlags:
			rec.Flags = uint32(f.Int)
		case colCorrelationID:
			rec.CorrelationID = strings.Clone(f.Str)
		case colObserved:
			if f.Int != 0 {
				rec.ObservedUnixNano = r.Time + f.Int
			}
		case colObservedAt:
			if f.Int != 0 {
				rec.ObservedUnixNano = f.Int
			}
		case colScopeName:
			rec.Scope.Name = strings.Clone(f.Str)
		case colScopeVersion:
			rec.Scope.Version = strings.Clone(f.Str)
		case colDroppedAttrs:
			rec.DroppedAttributes = uint32(f.Int)
		case colAttrKeys:
			attrKeys = f.Str
		default:
			if name, ok := strings.CutPrefix(f.Name, attrPrefix); ok && f.Str != "" {
				attrs = append(attrs, model.String(strings.Clone(name), strings.Clone(f.Str)))
			}
		}
	}
	if rec.ObservedUnixNano == 0 {
		rec.ObservedUnixNano = rec.TimeUnixNano
	}
	if attrKeys == "" {
		slices.SortFunc(attrs, func(a, b model.Attribute) int { return cmp.Compare(a.Key, b.Key) })
		rec.Attributes = attrs
		return rec, nil
	}
	// The original keys, types and order: look each value up by its
	// column's name.
	b := []byte(attrKeys)
	for len(b) > 0 {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n+1 {
			return rec, errBadRow
		}
		key := string(b[k : k+int(n)])
		typ := model.ValueType(b[k+int(n)])
		b = b[k+int(n)+1:]
		name := LabelName(key)
		for _, a := range attrs {
			if a.Key == name {
				rec.Attributes = append(rec.Attributes, model.Attribute{Key: key, Type: typ, Value: a.Value})
				break
			}
		}
	}
	return rec, nil
}
