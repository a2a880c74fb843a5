package derive

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/argus-obs/argus/internal/model"
)

// graphEnv is an env with span metrics off, so only the service graph
// writes.
func graphEnv(t *testing.T, o ServiceGraphOptions) *env {
	return newEnv(t, Options{SpanMetrics: SpanMetricsOptions{Disabled: true}, ServiceGraph: o})
}

// call returns the client span of frontend calling inventory and the
// server span that answered it, in trace n.
func (e *env) call(n uint64, clientStatus, serverStatus model.StatusCode) (client, server model.Span) {
	client = e.mk(span{service: "frontend", name: "GET /stock", kind: model.SpanKindClient, status: clientStatus,
		duration: 120 * time.Millisecond, trace: n, id: 1000 + n, parent: 1})
	server = e.mk(span{service: "inventory", name: "GET /stock", kind: model.SpanKindServer, status: serverStatus,
		duration: 90 * time.Millisecond, trace: n, id: 2000 + n, parent: 1000 + n})
	return client, server
}

// TestServiceGraphPairs pairs client and server spans in either arrival
// order and counts requests, failures and both latencies.
func TestServiceGraphPairs(t *testing.T) {
	e := graphEnv(t, ServiceGraphOptions{})
	var n uint64
	pairs, failed := 0, 0
	for i := range 30 {
		n++
		cs, ss := model.StatusUnset, model.StatusOK
		switch i % 10 {
		case 3:
			cs = model.StatusError
		case 7:
			ss = model.StatusError
		case 9:
			cs, ss = model.StatusError, model.StatusError
		}
		if cs == model.StatusError || ss == model.StatusError {
			failed++
		}
		client, server := e.call(n, cs, ss)
		switch i % 3 {
		case 0: // one batch, client first
			e.observe(client, server)
		case 1: // the server first, in another batch
			e.observe(server)
			e.clock.Advance(300 * time.Millisecond)
			e.observe(client)
		case 2: // one batch, server first
			e.observe(server, client)
		}
		pairs++
	}
	e.clock.Advance(15 * time.Second)
	e.flush()
	at := e.now()

	edge := `{client="frontend",server="inventory"}`
	e.expectValue("traces_service_graph_request_total"+edge, at, float64(pairs))
	e.expectValue("traces_service_graph_request_failed_total"+edge, at, float64(failed))
	e.expectValue("traces_service_graph_request_server_seconds_count"+edge, at, float64(pairs))
	e.expectValue("traces_service_graph_request_client_seconds_count"+edge, at, float64(pairs))
	e.expectValue("histogram_count(traces_service_graph_request_server_seconds"+edge+")", at, float64(pairs))
	e.expectValue(`traces_service_graph_request_server_seconds_bucket{client="frontend",server="inventory",le="0.1"}`, at, float64(pairs))
	e.expectValue(`traces_service_graph_request_client_seconds_bucket{client="frontend",server="inventory",le="0.1"}`, at, 0)
	e.expectValue(`traces_service_graph_request_client_seconds_bucket{client="frontend",server="inventory",le="0.2"}`, at, float64(pairs))
	if got, want := e.scalar("traces_service_graph_request_client_seconds_sum"+edge, at), float64(pairs)*0.12; got < want*(1-1e-9) || got > want*(1+1e-9) {
		t.Errorf("client latency sum %g, want %g", got, want)
	}
	// A call between two instrumented services has no connection type.
	for _, s := range e.query("traces_service_graph_request_total", at) {
		if s.Metric.Has(LabelConnectionType) {
			t.Errorf("connection_type on %s", s.Metric)
		}
	}
	e.expectValue(`count(traces_service_graph_request_total)`, at, 1)
	e.expectAbsent(`traces_service_graph_unpaired_spans_total`, at)
	if got := gatherSum(t, e.reg, "argus_service_graph_pending_edges", nil); got != 0 {
		t.Errorf("%g edges pending after every call paired", got)
	}

	// Exemplars: the server histogram's carry the server spans' IDs.
	ex := e.exemplars("traces_service_graph_request_server_seconds" + edge)
	if len(ex) != 1 || len(ex[0].Exemplars) == 0 {
		t.Fatalf("server latency exemplars: %v", ex)
	}
	for _, x := range ex[0].Exemplars {
		if id, err := strconv.ParseUint(x.Labels.Get("span_id"), 16, 64); err != nil || id <= 2000 || id > 2000+n {
			t.Errorf("exemplar %s is not a server span's", x.Labels)
		}
	}
}

