package colstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
)

func TestForEachWord(t *testing.T) {
	v := []byte("GET /api/v1/orders?id=42 took 3ms: naïve_user ok")
	var words []string
	forEachWord(v, func(start, end int) { words = append(words, string(v[start:end])) })
	want := []string{"GET", "api", "v1", "orders", "id", "42", "took", "3ms", "naïve_user", "ok"}
	if !slices.Equal(words, want) {
		t.Errorf("words = %q, want %q", words, want)
	}
}

func TestRequiredWordKeys(t *testing.T) {
	for _, tc := range []struct {
		value string
		words []string
		want  []string
	}{
		{"timeout", nil, nil},                                 // may be part of "timeouts"
		{"rror 500 fail", nil, []string{"500"}},               // edges may be parts of words
		{" timeout ", nil, []string{"timeout"}},               // bounded on both sides
		{"a=1, b=2", nil, []string{"1", "b"}},                 // "a" and "2" touch the ends
		{"timeout", []string{"timeout"}, []string{"timeout"}}, // the caller knows it is a word
	} {
		f := &Filter{Column: "msg", Type: TypeText, Op: OpContains, Value: []byte(tc.value)}
		for _, w := range tc.words {
			f.Words = append(f.Words, []byte(w))
		}
		var want []uint64
		for _, w := range tc.want {
			want = append(want, bloomKey("msg", []byte(w)))
		}
		if got := requiredWordKeys(f); !slices.Equal(got, want) {
			t.Errorf("%q %q: %d keys, want those of %q", tc.value, tc.words, len(got), tc.want)
		}
	}
}

// TestTextBloomSkipsBlocks checks that a block whose lines lack a word is
// skipped from its header alone, and that one holding it is not.
func TestTextBloomSkipsBlocks(t *testing.T) {
	s := openTest(t, t.TempDir())
	base := time.Now().Add(-time.Hour).UnixNano()
	var rows []Row
	for i := range 300 {
		msg := fmt.Sprintf("request %d served in %dms", i, i%50)
		if i == 123 {
			msg = "request 123 failed: ECONNRESET from upstream"
		}
		rows = append(rows, Row{
			Stream: []Label{{"service.name", fmt.Sprintf("svc-%d", i%3)}}, // one block per stream
			Time:   base + int64(i),
			Fields: []Field{{Name: "msg", Type: TypeText, Str: msg}},
		})
	}
	if err := s.Write(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	mem, parts := s.partitions[dayOf(base)].snapshot()
	if len(mem) != 0 || len(parts) != 1 || len(parts[0].meta.blocks) != 3 {
		t.Fatalf("want one part of three blocks, have %d batches and %d parts", len(mem), len(parts))
	}
	m := parts[0].meta
	for _, tc := range []struct {
		filter Filter
		want   int // blocks that may match
		rows   int
	}{
		{Filter{Column: "msg", Type: TypeText, Op: OpContains, Value: []byte(" ECONNRESET ")}, 1, 1},
		{Filter{Column: "msg", Type: TypeText, Op: OpContains, Value: []byte("ECONNRESET"), Words: [][]byte{[]byte("ECONNRESET")}}, 1, 1},
		{Filter{Column: "msg", Type: TypeText, Op: OpContains, Value: []byte("ECONNRESET")}, 3, 1}, // a substring: no word is certain
		{Filter{Column: "msg", Type: TypeText, Op: OpContains, Value: []byte(" served in ")}, 3, 299},
		{Filter{Column: "msg", Type: TypeText, Op: OpContains, Value: []byte(" nowhere ")}, 0, 0},
	} {
		q := Query{Filters: []Filter{tc.filter}}
		sr := &searcher{q: &q, filterCol: make([]int, 1)}
		sr.bloomKeys = [][]uint64{requiredWordKeys(&q.Filters[0])}
		n := 0
		for bi := range m.blocks {
			if sr.blockMayMatch(m, &m.blocks[bi]) {
				n++
			}
		}
		if n != tc.want {
			t.Errorf("%q words %q: %d blocks may match, want %d", tc.filter.Value, tc.filter.Words, n, tc.want)
		}
		var got int
		if err := s.Search(context.Background(), q, func(*Row) bool { got++; return true }); err != nil {
			t.Fatal(err)
		}
		if got != tc.rows {
			t.Errorf("%q: %d rows, want %d", tc.filter.Value, got, tc.rows)
		}
	}
}

// TestKeyHasherMatchesBloomKey checks the keys against the format's
// definition (docs/format/colstore.md), which parts on disk were written
// with.
func TestKeyHasherMatchesBloomKey(t *testing.T) {
	var h keyHasher
	for _, col := range []string{"body", "trace_id", ""} {
		h.reset(col)
		for _, v := range []string{"", "a", "ECONNRESET", strings.Repeat("x", 100)} {
			var d xxhash.Digest
			d.Reset()
			_, _ = d.WriteString(col)
			_, _ = d.Write([]byte{0})
			_, _ = d.WriteString(v)
			want := d.Sum64()
			if got := h.key([]byte(v)); got != want {
				t.Errorf("key(%q, %q) = %x, want %x", col, v, got, want)
			}
			if got := bloomKey(col, []byte(v)); got != want {
				t.Errorf("bloomKey(%q, %q) = %x, want %x", col, v, got, want)
			}
		}
	}
}

func TestKeySetKeepsDistinctKeysInOrder(t *testing.T) {
	var s keySet
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{100000, 10, 5000, 0, 3, 200000, 50000, 1} {
		s.reset()
		var want []uint64
		seen := map[uint64]bool{}
		for range n {
			// Few distinct values, many repeats, and the key 0.
			k := rng.Uint64N(uint64(n/3+2)) * 0x9e3779b97f4a7c15
			s.add(k)
			if !seen[k] {
				seen[k] = true
				want = append(want, k)
			}
		}
		if !slices.Equal(s.keys, want) {
			t.Fatalf("n=%d: %d keys, want %d", n, len(s.keys), len(want))
		}
		if l := len(s.slots); l&(l-1) != 0 {
			t.Fatalf("n=%d: table of %d slots, not a power of two", n, l)
		}
	}
}
