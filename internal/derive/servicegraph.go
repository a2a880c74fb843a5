package derive

import (
	"strings"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-obs/argus/internal/model"
)

// The service graph metrics, with Grafana Tempo's names and labels, so
// Grafana's service graph view and dashboards built for Tempo work.
const (
	GraphRequestsMetric = "traces_service_graph_request_total"
	GraphFailedMetric   = "traces_service_graph_request_failed_total"
	GraphServerMetric   = "traces_service_graph_request_server_seconds"
	GraphClientMetric   = "traces_service_graph_request_client_seconds"
	GraphUnpairedMetric = "traces_service_graph_unpaired_spans_total"
	GraphDroppedMetric  = "traces_service_graph_dropped_spans_total"
)

// The label names and connection types of service graph metrics.
const (
	LabelClient         = "client"
	LabelServer         = "server"
	LabelConnectionType = "connection_type"

	ConnectionVirtualNode = "virtual_node"
	ConnectionDatabase    = "database"
	ConnectionMessaging   = "messaging_system"
)

// UserClient is the client of an edge into a root server span: the user
// (or an uninstrumented caller) outside every traced service.
const UserClient = "user"

// DefaultPeerAttributes name an uninstrumented callee from its caller's
// client span, first match wins.
var DefaultPeerAttributes = []string{
	"peer.service", "db.namespace", "db.name", "db.system.name", "db.system", "server.address",
}

// serviceGraph pairs client (or producer) spans with the server (or
// consumer) spans they called, by trace ID and the client's span ID (the
// server's parent), and counts each pair as an edge between their
// services. It is guarded by the Deriver's lock.
type serviceGraph struct {
	wait       int64 // ms a half edge waits for its other side
	maxPending int
	peerAttrs  []string
	buckets    []float64

	pending map[edgeKey]*halfEdge
	free    []*halfEdge // settled half edges, for reuse
	keyBuf  []byte
	// fresh are the halves given a span during this Observe, names the
	// copies of strings they keep: see ownPending.
	fresh []*halfEdge
	names map[string]string
	edges map[string]*edgeSeries
	// unpaired and dropped count spans by side ("client"/"server") and
	// service.
	unpaired map[[2]string]*counter
	dropped  map[[2]string]*counter
}

type edgeKey struct {
	trace model.TraceID
	span  model.SpanID // the client's span ID
}

// halfEdge is one side of a call, waiting for the other.
type halfEdge struct {
	expires int64
	client  side
	server  side
	// peer is the uninstrumented callee named by the client span, and
	// connType the kind of connection it implies.
	peer, connType string
	messaging      bool
	owned          bool // its strings are copies: see ownPending
}

type side struct {
	set     bool
	service string
	seconds float64
	failed  bool
	end     int64 // ms
	trace   model.TraceID
	span    model.SpanID
	corrID  string
}

func (s *side) from(sp *model.Span, corrID string) {
	*s = side{
		set:     true,
		service: serviceOf(sp),
		seconds: float64(sp.Duration()) / 1e9,
		failed:  sp.StatusCode == model.StatusError,
		end:     sp.EndUnixNano / 1e6,
		trace:   sp.TraceID,
		span:    sp.SpanID,
		corrID:  corrID,
	}
}

// edgeSeries are the metrics of one client → server edge.
type edgeSeries struct {
	requests, failed *counter
	server, client   *histogramSeries
}

func newServiceGraph(o ServiceGraphOptions) *serviceGraph {
	g := &serviceGraph{
		wait:       o.Wait.Milliseconds(),
		maxPending: o.MaxPendingEdges,
		peerAttrs:  o.PeerAttributes,
		buckets:    o.Buckets,
		pending:    map[edgeKey]*halfEdge{},
		names:      map[string]string{},
		edges:      map[string]*edgeSeries{},
		unpaired:   map[[2]string]*counter{},
		dropped:    map[[2]string]*counter{},
	}
	if g.wait <= 0 {
		g.wait = DefaultEdgeWait.Milliseconds()
	}
	if g.maxPending <= 0 {
		g.maxPending = DefaultMaxPendingEdges
	}
	if g.peerAttrs == nil {
		g.peerAttrs = DefaultPeerAttributes
	}
	if len(g.buckets) == 0 {
		g.buckets = DefaultServiceGraphBuckets
	}
	return g
}

