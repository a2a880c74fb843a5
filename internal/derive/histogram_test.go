package derive

import (
	"maps"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
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

// TestNativeKeyPrometheusBounds checks nativeKey against the bucket bounds
// Prometheus itself computes for a native histogram (its bucket iterator):
// bucket k covers (2^((k-1)/2^s), 2^(k/2^s)], the upper bound included,
// for every schema, zero and negative ones included. Bounds that are
// powers of two are exact, and are checked to the last bit; the others
// are irrational, and both Prometheus's table and math.Exp2 round them
// (differently, by an ulp or two), so values are checked a hair (1e-12)
// inside and outside them.
func TestNativeKeyPrometheusBounds(t *testing.T) {
	const hair = 1e-12
	for schema := int32(-4); schema <= 8; schema++ {
		keys := []int32{-1, 0, 1, 2}
		for k := int32(-3000); k <= 3000; k += 37 {
			keys = append(keys, k)
		}
		for _, k := range keys {
			lower, upper := promBucket(t, schema, k)
			if upper >= math.MaxFloat64 || lower <= zeroThreshold {
				continue // in the zero bucket, or at float64's end
			}
			// By the definition.
			width := math.Exp2(-float64(schema))
			if want := math.Exp2(float64(k) * width); math.Abs(upper-want) > hair*want {
				t.Fatalf("schema %d key %d: Prometheus's upper bound %g, definition %g", schema, k, upper, want)
			}
			type probe struct {
				v    float64
				want int32
			}
			probes := []probe{
				{upper * (1 - hair), k},
				{upper * (1 + hair), k + 1},
				{lower * (1 + hair), k},
				{lower * (1 - hair), k - 1},
			}
			if _, exp := math.Frexp(upper); upper == math.Ldexp(0.5, exp) {
				// A power of two: in its bucket, and the next float is not.
				probes = append(probes, probe{upper, k}, probe{math.Nextafter(upper, math.Inf(1)), k + 1})
			}
			if _, exp := math.Frexp(lower); lower == math.Ldexp(0.5, exp) {
				probes = append(probes, probe{lower, k - 1}, probe{math.Nextafter(lower, math.Inf(1)), k})
			}
			for _, p := range probes {
				if got := nativeKey(p.v, schema); got != p.want {
					t.Fatalf("schema %d: nativeKey(%v) = %d, want %d (bucket %d is (%v, %v])", schema, p.v, got, p.want, k, lower, upper)
				}
			}
		}
	}
}

// promBucket returns the bounds Prometheus gives bucket key of schema.
func promBucket(t *testing.T, schema, key int32) (lower, upper float64) {
	t.Helper()
	h := &histogram.Histogram{
		Schema: schema, Count: 1,
		PositiveSpans:   []histogram.Span{{Offset: key, Length: 1}},
		PositiveBuckets: []int64{1},
	}
	it := h.PositiveBucketIterator()
	if !it.Next() {
		t.Fatalf("schema %d key %d: no bucket", schema, key)
	}
	b := it.At()
	return b.Lower, b.Upper
}

// TestHalveResolution checks that halving merges each bucket into the one
// of the coarser schema that holds its values, and keeps every count.
func TestHalveResolution(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	bounds := DefaultDurationBuckets
	for _, spread := range []float64{0.5, 4, 20} {
		var values []float64
		for range 3000 {
			values = append(values, math.Exp2((r.Float64()-0.5)*spread))
		}
		values = append(values, 1, 0.5, 2, 0.25) // bucket bounds at every schema
		halved := newDurationHistogram(bounds)
		for _, v := range values {
			halved.observe(bounds, v)
		}
		for schema := halved.schema - 1; schema >= -4; schema-- {
			halved.halveResolution()
			direct := newDurationHistogram(bounds)
			direct.schema = schema
			for _, v := range values {
				direct.observe(bounds, v)
			}
			if halved.schema != schema {
				t.Fatalf("schema %d after halving, want %d", halved.schema, schema)
			}
			got, want := halved.nativeHistogram(), direct.nativeHistogram()
			if err := got.Validate(); err != nil {
				t.Fatalf("schema %d: %v", schema, err)
			}
			if !got.Equals(want) {
				t.Fatalf("spread %g, schema %d: halved\n%v\nobserved at that schema\n%v", spread, schema, got, want)
			}
			var total uint64
			for _, n := range halved.counts {
				total += n
			}
			if total+halved.zero != uint64(len(values)) || got.Count != uint64(len(values)) {
				t.Fatalf("schema %d: buckets hold %d, count %d, want %d", schema, total+halved.zero, got.Count, len(values))
			}
		}
	}
}

// TestNativeHistogramOutput checks the Prometheus histogram of assorted
// observations, sparse and dense, against the keys of the values: it is
// valid and every bucket holds exactly the values nativeKey puts in it.
func TestNativeHistogramOutput(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	cases := map[string][]float64{
		"empty":     nil,
		"zeros":     {0, 0, -1, math.NaN()},
		"one":       {0.042},
		"sparse":    {1e-6, 0.003, 0.003, 2, 900},
		"adjacent":  {1, 1.05, 1.1, 1.2, 1.3},
		"below one": {0.01, 0.011, 0.5, 0.9},
	}
	var dense []float64
	for range 5000 {
		dense = append(dense, math.Exp(r.NormFloat64()-3))
	}
	cases["dense"] = dense
	var wide []float64
	for range 5000 {
		wide = append(wide, math.Exp2(r.Float64()*80-40)) // forces halving
	}
	cases["wide"] = wide
	for name, values := range cases {
		h := newDurationHistogram(DefaultDurationBuckets)
		for _, v := range values {
			h.observe(DefaultDurationBuckets, v)
		}
		nh := h.nativeHistogram()
		if err := nh.Validate(); err != nil {
			t.Errorf("%s: %v: %v", name, err, nh)
			continue
		}
		want := map[int32]uint64{}
		var zero uint64
		for _, v := range values {
			if !(v > zeroThreshold) {
				zero++
				continue
			}
			want[nativeKey(v, nh.Schema)]++
		}
		got := map[int32]uint64{}
		it := nh.PositiveBucketIterator()
		for it.Next() {
			b := it.At()
			if b.Count == 0 {
				t.Errorf("%s: empty bucket %d written", name, b.Index)
			}
			got[b.Index] = b.Count
		}
		if nh.Count != uint64(len(values)) || nh.ZeroCount != zero || !maps.Equal(got, want) {
			t.Errorf("%s: count %d zero %d buckets %v; want %d, %d, %v", name, nh.Count, nh.ZeroCount, got, len(values), zero, want)
		}
		if len(nh.NegativeBuckets) != 0 {
			t.Errorf("%s: negative buckets", name)
		}
	}
}

// TestFormatBoundPrometheus checks formatBound against the way Prometheus
// normalises le label values.
func TestFormatBoundPrometheus(t *testing.T) {
	bounds := []float64{math.Inf(1), 1, 2, 0.1, 0.25, 1.4, 15, 100, 1e6, 1e21, 123456789, 5e-324, math.MaxFloat64}
	bounds = append(bounds, DefaultDurationBuckets...)
	bounds = append(bounds, DefaultServiceGraphBuckets...)
	r := rand.New(rand.NewPCG(1, 3))
	for range 1000 {
		bounds = append(bounds, math.Exp2(r.Float64()*60-30), math.Round(r.Float64()*1e4))
	}
	for _, b := range bounds {
		if got, want := formatBound(b), labels.FormatOpenMetricsFloat(b); got != want {
			t.Errorf("formatBound(%v) = %q, Prometheus %q", b, got, want)
		}
	}
}
