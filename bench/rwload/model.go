package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/prometheus/prometheus/prompb"
)

// The series model: every instance (scrape target) exposes the same 200
// series, as a typical HTTP service instrumented with client_golang does:
//
//   - http_requests_total{handler, method, code}: 5 × 2 × 2 = 20 counters;
//   - request_duration_seconds{handler, method}: 10 classic histograms of
//     10 buckets (le) plus _sum and _count, 120 series;
//   - 60 gauges and process counters: process_resident_memory_bytes,
//     process_cpu_seconds_total, process_open_fds, go_goroutines,
//     go_memstats_heap_alloc_bytes, db_connections{pool, state},
//     queue_length{queue}, cache_hit_ratio{cache}.
//
// Every series carries the target labels job, instance, namespace, pod and
// zone. Instance i belongs to job jobs[i%10] and zone zones[(i/10)%5], so
// with the default 5,000 instances every (job, zone) pair has 100
// instances: the queries of queries.go select 1,000 counters and 100
// histograms that way.

// seriesPerInstance is the number of series one instance exposes.
const seriesPerInstance = 200

// histsPerInstance is the number of histograms (and of request counters
// per code) of an instance: one per handler and method.
const histsPerInstance = 10

var (
	jobs     = []string{"api-gateway", "checkout", "inventory", "payments", "search", "catalog", "users", "orders", "shipping", "notifications"}
	zones    = []string{"zone-1", "zone-2", "zone-3", "zone-4", "zone-5"}
	handlers = []string{"/api/cart", "/api/items", "/api/login", "/api/orders", "/healthz"}
	methods  = []string{"GET", "POST"}
	codes    = []string{"200", "500"}
	// les are the upper bounds of the histogram buckets, +Inf last.
	les = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, math.Inf(1)}
)

// kind says how a series' value evolves from one scrape to the next.
type kind uint8

const (
	kRequests   kind = iota // counter of requests
	kBucket                 // cumulative histogram bucket
	kSum                    // histogram sum of observed seconds
	kCount                  // histogram count
	kCPU                    // process_cpu_seconds_total
	kRSS                    // resident bytes, a random walk in pages
	kHeap                   // heap bytes, a sawtooth
	kFDs                    // open file descriptors, a small random walk
	kGoroutines             // goroutines, a random walk
	kSmallInt               // connections, queue lengths: small integers
	kRatio                  // a ratio in [0.5, 1)
)

// seriesDef is one of the 200 series every instance exposes: its own
// labels (sorted, __name__ first) and how its value evolves.
type seriesDef struct {
	labels []prompb.Label // without the target labels
	kind   kind
	// For histogram series, hist is the histogram (0-9) and bucket the
	// bucket index into les. For request counters, hist is the handler
	// and method pair and bucket the code.
	hist, bucket int
}

// instanceSeries lists the series every instance exposes, in the order
// they are written.
var instanceSeries = buildInstanceSeries()

func lbl(name, value string) prompb.Label { return prompb.Label{Name: name, Value: value} }

func buildInstanceSeries() []seriesDef {
	var defs []seriesDef
	add := func(k kind, hist, bucket int, name string, ls ...prompb.Label) {
		defs = append(defs, seriesDef{labels: append([]prompb.Label{lbl("__name__", name)}, ls...), kind: k, hist: hist, bucket: bucket})
	}
	for h, handler := range handlers {
		for m, method := range methods {
			for c, code := range codes {
				add(kRequests, h*len(methods)+m, c, "http_requests_total", lbl("code", code), lbl("handler", handler), lbl("method", method))
			}
		}
	}
	for h, handler := range handlers {
		for m, method := range methods {
			hist := h*len(methods) + m
			for b, le := range les {
				add(kBucket, hist, b, "request_duration_seconds_bucket", lbl("handler", handler), lbl("le", formatLe(le)), lbl("method", method))
			}
			add(kSum, hist, 0, "request_duration_seconds_sum", lbl("handler", handler), lbl("method", method))
			add(kCount, hist, 0, "request_duration_seconds_count", lbl("handler", handler), lbl("method", method))
		}
	}
	add(kRSS, 0, 0, "process_resident_memory_bytes")
	add(kCPU, 0, 0, "process_cpu_seconds_total")
	add(kFDs, 0, 0, "process_open_fds")
	add(kGoroutines, 0, 0, "go_goroutines")
	add(kHeap, 0, 0, "go_memstats_heap_alloc_bytes")
	for p := range 5 {
		for _, state := range []string{"idle", "in_use"} {
			add(kSmallInt, 0, 0, "db_connections", lbl("pool", "pool-"+strconv.Itoa(p)), lbl("state", state))
		}
	}
	for q := range 20 {
		add(kSmallInt, 0, 0, "queue_length", lbl("queue", "queue-"+strconv.Itoa(q)))
	}
	for c := range 25 {
		add(kRatio, 0, 0, "cache_hit_ratio", lbl("cache", "cache-"+strconv.Itoa(c)))
	}
	if len(defs) != seriesPerInstance || len(handlers)*len(methods) != histsPerInstance {
		panic(fmt.Sprintf("instance has %d series, want %d", len(defs), seriesPerInstance))
	}
	return defs
}