// TestServiceGraphVirtualNodes covers the edges with one side outside the
// traces: the user calling a root span, a database, a named peer and a
// messaging system.
func TestServiceGraphVirtualNodes(t *testing.T) {
	e := graphEnv(t, ServiceGraphOptions{Wait: 5 * time.Second})

	// A root server span: called by the user.
	for i := range 4 {
		e.observe(e.mk(span{service: "frontend", name: "GET /", kind: model.SpanKindServer, duration: 50 * time.Millisecond,
			trace: uint64(100 + i), id: 1}))
	}
	// A database call: an edge at once, named after the database.
	e.observe(e.mk(span{service: "inventory", name: "SELECT", kind: model.SpanKindClient, duration: 4 * time.Millisecond, trace: 200, id: 2, parent: 1,
		attrs: []model.Attribute{model.String("db.system", "postgresql"), model.String("db.name", "orders"), model.String("server.address", "pg-1")}}))
	// Newer conventions: db.system.name and db.namespace.
	e.observe(e.mk(span{service: "inventory", name: "GET", kind: model.SpanKindClient, status: model.StatusError, duration: time.Millisecond, trace: 201, id: 2, parent: 1,
		attrs: []model.Attribute{model.String("db.namespace", "0"), model.String("db.system.name", "redis")}}))
	// A call to an uninstrumented peer: an edge once nothing answers it.
	e.observe(e.mk(span{service: "frontend", name: "POST /charge", kind: model.SpanKindClient, duration: 700 * time.Millisecond, trace: 300, id: 3, parent: 1,
		attrs: []model.Attribute{model.String("peer.service", "payments"), model.String("server.address", "payments.internal")}}))
	// A producer whose message nobody consumed in time.
	e.observe(e.mk(span{service: "frontend", name: "publish", kind: model.SpanKindProducer, duration: time.Millisecond, trace: 400, id: 4, parent: 1,
		attrs: []model.Attribute{model.String("server.address", "kafka-1")}}))
	// A producer and its consumer.
	e.observe(
		e.mk(span{service: "frontend", name: "publish", kind: model.SpanKindProducer, duration: time.Millisecond, trace: 500, id: 5, parent: 1}),
		e.mk(span{service: "mailer", name: "consume", kind: model.SpanKindConsumer, duration: 30 * time.Millisecond, trace: 500, id: 6, parent: 5}),
	)

	e.clock.Advance(time.Second)
	e.flush()
	at := e.now()
	e.expectValue(`traces_service_graph_request_total{client="user",server="frontend",connection_type="virtual_node"}`, at, 4)
	e.expectValue(`traces_service_graph_request_server_seconds_count{client="user",server="frontend",connection_type="virtual_node"}`, at, 4)
	// The user has no span: no client latency.
	e.expectAbsent(`traces_service_graph_request_client_seconds_count{client="user"}`, at)
	e.expectValue(`traces_service_graph_request_total{client="inventory",server="orders",connection_type="database"}`, at, 1)
	e.expectValue(`traces_service_graph_request_failed_total{client="inventory",server="orders",connection_type="database"}`, at, 0)
	e.expectValue(`traces_service_graph_request_client_seconds_count{client="inventory",server="orders",connection_type="database"}`, at, 1)
	e.expectAbsent(`traces_service_graph_request_server_seconds_count{client="inventory",server="orders"}`, at)
	e.expectValue(`traces_service_graph_request_total{client="inventory",server="0",connection_type="database"}`, at, 1)
	e.expectValue(`traces_service_graph_request_failed_total{client="inventory",server="0",connection_type="database"}`, at, 1)
	e.expectValue(`traces_service_graph_request_total{client="frontend",server="mailer",connection_type="messaging_system"}`, at, 1)
	// The peer call waits for its server.
	e.expectAbsent(`traces_service_graph_request_total{server="payments"}`, at)
	e.expectAbsent(`traces_service_graph_request_total{server="kafka-1"}`, at)

	// Past the wait, the calls nobody answered become edges to the peers
	// they name.
	e.clock.Advance(5 * time.Second)
	e.flush()
	at = e.now()
	e.expectValue(`traces_service_graph_request_total{client="frontend",server="payments",connection_type="virtual_node"}`, at, 1)
	e.expectValue(`traces_service_graph_request_client_seconds_count{client="frontend",server="payments",connection_type="virtual_node"}`, at, 1)
	e.expectValue(`traces_service_graph_request_total{client="frontend",server="kafka-1",connection_type="virtual_node"}`, at, 1)
	e.expectAbsent(`traces_service_graph_unpaired_spans_total`, at)
	// The edges counted earlier are still there, unchanged.
	e.expectValue(`traces_service_graph_request_total{client="user",server="frontend",connection_type="virtual_node"}`, at, 4)
}

