package storetest

import (
	"time"

	"github.com/argus-obs/argus/internal/model"
)

// shop is a small hand-made data set: six traces of a web shop whose
// answers to every reader method are worked out by hand in the subtests
// that use it. Times are relative to now:
//
//	trace  spans (service kind "name" start duration)
//	A      frontend server "GET /cart" 50m ago 120ms
//	         frontend client "GET /items" +5ms 80ms
//	           inventory server "GET /items" +10ms 60ms
//	             inventory client "SELECT items" +15ms 20ms
//	B      frontend server "POST /checkout" 40m ago 900ms, error
//	         frontend client "POST /checkout" +2ms 890ms
//	           checkout server "POST /checkout" +4ms 880ms, error
//	             checkout client "Charge" +10ms 850ms
//	               payments server "Charge" +12ms 800ms, error
//	C      frontend (staging) server "GET /cart" 30m ago 100ms, ok
//	         frontend internal "render cart" +60ms 30ms
//	D      inventory server "GET /items" 20m ago 5ms
//	E      pricing server "Quote" 10m ago 250ms
//	         pricing internal "compute" +1ms 240ms
//	F      frontend server "GET /cart" 55m ago 53m
//	         frontend internal "async.flush" 3m ago 10ms
//
// So by the latest start of any span, the traces rank F E D C B A.
type shop struct {
	now              time.Time
	spans            []model.Span
	A, B, C, D, E, F model.TraceID
	dStart           int64 // start of D's only span
}

const (
	scopeHTTP = "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	scopeGRPC = "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
)

