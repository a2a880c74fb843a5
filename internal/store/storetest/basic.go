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

// testNow returns the time a subtest's data is placed relative to.
func testNow() time.Time { return time.Now().Truncate(time.Millisecond) }

// lastHour returns the window generated data is placed in: the last hour,
// less a minute at each end.
func lastHour(now time.Time) (from, to time.Time) {
	return now.Add(-59 * time.Minute), now.Add(-time.Minute)
}

// testGetTrace checks that GetTrace returns every field of every span as
// written, and ErrTraceNotFound for traces never written.
func testGetTrace(t *testing.T, s TraceStore) func(*testing.T, TraceStore) {
	now := testNow()
	sh := newShop(now)
	from, to := lastHour(now)
	spans := append(slices.Clone(sh.spans), newGenerator(1).traces(30, from, to)...)
	writeSpans(t, s, spans)
	traces := byTrace(spans)
	unknown := unknownIDs(traces, sh.E)

	check := func(t *testing.T, s TraceStore) {
		wantTraces(t, s, traces)
		for _, id := range unknown {
			wantNotFound(t, s, id)
		}
	}
	check(t, s)
	return check
}

// unknownIDs returns trace IDs that are not in traces but look like its
// IDs: one byte off, or sharing the low or high 64 bits (so a store that
// indexes half an ID is caught). short is a stored ID whose high half is
// zero.
func unknownIDs(traces map[model.TraceID][]model.Span, short model.TraceID) []model.TraceID {
	var out []model.TraceID
	add := func(id model.TraceID) {
		if _, ok := traces[id]; !ok && !id.IsZero() {
			out = append(out, id)
		}
	}
	ids := sortedIDs(traces)
	for _, id := range ids[:min(3, len(ids))] {
		id[15] ^= 1
		add(id)
		id[15] ^= 1
		id[0] ^= 0x80
		add(id)
	}
	highSet := short
	highSet[3] = 0x42
	add(highSet)
	lowOnly := ids[0]
	copy(lowOnly[:8], make([]byte, 8))
	add(lowOnly)
	add(mustTraceID("0123456789abcdef0123456789abcdef"))
	return out
}

func sortedIDs(traces map[model.TraceID][]model.Span) []model.TraceID {
	ids := make([]model.TraceID, 0, len(traces))
	for id := range traces {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b model.TraceID) int { return slices.Compare(a[:], b[:]) })
	return ids
}

// testBatches writes the spans of each trace in several batches, from
// several services and out of order, and checks each trace comes back
// whole, from GetTrace and from FindTraces.
func testBatches(t *testing.T, s TraceStore) func(*testing.T, TraceStore) {
	now := testNow()
	from, to := lastHour(now)
	gen := newGenerator(2)
	rng := rand.New(rand.NewPCG(2, 2))

	// Mixed batches, as a collector sends them: spans of many traces in
	// random order (children often before their parents), cut at random.
	mixed := gen.traces(15, from, to)
	shuffled := slices.Clone(mixed)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for rest := shuffled; len(rest) > 0; {
		n := min(len(rest), 1+rng.IntN(7))
		writeSpans(t, s, rest[:n])
		rest = rest[n:]
	}

	// One batch per service, as each service's exporter sends its own
	// spans; callees' batches come first.
	perService := gen.traces(15, from, to)
	svcs := serviceNames(perService)
	slices.Reverse(svcs)
	for _, svc := range svcs {
		writeSpans(t, s, slices.DeleteFunc(slices.Clone(perService), func(sp model.Span) bool {
			return sp.Resource.ServiceName != svc
		}))
	}

	traces := byTrace(append(mixed, perService...))
	check := func(t *testing.T, s TraceStore) {
		wantTraces(t, s, traces)
		for i, id := range sortedIDs(traces) {
			// Every span has a start of its own, so a window of one
			// nanosecond at the root's start finds just this trace.
			root := traces[id][0].StartUnixNano
			wantFind(t, s, store.TraceQuery{StartMin: time.Unix(0, root), StartMax: time.Unix(0, root)}, traces, id)
			if t.Failed() && i >= maxTraceDiffs {
				t.Errorf("FindTraces: stopped after %d traces", i+1)
				break
			}
		}
	}
	check(t, s)
	return check
}