// observe pairs a span with the other side of its call. corrID is the
// span's correlation ID.
func (g *serviceGraph) observe(sp *model.Span, corrID string, now int64) {
	switch sp.Kind {
	case model.SpanKindClient, model.SpanKindProducer:
		peer, database := g.callee(sp)
		// A call to a database is never answered by a traced server: count
		// it at once, its callee named by the span.
		if database && peer != "" && sp.Kind == model.SpanKindClient {
			var c side
			c.from(sp, corrID)
			g.record(c, side{service: peer}, ConnectionDatabase, now)
			return
		}
		k := edgeKey{sp.TraceID, sp.SpanID}
		e := g.half(k, sp.Kind, sp, now)
		if e == nil {
			return
		}
		e.client.from(sp, corrID)
		e.peer = peer
		e.connType = ConnectionVirtualNode
		e.messaging = e.messaging || sp.Kind == model.SpanKindProducer
		g.complete(k, e, now)
	case model.SpanKindServer, model.SpanKindConsumer:
		if sp.ParentSpanID.IsZero() {
			// A root span: its caller is outside the traces.
			var s side
			s.from(sp, corrID)
			g.record(side{service: UserClient}, s, ConnectionVirtualNode, now)
			return
		}
		k := edgeKey{sp.TraceID, sp.ParentSpanID}
		e := g.half(k, sp.Kind, sp, now)
		if e == nil {
			return
		}
		e.server.from(sp, corrID)
		e.messaging = e.messaging || sp.Kind == model.SpanKindConsumer
		g.complete(k, e, now)
	}
}

// callee names the callee of a client span from its attributes (the
// first of peerAttrs it has), and says whether the call is a database
// call, in one pass over the attributes.
func (g *serviceGraph) callee(sp *model.Span) (peer string, database bool) {
	best := len(g.peerAttrs)
	for i := range sp.Attributes {
		a := &sp.Attributes[i]
		if a.Key == "db.system" || a.Key == "db.system.name" {
			database = true
		}
		if a.Value == "" {
			continue
		}
		for j := range best {
			if g.peerAttrs[j] == a.Key {
				best, peer = j, a.Value
				break
			}
		}
	}
	return peer, database
}

// half returns the pending edge of k, creating it, or nil when the
// pending map is full (the span is counted as dropped).
func (g *serviceGraph) half(k edgeKey, kind model.SpanKind, sp *model.Span, now int64) *halfEdge {
	if e := g.pending[k]; e != nil {
		if e.owned {
			e.owned = false // it is given a span's strings
			g.fresh = append(g.fresh, e)
		}
		return e
	}
	if len(g.pending) >= g.maxPending {
		sideName := LabelServer
		if kind == model.SpanKindClient || kind == model.SpanKindProducer {
			sideName = LabelClient
		}
		g.sideCounter(g.dropped, GraphDroppedMetric, sideName, serviceOf(sp), now).add(1, now)
		return nil
	}
	var e *halfEdge
	if n := len(g.free); n > 0 {
		e, g.free = g.free[n-1], g.free[:n-1]
		*e = halfEdge{}
	} else {
		e = &halfEdge{}
	}
	e.expires = now + g.wait
	g.pending[k] = e
	g.fresh = append(g.fresh, e)
	return e
}

// settle removes a half edge from the pending ones, keeping it for reuse.
func (g *serviceGraph) settle(k edgeKey, e *halfEdge) {
	delete(g.pending, k)
	e.client.set, e.server.set = false, false // for ownPending
	if len(g.free) < 1024 {
		g.free = append(g.free, e)
	}
}

// ownPending makes the halves that wait past this Observe hold copies of
// their spans' strings, so Observe keeps nothing the spans reference. The
// halves paired within the batch need none.
func (g *serviceGraph) ownPending() {
	for _, e := range g.fresh {
		if e.owned || !e.client.set && !e.server.set {
			continue // owned already, or settled
		}
		e.owned = true
		for _, s := range []*side{&e.client, &e.server} {
			if s.set {
				s.service = g.intern(s.service)
				s.corrID = strings.Clone(s.corrID)
			}
		}
		e.peer = g.intern(e.peer)
	}
	clear(g.fresh)
	g.fresh = g.fresh[:0]
}

// intern returns a copy of s, the same copy for the same name, so the
// service and peer names of waiting sides cost no allocation per span.
func (g *serviceGraph) intern(s string) string {
	if v, ok := g.names[s]; ok {
		return v
	}
	if len(g.names) >= maxInternedNames {
		clear(g.names)
	}
	v := strings.Clone(s)
	g.names[v] = v
	return v
}

