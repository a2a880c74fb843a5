package derive

import (
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/histogram"
)

// DefaultDurationBuckets are the classic histogram bounds of span
// durations, in seconds: those of the OpenTelemetry Collector's
// spanmetrics connector, so dashboards built for it read the same le
// values.
var DefaultDurationBuckets = []float64{
	0.002, 0.004, 0.006, 0.008, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8, 1, 1.4, 2, 5, 10, 15,
}

// DefaultServiceGraphBuckets are the classic bounds of the service graph's
// latency histograms, in seconds: Tempo's defaults.
var DefaultServiceGraphBuckets = []float64{0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8}

const (
	// nativeSchema is the resolution native histograms start at: 2^(1/8)
	// growth per bucket, about 9%, as Prometheus's client libraries
	// default to (schema 3).
	nativeSchema = 3
	// maxNativeBuckets bounds a native histogram; past it the resolution
	// is halved, as the spanmetrics connector's max_size does.
	maxNativeBuckets = 160
	// zeroThreshold is the native histogram's zero bucket width, the
	// client libraries' default (2^-128).
	zeroThreshold = 2.938735877055719e-39
)

// nativeBounds[s] are the fractions (of a power of two) that delimit the
// buckets of schema s > 0 within one octave, as frexp returns them.
var nativeBounds = func() [9][]float64 {
	var b [9][]float64
	for s := 1; s <= 8; s++ {
		n := 1 << s
		b[s] = make([]float64, n)
		for i := range n {
			b[s][i] = math.Exp2(float64(i)/float64(n)) / 2
		}
	}
	return b
}()

// nativeKey returns the index of the native histogram bucket of schema
// that holds v > 0: bucket k covers (2^((k-1)/2^schema), 2^(k/2^schema)].
func nativeKey(v float64, schema int32) int32 {
	frac, exp := math.Frexp(v)
	if schema > 0 {
		bounds := nativeBounds[schema]
		return int32(sort.SearchFloat64s(bounds, frac) + (exp-1)*len(bounds))
	}
	key := int32(exp)
	if frac == 0.5 {
		key--
	}
	offset := int32(1)<<-schema - 1
	return (key + offset) >> -schema
}

// durationHistogram accumulates observations for a histogram written both
// as a native (exponential) histogram and as classic buckets.
type durationHistogram struct {
	count, zero uint64
	sum         float64
	classic     []uint64 // per bucket, not cumulative; the last is +Inf
	schema      int32
	// The native buckets from key first on, densely: counts[i] is bucket
	// first+i. Latencies cluster, so a slice beats a map.
	first  int32
	counts []uint64
}

func newDurationHistogram(bounds []float64) *durationHistogram {
	return &durationHistogram{classic: make([]uint64, len(bounds)+1), schema: nativeSchema}
}

// observe adds one value in seconds. Negative values (a span whose end
// precedes its start) count as zero.
func (h *durationHistogram) observe(bounds []float64, v float64) {
	if v < 0 || math.IsNaN(v) {
		v = 0
	}
	h.count++
	h.sum += v
	h.classic[sort.SearchFloat64s(bounds, v)]++
	if v <= zeroThreshold {
		h.zero++
		return
	}
	k := nativeKey(v, h.schema)
	switch {
	case len(h.counts) == 0:
		h.first = k
		h.counts = append(h.counts, 0)
	case k < h.first:
		h.counts = append(make([]uint64, h.first-k, int(h.first-k)+len(h.counts)), h.counts...)
		h.first = k
	case k >= h.first+int32(len(h.counts)):
		h.counts = append(h.counts, make([]uint64, int(k-h.first)+1-len(h.counts))...)
	}
	h.counts[k-h.first]++
	for len(h.counts) > maxNativeBuckets && h.schema > -4 {
		h.halveResolution()
	}
}

// halveResolution merges pairs of native buckets: bucket k of schema s
// lies in bucket ceil(k/2) of schema s-1.
func (h *durationHistogram) halveResolution() {
	first := (h.first + 1) >> 1
	last := (h.first + int32(len(h.counts)) - 1 + 1) >> 1
	merged := make([]uint64, last-first+1)
	for i, n := range h.counts {
		merged[(h.first+int32(i)+1)>>1-first] += n
	}
	h.first, h.counts = first, merged
	h.schema--
}

// nativeHistogram returns the observations as a Prometheus integer native
// histogram.
func (h *durationHistogram) nativeHistogram() *histogram.Histogram {
	out := &histogram.Histogram{
		Schema:        h.schema,
		ZeroThreshold: zeroThreshold,
		ZeroCount:     h.zero,
		Count:         h.count,
		Sum:           h.sum,
	}
	var prev int64
	lastKey := int32(0)
	for i, n := range h.counts {
		if n == 0 {
			continue
		}
		k := h.first + int32(i)
		switch {
		case len(out.PositiveSpans) == 0:
			out.PositiveSpans = append(out.PositiveSpans, histogram.Span{Offset: k, Length: 1})
		case k == lastKey+1:
			out.PositiveSpans[len(out.PositiveSpans)-1].Length++
		default:
			out.PositiveSpans = append(out.PositiveSpans, histogram.Span{Offset: k - lastKey - 1, Length: 1})
		}
		out.PositiveBuckets = append(out.PositiveBuckets, int64(n)-prev) // delta-encoded
		prev, lastKey = int64(n), k
	}
	return out
}

// formatBound writes a bucket bound as Prometheus 3 normalises le values:
// the shortest float form, with ".0" on whole numbers ("1.0", "0.002").
func formatBound(b float64) string {
	if math.IsInf(b, 1) {
		return "+Inf"
	}
	s := strconv.FormatFloat(b, 'g', -1, 64)
	if b == math.Trunc(b) && !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}
