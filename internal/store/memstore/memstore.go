// Package memstore is the in-memory reference implementation of the store
// interfaces. It keeps everything in maps behind one lock, favours
// obviousness over speed, and is what the storetest conformance suite is
// checked against; tests of API handlers use it as a real, complete store.
package memstore

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
)

// Traces is an in-memory trace store. The zero value is not usable; call
// NewTraces. It is safe for concurrent use.
type Traces struct {
	mu     sync.RWMutex
	traces map[model.TraceID][]model.Span // guarded by mu
}

var (
	_ store.TraceWriter = (*Traces)(nil)
	_ store.TraceReader = (*Traces)(nil)
)

// NewTraces returns an empty store.
func NewTraces() *Traces {
	return &Traces{traces: make(map[model.TraceID][]model.Span)}
}

// WriteSpans implements store.TraceWriter. It deep-copies the spans.
func (t *Traces) WriteSpans(_ context.Context, spans []model.Span) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range spans {
		s := spans[i].Clone()
		t.traces[s.TraceID] = append(t.traces[s.TraceID], s)
	}
	return nil
}

// GetTrace implements store.TraceReader.
func (t *Traces) GetTrace(_ context.Context, id model.TraceID) ([]model.Span, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	spans, ok := t.traces[id]
	if !ok {
		return nil, store.ErrTraceNotFound
	}
	return sortedCopy(spans), nil
}

// Services implements store.TraceReader.
func (t *Traces) Services(context.Context) ([]string, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	seen := map[string]bool{}
	for _, spans := range t.traces {
		for i := range spans {
			seen[spans[i].Resource.ServiceName] = true
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	slices.Sort(out)
	return out, nil
}

// Operations implements store.TraceReader.
func (t *Traces) Operations(_ context.Context, q store.OperationQuery) ([]store.Operation, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	seen := map[store.Operation]bool{}
	for _, spans := range t.traces {
		for i := range spans {
			s := &spans[i]
			if s.Resource.ServiceName != q.Service {
				continue
			}
			if q.Kind != model.SpanKindUnspecified && s.Kind != q.Kind {
				continue
			}
			seen[store.Operation{Name: s.Name, Kind: s.Kind}] = true
		}
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

// FindTraces implements store.TraceReader. Recency is the latest start
// time among a trace's matching spans.
func (t *Traces) FindTraces(_ context.Context, q store.TraceQuery) ([]store.Trace, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	type hit struct {
		id     model.TraceID
		latest int64
	}
	var hits []hit
	for id, spans := range t.traces {
		latest, found := int64(0), false
		for i := range spans {
			if store.SpanMatches(&spans[i], &q) {
				found = true
				latest = max(latest, spans[i].StartUnixNano)
			}
		}
		if found {
			hits = append(hits, hit{id, latest})
		}
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
		out = append(out, store.Trace{ID: h.id, Spans: sortedCopy(t.traces[h.id])})
	}
	return out, nil
}

// Dependencies implements store.TraceReader.
func (t *Traces) Dependencies(_ context.Context, start, end time.Time) ([]store.DependencyLink, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	counts := map[[2]string]uint64{}
	for _, spans := range t.traces {
		service := make(map[model.SpanID]string, len(spans))
		for i := range spans {
			service[spans[i].SpanID] = spans[i].Resource.ServiceName
		}
		for i := range spans {
			s := &spans[i]
			if s.ParentSpanID.IsZero() || s.StartUnixNano < start.UnixNano() || s.StartUnixNano > end.UnixNano() {
				continue
			}
			parent, ok := service[s.ParentSpanID]
			if !ok || parent == s.Resource.ServiceName {
				continue
			}
			counts[[2]string{parent, s.Resource.ServiceName}]++
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

func sortedCopy(spans []model.Span) []model.Span {
	out := make([]model.Span, len(spans))
	for i := range spans {
		out[i] = spans[i].Clone()
	}
	slices.SortStableFunc(out, func(a, b model.Span) int {
		return cmp.Or(cmp.Compare(a.StartUnixNano, b.StartUnixNano), slices.Compare(a.SpanID[:], b.SpanID[:]))
	})
	return out
}