func newShop(now time.Time) *shop {
	sh := &shop{
		now: now,
		A:   mustTraceID("5b8efff798038103d269b633813fc60c"),
		B:   mustTraceID("0af7651916cd43dd8448eb211c80319c"),
		C:   mustTraceID("f4d2c1e0b3a59687d6e5f4a3b2c1d0e9"),
		D:   mustTraceID("4bf92f3577b34da6a3ce929d0e0e4736"),
		E:   mustTraceID("e0e"), // a 64-bit-style ID: the high half is zero
		F:   mustTraceID("ffffffffffffffffffffffffffffffff"),
	}
	ago := func(d time.Duration) int64 { return now.Add(-d).UnixNano() }
	const ms = int64(time.Millisecond)

	res := func(service string, attrs ...model.Attribute) model.Resource {
		return model.Resource{ServiceName: service, Attributes: append([]model.Attribute{
			model.String("service.namespace", "shop"),
			model.String("telemetry.sdk.language", "go"),
		}, attrs...)}
	}
	frontend := res("frontend", model.String("deployment.environment.name", "production"), model.String("host.name", "fe-1"))
	staging := res("frontend", model.String("deployment.environment.name", "staging"), model.String("host.name", "fe-canary"))
	inventory := res("inventory", model.String("deployment.environment.name", "production"), model.String("region", "eu"))
	checkout := res("checkout", model.String("deployment.environment.name", "production"))
	payments := res("payments", model.String("deployment.environment.name", "production"), model.String("k8s.pod.name", "payments-7d9f"))
	pricing := res("pricing", model.String("deployment.environment.name", "production"), model.String("region", "eu"))
	httpScope := model.Scope{Name: scopeHTTP, Version: "0.61.0"}
	grpcScope := model.Scope{Name: scopeGRPC, Version: "0.61.0"}

	span := func(trace model.TraceID, id, parent byte, r model.Resource, sc model.Scope, kind model.SpanKind, name string, start int64, dur time.Duration, attrs ...model.Attribute) model.Span {
		s := model.Span{
			TraceID: trace, SpanID: shopSpanID(trace, id), Flags: 1,
			Name: name, Kind: kind, StartUnixNano: start, EndUnixNano: start + int64(dur),
			Attributes: attrs, Resource: r, Scope: sc,
		}
		if parent != 0 {
			s.ParentSpanID = shopSpanID(trace, parent)
		}
		return s
	}
	failed := func(s model.Span, msg string) model.Span {
		s.StatusCode, s.StatusMessage = model.StatusError, msg
		s.Events = []model.Event{{TimeUnixNano: s.EndUnixNano - ms, Name: "exception", Attributes: []model.Attribute{
			model.String("exception.type", "*errors.errorString"), model.String("exception.message", msg)}}}
		return s
	}

	a := ago(50 * time.Minute)
	b := ago(40 * time.Minute)
	c := ago(30 * time.Minute)
	sh.dStart = ago(20 * time.Minute)
	e := ago(10 * time.Minute)
	f := ago(55 * time.Minute)
	internal := func(service string) model.Scope { return model.Scope{Name: "shop/" + service} }

	cartOK := span(sh.C, 1, 0, staging, httpScope, model.SpanKindServer, "GET /cart", c, 100*time.Millisecond,
		model.String("http.request.method", "GET"), model.String("user.tier", "gold"))
	cartOK.StatusCode = model.StatusOK

	sh.spans = []model.Span{
		span(sh.A, 1, 0, frontend, httpScope, model.SpanKindServer, "GET /cart", a, 120*time.Millisecond,
			model.String("http.request.method", "GET"), model.String("http.route", "/cart"), model.Int("http.response.status_code", 200)),
		span(sh.A, 2, 1, frontend, httpScope, model.SpanKindClient, "GET /items", a+5*ms, 80*time.Millisecond,
			model.String("http.request.method", "GET"), model.String("peer.service", "inventory")),
		span(sh.A, 3, 2, inventory, httpScope, model.SpanKindServer, "GET /items", a+10*ms, 60*time.Millisecond,
			model.String("http.request.method", "GET"), model.Int("http.response.status_code", 200)),
		span(sh.A, 4, 3, inventory, model.Scope{Name: "github.com/jackc/pgx/v5"}, model.SpanKindClient, "SELECT items", a+15*ms, 20*time.Millisecond,
			model.String("db.system", "postgresql")),

		failed(span(sh.B, 1, 0, frontend, httpScope, model.SpanKindServer, "POST /checkout", b, 900*time.Millisecond,
			model.String("http.request.method", "POST"), model.Int("http.response.status_code", 502)), "checkout failed"),
		span(sh.B, 2, 1, frontend, httpScope, model.SpanKindClient, "POST /checkout", b+2*ms, 890*time.Millisecond,
			model.String("http.request.method", "POST")),
		failed(span(sh.B, 3, 2, checkout, httpScope, model.SpanKindServer, "POST /checkout", b+4*ms, 880*time.Millisecond,
			model.String("http.request.method", "POST"), model.Int("http.response.status_code", 500)), "payment declined"),
		span(sh.B, 4, 3, checkout, grpcScope, model.SpanKindClient, "Charge", b+10*ms, 850*time.Millisecond,
			model.String("rpc.system", "grpc")),
		failed(span(sh.B, 5, 4, payments, grpcScope, model.SpanKindServer, "Charge", b+12*ms, 800*time.Millisecond,
			model.String("rpc.system", "grpc"), model.Bool("retry", true), model.Double("amount", 12.5)), "card declined"),

		cartOK,
		span(sh.C, 2, 1, staging, internal("frontend"), model.SpanKindInternal, "render cart", c+60*ms, 30*time.Millisecond),

		span(sh.D, 1, 0, inventory, httpScope, model.SpanKindServer, "GET /items", sh.dStart, 5*time.Millisecond,
			model.String("http.request.method", "GET"), model.String("region", "us")), // overrides the resource's region

		span(sh.E, 1, 0, pricing, grpcScope, model.SpanKindServer, "Quote", e, 250*time.Millisecond,
			model.String("rpc.system", "grpc")),
		span(sh.E, 2, 1, pricing, internal("pricing"), model.SpanKindInternal, "compute", e+ms, 240*time.Millisecond),

		span(sh.F, 1, 0, frontend, httpScope, model.SpanKindServer, "GET /cart", f, 53*time.Minute,
			model.String("http.request.method", "GET")),
		span(sh.F, 2, 1, frontend, internal("frontend"), model.SpanKindInternal, "async.flush", ago(3*time.Minute), 10*time.Millisecond),
	}
	return sh
}

// traces returns the shop's spans grouped by trace.
func (sh *shop) traces() map[model.TraceID][]model.Span { return byTrace(sh.spans) }

// shopSpanID makes a span ID that differs between traces.
func shopSpanID(trace model.TraceID, n byte) model.SpanID {
	return model.SpanID{trace[15], trace[0], 0x5b, 0, 0, 0, trace[7], n}
}

func mustTraceID(s string) model.TraceID {
	id, err := model.ParseTraceID(s)
	if err != nil {
		panic(err)
	}
	return id
}
