package derive

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/argus-obs/argus/internal/model"
)

// discard is an appender that keeps nothing, so the benchmarks measure
// derivation alone.
type discard struct{}

func (discard) AppenderV2(context.Context) storage.AppenderV2 { return discard{} }
func (discard) Append(storage.SeriesRef, labels.Labels, int64, int64, float64, *histogram.Histogram, *histogram.FloatHistogram, storage.AOptions) (storage.SeriesRef, error) {
	return 0, nil
}
func (discard) Commit() error   { return nil }
func (discard) Rollback() error { return nil }

// benchSpans makes n spans as telemetrygen sends them: traces of a client
// span and the server span it calls, with a few attributes.
func benchSpans(n int, seq uint64) []model.Span {
	spans := make([]model.Span, n)
	res := model.Resource{ServiceName: "telemetrygen", Attributes: []model.Attribute{model.String("host.name", "bench-1")}}
	start := time.Now().UnixNano()
	for i := 0; i < n; i += 2 {
		var trace model.TraceID
		binary.BigEndian.PutUint64(trace[8:], seq+uint64(i))
		var client, server model.SpanID
		binary.BigEndian.PutUint64(client[:], seq+uint64(i)+1)
		binary.BigEndian.PutUint64(server[:], seq+uint64(i)+2)
		attrs := []model.Attribute{model.String("net.peer.ip", "1.2.3.4"), model.String("peer.service", "telemetrygen-server")}
		spans[i] = model.Span{TraceID: trace, SpanID: client, Name: "lets-go", Kind: model.SpanKindClient,
			StartUnixNano: start, EndUnixNano: start + int64(1+i%50)*int64(time.Millisecond), Attributes: attrs, Resource: res}
		if i+1 < n {
			spans[i+1] = model.Span{TraceID: trace, SpanID: server, ParentSpanID: client, Name: "okey-dokey-0", Kind: model.SpanKindServer,
				StartUnixNano: start, EndUnixNano: start + int64(1+i%40)*int64(time.Millisecond), Attributes: attrs, Resource: res}
		}
	}
	return spans
}

