package storetest

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/argus-obs/argus/internal/model"
)

// generator makes realistic traces from a fixed seed: a small shop of
// services calling each other over HTTP, gRPC and a message queue, with
// database and internal spans, every attribute type, events, links, errors,
// resources and scopes.
//
// Every span it makes starts at a distinct nanosecond, so the rank of a
// trace in FindTraces never ties. It is not safe for concurrent use.
type generator struct {
	rng    *rand.Rand
	starts map[int64]bool // start times handed out
	ids    map[model.TraceID]bool
	recent []model.Span // spans of earlier traces, for cross-trace links
}

func newGenerator(seed uint64) *generator {
	return &generator{
		rng:    rand.New(rand.NewPCG(seed, 0x5eed_a7605)),
		starts: map[int64]bool{},
		ids:    map[model.TraceID]bool{},
	}
}

// startAt returns a start time at or just after t that no earlier span of
// this generator has.
func (g *generator) startAt(t int64) int64 {
	for g.starts[t] {
		t++
	}
	g.starts[t] = true
	return t
}

func (g *generator) traceID() model.TraceID {
	for {
		var id model.TraceID
		for i := range id {
			id[i] = byte(g.rng.Uint32())
		}
		if !id.IsZero() && !g.ids[id] {
			g.ids[id] = true
			return id
		}
	}
}

func (g *generator) spanID() model.SpanID {
	for {
		var id model.SpanID
		for i := range id {
			id[i] = byte(g.rng.Uint32())
		}
		if !id.IsZero() {
			return id
		}
	}
}

// chance reports true with probability p.
func (g *generator) chance(p float64) bool { return g.rng.Float64() < p }

func pick[E any](g *generator, s []E) E { return s[g.rng.IntN(len(s))] }

// traces makes n traces whose root spans start at random times in
// [from, to), returned span by span in generation order (parents before
// children).
func (g *generator) traces(n int, from, to time.Time) []model.Span {
	var spans []model.Span
	for range n {
		spans = append(spans, g.traceIn(from, to)...)
	}
	return spans
}

// traceIn makes one trace whose root span starts at a random time in
// [from, to).
func (g *generator) traceIn(from, to time.Time) []model.Span {
	return g.trace(from.UnixNano() + g.rng.Int64N(to.Sub(from).Nanoseconds()))
}

// trace makes one trace whose root span starts at (about) start.
func (g *generator) trace(start int64) []model.Span {
	t := &traceGen{g: g, id: g.traceID()}
	entry := pick(g, shopEntries)
	t.serve(entry, model.SpanID{}, start, time.Duration(50+g.rng.IntN(1500))*time.Millisecond, 0)
	g.recent = append(g.recent, t.spans...)
	if len(g.recent) > 200 {
		g.recent = g.recent[len(g.recent)-200:]
	}
	return t.spans
}

// An endpoint is an operation a service serves, and what serving it does.
type endpoint struct {
	service string
	name    string
	kind    model.SpanKind // server or consumer
	proto   string         // "http", "grpc" or "messaging"
	steps   []step
}

// A step is work done while serving: an internal span, a call to a
// database or an outside API (a client span with no callee), a call to
// another service (a client span and the callee's server span), or a
// message sent (a producer span and the consumer's span).
type step struct {
	name   string
	kind   model.SpanKind // internal, client or producer
	callee *endpoint      // nil for internal work and external calls
	db     bool
	upTo   int // the step runs 1 to upTo times (N+1 calls); 0 means once
}

