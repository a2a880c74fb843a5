package storetest

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
	"github.com/argus-obs/argus/internal/store/memstore"
)

// testDifferential writes the same generated traces to the store and to
// the reference implementation, memstore, and checks that every reader
// method agrees on generated questions.
func testDifferential(t *testing.T, s TraceStore) func(*testing.T, TraceStore) {
	now := testNow()
	from, to := lastHour(now)
	spans := newGenerator(7).traces(60, from, to)
	writeInBatches(t, s, spans, rand.New(rand.NewPCG(7, 7)))
	ref := memstore.NewTraces()
	writeSpans(t, ref, spans)

	check := func(t *testing.T, s TraceStore) { agree(t, s, ref, spans, 7) }
	check(t, s)
	return check
}

// writeInBatches writes spans shuffled, in batches of random sizes.
func writeInBatches(t *testing.T, s TraceStore, spans []model.Span, rng *rand.Rand) {
	t.Helper()
	spans = slices.Clone(spans)
	rng.Shuffle(len(spans), func(i, j int) { spans[i], spans[j] = spans[j], spans[i] })
	for len(spans) > 0 {
		n := min(len(spans), 1+rng.IntN(20))
		writeSpans(t, s, spans[:n])
		spans = spans[n:]
	}
}

// agree checks that s gives the answers ref gives: GetTrace for every
// trace in spans and for unknown ones, Services, Operations for every
// service and kind, and FindTraces and Dependencies for questions
// generated from spans with seed.
func agree(t *testing.T, s TraceStore, ref *memstore.Traces, spans []model.Span, seed uint64) {
	t.Helper()
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(seed, 0xd1ff))
	traces := byTrace(spans)

	bad := 0
	for _, id := range sortedIDs(traces) {
		want, err := ref.GetTrace(ctx, id)
		if err != nil {
			t.Fatalf("reference GetTrace(%s): %v", id, err)
		}
		if d := diffSpans(want, getTrace(t, s, id)); d != "" {
			if bad++; bad > maxTraceDiffs {
				t.Errorf("GetTrace: more disagreements; not reported")
				break
			}
			t.Errorf("GetTrace(%s) disagrees with memstore:\n%s", id, d)
		}
	}
	for _, id := range unknownIDs(traces, model.TraceID{}) {
		wantNotFound(t, s, id)
	}

	svcs := mustServices(t, ref)
	if got := services(t, s); !slices.Equal(got, svcs) {
		t.Errorf("Services = %q; memstore says %q", got, svcs)
	}
	for _, svc := range append(svcs, "nope") {
		for kind := model.SpanKindUnspecified; kind <= model.SpanKindConsumer; kind++ {
			q := store.OperationQuery{Service: svc, Kind: kind}
			if got, want := operations(t, s, q), mustOperations(t, ref, q); !slices.Equal(got, want) {
				t.Errorf("Operations(%+v) = %v; memstore says %v", q, got, want)
			}
		}
	}

	for _, w := range dependencyWindows(rng, spans) {
		if got, want := dependencies(t, s, w[0], w[1]), mustDependencies(t, ref, w[0], w[1]); !slices.Equal(got, want) {
			t.Errorf("Dependencies(%s, %s) = %v; memstore says %v",
				w[0].UTC().Format(time.RFC3339Nano), w[1].UTC().Format(time.RFC3339Nano), got, want)
		}
	}

	bad = 0
	for _, q := range randomQueries(rng, spans, 80) {
		want, err := ref.FindTraces(ctx, q)
		if err != nil {
			t.Fatalf("reference FindTraces(%s): %v", fmtQuery(q), err)
		}
		got := findTraces(t, s, q)
		if msg := diffTraces(want, got); msg != "" {
			if bad++; bad > maxTraceDiffs {
				t.Errorf("FindTraces: more disagreements; not reported")
				break
			}
			t.Errorf("FindTraces(%s) disagrees with memstore: %s", fmtQuery(q), msg)
		}
	}
}

// diffTraces describes how got differs from want: other traces or another
// order, or a trace with other spans.
func diffTraces(want, got []store.Trace) string {
	ids := func(ts []store.Trace) []model.TraceID {
		out := make([]model.TraceID, len(ts))
		for i := range ts {
			out[i] = ts[i].ID
		}
		return out
	}
	if w, g := ids(want), ids(got); !slices.Equal(w, g) {
		return "got traces " + fmtIDs(g) + ", want " + fmtIDs(w)
	}
	for i := range want {
		if d := diffSpans(want[i].Spans, got[i].Spans); d != "" {
			return "trace " + want[i].ID.String() + " differs:\n" + d
		}
	}
	return ""
}

// dependencyWindows returns time windows over spans: all of them, windows
// bounded by the exact starts of random spans, a one-nanosecond window,
// and a window after every span.
func dependencyWindows(rng *rand.Rand, spans []model.Span) [][2]time.Time {
	first, last := spans[0].StartUnixNano, spans[0].StartUnixNano
	for i := range spans {
		first, last = min(first, spans[i].StartUnixNano), max(last, spans[i].StartUnixNano)
	}
	at := func(ns int64) time.Time { return time.Unix(0, ns) }
	out := [][2]time.Time{{at(first - 1), at(last + 1)}}
	for range 6 {
		a, b := spans[rng.IntN(len(spans))].StartUnixNano, spans[rng.IntN(len(spans))].StartUnixNano
		out = append(out, [2]time.Time{at(min(a, b)), at(max(a, b))})
	}
	for range 3 {
		p := spans[rng.IntN(len(spans))].StartUnixNano
		out = append(out, [2]time.Time{at(p), at(p)})
	}
	return append(out, [2]time.Time{at(last + 1), at(last + int64(time.Hour))})
}