// realisticSpans makes n spans of a small shop as OpenTelemetry SDKs send
// them, with the semantic conventions' attributes: traces of a frontend
// HTTP server span, its call to checkout (client and server spans),
// checkout's database query and the message it publishes to the mailer
// (producer and consumer), an internal span, and now and then a call to
// an uninstrumented payment provider; about 2% of them fail, and most
// carry a correlation ID.
func realisticSpans(n int, seq uint64) []model.Span {
	r := rand.New(rand.NewPCG(seq, 42))
	resource := func(service, version, pod string) model.Resource {
		return model.Resource{ServiceName: service, Attributes: []model.Attribute{
			model.String("service.version", version),
			model.String("service.instance.id", pod+"-7f9c"),
			model.String("deployment.environment.name", "production"),
			model.String("host.name", "node-"+pod[len(pod)-1:]),
			model.String("k8s.namespace.name", "shop"),
			model.String("k8s.pod.name", pod),
			model.String("telemetry.sdk.language", "go"),
			model.String("telemetry.sdk.name", "opentelemetry"),
			model.String("telemetry.sdk.version", "1.38.0"),
		}}
	}
	frontend := resource("frontend", "2.3.1", "frontend-5d8f-1")
	checkout := resource("checkout", "1.12.0", "checkout-66b4-2")
	mailer := resource("mailer", "0.9.4", "mailer-7c1d-3")
	routes := []string{"/api/cart", "/api/checkout", "/api/products/{id}", "/api/recommendations"}
	methods := []string{"GET", "GET", "GET", "POST"}
	now := time.Now().UnixNano()
	dur := func(median time.Duration) int64 {
		return int64(float64(median) * math.Exp(r.NormFloat64()*0.6))
	}
	status := func() model.StatusCode {
		if r.IntN(50) == 0 {
			return model.StatusError
		}
		return model.StatusUnset
	}
	spans := make([]model.Span, 0, n+10)
	var id uint64
	next := func() model.SpanID {
		id++
		var s model.SpanID
		binary.BigEndian.PutUint64(s[:], seq<<20|id)
		return s
	}
	for t := uint64(0); len(spans) < n; t++ {
		var trace model.TraceID
		binary.BigEndian.PutUint64(trace[:8], seq)
		binary.BigEndian.PutUint64(trace[8:], t)
		corr := []model.Attribute{}
		if r.IntN(10) != 0 {
			corr = append(corr, model.String(CorrelationKey, fmt.Sprintf("req-%08x", r.Uint32())))
		}
		route := r.IntN(len(routes))
		httpAttrs := func(extra ...model.Attribute) []model.Attribute {
			return append(append([]model.Attribute{
				model.String("http.request.method", methods[route]),
				model.String("http.route", routes[route]),
				model.String("url.path", routes[route]),
				model.Int("http.response.status_code", 200),
				model.String("network.protocol.version", "1.1"),
				model.String("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)"),
			}, extra...), corr...)
		}
		root, call, serve, query, publish, consume, internal := next(), next(), next(), next(), next(), next(), next()
		end := now - int64(r.IntN(1000))*int64(time.Millisecond)
		spans = append(spans,
			model.Span{TraceID: trace, SpanID: root, Name: methods[route] + " " + routes[route], Kind: model.SpanKindServer, Resource: frontend,
				StartUnixNano: end - dur(80*time.Millisecond), EndUnixNano: end, StatusCode: status(),
				Attributes: httpAttrs(model.String("server.address", "shop.example.com"), model.String("client.address", "203.0.113.9"))},
			model.Span{TraceID: trace, SpanID: call, ParentSpanID: root, Name: "POST", Kind: model.SpanKindClient, Resource: frontend,
				StartUnixNano: end - dur(50*time.Millisecond), EndUnixNano: end, StatusCode: status(),
				Attributes: httpAttrs(model.String("server.address", "checkout"), model.Int("server.port", 8080))},
			model.Span{TraceID: trace, SpanID: serve, ParentSpanID: call, Name: "POST /checkout", Kind: model.SpanKindServer, Resource: checkout,
				StartUnixNano: end - dur(45*time.Millisecond), EndUnixNano: end, StatusCode: status(),
				Attributes: httpAttrs()},
			model.Span{TraceID: trace, SpanID: query, ParentSpanID: serve, Name: "SELECT orders", Kind: model.SpanKindClient, Resource: checkout,
				StartUnixNano: end - dur(4*time.Millisecond), EndUnixNano: end, StatusCode: status(),
				Attributes: append([]model.Attribute{
					model.String("db.system.name", "postgresql"), model.String("db.namespace", "orders"),
					model.String("db.operation.name", "SELECT"), model.String("db.query.text", "SELECT * FROM orders WHERE id = $1"),
					model.String("server.address", "pg-0.db"), model.Int("server.port", 5432),
				}, corr...)},
			model.Span{TraceID: trace, SpanID: publish, ParentSpanID: serve, Name: "publish order-confirmation", Kind: model.SpanKindProducer, Resource: checkout,
				StartUnixNano: end - dur(time.Millisecond), EndUnixNano: end,
				Attributes: append([]model.Attribute{
					model.String("messaging.system", "kafka"), model.String("messaging.destination.name", "order-confirmation"),
					model.String("messaging.operation.type", "send"), model.String("server.address", "kafka-0"),
				}, corr...)},
			model.Span{TraceID: trace, SpanID: consume, ParentSpanID: publish, Name: "process order-confirmation", Kind: model.SpanKindConsumer, Resource: mailer,
				StartUnixNano: end - dur(20*time.Millisecond), EndUnixNano: end, StatusCode: status(),
				Attributes: append([]model.Attribute{
					model.String("messaging.system", "kafka"), model.String("messaging.destination.name", "order-confirmation"),
					model.String("messaging.operation.type", "process"),
				}, corr...)},
			model.Span{TraceID: trace, SpanID: internal, ParentSpanID: serve, Name: "render receipt", Kind: model.SpanKindInternal, Resource: checkout,
				StartUnixNano: end - dur(2*time.Millisecond), EndUnixNano: end, Attributes: corr},
		)
		if t%20 == 0 {
			// A call to the payment provider, which sends no traces.
			spans = append(spans, model.Span{TraceID: trace, SpanID: next(), ParentSpanID: serve, Name: "POST /v1/charges", Kind: model.SpanKindClient, Resource: checkout,
				StartUnixNano: end - dur(300*time.Millisecond), EndUnixNano: end, StatusCode: status(),
				Attributes: httpAttrs(model.String("peer.service", "payments"), model.String("server.address", "api.payments.example"))})
		}
	}
	return spans[:n]
}

// byService regroups batches so that each holds the spans of one
// service, as when every service's SDK exports its own: the two sides of
// a call then come in different batches, and one waits for the other.
func byService(batches [][]model.Span) [][]model.Span {
	var all []model.Span
	for _, batch := range batches {
		all = append(all, batch...)
	}
	slices.SortStableFunc(all, func(a, b model.Span) int { return strings.Compare(a.Resource.ServiceName, b.Resource.ServiceName) })
	out := make([][]model.Span, len(batches))
	n := len(all) / len(batches)
	for i := range out {
		out[i] = all[i*n : (i+1)*n]
	}
	return out
}

// BenchmarkObserve measures the cost of deriving span metrics and the
// service graph from batches of 1000 spans, as a receiver hands them over:
// an op is one Observe of 1000 spans, and ns/span the cost of one span.
func BenchmarkObserve(b *testing.B) {
	realisticOpts := Options{SpanMetrics: SpanMetricsOptions{Dimensions: []string{"http.request.method", "deployment.environment.name"}}}
	for _, bc := range []struct {
		name    string
		make    func(n int, seq uint64) []model.Span
		regroup func([][]model.Span) [][]model.Span
		opts    Options
	}{
		{name: "telemetrygen", make: benchSpans},
		{name: "realistic", make: realisticSpans, opts: realisticOpts},
		{name: "realistic-by-service", make: realisticSpans, regroup: byService, opts: realisticOpts},
	} {
		b.Run(bc.name, func(b *testing.B) {
			const batch = 1000
			opts := bc.opts
			opts.Appendable = discard{}
			d := New(opts)
			batches := make([][]model.Span, 16)
			for i := range batches {
				batches[i] = bc.make(batch, uint64(i+1))
			}
			if bc.regroup != nil {
				batches = bc.regroup(batches)
			}
			// Warm up: the series and the pending map exist, as in a
			// running deriver.
			for _, batch := range batches {
				d.Observe(batch)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				d.Observe(batches[i%len(batches)])
				i++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/span")
		})
	}
}