// TestServiceGraphWaitBoundary checks that a half edge waits exactly Wait:
// it is still pending just before, and settled at Wait.
func TestServiceGraphWaitBoundary(t *testing.T) {
	e := graphEnv(t, ServiceGraphOptions{Wait: 10 * time.Second})
	client, server := e.call(1, model.StatusUnset, model.StatusUnset)
	client.Attributes = []model.Attribute{model.String("peer.service", "inventory-peer")}
	e.observe(client)
	e.clock.Advance(10*time.Second - time.Millisecond)
	e.flush()
	e.expectAbsent(`traces_service_graph_request_total`, e.now())
	// The server arrives late but within the wait: a real edge.
	server.EndUnixNano = e.now().UnixNano()
	e.observe(server)
	e.clock.Advance(time.Second)
	e.flush()
	e.expectValue(`traces_service_graph_request_total{client="frontend",server="inventory"}`, e.now(), 1)
	e.expectAbsent(`traces_service_graph_request_total{server="inventory-peer"}`, e.now())
}

// TestServiceGraphUnpaired checks that halves without an other side nor a
// peer are counted as unpaired once they expire, per side and service.
func TestServiceGraphUnpaired(t *testing.T) {
	e := graphEnv(t, ServiceGraphOptions{Wait: 2 * time.Second})
	for i := range 3 {
		client, _ := e.call(uint64(i+1), model.StatusUnset, model.StatusUnset)
		e.observe(client)
	}
	_, server := e.call(99, model.StatusUnset, model.StatusUnset)
	e.observe(server)
	e.clock.Advance(time.Second)
	e.flush()
	e.expectAbsent(`traces_service_graph_unpaired_spans_total`, e.now())
	if got := gatherSum(t, e.reg, "argus_service_graph_pending_edges", nil); got != 4 {
		t.Errorf("argus_service_graph_pending_edges = %g, want 4", got)
	}

	e.clock.Advance(2 * time.Second)
	e.flush()
	at := e.now()
	e.expectValue(`traces_service_graph_unpaired_spans_total{client="frontend"}`, at, 3)
	e.expectValue(`traces_service_graph_unpaired_spans_total{server="inventory"}`, at, 1)
	e.expectAbsent(`traces_service_graph_request_total`, at)
	if got := gatherSum(t, e.reg, "argus_service_graph_pending_edges", nil); got != 0 {
		t.Errorf("argus_service_graph_pending_edges = %g, want 0", got)
	}

	// The other side arriving after the wait no longer pairs: it waits
	// on its own and is unpaired in turn.
	_, late := e.call(1, model.StatusUnset, model.StatusUnset)
	e.observe(late)
	e.clock.Advance(3 * time.Second)
	e.flush()
	e.expectValue(`traces_service_graph_unpaired_spans_total{server="inventory"}`, e.now(), 2)
	e.expectAbsent(`traces_service_graph_request_total`, e.now())
}

// TestServiceGraphExpiryInObserve checks that Observe settles overdue
// halves by itself (about once a second), without waiting for a flush.
func TestServiceGraphExpiryInObserve(t *testing.T) {
	e := graphEnv(t, ServiceGraphOptions{Wait: 2 * time.Second})
	client, _ := e.call(1, model.StatusUnset, model.StatusUnset)
	e.observe(client)
	e.clock.Advance(3 * time.Second)
	e.observe() // an empty batch still settles
	e.d.mu.Lock()
	pending := len(e.d.graph.pending)
	unpaired := len(e.d.graph.unpaired)
	e.d.mu.Unlock()
	if pending != 0 || unpaired != 1 {
		t.Errorf("after Observe past the wait: %d pending, %d unpaired counters; want 0 and 1", pending, unpaired)
	}
}

