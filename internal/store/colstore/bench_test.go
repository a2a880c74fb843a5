package colstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// logRows returns n log-like rows of a few streams: a message of template
// words and variable parts, a trace ID, a level and a user.
func logRows(n int, base int64, rng *rand.Rand) []Row {
	templates := []string{
		"handled GET /product/%d 200 in %dms",
		"payment %d declined for user u%07d: card expired",
		"cache miss for key inventory:%d after %dms",
		"order %d shipped to warehouse %d",
	}
	rows := make([]Row, n)
	for i := range rows {
		id := make([]byte, 16)
		for j := range id {
			id[j] = byte(rng.Uint32())
		}
		rows[i] = Row{
			Stream: []Label{{"service.name", fmt.Sprintf("svc-%d", i%4)}},
			Time:   base + int64(i)*int64(time.Millisecond),
			Fields: []Field{
				{Name: "body", Type: TypeText, Str: fmt.Sprintf(templates[rng.IntN(len(templates))], rng.IntN(100000), rng.IntN(1000))},
				{Name: "level", Type: TypeString, Str: []string{"info", "warn", "error"}[rng.IntN(3)]},
				{Name: "trace_id", Type: TypeID, Bytes: id},
				{Name: "a.user_id", Type: TypeString, Str: fmt.Sprintf("u%07d", rng.IntN(10000))},
			},
		}
	}
	return rows
}

// BenchmarkFlushAndMerge writes four flushes of 50,000 log rows and merges
// them into one part: the work a log store does after its write-ahead
// log, per row.
func BenchmarkFlushAndMerge(b *testing.B) {
	const perFlush = 50000
	rng := rand.New(rand.NewPCG(1, 1))
	base := time.Now().Add(-time.Hour).UnixNano()
	var flushes [mergeFanIn][]Row
	for k := range flushes {
		flushes[k] = logRows(perFlush, base+int64(k*perFlush)*int64(time.Millisecond), rng)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s, err := Open(Options{Dir: b.TempDir(), WALNoSync: true, FlushInterval: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		for _, rows := range flushes {
			b.StopTimer()
			if err := s.Write(ctx, rows); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if err := s.Flush(); err != nil {
				b.Fatal(err)
			}
		}
		for s.mergeOnce() {
		}
		b.StopTimer()
		if st := s.Stats(); st.Parts != 1 {
			b.Fatalf("%d parts after the merge", st.Parts)
		}
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*mergeFanIn*perFlush), "ns/row")
}
