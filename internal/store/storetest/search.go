package storetest

import (
	"testing"
	"time"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
)

// testFindTraces checks FindTraces on the shop data: each kind of
// condition alone and combined, inclusive bounds, the rank of traces by
// their latest matching span, and limits. The shop type's comment draws
// the data.
func testFindTraces(t *testing.T, s TraceStore) func(*testing.T, TraceStore) {
	now := testNow()
	sh := newShop(now)
	writeSpans(t, s, sh.spans)
	traces := sh.traces()

	A, B, C, D, E, F := sh.A, sh.B, sh.C, sh.D, sh.E, sh.F
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	dStart := time.Unix(0, sh.dStart)
	ms := time.Millisecond
	attrs := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	type q = store.TraceQuery
	cases := []struct {
		name string
		q    store.TraceQuery
		want []model.TraceID
	}{
		// Ranked by the latest start among matching spans: F's
		// async.flush is the latest span of all.
		{"All", q{}, []model.TraceID{F, E, D, C, B, A}},
		{"Service", q{Service: "frontend"}, []model.TraceID{F, C, B, A}},
		{"Service/Other", q{Service: "inventory"}, []model.TraceID{D, A}},
		{"Service/Unknown", q{Service: "nope"}, nil},
		{"Service/CaseSensitive", q{Service: "Frontend"}, nil},
		// Only GET /cart spans count for the rank now, and F's started
		// earliest.
		{"Operation", q{Operation: "GET /cart"}, []model.TraceID{C, A, F}},
		{"Operation/TwoServices", q{Operation: "POST /checkout"}, []model.TraceID{B}},
		{"Operation/Unknown", q{Operation: "nope"}, nil},
		{"ServiceOperation", q{Service: "inventory", Operation: "GET /items"}, []model.TraceID{D, A}},
		{"ServiceOperation/Client", q{Service: "frontend", Operation: "GET /items"}, []model.TraceID{A}},
		{"ServiceOperation/OtherService", q{Service: "frontend", Operation: "Quote"}, nil},

		{"SpanAttribute/Int", q{Attributes: attrs("http.response.status_code", "500")}, []model.TraceID{B}},
		{"SpanAttribute/Int200", q{Attributes: attrs("http.response.status_code", "200")}, []model.TraceID{A}},
		{"SpanAttribute/Bool", q{Attributes: attrs("retry", "true")}, []model.TraceID{B}},
		{"SpanAttribute/Double", q{Attributes: attrs("amount", "12.5")}, []model.TraceID{B}},
		{"SpanAttribute/String", q{Attributes: attrs("user.tier", "gold")}, []model.TraceID{C}},
		{"SpanAttribute/ExactString", q{Attributes: attrs("http.response.status_code", "200.0")}, nil},
		{"SpanAttribute/WrongValue", q{Attributes: attrs("user.tier", "Gold")}, nil},
		{"SpanAttribute/UnknownKey", q{Attributes: attrs("nope", "x")}, nil},
		{"ResourceAttribute", q{Attributes: attrs("deployment.environment.name", "staging")}, []model.TraceID{C}},
		{"ResourceAttribute/Other", q{Attributes: attrs("k8s.pod.name", "payments-7d9f")}, []model.TraceID{B}},
		// D's span sets region=us, hiding its resource's region=eu.
		{"SpanAttributeOverResource", q{Attributes: attrs("region", "eu")}, []model.TraceID{E, A}},
		{"SpanAttributeOverResource/Span", q{Attributes: attrs("region", "us")}, []model.TraceID{D}},

		{"Derived/Error", q{Attributes: attrs("error", "true")}, []model.TraceID{B}},
		{"Derived/ErrorFalse", q{Attributes: attrs("error", "false")}, nil},
		{"Derived/SpanKind", q{Service: "pricing", Attributes: attrs("span.kind", "server")}, []model.TraceID{E}},
		{"Derived/SpanKindInternal", q{Attributes: attrs("span.kind", "internal")}, []model.TraceID{F, E, C}},
		{"Derived/SpanKindClient", q{Attributes: attrs("span.kind", "client")}, []model.TraceID{B, A}},
		{"Derived/SpanKindConsumer", q{Attributes: attrs("span.kind", "consumer")}, nil},
		{"Derived/StatusOK", q{Attributes: attrs("otel.status_code", "OK")}, []model.TraceID{C}},
		{"Derived/StatusError", q{Attributes: attrs("otel.status_code", "ERROR")}, []model.TraceID{B}},
		{"Derived/StatusDescription", q{Attributes: attrs("otel.status_description", "card declined")}, []model.TraceID{B}},
		{"Derived/ScopeName", q{Attributes: attrs("otel.scope.name", scopeGRPC)}, []model.TraceID{E, B}},
		{"Derived/ScopeVersion", q{Service: "inventory", Attributes: attrs("otel.scope.version", "0.61.0")}, []model.TraceID{D, A}},
		{"Derived/ServiceName", q{Attributes: attrs("service.name", "pricing")}, []model.TraceID{E}},

		// All conditions must hold on one span.
		{"Combined", q{Service: "payments", Attributes: attrs("retry", "true", "error", "true")}, []model.TraceID{B}},
		{"Combined/Kind", q{Service: "checkout", Operation: "Charge", Attributes: attrs("span.kind", "client")}, []model.TraceID{B}},
		{"Combined/WrongKind", q{Service: "checkout", Operation: "Charge", Attributes: attrs("span.kind", "server")}, nil},
		{"Combined/Everything", q{Service: "frontend", Operation: "GET /cart", Attributes: attrs("user.tier", "gold", "deployment.environment.name", "staging"),
			StartMin: ago(31 * time.Minute), StartMax: ago(29 * time.Minute), DurationMin: 50 * ms, DurationMax: time.Second, Limit: 5}, []model.TraceID{C}},
		{"Combined/ServiceOnOtherSpan", q{Service: "frontend", Attributes: attrs("retry", "true")}, nil},
		{"Combined/AttributesOnTwoSpans", q{Attributes: attrs("user.tier", "gold", "span.kind", "internal")}, nil},
		{"Combined/OperationAndAttributeOnTwoSpans", q{Operation: "render cart", Attributes: attrs("user.tier", "gold")}, nil},

		// C's GET /cart lasts exactly 100ms; bounds are inclusive.
		{"DurationMin", q{DurationMin: 100 * ms}, []model.TraceID{E, C, B, A, F}},
		{"DurationMin/Exclusive", q{DurationMin: 100*ms + 1}, []model.TraceID{E, B, A, F}},
		{"DurationMin/Long", q{DurationMin: 50 * time.Minute}, []model.TraceID{F}},
		{"DurationMin/TooLong", q{DurationMin: time.Hour}, nil},
		{"DurationMax", q{DurationMax: 100 * ms}, []model.TraceID{F, D, C, A}},
		{"DurationMax/Operation", q{Operation: "GET /cart", DurationMax: 100 * ms}, []model.TraceID{C}},
		{"DurationMax/Exclusive", q{Operation: "GET /cart", DurationMax: 100*ms - 1}, nil},
		{"DurationMinMax/Exact", q{Operation: "GET /cart", DurationMin: 100 * ms, DurationMax: 100 * ms}, []model.TraceID{C}},

		{"Window", q{StartMin: ago(45 * time.Minute), StartMax: ago(15 * time.Minute)}, []model.TraceID{D, C, B}},
		{"Window/Point", q{StartMin: dStart, StartMax: dStart}, []model.TraceID{D}},
		{"Window/AfterPoint", q{StartMin: dStart.Add(1), StartMax: ago(15 * time.Minute)}, nil},
		{"Window/BeforePoint", q{StartMin: ago(25 * time.Minute), StartMax: dStart.Add(-1)}, nil},
		{"Window/StartMin", q{StartMin: ago(12 * time.Minute)}, []model.TraceID{F, E}},
		// Only spans before the bound count for the rank: F's root.
		{"Window/StartMax", q{StartMax: ago(45 * time.Minute)}, []model.TraceID{A, F}},
		{"Window/Service", q{Service: "frontend", StartMin: ago(time.Hour), StartMax: ago(45 * time.Minute)}, []model.TraceID{A, F}},
		{"Window/Future", q{StartMin: now.Add(time.Minute)}, nil},
		{"Window/Past", q{StartMax: ago(time.Hour)}, nil},

		{"Limit", q{Limit: 2}, []model.TraceID{F, E}},
		{"Limit/One", q{Service: "frontend", Limit: 1}, []model.TraceID{F}},
		{"Limit/Operation", q{Operation: "GET /cart", Limit: 2}, []model.TraceID{C, A}},
		{"Limit/AboveMatches", q{Limit: 100}, []model.TraceID{F, E, D, C, B, A}},
	}
	check := func(t *testing.T, s TraceStore) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) { wantFind(t, s, c.q, traces, c.want...) })
		}
	}
	check(t, s)
	return check
}