func serviceNames(spans []model.Span) []string {
	var out []string
	for i := range spans {
		out = append(out, spans[i].Resource.ServiceName)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// checkEmpty checks that s answers every question as an empty store does.
func checkEmpty(t *testing.T, s TraceStore, now time.Time) {
	t.Helper()
	if got := services(t, s); len(got) != 0 {
		t.Errorf("Services of an empty store = %q; want none", got)
	}
	if got := operations(t, s, store.OperationQuery{Service: "frontend"}); len(got) != 0 {
		t.Errorf("Operations of an empty store = %v; want none", got)
	}
	for _, q := range []store.TraceQuery{{}, {Service: "frontend"}, {StartMin: now.Add(-time.Hour), StartMax: now}} {
		if got := findTraces(t, s, q); len(got) != 0 {
			t.Errorf("FindTraces(%s) of an empty store = %d traces; want none", fmtQuery(q), len(got))
		}
	}
	if got := dependencies(t, s, now.Add(-72*time.Hour), now); len(got) != 0 {
		t.Errorf("Dependencies of an empty store = %v; want none", got)
	}
	wantNotFound(t, s, mustTraceID("0123456789abcdef0123456789abcdef"))
}

// testReadYourWrites writes traces a span at a time and checks that each
// write is visible to every reader method as soon as WriteSpans returns.
func testReadYourWrites(t *testing.T, s TraceStore) func(*testing.T, TraceStore) {
	now := testNow()
	checkEmpty(t, s, now)
	for _, batch := range [][]model.Span{nil, {}} {
		if err := s.WriteSpans(t.Context(), batch); err != nil {
			t.Fatalf("WriteSpans(%#v): %v", batch, err)
		}
	}
	checkEmpty(t, s, now)
	if t.Failed() {
		return nil
	}

	from, to := lastHour(now)
	spans := newGenerator(3).traces(4, from, to)
	ref := memstore.NewTraces()
	start, end := now.Add(-time.Hour), now
	for i := range spans {
		sp := &spans[i]
		writeSpans(t, s, spans[i:i+1])
		writeSpans(t, ref, spans[i:i+1])

		written := byTrace(spans[:i+1])
		wantTrace(t, s, written[sp.TraceID])
		at := time.Unix(0, sp.StartUnixNano)
		wantFind(t, s, store.TraceQuery{StartMin: at, StartMax: at}, written, sp.TraceID)
		wantFind(t, s, store.TraceQuery{Service: sp.Resource.ServiceName, Operation: sp.Name, StartMin: at, StartMax: at}, written, sp.TraceID)
		if got, want := services(t, s), mustServices(t, ref); !slices.Equal(got, want) {
			t.Errorf("after writing span %d: Services = %q; want %q", i, got, want)
		}
		q := store.OperationQuery{Service: sp.Resource.ServiceName}
		if got, want := operations(t, s, q), mustOperations(t, ref, q); !slices.Equal(got, want) {
			t.Errorf("after writing span %d: Operations(%+v) = %v; want %v", i, q, got, want)
		}
		if got, want := dependencies(t, s, start, end), mustDependencies(t, ref, start, end); !slices.Equal(got, want) {
			t.Errorf("after writing span %d: Dependencies = %v; want %v", i, got, want)
		}
		if t.Failed() {
			t.Fatalf("stopped after span %d of %d", i+1, len(spans))
		}
	}
	check := func(t *testing.T, s TraceStore) { agree(t, s, ref, spans, 3) }
	check(t, s)
	return check
}

// testOwnership checks that a store keeps no reference to the spans it is
// given, and that what it returns is the caller's to change.
func testOwnership(t *testing.T, s TraceStore) func(*testing.T, TraceStore) {
	now := testNow()
	sh := newShop(now)
	from, to := lastHour(now)
	spans := append(slices.Clone(sh.spans), newGenerator(4).traces(10, from, to)...)
	traces := byTrace(spans)

	// Write a copy, then scribble over it, down to the attribute arrays.
	in := cloneSpans(spans)
	if err := s.WriteSpans(t.Context(), in); err != nil {
		t.Fatalf("WriteSpans: %v", err)
	}
	scribble(in)

	check := func(t *testing.T, s TraceStore) {
		wantTraces(t, s, traces)
	}
	check(t, s)

	// Scribble over everything the readers return, then ask again.
	for _, id := range sortedIDs(traces) {
		scribble(getTrace(t, s, id))
	}
	for _, tr := range findTraces(t, s, store.TraceQuery{Limit: 100}) {
		scribble(tr.Spans)
	}
	svcs := services(t, s)
	wantSvcs := slices.Clone(svcs)
	for i := range svcs {
		svcs[i] = "scribbled"
	}
	ops := operations(t, s, store.OperationQuery{Service: "frontend"})
	wantOps := slices.Clone(ops)
	for i := range ops {
		ops[i] = store.Operation{Name: "scribbled"}
	}
	deps := dependencies(t, s, now.Add(-time.Hour), now)
	wantDeps := slices.Clone(deps)
	for i := range deps {
		deps[i] = store.DependencyLink{Parent: "scribbled"}
	}

	check(t, s)
	wantFind(t, s, store.TraceQuery{Service: "payments", Attributes: map[string]string{"k8s.pod.name": "payments-7d9f"}}, traces, sh.B)
	if got := services(t, s); !slices.Equal(got, wantSvcs) {
		t.Errorf("Services after changing its earlier answer = %q; want %q", got, wantSvcs)
	}
	if got := operations(t, s, store.OperationQuery{Service: "frontend"}); !slices.Equal(got, wantOps) {
		t.Errorf("Operations after changing its earlier answer = %v; want %v", got, wantOps)
	}
	if got := dependencies(t, s, now.Add(-time.Hour), now); !slices.Equal(got, wantDeps) {
		t.Errorf("Dependencies after changing its earlier answer = %v; want %v", got, wantDeps)
	}
	return check
}

// scribble overwrites spans in place, through every slice they hold.
func scribble(spans []model.Span) {
	junk := model.Attribute{Key: "scribbled", Type: model.ValueBytes, Value: "\xff"}
	attrs := func(as []model.Attribute) {
		for i := range as {
			as[i] = junk
		}
	}
	for i := range spans {
		s := &spans[i]
		attrs(s.Attributes)
		attrs(s.Resource.Attributes)
		for j := range s.Events {
			attrs(s.Events[j].Attributes)
			s.Events[j] = model.Event{Name: "scribbled", Attributes: s.Events[j].Attributes}
		}
		for j := range s.Links {
			attrs(s.Links[j].Attributes)
			s.Links[j] = model.Link{TraceState: "scribbled", Attributes: s.Links[j].Attributes}
		}
		*s = model.Span{
			Name: "scribbled", TraceState: "scribbled", StatusMessage: "scribbled",
			Attributes: s.Attributes, Events: s.Events, Links: s.Links,
			Resource: model.Resource{ServiceName: "scribbled", Attributes: s.Resource.Attributes},
		}
	}
}

// testServices checks Services: sorted, distinct service names.
func testServices(t *testing.T, s TraceStore) func(*testing.T, TraceStore) {
	now := testNow()
	sh := newShop(now)
	writeSpans(t, s, sh.spans)
	// The same services again, in other traces.
	again := newShop(now.Add(-time.Minute))
	for i := range again.spans {
		again.spans[i].TraceID[4] ^= 0x77
	}
	writeSpans(t, s, again.spans)

	check := func(t *testing.T, s TraceStore) {
		want := []string{"checkout", "frontend", "inventory", "payments", "pricing"}
		if got := services(t, s); !slices.Equal(got, want) {
			t.Errorf("Services = %q; want %q", got, want)
		}
	}
	check(t, s)
	return check
}

// testOperations checks Operations, with and without a kind filter.
func testOperations(t *testing.T, s TraceStore) func(*testing.T, TraceStore) {
	writeSpans(t, s, newShop(testNow()).spans)

	const (
		server   = model.SpanKindServer
		client   = model.SpanKindClient
		internal = model.SpanKindInternal
	)
	cases := []struct {
		q    store.OperationQuery
		want []store.Operation
	}{
		{store.OperationQuery{Service: "frontend"}, []store.Operation{
			op("GET /cart", server), op("GET /items", client),
			op("POST /checkout", server), op("POST /checkout", client),
			op("async.flush", internal), op("render cart", internal),
		}},
		{store.OperationQuery{Service: "frontend", Kind: server}, []store.Operation{op("GET /cart", server), op("POST /checkout", server)}},
		{store.OperationQuery{Service: "frontend", Kind: client}, []store.Operation{op("GET /items", client), op("POST /checkout", client)}},
		{store.OperationQuery{Service: "frontend", Kind: internal}, []store.Operation{op("async.flush", internal), op("render cart", internal)}},
		{store.OperationQuery{Service: "frontend", Kind: model.SpanKindConsumer}, nil},
		{store.OperationQuery{Service: "inventory"}, []store.Operation{op("GET /items", server), op("SELECT items", client)}},
		{store.OperationQuery{Service: "checkout"}, []store.Operation{op("Charge", client), op("POST /checkout", server)}},
		{store.OperationQuery{Service: "payments"}, []store.Operation{op("Charge", server)}},
		{store.OperationQuery{Service: "payments", Kind: client}, nil},
		{store.OperationQuery{Service: "pricing"}, []store.Operation{op("Quote", server), op("compute", internal)}},
		{store.OperationQuery{Service: "nope"}, nil},
		{store.OperationQuery{Service: "Frontend"}, nil},
	}
	check := func(t *testing.T, s TraceStore) {
		for _, c := range cases {
			if got := operations(t, s, c.q); !slices.Equal(got, c.want) {
				t.Errorf("Operations(%+v) = %v; want %v", c.q, got, c.want)
			}
		}
	}
	check(t, s)
	return check
}

func mustServices(t *testing.T, r store.TraceReader) []string {
	t.Helper()
	out, err := r.Services(t.Context())
	if err != nil {
		t.Fatalf("reference Services: %v", err)
	}
	return out
}

func mustOperations(t *testing.T, r store.TraceReader, q store.OperationQuery) []store.Operation {
	t.Helper()
	out, err := r.Operations(t.Context(), q)
	if err != nil {
		t.Fatalf("reference Operations: %v", err)
	}
	return out
}

func mustDependencies(t *testing.T, r store.TraceReader, start, end time.Time) []store.DependencyLink {
	t.Helper()
	out, err := r.Dependencies(t.Context(), start, end)
	if err != nil {
		t.Fatalf("reference Dependencies: %v", err)
	}
	out = slices.Clone(out)
	sortLinks(out)
	return out
}
