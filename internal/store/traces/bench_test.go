package traces_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
	"github.com/argus-obs/argus/internal/store/colstore"
	"github.com/argus-obs/argus/internal/store/traces"
)

var benchSpans = flag.Int("bench.spans", 10_000_000, "spans stored before the query benchmarks run")

// benchData is a store filled once per process for the query benchmarks.
var benchData struct {
	once   sync.Once
	dir    string
	cs     *colstore.Store
	st     *traces.Store
	ids    []model.TraceID // a sample of stored trace IDs
	now    time.Time
	setup  time.Duration
	err    error
	bytes  uint64
	stored int
}

// benchServices are the services the generated spans come from.
var benchServices = []string{"frontend", "inventory", "checkout", "payments", "shipping"}

// genTrace fills spans with one two-span trace (a client span and the
// server span it calls, as telemetrygen sends) starting at start. About
// one trace in a hundred is slow (over 100ms).
func genTrace(r *rand.Rand, spans []model.Span, start time.Time) {
	var tid model.TraceID
	var parent, child model.SpanID
	for i := range tid {
		tid[i] = byte(r.Uint32())
	}
	for i := range parent {
		parent[i], child[i] = byte(r.Uint32()), byte(r.Uint32())
	}
	svc := benchServices[r.IntN(len(benchServices))]
	d := time.Duration(50+r.IntN(5000)) * time.Microsecond
	if r.IntN(100) == 0 {
		d = time.Duration(100+r.IntN(900)) * time.Millisecond
	}
	res := model.Resource{ServiceName: svc, Attributes: []model.Attribute{model.String("host.name", "node-1")}}
	attrs := []model.Attribute{model.String("network.peer.address", "1.2.3.4"), model.String("peer.service", "telemetrygen-server")}
	spans[0] = model.Span{TraceID: tid, SpanID: parent, Name: "lets-go", Kind: model.SpanKindClient,
		StartUnixNano: start.UnixNano(), EndUnixNano: start.Add(d).UnixNano(), Attributes: attrs, Resource: res,
		Scope: model.Scope{Name: "telemetrygen"}}
	spans[1] = model.Span{TraceID: tid, SpanID: child, ParentSpanID: parent, Name: "okey-dokey-0", Kind: model.SpanKindServer,
		StartUnixNano: start.UnixNano(), EndUnixNano: start.Add(d * 9 / 10).UnixNano(), Attributes: attrs, Resource: res,
		Scope: model.Scope{Name: "telemetrygen"}}
}

func loadBenchData(b *testing.B) {
	benchData.once.Do(func() {
		d := &benchData
		d.dir, d.err = os.MkdirTemp("", "argus-traces-bench")
		if d.err != nil {
			return
		}
		d.cs, d.err = colstore.Open(colstore.Options{Dir: d.dir, WALNoSync: true, MaxPendingBytes: 1 << 40})
		if d.err != nil {
			return
		}
		d.st = traces.New(d.cs)
		d.now = time.Now()
		start := time.Now()
		r := rand.New(rand.NewPCG(1, 2))
		const batch = 2048
		spans := make([]model.Span, batch)
		n := *benchSpans / 2 * 2
		step := time.Hour / time.Duration(n/2)
		t := d.now.Add(-time.Hour)
		for written := 0; written < n; written += batch {
			for i := 0; i < batch; i += 2 {
				genTrace(r, spans[i:i+2], t)
				t = t.Add(step)
				if r.IntN(20000) == 0 {
					d.ids = append(d.ids, spans[i].TraceID)
				}
			}
			if d.err = d.st.WriteSpans(context.Background(), spans); d.err != nil {
				return
			}
		}
		if d.err = d.cs.Flush(); d.err != nil {
			return
		}
		d.setup = time.Since(start)
		st := d.cs.Stats()
		d.bytes, d.stored = st.PartBytes, int(st.PartRows)
	})
	if benchData.err != nil {
		b.Fatal(benchData.err)
	}
	b.Logf("%d spans in %d parts' worth of %d bytes (%.1f bytes/span), loaded in %v",
		benchData.stored, benchData.cs.Stats().Parts, benchData.bytes, float64(benchData.bytes)/float64(benchData.stored), benchData.setup.Round(time.Second))
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchData.cs != nil {
		benchData.cs.Close()
		os.RemoveAll(benchData.dir)
	}
	os.Exit(code)
}