// randomQueries generates n trace queries from spans: each starts from one
// span and takes some of its fields as conditions, with bounds often
// exactly at the span's start or duration, and sometimes adds a condition
// from another span, so queries match one, some or no traces.
func randomQueries(rng *rand.Rand, spans []model.Span, n int) []store.TraceQuery {
	out := []store.TraceQuery{{}, {Limit: 1000}}
	for len(out) < n {
		sp := &spans[rng.IntN(len(spans))]
		var q store.TraceQuery
		if rng.IntN(2) == 0 {
			q.Service = sp.Resource.ServiceName
		}
		if rng.IntN(5) < 2 {
			q.Operation = sp.Name
		}
		if rng.IntN(2) == 0 {
			q.Attributes = map[string]string{}
			for range 1 + rng.IntN(2) {
				k, v := randomTag(rng, sp)
				q.Attributes[k] = v
			}
		}
		start, d := sp.StartUnixNano, sp.Duration()
		switch rng.IntN(5) {
		case 0:
			q.StartMin = time.Unix(0, start)
		case 1:
			q.StartMin = time.Unix(0, start-rng.Int64N(int64(20*time.Minute)))
		}
		switch rng.IntN(5) {
		case 0:
			q.StartMax = time.Unix(0, start)
		case 1:
			q.StartMax = time.Unix(0, start+rng.Int64N(int64(20*time.Minute)))
		}
		switch rng.IntN(6) {
		case 0:
			q.DurationMin = time.Duration(d)
		case 1:
			q.DurationMin = time.Duration(d / 2)
		}
		switch rng.IntN(6) {
		case 0:
			q.DurationMax = time.Duration(d)
		case 1:
			q.DurationMax = time.Duration(2*d + 1)
		}
		q.Limit = []int{0, 0, 1, 3, 10, 1000}[rng.IntN(6)]
		if rng.IntN(10) == 0 {
			if q.Attributes == nil {
				q.Attributes = map[string]string{}
			}
			k, v := randomTag(rng, &spans[rng.IntN(len(spans))])
			q.Attributes[k] = v
		}
		out = append(out, q)
	}
	return out
}

// randomTag picks a tag of sp as FindTraces sees it: a span or resource
// attribute, or a derived tag.
func randomTag(rng *rand.Rand, sp *model.Span) (key, value string) {
	derived := []string{"error", "span.kind", "otel.status_code", "otel.status_description", "otel.scope.name", "otel.scope.version", "service.name"}
	switch rng.IntN(3) {
	case 0:
		if len(sp.Attributes) > 0 {
			a := sp.Attributes[rng.IntN(len(sp.Attributes))]
			return a.Key, a.Value
		}
	case 1:
		if len(sp.Resource.Attributes) > 0 {
			a := sp.Resource.Attributes[rng.IntN(len(sp.Resource.Attributes))]
			return a.Key, a.Value
		}
	}
	key = derived[rng.IntN(len(derived))]
	if v, ok := store.SpanTag(sp, key); ok {
		return key, v
	}
	return key, "true"
}

// testReopen checks durability across several reopen cycles: of an empty
// store, after writes, with writes after a reopen that add spans to traces
// written before it, and with no writes between two reopens.
func testReopen(t *testing.T, h TraceHarness) {
	now := testNow()
	from, to := lastHour(now)
	gen := newGenerator(8)
	rng := rand.New(rand.NewPCG(8, 8))
	ref := memstore.NewTraces()

	s := h.Reopen(t, h.New(t))
	t.Run("Empty", func(t *testing.T) { checkEmpty(t, s, now) })

	first := gen.traces(20, from, to)
	writeInBatches(t, s, first, rng)
	writeSpans(t, ref, first)
	s = h.Reopen(t, s)
	t.Run("AfterFirstReopen", func(t *testing.T) { agree(t, s, ref, first, 81) })

	// More traces, and spans from a new service for traces written before
	// the reopen.
	more := gen.traces(10, from, to)
	seen := map[model.TraceID]bool{}
	for i := range first {
		root := &first[i]
		if seen[root.TraceID] || len(seen) == 5 {
			continue
		}
		seen[root.TraceID] = true
		start := gen.startAt(root.StartUnixNano + int64(time.Millisecond))
		more = append(more, model.Span{
			TraceID: root.TraceID, SpanID: model.SpanID{0x1a, 0x7e, byte(len(seen))}, ParentSpanID: root.SpanID, Flags: 1,
			Name: "late callback", Kind: model.SpanKindServer, StartUnixNano: start, EndUnixNano: start + int64(time.Millisecond),
			Attributes: []model.Attribute{model.Bool("late", true)},
			Resource:   model.Resource{ServiceName: "late", Attributes: []model.Attribute{model.String("host.name", "late-1")}},
		})
	}
	writeInBatches(t, s, more, rng)
	writeSpans(t, ref, more)
	all := append(slices.Clone(first), more...)
	t.Run("BeforeSecondReopen", func(t *testing.T) { agree(t, s, ref, all, 82) })
	s = h.Reopen(t, s)
	t.Run("AfterSecondReopen", func(t *testing.T) { agree(t, s, ref, all, 83) })
	s = h.Reopen(t, s)
	t.Run("AfterIdleReopen", func(t *testing.T) { agree(t, s, ref, all, 84) })
}
