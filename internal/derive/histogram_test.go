package derive

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestNativeKey checks nativeKey against the definition: bucket k of
// schema s covers (2^((k-1)/2^s), 2^(k/2^s)].
func TestNativeKey(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, schema := range []int32{-4, -1, 0, 1, 3, 8} {
		for range 2000 {
			v := math.Exp2(r.Float64()*60 - 30)
			k := nativeKey(v, schema)
			width := math.Exp2(-float64(schema))
			lower, upper := math.Exp2(float64(k-1)*width), math.Exp2(float64(k)*width)
			if !(v > lower*(1-1e-12) && v <= upper*(1+1e-12)) {
				t.Fatalf("schema %d: nativeKey(%g) = %d, covering (%g, %g]", schema, v, k, lower, upper)
			}
		}
		// Exact powers of two are upper bounds.
		if k := nativeKey(1, schema); k != 0 {
			t.Errorf("schema %d: nativeKey(1) = %d, want 0", schema, k)
		}
	}
}

// TestDurationHistogram checks counts, the halving of resolution on a wide
// spread, and that the native histogram is valid and agrees with the
// classic buckets.
func TestDurationHistogram(t *testing.T) {
	bounds := DefaultDurationBuckets
	h := newDurationHistogram(bounds)
	r := rand.New(rand.NewPCG(3, 4))
	var sum float64
	const n = 10000
	for i := range n {
		v := math.Exp2(r.Float64()*40 - 30) // 1ns to 1000s: forces halving
		if i%100 == 0 {
			v = 0
		}
		sum += v
		h.observe(bounds, v)
	}
	if h.schema >= nativeSchema || len(h.counts) > maxNativeBuckets {
		t.Errorf("schema %d with %d buckets: want the resolution halved to at most %d buckets", h.schema, len(h.counts), maxNativeBuckets)
	}
	nh := h.nativeHistogram()
	if err := nh.Validate(); err != nil {
		t.Fatal(err)
	}
	if nh.Count != n || nh.ZeroCount != n/100 || math.Abs(nh.Sum-sum) > 1e-9*sum {
		t.Errorf("count %d zero %d sum %g; want %d, %d, %g", nh.Count, nh.ZeroCount, nh.Sum, n, n/100, sum)
	}
	var classic uint64
	for _, c := range h.classic {
		classic += c
	}
	if classic != n {
		t.Errorf("classic buckets hold %d observations, want %d", classic, n)
	}
	// Observations below 1 second, counted both ways.
	var native uint64
	it := nh.PositiveBucketIterator()
	for it.Next() {
		if b := it.At(); b.Upper <= 1 {
			native += b.Count
		}
	}
	var below uint64
	for i, b := range bounds {
		if b <= 1 {
			below += h.classic[i]
		}
	}
	if native+nh.ZeroCount != below {
		t.Errorf("observations up to 1s: native %d, classic %d", native+nh.ZeroCount, below)
	}
	if empty := newDurationHistogram(bounds).nativeHistogram(); empty.Validate() != nil || empty.Count != 0 {
		t.Errorf("empty histogram: %+v", empty)
	}
}

func TestFormatBound(t *testing.T) {
	for b, want := range map[float64]string{1: "1.0", 0.002: "0.002", 15: "15.0", 1.4: "1.4", math.Inf(1): "+Inf", 1e-5: "1e-05"} {
		if got := formatBound(b); got != want {
			t.Errorf("formatBound(%g) = %q, want %q", b, got, want)
		}
	}
}
