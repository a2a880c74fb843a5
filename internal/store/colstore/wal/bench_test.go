package wal

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkAppendParallel appends 128-byte records from many goroutines.
// records/s is the throughput; fsyncs/op shows group commit at work (one
// fsync shared by 1/fsyncs-per-op records).
//
//	go test -run '^$' -bench AppendParallel -benchtime 3s ./internal/store/colstore/wal/
func BenchmarkAppendParallel(b *testing.B) {
	for _, mode := range []struct {
		name   string
		noSync bool
	}{{"sync", false}, {"nosync", true}} {
		for _, writers := range []int{1, 16, 64, 256} {
			b.Run(fmt.Sprintf("%s/writers=%d", mode.name, writers), func(b *testing.B) {
				w, err := Open(Options{Dir: b.TempDir(), NoSync: mode.noSync})
				if err != nil {
					b.Fatal(err)
				}
				defer w.Close()
				rec := make([]byte, 128)
				b.SetBytes(int64(len(rec)))
				b.ReportAllocs()
				b.ResetTimer()
				// Not b.RunParallel: it cannot run fewer goroutines than
				// GOMAXPROCS, and the writer count is the point here.
				var (
					next atomic.Int64
					wg   sync.WaitGroup
				)
				for range writers {
					wg.Go(func() {
						for next.Add(1) <= int64(b.N) {
							if _, err := w.Append(rec); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				st := w.Stats()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
				b.ReportMetric(float64(st.Syncs)/float64(b.N), "fsyncs/op")
				b.ReportMetric(float64(st.Records)/float64(max(1, st.Commits)), "records/commit")
			})
		}
	}
}

// BenchmarkReplay reads back a log of 128-byte records.
func BenchmarkReplay(b *testing.B) {
	dir := b.TempDir()
	w, err := Open(Options{Dir: dir, NoSync: true, SegmentSize: 8 << 20})
	if err != nil {
		b.Fatal(err)
	}
	rec := make([]byte, 128)
	const n = 100_000
	for range n {
		if _, err := w.Append(rec); err != nil {
			b.Fatal(err)
		}
	}
	w.Close()
	b.SetBytes(n * int64(len(rec)+frameHeaderSize))
	b.ReportAllocs()
	for b.Loop() {
		w, err := Open(Options{Dir: dir, NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Replay(func([]byte) error { return nil }); err != nil {
			b.Fatal(err)
		}
		w.Close()
	}
}
