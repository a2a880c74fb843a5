package colstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestParallelSearchMatchesSerial checks that the parallel search hands
// out the same rows in the same order as a block-by-block search, stops
// when fn says so, and ends its goroutines either way.
func TestParallelSearchMatchesSerial(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := context.Background()
	base := time.Now().Add(-time.Hour).UnixNano()
	rng := rand.New(rand.NewPCG(3, 4))
	for k := range 3 {
		if err := s.Write(ctx, logRows(20000, base+int64(k)*int64(time.Minute), rng)); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	p := s.partition(dayOf(base), false)
	_, parts := p.snapshot()
	defer func() {
		for _, pt := range parts {
			pt.decRef()
		}
	}()
	queries := map[string]Query{
		"all":    {},
		"word":   {Filters: []Filter{{Column: "body", Type: TypeText, Op: OpContains, Value: []byte(" declined ")}}},
		"level":  {Filters: []Filter{{Column: "level", Type: TypeString, Op: OpEqual, Value: []byte("error")}}, Columns: []string{"body"}},
		"stream": {Stream: func(l []Label) bool { return l[0].Value != "svc-2" }, MinTime: base + int64(20*time.Second)},
		"none":   {Filters: []Filter{{Column: "level", Type: TypeString, Op: OpEqual, Value: []byte("fatal")}}},
	}
	search := func(q Query, workers, limit int) ([]string, bool, error) {
		var got []string
		fn := func(r *Row) bool {
			got = append(got, fmt.Sprint(r.Stream, r.Time, r.Fields))
			return limit == 0 || len(got) < limit
		}
		sr := &searcher{q: &q, fn: fn, dec: s.zdec}
		if workers == 1 {
			for _, pt := range parts {
				if more, err := sr.searchPart(ctx, pt); err != nil || !more {
					return got, more, err
				}
			}
			return got, true, nil
		}
		more, err := sr.searchPartsParallel(ctx, parts, workers)
		return got, more, err
	}
	for name, q := range queries {
		want, _, err := search(q, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		if name != "none" && len(want) == 0 {
			t.Fatalf("%s: no rows to compare", name)
		}
		for _, workers := range []int{2, 3, 8} {
			got, more, err := search(q, workers, 0)
			if err != nil || !more || !slices.Equal(got, want) {
				t.Errorf("%s, %d workers: %d rows (more %v, err %v), want the serial search's %d", name, workers, len(got), more, err, len(want))
			}
			if len(want) > 10 {
				got, more, err := search(q, workers, 10)
				if err != nil || more || !slices.Equal(got, want[:10]) {
					t.Errorf("%s, %d workers, stop after 10: %d rows (more %v, err %v)", name, workers, len(got), more, err)
				}
			}
		}
	}

	// A cancelled context ends the search with its error.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	q := Query{}
	sr := &searcher{q: &q, fn: func(*Row) bool { return true }, dec: s.zdec}
	if _, err := sr.searchPartsParallel(cctx, parts, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled search: %v", err)
	}
}