// The shop: what each endpoint does when it serves a request.
var (
	epQuote = &endpoint{service: "pricing", name: "pricing.Pricing/Quote", kind: model.SpanKindServer, proto: "grpc", steps: []step{
		{name: "compute price", kind: model.SpanKindInternal},
	}}
	epItem = &endpoint{service: "inventory", name: "GET /items/{id}", kind: model.SpanKindServer, proto: "http", steps: []step{
		{name: "cache.get", kind: model.SpanKindInternal},
		{name: "SELECT items", kind: model.SpanKindClient, db: true},
	}}
	epReserve = &endpoint{service: "inventory", name: "POST /reservations", kind: model.SpanKindServer, proto: "http", steps: []step{
		{name: "UPDATE stock", kind: model.SpanKindClient, db: true},
	}}
	epCharge = &endpoint{service: "payments", name: "payments.Payments/Charge", kind: model.SpanKindServer, proto: "grpc", steps: []step{
		{name: "POST", kind: model.SpanKindClient}, // to the card processor
	}}
	epShip = &endpoint{service: "shipping", name: "orders process", kind: model.SpanKindConsumer, proto: "messaging", steps: []step{
		{name: "print label", kind: model.SpanKindInternal},
	}}
	epPlace = &endpoint{service: "checkout", name: "checkout.Checkout/PlaceOrder", kind: model.SpanKindServer, proto: "grpc", steps: []step{
		{name: "POST", kind: model.SpanKindClient, callee: epReserve},
		{name: "payments.Payments/Charge", kind: model.SpanKindClient, callee: epCharge},
		{name: "orders publish", kind: model.SpanKindProducer, callee: epShip},
		{name: "INSERT orders", kind: model.SpanKindClient, db: true},
	}}
	// shopEntries are where traces start: the frontend's pages, and
	// inventory called by an uninstrumented client.
	shopEntries = []*endpoint{
		{service: "frontend", name: "GET /", kind: model.SpanKindServer, proto: "http", steps: []step{
			{name: "GET", kind: model.SpanKindClient, callee: epItem, upTo: 5},
			{name: "render home", kind: model.SpanKindInternal},
		}},
		{service: "frontend", name: "GET /product/{id}", kind: model.SpanKindServer, proto: "http", steps: []step{
			{name: "GET", kind: model.SpanKindClient, callee: epItem},
			{name: "pricing.Pricing/Quote", kind: model.SpanKindClient, callee: epQuote},
			{name: "render product", kind: model.SpanKindInternal},
		}},
		{service: "frontend", name: "POST /checkout", kind: model.SpanKindServer, proto: "http", steps: []step{
			{name: "checkout.Checkout/PlaceOrder", kind: model.SpanKindClient, callee: epPlace},
		}},
		epItem,
	}
)

// traceGen builds one trace.
type traceGen struct {
	g     *generator
	id    model.TraceID
	spans []model.Span
	seq   int
}

// serve adds the span of ep serving a request, and the spans of its steps.
func (t *traceGen) serve(ep *endpoint, parent model.SpanID, start int64, dur time.Duration, depth int) {
	g := t.g
	s := t.newSpan(ep.service, ep.name, ep.kind, parent, start, dur)
	s.Attributes = t.protoAttributes(ep, depth == 0)
	if depth == 0 {
		// The entry span carries one attribute of every value type.
		s.Attributes = append(s.Attributes,
			model.Bool("sampled.debug", g.chance(0.3)),
			model.Double("sampler.ratio", pick(g, []float64{1, 0.5, 0.125, 1e-3})),
			model.Attribute{Key: "request.body.sha1", Type: model.ValueBytes, Value: string(t.bytes(20))},
			model.Attribute{Key: "feature.flags", Type: model.ValueArray, Value: `[{"stringValue":"new-cart"},{"intValue":"3"},{"boolValue":true}]`},
			model.Attribute{Key: "user", Type: model.ValueMap, Value: `{"values":[{"key":"id","value":{"stringValue":"u-` + strconv.Itoa(g.rng.IntN(1000)) + `"}},{"key":"tier","value":{"stringValue":"` + pick(g, []string{"free", "gold"}) + `"}}]}`},
		)
	}
	if g.chance(0.15) {
		t.fail(&s, pick(g, []string{"upstream timeout", "card declined", "out of stock", "connection reset by peer"}))
	} else if g.chance(0.1) {
		s.StatusCode = model.StatusOK
	}
	if ep.kind == model.SpanKindConsumer && parent != (model.SpanID{}) {
		// A consumer links to the message's producer, with the context
		// it was sent with.
		s.Links = append(s.Links, model.Link{TraceID: t.id, SpanID: parent, TraceState: s.TraceState,
			Attributes: []model.Attribute{model.String("messaging.operation", "process")}})
	}
	if len(g.recent) > 0 && g.chance(0.1) {
		// A follows-from link to a span of an earlier trace.
		other := pick(g, g.recent)
		s.Links = append(s.Links, model.Link{TraceID: other.TraceID, SpanID: other.SpanID, TraceState: other.TraceState,
			Attributes: []model.Attribute{model.String("link.type", "follows_from"), model.Int("link.index", int64(len(s.Links)))}})
	}
	t.spans = append(t.spans, s)

	// The steps run one after another inside the span.
	at, budget := start+int64(dur/20), int64(dur)*8/10
	for _, st := range ep.steps {
		if g.chance(0.2) {
			continue
		}
		n := 1 + g.rng.IntN(max(1, st.upTo))
		for range n {
			d := time.Duration(1 + g.rng.Int64N(max(1, budget/int64(len(ep.steps)*n))))
			t.step(ep, st, s.SpanID, at, d, depth)
			at += int64(d) + g.rng.Int64N(int64(time.Millisecond))
		}
	}
}

