package derive

import (
	"context"
	"encoding/binary"
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

// BenchmarkObserve measures the cost per span of deriving span metrics
// and the service graph (b.N spans, in batches of 1000 as a receiver
// hands them over).
func BenchmarkObserve(b *testing.B) {
	d := New(Options{Appendable: discard{}})
	batches := make([][]model.Span, 16)
	for i := range batches {
		batches[i] = benchSpans(1000, uint64(i)*1000)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += 1000 {
		d.Observe(batches[(i/1000)%len(batches)])
	}
}
