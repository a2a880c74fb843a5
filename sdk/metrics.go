package sdk

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The SDK keeps its Prometheus metrics in one registry of its own, the way
// log/slog keeps one default logger: Middleware, Transport and Start record
// into it, MetricsHandler serves it, and Registry hands it to the service
// for its own metrics. A registry of its own (rather than
// prometheus.DefaultRegisterer) means a scrape of /metrics returns exactly
// what the SDK and the service registered, with no duplicate go_* families
// from a library that registered on the default registry.
var registry = prometheus.NewRegistry()

// Label values of status_class. Every status maps to one of a handful of
// values, so the class is a bounded label where the code would not be.
var statusClasses = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

// statusClassError is the status_class of a client request that got no
// response at all (connection refused, timeout, canceled).
const statusClassError = "error"

func statusClass(code int) string {
	if code >= 100 && code < 600 {
		return statusClasses[code/100-1]
	}
	return "other"
}

// nativeHistogram sets the native (sparse) histogram parameters shared by
// the SDK's latency histograms. Classic buckets stay too: a scraper that
// negotiates the protobuf format gets both, one that reads text gets the
// classic ones.
func nativeHistogram(o prometheus.HistogramOpts) prometheus.HistogramOpts {
	o.NativeHistogramBucketFactor = 1.1
	o.NativeHistogramMaxBucketNumber = 160
	o.NativeHistogramMinResetDuration = time.Hour
	return o
}

var (
	serverRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_server_requests_total",
		Help: "HTTP requests served, by method, route and status class.",
	}, []string{"method", "route", "status_class"})

	serverDuration = prometheus.NewHistogramVec(nativeHistogram(prometheus.HistogramOpts{
		Name:    "http_server_request_duration_seconds",
		Help:    "Time to serve an HTTP request, from its arrival to the handler's return.",
		Buckets: prometheus.DefBuckets,
	}), []string{"method", "route", "status_class"})

	clientDuration = prometheus.NewHistogramVec(nativeHistogram(prometheus.HistogramOpts{
		Name:    "http_client_request_duration_seconds",
		Help:    "Time from sending an HTTP request to receiving its response headers, by method, server host and status class (\"error\" when no response came).",
		Buckets: prometheus.DefBuckets,
	}), []string{"method", "host", "status_class"})

	correlationRejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "argus_sdk_correlation_ids_rejected_total",
		Help: "Incoming correlation IDs that were malformed and replaced by a fresh one, by reason.",
	}, []string{"reason"})

	telemetryDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "argus_sdk_telemetry_dropped_total",
		Help: "Spans and log records that never reached the OTLP endpoint, by signal and reason (queue_full, export_failed, shutdown).",
	}, []string{"signal", "reason"})

	telemetryExported = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "argus_sdk_telemetry_exported_total",
		Help: "Spans and log records accepted by the OTLP endpoint, by signal.",
	}, []string{"signal"})
)

// Children resolved once, so the hot paths that count rejections and drops
// do no label lookup.
var (
	rejectedTooLong = correlationRejected.WithLabelValues(reasonTooLong)
	rejectedInvalid = correlationRejected.WithLabelValues(reasonInvalid)
)

func init() {
	registry.MustRegister(serverRequests, serverDuration, clientDuration,
		correlationRejected, telemetryDropped, telemetryExported, targetInfo)
}

// Registry returns the Prometheus registry the SDK records into and
// MetricsHandler serves. Register the service's own metrics on it so that
// one scrape of /metrics returns them alongside the SDK's:
//
//	orders := promauto.With(sdk.Registry()).NewCounter(prometheus.CounterOpts{
//		Name: "shop_orders_total", Help: "Orders placed.",
//	})
//
// It is safe for concurrent use.
func Registry() *prometheus.Registry { return registry }

var metricsHandler = sync.OnceValue(func() http.Handler {
	return promhttp.HandlerFor(registry, promhttp.HandlerOpts{
		// OpenMetrics is negotiated when the scraper asks for it; it is the
		// text format that carries exemplars. Protobuf, which carries native
		// histograms, is negotiated the same way.
		EnableOpenMetrics: true,
		ErrorHandling:     promhttp.ContinueOnError,
		// Bound the cost of a scrape storm.
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	})
})

// MetricsHandler returns the handler that exposes the SDK's registry for
// scraping, conventionally mounted at /metrics:
//
//	mux.Handle("GET /metrics", sdk.MetricsHandler())
//
// It speaks the Prometheus text format, OpenMetrics (which carries the
// trace_id exemplars) and the protobuf format (which carries native
// histograms), whichever the scraper's Accept header prefers. Every call
// returns the same handler.
func MetricsHandler() http.Handler { return metricsHandler() }

// registerRuntimeMetrics adds the Go runtime, process and build-info
// collectors. Start calls it; registering twice is harmless.
var registerRuntimeMetrics = sync.OnceFunc(func() {
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	} {
		var are prometheus.AlreadyRegisteredError
		if err := registry.Register(c); err != nil && !errors.As(err, &are) {
			panic(err) // a programming error: collectors with conflicting descriptors
		}
	}
})

// targetInfo exposes the resource of the running service the way the
// OpenTelemetry-to-Prometheus conventions do (one target_info series, value
// 1, resource attributes as labels), so scraped metrics can be joined to the
// service's traces and logs.
var targetInfo = &infoCollector{desc: prometheus.NewDesc("target_info",
	"Target metadata: the service name and version of the process.",
	[]string{"service_name", "service_version"}, nil)}

type infoCollector struct {
	desc          *prometheus.Desc
	mu            sync.Mutex // guards name, version
	name, version string
}

func (c *infoCollector) set(name, version string) {
	c.mu.Lock()
	c.name, c.version = name, version
	c.mu.Unlock()
}

func (c *infoCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *infoCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	name, version := c.name, c.version
	c.mu.Unlock()
	if name == "" {
		return // Start has not run
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, 1, name, version)
}