// step adds the spans of one step of ep's work.
func (t *traceGen) step(ep *endpoint, st step, parent model.SpanID, start int64, dur time.Duration, depth int) {
	g := t.g
	s := t.newSpan(ep.service, st.name, st.kind, parent, start, dur)
	switch {
	case st.db:
		s.Attributes = []model.Attribute{
			model.String("db.system", "postgresql"),
			model.String("db.statement", st.name+" WHERE id = $1"),
			model.String("server.address", "db.shop.internal"),
			model.Int("db.rows_affected", int64(g.rng.IntN(20))),
		}
	case st.kind == model.SpanKindInternal:
		if g.chance(0.5) {
			s.Events = append(s.Events, model.Event{TimeUnixNano: start + int64(dur)/3, Name: "cache.miss",
				Attributes: []model.Attribute{model.String("cache.key", fmt.Sprintf("item:%d", g.rng.IntN(500))), model.Int("cache.size", int64(g.rng.IntN(1<<20)))}})
		}
		if g.chance(0.3) {
			s.Events = append(s.Events, model.Event{TimeUnixNano: start + int64(dur)/2, Name: "flushed"})
		}
	case st.callee == nil:
		s.Attributes = []model.Attribute{
			model.String("http.request.method", "POST"),
			model.String("url.full", "https://psp.example.com/v2/charges"),
			model.Int("http.response.status_code", pick(g, []int64{200, 201, 402, 503})),
		}
	default:
		s.Attributes = t.protoAttributes(st.callee, false)
		s.Attributes = append(s.Attributes, model.String("peer.service", st.callee.service))
	}
	if st.kind != model.SpanKindInternal && g.chance(0.08) {
		t.fail(&s, "deadline exceeded")
	}
	t.spans = append(t.spans, s)
	if st.callee != nil {
		// The callee starts a little after its caller and ends a little
		// before it; a message is consumed after it is sent.
		lag := time.Duration(g.rng.Int64N(int64(dur)/10 + 1))
		d := dur - 2*lag
		if st.kind == model.SpanKindProducer {
			lag, d = dur+time.Duration(g.rng.Int64N(int64(50*time.Millisecond))), dur*3
		}
		t.serve(st.callee, s.SpanID, start+int64(lag), max(d, 1), depth+1)
	}
}

// newSpan returns a span of this trace with the common fields set.
func (t *traceGen) newSpan(service, name string, kind model.SpanKind, parent model.SpanID, start int64, dur time.Duration) model.Span {
	g := t.g
	start = g.startAt(start)
	t.seq++
	s := model.Span{
		TraceID:       t.id,
		SpanID:        t.spanID(),
		ParentSpanID:  parent,
		Flags:         1,
		Name:          name,
		Kind:          kind,
		StartUnixNano: start,
		EndUnixNano:   start + int64(dur),
		Resource:      shopResource(service, g.rng.IntN(2)),
		Scope:         shopScope(kind, service),
	}
	switch {
	case g.chance(0.2):
		s.TraceState = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
	case g.chance(0.1):
		s.TraceState = "argus=s:" + strconv.Itoa(t.seq)
	}
	if g.chance(0.1) {
		s.Flags = 0x301 // sampled, with the OTLP "parent is remote" bits
	}
	if g.chance(0.05) {
		s.DroppedAttributes = uint32(g.rng.IntN(10) + 1)
		s.DroppedEvents = uint32(g.rng.IntN(3))
		s.DroppedLinks = uint32(g.rng.IntN(2))
	}
	return s
}

