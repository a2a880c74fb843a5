package sdk_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/argus-obs/argus/sdk"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// The per-request cost of the instrumentation (wall time, and CPU time of
// the whole process, which includes the batch processors' goroutines and
// the garbage collector), measured by calling
// ServeHTTP in-process (no network), for three stacks serving the same
// ServeMux route "GET /items/{id}":
//
//   - bare: the ServeMux alone;
//   - sdk: sdk.Middleware after sdk.Start, exporting spans and log records
//     through the real batch processors into exporters that discard them,
//     the JSON log written to io.Discard;
//   - handwired: what a team wires by hand from the same libraries:
//     otelhttp.NewHandler with a tracer provider of the same kind, an
//     access-log middleware writing the same JSON line (trace_id, span_id,
//     service) through slog, and promhttp's InstrumentHandlerCounter and
//     InstrumentHandlerDuration, curried per route, with trace_id
//     exemplars, into histograms with the same classic and native buckets.
//
// The sdk stack does more than the hand-wired one: it also manages the
// correlation ID (generated here, as no request carries one), puts it in
// baggage, and exports every log record over OTLP.
func BenchmarkMiddleware(b *testing.B) {
	item := func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }
	b.Run("bare", func(b *testing.B) {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /items/{id}", item)
		serve(b, mux)
	})
	b.Run("sdk", func(b *testing.B) {
		shutdown, err := sdk.Start(context.Background(), sdk.Options{
			ServiceName:  "bench",
			SpanExporter: tracetest.NewNoopExporter(),
			LogExporter:  discardLogs{},
			LogWriter:    io.Discard,
		})
		if err != nil {
			b.Fatal(err)
		}
		defer shutdown(context.Background())
		mux := http.NewServeMux()
		mux.HandleFunc("GET /items/{id}", item)
		serve(b, sdk.Middleware(mux))
	})
	b.Run("handwired", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		defer tp.Shutdown(context.Background())
		prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
		logger := slog.New(slog.NewJSONHandler(io.Discard, nil)).With("service", "bench")
		reg := prometheus.NewRegistry()
		requests := prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_server_requests_total", Help: "Requests.",
		}, []string{"route", "method", "code"})
		duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "http_server_request_duration_seconds", Help: "Latency.",
			Buckets:                     prometheus.DefBuckets,
			NativeHistogramBucketFactor: 1.1, NativeHistogramMaxBucketNumber: 160,
			NativeHistogramMinResetDuration: time.Hour,
		}, []string{"route", "method", "code"})
		reg.MustRegister(requests, duration)
		exemplar := promhttp.WithExemplarFromContext(func(ctx context.Context) prometheus.Labels {
			if sc := trace.SpanContextFromContext(ctx); sc.IsSampled() {
				return prometheus.Labels{"trace_id": sc.TraceID().String()}
			}
			return nil
		})
		route := func(pattern, route string, h http.HandlerFunc) (string, http.Handler) {
			l := prometheus.Labels{"route": route}
			return pattern, promhttp.InstrumentHandlerCounter(requests.MustCurryWith(l),
				promhttp.InstrumentHandlerDuration(duration.MustCurryWith(l), h, exemplar), exemplar)
		}
		mux := http.NewServeMux()
		mux.Handle(route("GET /items/{id}", "/items/{id}", item))
		h := otelhttp.NewHandler(accessLog(logger, mux), "server",
			otelhttp.WithTracerProvider(tp), otelhttp.WithPropagators(prop))
		serve(b, h)
	})
}

// accessLog is the access-log middleware a team writes by hand.
func accessLog(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		sc := trace.SpanContextFromContext(r.Context())
		logger.LogAttrs(r.Context(), slog.LevelInfo, "http request",
			slog.String("method", r.Method),
			slog.String("route", r.Pattern),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Duration("duration", time.Since(start)),
			slog.Int64("bytes", sw.bytes),
			slog.String("trace_id", sc.TraceID().String()),
			slog.String("span_id", sc.SpanID().String()))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }
func (w *statusWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func serve(b *testing.B, h http.Handler) {
	req := httptest.NewRequest("GET", "/items/42", nil)
	req.Header.Set("User-Agent", "bench")
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}
	// CPU time per request, background goroutines (batch processors, GC)
	// included: on a shared machine it varies less than wall time.
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	}
}

// discardWriter is the cheapest ResponseWriter, so that the benchmark
// measures the handlers.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// TestMiddlewareAllocs holds the middleware to its allocation budget: the
// steady-state cost of one request through sdk.Middleware, counting the
// span, the access-log record on stdout and over OTLP, the correlation ID
// and its baggage, and the metrics (BenchmarkMiddleware/handwired, the
// same work wired by hand, makes 69).
func TestMiddlewareAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	shutdown, err := sdk.Start(context.Background(), sdk.Options{
		SpanExporter: tracetest.NewNoopExporter(),
		LogExporter:  discardLogs{},
		LogWriter:    io.Discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /allocs/{id}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	h := sdk.Middleware(mux)
	req := httptest.NewRequest("GET", "/allocs/1", nil)
	w := &discardWriter{h: http.Header{}}
	const budget = 34
	if n := testing.AllocsPerRun(200, func() {
		clear(w.h)
		h.ServeHTTP(w, req)
	}); n > budget {
		t.Errorf("%v allocations per request, budget %d", n, budget)
	}
}
