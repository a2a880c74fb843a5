package sdk

import (
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// exemplarInterval is the least time between two exemplars of one counter
// series, or of one bucket of a histogram series. A scraper reads at most
// one exemplar per counter and per classic bucket per scrape (every 15 s to
// 1 min, typically), so an exemplar replaced sooner than that is never
// seen; the first request of a series, or of a bucket, after the interval
// gets one. Making an exemplar costs client_golang eight allocations, so
// attaching one to every request would be the most expensive part of the
// middleware for no information.
const exemplarInterval = int64(time.Second)

// seriesKey names one series of the request metrics: method, route (host
// for the client) and status class.
type seriesKey struct {
	method, route, class string
}

// series is one label set's children of the request counter and duration
// histogram, and when each last got an exemplar.
type series struct {
	count       prometheus.Counter // nil for the client, which has no counter
	dur         prometheus.Observer
	countEx     atomic.Int64   // unix nanoseconds of the counter's last exemplar
	bucketEx    []atomic.Int64 // same, per classic bucket, +Inf last
	bucketUpper []float64
}

// observe counts a request that took secs, ending at now (unix
// nanoseconds). traceID is called for an exemplar, and is nil when the
// request's span is not sampled (its trace will not be stored).
func (s *series) observe(secs float64, now int64, traceID func() string) {
	var ex prometheus.Labels
	exemplar := func() prometheus.Labels {
		if ex == nil {
			ex = prometheus.Labels{"trace_id": traceID()}
		}
		return ex
	}
	if s.count != nil {
		if traceID != nil && claim(&s.countEx, now) {
			s.count.(prometheus.ExemplarAdder).AddWithExemplar(1, exemplar())
		} else {
			s.count.Inc()
		}
	}
	if traceID != nil && claim(&s.bucketEx[sort.SearchFloat64s(s.bucketUpper, secs)], now) {
		s.dur.(prometheus.ExemplarObserver).ObserveWithExemplar(secs, exemplar())
	} else {
		s.dur.Observe(secs)
	}
}

// claim reports whether an exemplar is due at now, and if so records now.
func claim(last *atomic.Int64, now int64) bool {
	prev := last.Load()
	return now-prev >= exemplarInterval && last.CompareAndSwap(prev, now)
}

// seriesCache maps label sets to their series. Reads take no lock: the
// map is replaced, never modified, when a label set is first seen, which
// happens a bounded number of times (routes x methods x classes).
type seriesCache struct {
	counter *prometheus.CounterVec // nil: no counter
	hist    *prometheus.HistogramVec
	buckets []float64

	m  atomic.Pointer[map[seriesKey]*series]
	mu sync.Mutex // serializes the replacements of m
}

func (c *seriesCache) get(k seriesKey) *series {
	if m := c.m.Load(); m != nil {
		if s, ok := (*m)[k]; ok {
			return s
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var old map[seriesKey]*series
	if m := c.m.Load(); m != nil {
		old = *m
		if s, ok := old[k]; ok {
			return s
		}
	}
	s := &series{
		dur:         c.hist.WithLabelValues(k.method, k.route, k.class),
		bucketEx:    make([]atomic.Int64, len(c.buckets)+1),
		bucketUpper: c.buckets,
	}
	if c.counter != nil {
		s.count = c.counter.WithLabelValues(k.method, k.route, k.class)
	}
	// Exemplars are due at once.
	s.countEx.Store(-exemplarInterval)
	for i := range s.bucketEx {
		s.bucketEx[i].Store(-exemplarInterval)
	}
	m := make(map[seriesKey]*series, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[k] = s
	c.m.Store(&m)
	return s
}

var (
	serverSeries = &seriesCache{counter: serverRequests, hist: serverDuration, buckets: slices.Clone(prometheus.DefBuckets)}
	clientSeries = &seriesCache{hist: clientDuration, buckets: slices.Clone(prometheus.DefBuckets)}
)