func (t *traceGen) spanID() model.SpanID {
	for {
		id := t.g.spanID()
		dup := false
		for i := range t.spans {
			dup = dup || t.spans[i].SpanID == id
		}
		if !dup {
			return id
		}
	}
}

// fail marks s as failed with msg, with an exception event as OTel SDKs
// record one.
func (t *traceGen) fail(s *model.Span, msg string) {
	s.StatusCode = model.StatusError
	s.StatusMessage = msg
	s.Events = append(s.Events, model.Event{
		TimeUnixNano: s.EndUnixNano - 1000,
		Name:         "exception",
		Attributes: []model.Attribute{
			model.String("exception.type", "*errors.errorString"),
			model.String("exception.message", msg),
			model.String("exception.stacktrace", "goroutine 1 [running]:\nmain.handle(...)\n\t/src/shop/"+s.Resource.ServiceName+"/main.go:42 +0x1d\n"),
			model.Bool("exception.escaped", t.g.chance(0.5)),
		},
	})
}

// protoAttributes returns the attributes of a span serving (or calling) ep.
func (t *traceGen) protoAttributes(ep *endpoint, entry bool) []model.Attribute {
	g := t.g
	switch ep.proto {
	case "grpc":
		svc, method, _ := strings.Cut(ep.name, "/")
		return []model.Attribute{
			model.String("rpc.system", "grpc"),
			model.String("rpc.service", svc),
			model.String("rpc.method", method),
			model.Int("rpc.grpc.status_code", pick(g, []int64{0, 0, 0, 4, 14})),
		}
	case "messaging":
		return []model.Attribute{
			model.String("messaging.system", "kafka"),
			model.String("messaging.destination.name", "orders"),
			model.String("messaging.message.id", fmt.Sprintf("%08x", g.rng.Uint32())),
			model.Int("messaging.kafka.partition", int64(g.rng.IntN(12))),
		}
	}
	method, route, _ := strings.Cut(ep.name, " ")
	attrs := []model.Attribute{
		model.String("http.request.method", method),
		model.String("http.route", route),
		model.String("url.path", routePath(g, route)),
		model.Int("http.response.status_code", pick(g, []int64{200, 200, 200, 201, 404, 500})),
		model.Int("server.port", 8080),
	}
	if entry {
		attrs = append(attrs, model.String("user_agent.original", pick(g, []string{
			"Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0",
			"curl/8.15.0",
			"Go-http-client/1.1",
		})), model.String("session.id", fmt.Sprintf("s-%06d", g.rng.IntN(1e6))))
	}
	return attrs
}

func routePath(g *generator, route string) string {
	out := []byte(nil)
	for i := 0; i < len(route); i++ {
		if route[i] == '{' {
			for i < len(route) && route[i] != '}' {
				i++
			}
			out = strconv.AppendInt(out, int64(g.rng.IntN(1000)), 10)
			continue
		}
		out = append(out, route[i])
	}
	return string(out)
}

func (t *traceGen) bytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(t.g.rng.Uint32())
	}
	return b
}

// shopResource returns the resource of one of a service's two instances.
func shopResource(service string, instance int) model.Resource {
	return model.Resource{
		ServiceName: service,
		Attributes: []model.Attribute{
			model.String("service.namespace", "shop"),
			model.String("service.version", "1."+strconv.Itoa(len(service)%4)+".0"),
			model.String("service.instance.id", fmt.Sprintf("%s-%d", service, instance)),
			model.String("host.name", fmt.Sprintf("node-%d", (len(service)+instance)%3)),
			model.Int("process.pid", int64(1000+7*len(service)+instance)),
			model.String("telemetry.sdk.language", "go"),
			model.String("deployment.environment.name", "production"),
		},
	}
}

// shopScope returns the instrumentation scope that makes spans of kind in
// service.
func shopScope(kind model.SpanKind, service string) model.Scope {
	switch {
	case kind == model.SpanKindInternal:
		return model.Scope{Name: "github.com/argus-obs/argus/examples/shop/" + service}
	case kind == model.SpanKindProducer || kind == model.SpanKindConsumer:
		return model.Scope{Name: "github.com/twmb/franz-go/plugin/kotel", Version: "1.6.0"}
	case service == "pricing" || service == "payments" || service == "checkout":
		return model.Scope{Name: "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc", Version: "0.61.0"}
	default:
		return model.Scope{Name: "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp", Version: "0.61.0"}
	}
}