// TestServiceGraphMaxPending checks that spans past MaxPendingEdges are
// dropped and counted, while the halves already waiting still pair.
func TestServiceGraphMaxPending(t *testing.T) {
	e := graphEnv(t, ServiceGraphOptions{MaxPendingEdges: 5})
	var servers []model.Span
	for i := range 8 {
		client, server := e.call(uint64(i+1), model.StatusUnset, model.StatusUnset)
		e.observe(client)
		servers = append(servers, server)
	}
	// Two servers whose clients never came, at the limit too.
	e.observe(e.mk(span{service: "inventory", name: "x", kind: model.SpanKindServer, duration: time.Millisecond, trace: 50, id: 51, parent: 49}))
	// The first five clients wait; their servers still pair.
	e.observe(servers[:5]...)
	// The pending map has room again: a new half edge is taken.
	e.observe(servers[7])
	// Spans that do not wait are never dropped.
	e.observe(e.mk(span{service: "frontend", name: "GET /", kind: model.SpanKindServer, duration: time.Millisecond, trace: 60, id: 61}))
	e.clock.Advance(time.Second)
	e.flush()
	at := e.now()
	e.expectValue(`traces_service_graph_dropped_spans_total{client="frontend"}`, at, 3)
	e.expectValue(`traces_service_graph_dropped_spans_total{server="inventory"}`, at, 1)
	e.expectValue(`traces_service_graph_request_total{client="frontend",server="inventory"}`, at, 5)
	e.expectValue(`traces_service_graph_request_total{client="user",server="frontend"}`, at, 1)
	if got := gatherSum(t, e.reg, "argus_service_graph_pending_edges", nil); got != 1 {
		t.Errorf("argus_service_graph_pending_edges = %g, want 1 (the server of a dropped client)", got)
	}
}

// TestServiceGraphConcurrentObserve observes calls from several
// goroutines (run with -race) and checks every pair is counted once.
func TestServiceGraphConcurrentObserve(t *testing.T) {
	e := graphEnv(t, ServiceGraphOptions{})
	const workers, perWorker = 8, 200
	done := make(chan struct{})
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range perWorker {
				client, server := e.call(uint64(w*perWorker+i+1), model.StatusUnset, model.StatusUnset)
				if i%2 == 0 {
					e.d.Observe([]model.Span{client})
					e.d.Observe([]model.Span{server})
				} else {
					e.d.Observe([]model.Span{server, client})
				}
			}
		}()
	}
	for range workers {
		<-done
	}
	e.clock.Advance(time.Second)
	e.flush()
	e.expectValue(`traces_service_graph_request_total{client="frontend",server="inventory"}`, e.now(), workers*perWorker)
	if got := gatherSum(t, e.reg, "argus_derive_spans_total", nil); got != 2*workers*perWorker {
		t.Errorf("argus_derive_spans_total = %g, want %d", got, 2*workers*perWorker)
	}
}

// TestServiceGraphPeerAttributes checks configured peer attributes and
// their order of preference.
func TestServiceGraphPeerAttributes(t *testing.T) {
	e := graphEnv(t, ServiceGraphOptions{Wait: time.Second, PeerAttributes: []string{"rpc.service", "net.peer.name"}})
	attrs := func(kv ...string) []model.Attribute {
		var out []model.Attribute
		for i := 0; i < len(kv); i += 2 {
			out = append(out, model.String(kv[i], kv[i+1]))
		}
		return out
	}
	for i, a := range [][]model.Attribute{
		attrs("net.peer.name", "host-a", "rpc.service", "Billing"), // the first configured wins, wherever it is
		attrs("net.peer.name", "host-a"),
		attrs("rpc.service", "", "net.peer.name", "host-b"), // an empty value names nothing
		attrs("peer.service", "ignored"),                    // not configured: unpaired
	} {
		e.observe(e.mk(span{service: "frontend", name: "call", kind: model.SpanKindClient, duration: time.Millisecond,
			trace: uint64(i + 1), id: 10, parent: 1, attrs: a}))
	}
	e.clock.Advance(2 * time.Second)
	e.flush()
	at := e.now()
	for server, want := range map[string]float64{"Billing": 1, "host-a": 1, "host-b": 1} {
		e.expectValue(fmt.Sprintf(`traces_service_graph_request_total{client="frontend",server=%q,connection_type="virtual_node"}`, server), at, want)
	}
	e.expectValue(`traces_service_graph_unpaired_spans_total{client="frontend"}`, at, 1)
}
