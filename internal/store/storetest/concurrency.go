package storetest

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
)

// testConcurrency writes distinct traces from many goroutines, each trace
// in several batches mixed with other traces, while other goroutines read.
// A reader told that a trace was written must find all of it; a reader
// that finds part of a trace still being written must find its spans
// whole. Afterwards every trace is complete.
func testConcurrency(t *testing.T, s TraceStore) func(*testing.T, TraceStore) {
	const (
		writers   = 6
		perWriter = 15 // traces, written three at a time
		readers   = 3
	)
	now := testNow()
	from, to := lastHour(now)
	gen := newGenerator(6)
	rng := rand.New(rand.NewPCG(6, 6))

	// Each writer's batches: for each group of three traces, the spans of
	// each trace shuffled and cut in three, and batch i holding part i of
	// each trace of the group.
	type group struct {
		batches [][]model.Span
		ids     []model.TraceID
	}
	plans := make([][]group, writers)
	var all []model.Span
	for w := range plans {
		for range perWriter / 3 {
			var g group
			g.batches = make([][]model.Span, 3)
			for range 3 {
				spans := gen.traceIn(from, to)
				all = append(all, spans...)
				g.ids = append(g.ids, spans[0].TraceID)
				spans = slices.Clone(spans)
				rng.Shuffle(len(spans), func(i, j int) { spans[i], spans[j] = spans[j], spans[i] })
				a, b := len(spans)/3, 2*len(spans)/3
				for i, part := range [][]model.Span{spans[:a], spans[a:b], spans[b:]} {
					g.batches[i] = append(g.batches[i], part...)
				}
			}
			plans[w] = append(plans[w], g)
		}
	}
	traces := byTrace(all)
	written := map[model.SpanID]*model.Span{}
	for i := range all {
		written[all[i].SpanID] = &all[i]
	}

	done := make(chan model.TraceID, writers*perWriter)
	var writing, reading sync.WaitGroup
	for _, plan := range plans {
		writing.Go(func() {
			for _, g := range plan {
				for _, batch := range g.batches {
					if err := s.WriteSpans(t.Context(), cloneSpans(batch)); err != nil {
						t.Errorf("WriteSpans: %v", err)
						return
					}
				}
				for _, id := range g.ids {
					done <- id
				}
			}
		})
	}
	for r := range readers {
		reading.Go(func() {
			for n := 0; ; n++ {
				id, ok := <-done
				if !ok {
					return
				}
				// The trace was written before this reader heard of it.
				got, err := s.GetTrace(t.Context(), id)
				if err != nil {
					t.Errorf("reader %d: GetTrace(%s) of a written trace: %v", r, id, err)
				} else if d := diffSpans(traces[id], got); d != "" {
					t.Errorf("reader %d: GetTrace(%s) of a written trace differs:\n%s", r, id, d)
				}
				// Traces still being written: whatever is found must be
				// spans as written, never parts of spans.
				q := store.TraceQuery{Limit: 5}
				if n%2 == 1 {
					q.Service = []string{"frontend", "inventory", "checkout"}[n%3]
				}
				found, err := s.FindTraces(t.Context(), q)
				if err != nil {
					t.Errorf("reader %d: FindTraces(%s): %v", r, fmtQuery(q), err)
				}
				for _, tr := range found {
					for i := range tr.Spans {
						want, ok := written[tr.Spans[i].SpanID]
						if !ok || want.TraceID != tr.ID {
							t.Errorf("reader %d: FindTraces(%s) returned span %s of trace %s, which was never written", r, fmtQuery(q), tr.Spans[i].SpanID, tr.ID)
						} else if d := diffSpans([]model.Span{*want}, tr.Spans[i:i+1]); d != "" {
							t.Errorf("reader %d: FindTraces(%s) returned a span while it was written that differs:\n%s", r, fmtQuery(q), d)
						}
					}
				}
				if _, err := s.Services(t.Context()); err != nil {
					t.Errorf("reader %d: Services: %v", r, err)
				}
				if _, err := s.Dependencies(t.Context(), now.Add(-time.Hour), now); err != nil {
					t.Errorf("reader %d: Dependencies: %v", r, err)
				}
				if t.Failed() {
					// Drain so the writers can finish.
					for range done {
					}
					return
				}
			}
		})
	}
	writing.Wait()
	close(done)
	reading.Wait()
	if t.Failed() {
		return nil
	}

	check := func(t *testing.T, s TraceStore) {
		wantTraces(t, s, traces)
		wantFind(t, s, store.TraceQuery{StartMin: from, Limit: len(traces) + 10}, traces, rankByLatest(traces)...)
		if got, want := services(t, s), serviceNames(all); !slices.Equal(got, want) {
			t.Errorf("Services = %q; want %q", got, want)
		}
	}
	check(t, s)
	return check
}

// rankByLatest returns the IDs of traces most recent first, by the latest
// start of any of their spans.
func rankByLatest(traces map[model.TraceID][]model.Span) []model.TraceID {
	latest := map[model.TraceID]int64{}
	for id, spans := range traces {
		for i := range spans {
			latest[id] = max(latest[id], spans[i].StartUnixNano)
		}
	}
	ids := sortedIDs(traces)
	slices.SortStableFunc(ids, func(a, b model.TraceID) int { return cmp.Compare(latest[b], latest[a]) })
	return ids
}