func formatLe(le float64) string {
	if math.IsInf(le, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(le, 'f', -1, 64)
}

// targetLabels are the labels Prometheus's scrape adds to every series of
// instance i: job, instance, namespace, pod and zone.
func targetLabels(i int) []prompb.Label {
	job := jobs[i%len(jobs)]
	h := mix(uint64(i) + 0x9e37)
	return []prompb.Label{
		lbl("instance", fmt.Sprintf("10.%d.%d.%d:8080", 16+i/65536%16, i/256%256, i%256)),
		lbl("job", job),
		lbl("namespace", "shop"),
		lbl("pod", fmt.Sprintf("%s-%08x-%05x", job, uint32(h), uint32(h>>32)&0xfffff)),
		lbl("zone", zones[(i/len(jobs))%len(zones)]),
	}
}

// seriesLabels returns the sorted label set of series def of an instance
// with the given target labels.
func seriesLabels(target []prompb.Label, def seriesDef) []prompb.Label {
	ls := make([]prompb.Label, 0, len(def.labels)+len(target))
	ls = append(ls, def.labels...)
	ls = append(ls, target...)
	slices.SortFunc(ls, func(a, b prompb.Label) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return ls
}

// mix is splitmix64's finaliser: a cheap, well-spread hash of x.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// unit returns a number in [0, 1) fixed by its inputs: the per-series
// constants (base rates, latency profiles) of the model.
func unit(parts ...uint64) float64 {
	h := uint64(0x51af)
	for _, p := range parts {
		h = mix(h ^ p)
	}
	return float64(h>>11) / (1 << 53)
}

// instanceState is what an instance's series were at the last scrape.
type instanceState struct {
	values [seriesPerInstance]float64
	init   bool
}

// step advances instance i's series by one scrape interval of sec
// seconds, drawing noise from r, and leaves the new values in st.
func step(st *instanceState, i int, sec float64, r *rand.Rand) {
	inst := uint64(i)
	load := 0.3 + 1.4*unit(inst, 1) // how busy this instance is
	if !st.init {
		st.init = true
		for s, def := range instanceSeries {
			st.values[s] = initialValue(def, inst, uint64(s))
		}
	}
	v := &st.values
	// Requests and latency histograms: per handler and method, a rate of
	// requests, split into codes and latency buckets.
	var histCount [histsPerInstance]float64
	for hm := range histCount {
		rate := load * (0.5 + 20*unit(inst, 2, uint64(hm))) // requests per second
		n := math.Max(0, math.Round(rate*sec*(1+0.25*r.NormFloat64())))
		histCount[hm] = n
	}
	for s, def := range instanceSeries {
		switch def.kind {
		case kRequests:
			n := histCount[def.hist]
			if def.bucket == 1 { // errors: about 1% of requests, often none
				n = math.Max(0, math.Round(n*0.01+r.NormFloat64()*0.7))
			}
			v[s] += n
		case kBucket, kCount:
			// Handled per histogram below, at its _bucket{le="0.005"}.
			if def.kind != kBucket || def.bucket != 0 {
				continue
			}
			n := histCount[def.hist]
			// Latency is log-normal around a median fixed per histogram.
			median := 0.01 + 0.3*unit(inst, 3, uint64(def.hist))*unit(3, uint64(def.hist))
			prev := 0.0
			for b, le := range les {
				cum := n
				if !math.IsInf(le, 1) {
					p := 0.5 * math.Erfc(-math.Log(le/median)/(0.8*math.Sqrt2))
					cum = math.Min(n, math.Max(prev, math.Round(n*p+r.NormFloat64()*math.Sqrt(n*p*(1-p)))))
				}
				v[s+b] += cum
				prev = cum
			}
			v[s+len(les)] += n * median * 1.38 * (1 + 0.05*r.NormFloat64()) // _sum
			v[s+len(les)+1] += n                                            // _count
		case kSum:
			// Done with the buckets.
		case kCPU:
			v[s] += math.Max(0, math.Round(sec*load*0.2*(1+0.3*r.NormFloat64())*100)/100)
		case kRSS:
			v[s] = math.Max(64<<20, v[s]+float64(r.IntN(513)-256)*4096)
		case kHeap:
			v[s] = math.Round(initialValue(def, inst, uint64(s)) * (0.4 + 0.6*r.Float64()))
		case kFDs:
			v[s] = math.Max(8, v[s]+float64(r.IntN(5)-2))
		case kGoroutines:
			v[s] = math.Max(10, v[s]+float64(r.IntN(21)-10))
		case kSmallInt:
			if r.IntN(3) == 0 { // two scrapes in three see the same value
				v[s] = math.Max(0, v[s]+float64(r.IntN(5)-2))
			}
		case kRatio:
			v[s] = math.Min(0.999, math.Max(0.5, v[s]+0.01*r.NormFloat64()))
		}
	}
}

// initialValue is a series' value before the first scrape.
func initialValue(def seriesDef, inst, s uint64) float64 {
	u := unit(inst, 4, s)
	switch def.kind {
	case kRequests, kBucket, kCount:
		return 0
	case kSum, kCPU:
		return 0
	case kRSS:
		return float64(int64(100+400*u) << 20)
	case kHeap:
		return float64(int64(50+300*u) << 20)
	case kFDs:
		return math.Round(20 + 100*u)
	case kGoroutines:
		return math.Round(50 + 500*u)
	case kSmallInt:
		return math.Round(10 * u)
	case kRatio:
		return 0.8 + 0.19*u
	}
	return 0
}
