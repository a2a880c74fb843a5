package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
)

// plainSpan makes a span with only what the service graph needs. id and
// parent number the spans of a trace; a zero parent makes a root.
func plainSpan(trace model.TraceID, id, parent byte, service string, kind model.SpanKind, name string, start int64, dur time.Duration) model.Span {
	s := model.Span{
		TraceID: trace, SpanID: model.SpanID{0xd0, trace[0], trace[15], 0, 0, 0, 0, id}, Flags: 1,
		Name: name, Kind: kind, StartUnixNano: start, EndUnixNano: start + int64(dur),
		Resource: model.Resource{ServiceName: service},
	}
	if parent != 0 {
		s.ParentSpanID = model.SpanID{0xd0, trace[0], trace[15], 0, 0, 0, 0, parent}
	}
	return s
}

// testDependencies checks the service graph: calls counted per caller →
// callee, only across services, only for children that start in the
// window (bounds inclusive).
func testDependencies(t *testing.T, s TraceStore) func(*testing.T, TraceStore) {
	now := testNow()
	ago := func(d time.Duration) int64 { return now.Add(-d).UnixNano() }
	ms := int64(time.Millisecond)
	const (
		server   = model.SpanKindServer
		client   = model.SpanKindClient
		producer = model.SpanKindProducer
		consumer = model.SpanKindConsumer
	)
	t1, t2, t3, t4, t5 := model.TraceID{1, 0xde, 15: 1}, model.TraceID{2, 0xde, 15: 2}, model.TraceID{3, 0xde, 15: 3}, model.TraceID{4, 0xde, 15: 4}, model.TraceID{5, 0xde, 15: 5}
	a1, a2, a3, a4, a5 := ago(50*time.Minute), ago(40*time.Minute), ago(30*time.Minute), ago(20*time.Minute), ago(10*time.Minute)
	p2 := a2 + 5*ms // start of T2's call into pricing
	d := 50 * time.Millisecond
	spans := []model.Span{
		// T1: frontend → inventory, which queries its database.
		plainSpan(t1, 1, 0, "frontend", server, "GET /", a1, d),
		plainSpan(t1, 2, 1, "frontend", client, "GET", a1+ms, d),
		plainSpan(t1, 3, 2, "inventory", server, "GET /items/{id}", a1+2*ms, d),
		plainSpan(t1, 4, 3, "inventory", client, "SELECT items", a1+3*ms, d),
		// T2: frontend → inventory and frontend → pricing.
		plainSpan(t2, 1, 0, "frontend", server, "GET /product/{id}", a2, d),
		plainSpan(t2, 2, 1, "frontend", client, "GET", a2+ms, d),
		plainSpan(t2, 3, 2, "inventory", server, "GET /items/{id}", a2+2*ms, d),
		plainSpan(t2, 4, 1, "frontend", client, "Quote", a2+4*ms, d),
		plainSpan(t2, 5, 4, "pricing", server, "Quote", p2, d),
		// T3: frontend → checkout → payments, and checkout → shipping
		// through a message.
		plainSpan(t3, 1, 0, "frontend", server, "POST /checkout", a3, d),
		plainSpan(t3, 2, 1, "frontend", client, "PlaceOrder", a3+ms, d),
		plainSpan(t3, 3, 2, "checkout", server, "PlaceOrder", a3+2*ms, d),
		plainSpan(t3, 4, 3, "checkout", client, "Charge", a3+3*ms, d),
		plainSpan(t3, 5, 4, "payments", server, "Charge", a3+4*ms, d),
		plainSpan(t3, 6, 3, "checkout", producer, "orders publish", a3+5*ms, d),
		plainSpan(t3, 7, 6, "shipping", consumer, "orders process", a3+6*ms, d),
		// T4: a call from frontend to itself (not an edge), and a span
		// whose parent was never received (not an edge).
		plainSpan(t4, 1, 0, "frontend", server, "GET /", a4, d),
		plainSpan(t4, 2, 1, "frontend", client, "GET /healthz", a4+ms, d),
		plainSpan(t4, 3, 2, "frontend", server, "GET /healthz", a4+2*ms, d),
		plainSpan(t4, 4, 0x99, "inventory", server, "GET /items/{id}", a4+3*ms, d),
	}
	// One batch per service, callees first.
	for _, svc := range []string{"shipping", "pricing", "payments", "inventory", "frontend", "checkout"} {
		var batch []model.Span
		for i := range spans {
			if spans[i].Resource.ServiceName == svc {
				batch = append(batch, spans[i])
			}
		}
		writeSpans(t, s, batch)
	}
	// T5: frontend → inventory, the callee's span written before its
	// caller's.
	t5Spans := []model.Span{
		plainSpan(t5, 3, 2, "inventory", server, "GET /items/{id}", a5+2*ms, d),
		plainSpan(t5, 1, 0, "frontend", server, "GET /", a5, d),
		plainSpan(t5, 2, 1, "frontend", client, "GET", a5+ms, d),
	}
	writeSpans(t, s, t5Spans[:1])
	writeSpans(t, s, t5Spans[1:])

	at := func(ns int64) time.Time { return time.Unix(0, ns) }
	hourAgo, end := now.Add(-time.Hour), now
	cases := []struct {
		name       string
		start, end time.Time
		want       []store.DependencyLink // sorted by parent then child
	}{
		{"All", hourAgo, end, []store.DependencyLink{
			edge("checkout", "payments", 1), edge("checkout", "shipping", 1),
			edge("frontend", "checkout", 1), edge("frontend", "inventory", 3), edge("frontend", "pricing", 1),
		}},
		{"Middle", now.Add(-45 * time.Minute), now.Add(-25 * time.Minute), []store.DependencyLink{
			edge("checkout", "payments", 1), edge("checkout", "shipping", 1),
			edge("frontend", "checkout", 1), edge("frontend", "inventory", 1), edge("frontend", "pricing", 1),
		}},
		{"Recent", now.Add(-15 * time.Minute), end, []store.DependencyLink{edge("frontend", "inventory", 1)}},
		{"Empty", now.Add(-5 * time.Minute), end, nil},
		// The child's start decides, and both bounds are inclusive.
		{"StartInclusive", at(p2), end, []store.DependencyLink{
			edge("checkout", "payments", 1), edge("checkout", "shipping", 1),
			edge("frontend", "checkout", 1), edge("frontend", "inventory", 1), edge("frontend", "pricing", 1),
		}},
		{"StartExclusive", at(p2 + 1), end, []store.DependencyLink{
			edge("checkout", "payments", 1), edge("checkout", "shipping", 1),
			edge("frontend", "checkout", 1), edge("frontend", "inventory", 1),
		}},
		{"EndInclusive", hourAgo, at(p2), []store.DependencyLink{edge("frontend", "inventory", 2), edge("frontend", "pricing", 1)}},
		{"EndExclusive", hourAgo, at(p2 - 1), []store.DependencyLink{edge("frontend", "inventory", 2)}},
		{"ParentOutsideWindow", at(p2), at(p2), []store.DependencyLink{edge("frontend", "pricing", 1)}},
	}
	check := func(t *testing.T, s TraceStore) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if got := dependencies(t, s, c.start, c.end); !slices.Equal(got, c.want) {
					t.Errorf("Dependencies(%s, %s) = %v; want %v", c.start.Format(time.RFC3339Nano), c.end.Format(time.RFC3339Nano), got, c.want)
				}
			})
		}
	}
	check(t, s)
	return check
}