// testDefaultLimit checks that a query without a limit returns
// store.DefaultTraceLimit traces, the most recent.
func testDefaultLimit(t *testing.T, s TraceStore) func(*testing.T, TraceStore) {
	now := testNow()
	n := store.DefaultTraceLimit + 5
	var spans []model.Span
	var newestFirst []model.TraceID
	for i := range n {
		id := model.TraceID{0xde, 0xfa, byte(i * 37), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, byte(i)}
		start := now.Add(-time.Duration(i+1) * time.Minute).Add(time.Duration(i) * time.Microsecond).UnixNano()
		spans = append(spans, model.Span{
			TraceID: id, SpanID: model.SpanID{0x5a, byte(i)}, Flags: 1,
			Name: "tick", Kind: model.SpanKindInternal,
			StartUnixNano: start, EndUnixNano: start + int64(time.Millisecond),
			Attributes: []model.Attribute{model.Int("tick", int64(i))},
			Resource:   model.Resource{ServiceName: "cron"},
			Scope:      model.Scope{Name: "shop/cron"},
		})
		newestFirst = append(newestFirst, id)
	}
	// Write oldest first, so the store cannot rely on arrival order.
	for i := n - 1; i >= 0; i-- {
		writeSpans(t, s, spans[i:i+1])
	}
	traces := byTrace(spans)
	check := func(t *testing.T, s TraceStore) {
		for _, c := range []struct {
			name string
			q    store.TraceQuery
			want []model.TraceID
		}{
			{"Default", store.TraceQuery{}, newestFirst[:store.DefaultTraceLimit]},
			{"DefaultWithService", store.TraceQuery{Service: "cron"}, newestFirst[:store.DefaultTraceLimit]},
			{"AboveDefault", store.TraceQuery{Limit: store.DefaultTraceLimit + 1}, newestFirst[:store.DefaultTraceLimit+1]},
			{"AllMatches", store.TraceQuery{Limit: n}, newestFirst},
			{"AboveMatches", store.TraceQuery{Limit: 3 * n}, newestFirst},
		} {
			t.Run(c.name, func(t *testing.T) { wantFind(t, s, c.q, traces, c.want...) })
		}
	}
	check(t, s)
	return check
}