// maxInternedNames bounds the names serviceGraph.intern keeps.
const maxInternedNames = 4096

// complete records the edge once both sides are in.
func (g *serviceGraph) complete(k edgeKey, e *halfEdge, now int64) {
	if !e.client.set || !e.server.set {
		return
	}
	conn := ""
	if e.messaging {
		conn = ConnectionMessaging
	}
	g.record(e.client, e.server, conn, now)
	g.settle(k, e)
}

// expire settles the edges whose other side did not come in time: a
// client span that names its callee becomes an edge to a virtual node;
// every other half is counted as unpaired.
func (g *serviceGraph) expire(now int64) {
	for k, e := range g.pending {
		if e.expires > now {
			continue
		}
		switch {
		case e.client.set && e.peer != "":
			g.record(e.client, side{service: e.peer}, e.connType, now)
		case e.client.set:
			g.sideCounter(g.unpaired, GraphUnpairedMetric, LabelClient, e.client.service, now).add(1, now)
		case e.server.set:
			g.sideCounter(g.unpaired, GraphUnpairedMetric, LabelServer, e.server.service, now).add(1, now)
		}
		g.settle(k, e)
	}
}

// record counts one call from client to server. A side without a span
// (a virtual node) has no latency.
func (g *serviceGraph) record(client, server side, connType string, now int64) {
	key := append(g.keyBuf[:0], client.service...)
	key = append(key, 0xff)
	key = append(key, server.service...)
	key = append(key, 0xff)
	key = append(key, connType...)
	g.keyBuf = key
	es := g.edges[string(key)]
	if es == nil {
		b := labels.NewScratchBuilder(3)
		b.Add(LabelClient, client.service)
		b.Add(LabelServer, server.service)
		if connType != "" {
			b.Add(LabelConnectionType, connType)
		}
		b.Sort()
		base := b.Labels()
		named := func(name string) *counter {
			return &counter{
				seriesState: seriesState{created: now, updated: now},
				labels:      labels.NewBuilder(base).Set(metricNameLabel, name).Labels(),
			}
		}
		es = &edgeSeries{
			requests: named(GraphRequestsMetric),
			failed:   named(GraphFailedMetric),
			server:   newHistogramSeries(GraphServerMetric, base, g.buckets, now),
			client:   newHistogramSeries(GraphClientMetric, base, g.buckets, now),
		}
		g.edges[string(key)] = es
	}
	es.requests.add(1, now)
	if client.failed || server.failed {
		es.failed.add(1, now)
	}
	if server.set {
		es.server.observe(server.seconds, now)
		es.server.recordExemplar(server.seconds, server.end, server.trace, server.span, server.corrID)
	}
	if client.set {
		es.client.observe(client.seconds, now)
		es.client.recordExemplar(client.seconds, client.end, client.trace, client.span, client.corrID)
	}
	es.requests.updated = now
}

func (g *serviceGraph) sideCounter(m map[[2]string]*counter, metric, sideName, service string, now int64) *counter {
	k := [2]string{sideName, service}
	c := m[k]
	if c == nil {
		c = &counter{
			seriesState: seriesState{created: now, updated: now},
			labels:      labels.FromStrings(metricNameLabel, metric, sideName, service),
		}
		m[[2]string{sideName, strings.Clone(service)}] = c
	}
	return c
}

// flush writes every series and forgets those idle since staleBefore.
func (g *serviceGraph) flush(w *flushWriter, t, staleBefore int64) {
	for k, es := range g.edges {
		if es.requests.updated < staleBefore {
			es.requests.end(w, t)
			es.failed.end(w, t)
			es.server.end(w, t)
			es.client.end(w, t)
			delete(g.edges, k)
			continue
		}
		es.requests.write(w, t)
		es.failed.write(w, t)
		// A histogram with no observation (the server side of an edge to
		// a virtual node) is not written.
		if es.server.h.count > 0 {
			es.server.write(w, t)
		}
		if es.client.h.count > 0 {
			es.client.write(w, t)
		}
	}
	for _, m := range []map[[2]string]*counter{g.unpaired, g.dropped} {
		for k, c := range m {
			if c.updated < staleBefore {
				c.end(w, t)
				delete(m, k)
				continue
			}
			c.write(w, t)
		}
	}
}