// benchLatency runs op b.N times over the loaded store and reports the
// p50 and p99 of its latency besides the mean.
func benchLatency(b *testing.B, op func(ctx context.Context, i int) error) {
	loadBenchData(b)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		t := time.Now()
		err := op(ctx, i)
		lat = append(lat, time.Since(t))
		if err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}

// BenchmarkGetTrace looks traces up by ID among -bench.spans stored spans.
// Target: p99 at most 50 ms with 10 million spans.
func BenchmarkGetTrace(b *testing.B) {
	benchLatency(b, func(ctx context.Context, i int) error {
		id := benchData.ids[i%len(benchData.ids)]
		spans, err := benchData.st.GetTrace(ctx, id)
		if err == nil && len(spans) != 2 {
			err = fmt.Errorf("trace %s: %d spans", id, len(spans))
		}
		return err
	})
}

// BenchmarkFindTracesMinDuration searches the last hour for one
// service's slow traces, as the Jaeger UI does by default (limit 20).
// Target: at most 200 ms with 10 million spans.
func BenchmarkFindTracesMinDuration(b *testing.B) {
	benchLatency(b, func(ctx context.Context, i int) error {
		return findTwenty(ctx, store.TraceQuery{
			Service:     benchServices[i%len(benchServices)],
			StartMin:    benchData.now.Add(-time.Hour),
			StartMax:    benchData.now,
			DurationMin: 100 * time.Millisecond,
			Limit:       20,
		})
	})
}

// BenchmarkFindTracesTag searches the last hour by an attribute value.
func BenchmarkFindTracesTag(b *testing.B) {
	benchLatency(b, func(ctx context.Context, i int) error {
		return findTwenty(ctx, store.TraceQuery{
			Service:    benchServices[i%len(benchServices)],
			StartMin:   benchData.now.Add(-time.Hour),
			Attributes: map[string]string{"peer.service": "telemetrygen-server"},
			Limit:      20,
		})
	})
}

// findTwenty runs a search that must find 20 traces.
func findTwenty(ctx context.Context, q store.TraceQuery) error {
	found, err := benchData.st.FindTraces(ctx, q)
	if err == nil && len(found) != 20 {
		err = fmt.Errorf("%+v: %d traces", q, len(found))
	}
	return err
}

// BenchmarkWriteSpans measures the write path of the trace store (span
// encoding, write-ahead log with fsync, memtable), in batches of 2048
// telemetrygen-like spans, with flushes running as they would.
func BenchmarkWriteSpans(b *testing.B) {
	cs, err := colstore.Open(colstore.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer cs.Close()
	st := traces.New(cs)
	r := rand.New(rand.NewPCG(3, 4))
	spans := make([]model.Span, 2048)
	now := time.Now()
	for i := 0; i < len(spans); i += 2 {
		genTrace(r, spans[i:i+2], now)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := st.WriteSpans(context.Background(), spans); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(spans))/b.Elapsed().Seconds(), "spans/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkOperations lists one service's operations, as the Jaeger UI
// does whenever a service is picked.
func BenchmarkOperations(b *testing.B) {
	benchLatency(b, func(ctx context.Context, i int) error {
		ops, err := benchData.st.Operations(ctx, store.OperationQuery{Service: benchServices[i%len(benchServices)]})
		if err == nil && len(ops) != 2 {
			err = fmt.Errorf("operations: %v", ops)
		}
		return err
	})
}
