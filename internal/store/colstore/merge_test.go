package colstore

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMergeCopiesWholeBlocks checks that a merge copies the full blocks
// whose rows need no interleaving, rewrites the rest, and that queries
// answer the same before and after.
func TestMergeCopiesWholeBlocks(t *testing.T) {
	s := openTest(t, t.TempDir())
	base := time.Now().Add(-time.Hour).UnixNano()
	ctx := context.Background()
	row := func(svc string, flush, ms int64, i int) Row {
		return Row{
			Stream: []Label{{"service.name", svc}},
			// Each flush's rows a microsecond apart from the others', so
			// every time is distinct and the order of rows certain.
			Time: base + ms*int64(time.Millisecond) + flush*int64(time.Microsecond),
			Fields: []Field{
				{Name: "id", Type: TypeID, Bytes: fmt.Appendf(nil, "%s-%d", svc, ms)},
				{Name: "msg", Type: TypeText, Str: fmt.Sprintf("GET /orders/%d took %dms", ms, i%100)},
			},
		}
	}
	// Four flushes of one tier. Stream "big" has 10,000 rows in each, so a
	// full block and a small one; the fourth flush's rows overlap the
	// third's in time, so those must be interleaved. Stream "small" has
	// only small blocks.
	for k := range int64(4) {
		var rows []Row
		for i := range 10000 {
			ms := k*10000 + int64(i)
			if k == 3 {
				ms = 25000 + 2*int64(i)
			}
			rows = append(rows, row("big", k, ms, i))
		}
		for i := range 300 {
			rows = append(rows, row("small", k, k*10000+int64(i)*7, i))
		}
		if err := s.Write(ctx, rows); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	queries := map[string]Query{
		"all":   {},
		"id":    {Filters: []Filter{{Column: "id", Type: TypeID, Op: OpEqual, Value: []byte("big-4242")}}},
		"word":  {Filters: []Filter{{Column: "msg", Type: TypeText, Op: OpContains, Value: []byte(" 31337 ")}}},
		"time":  {MinTime: base + 27000*int64(time.Millisecond), MaxTime: base + 27100*int64(time.Millisecond)},
		"small": {Stream: func(l []Label) bool { return l[0].Value == "small" }},
	}
	before := map[string][]gotRow{}
	for name, q := range queries {
		before[name] = collect(t, s, q)
	}
	if n := len(before["all"]); n != 41200 {
		t.Fatalf("all rows: %d", n)
	}
	for s.mergeOnce() { // the flushes may have started it already
	}
	for name, q := range queries {
		if got := collect(t, s, q); !slices.Equal(got, before[name]) {
			t.Errorf("after merge: query %s: %d rows, want %d", name, len(got), len(before[name]))
			for i := range min(len(got), len(before[name])) {
				if got[i] != before[name][i] {
					t.Errorf("row %d: %+v, want %+v", i, got[i], before[name][i])
					break
				}
			}
		}
	}
	// The first two flushes' full blocks of "big" lie alone in time; the
	// third's overlaps the fourth's, and every other block is small.
	if got := testutil.ToFloat64(s.metrics.mergeCopiedRows); got != float64(2*s.opts.BlockRows) {
		t.Errorf("copied %v rows, want %d", got, 2*s.opts.BlockRows)
	}

	// The merged part keeps the order later merges rely on, and no block
	// exceeds the limit.
	p := s.partition(dayOf(base), false)
	p.mu.RLock()
	parts := slices.Clone(p.parts)
	p.mu.RUnlock()
	if len(parts) != 1 {
		t.Fatalf("%d parts after merge, want 1", len(parts))
	}
	it := &partIterator{p: parts[0], dec: s.zdec}
	var prevHash uint64
	prevTime := int64(-1 << 63)
	n := 0
	for more := true; more; more = it.next() {
		if !it.loaded && !it.load() {
			t.Fatal(it.err)
		}
		if it.i == 0 && it.current().rows > s.opts.BlockRows {
			t.Fatalf("block of %d rows", it.current().rows)
		}
		h := it.hash()
		if h < prevHash || (h == prevHash && it.row.Time < prevTime) {
			t.Fatalf("row %d out of (stream, time) order", n)
		}
		prevHash, prevTime = h, it.row.Time
		n++
	}
	if n != 41200 {
		t.Fatalf("merged part has %d rows", n)
	}
}
