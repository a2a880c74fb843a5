package sdk_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/argus-obs/argus/sdk"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// A service's main: start the SDK, serve through Middleware, expose
// /metrics, call other services through Transport, and shut down cleanly.
func Example() {
	shutdown, err := sdk.Start(context.Background(), sdk.Options{
		ServiceName:    "frontend",
		ServiceVersion: "1.4.0",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdown(ctx); err != nil {
			slog.Warn("telemetry shutdown", "err", err)
		}
	}()

	inventory := &http.Client{Transport: sdk.Transport(nil), Timeout: 5 * time.Second}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /products/{id}", func(w http.ResponseWriter, r *http.Request) {
		// The outgoing request carries the incoming one's context: the
		// trace, the baggage and the correlation ID go with it.
		req, _ := http.NewRequestWithContext(r.Context(), "GET",
			"http://127.0.0.1:8081/stock/"+r.PathValue("id"), nil)
		resp, err := inventory.Do(req)
		if err != nil {
			slog.ErrorContext(r.Context(), "stock check failed", "err", err)
			http.Error(w, "inventory unavailable", http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		slog.InfoContext(r.Context(), "stock checked", "product", r.PathValue("id"))
		io.Copy(w, resp.Body)
	})
	mux.Handle("GET /metrics", sdk.MetricsHandler())

	srv := &http.Server{
		Addr:              "127.0.0.1:8080",
		Handler:           sdk.Middleware(mux),
		ReadHeaderTimeout: 5 * time.Second,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Shutdown(context.Background())
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		slog.Error("serve", "err", err)
	}
}

// Start with the zero Options: the service is named after the executable
// (or OTEL_SERVICE_NAME), and exports to a local Argus (or to
// OTEL_EXPORTER_OTLP_ENDPOINT).
func ExampleStart() {
	shutdown, err := sdk.Start(context.Background(), sdk.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer shutdown(context.Background())

	slog.Info("started") // a JSON line on stdout, and an OTLP log record
}

// Middleware gives each request a correlation ID, a server span, RED
// metrics and an access-log line carrying all three.
func ExampleMiddleware() {
	var out bytes.Buffer
	shutdown, _ := sdk.Start(context.Background(), sdk.Options{
		ServiceName:  "inventory",
		LogWriter:    &out,
		SpanExporter: tracetest.NewInMemoryExporter(), // instead of OTLP, to keep the example offline
		LogExporter:  discardLogs{},
	})
	defer shutdown(context.Background())

	mux := http.NewServeMux()
	mux.HandleFunc("GET /example/stock/{sku}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("handler sees correlation ID", sdk.CorrelationID(r.Context()))
		slog.InfoContext(r.Context(), "stock read", "sku", r.PathValue("sku"))
		io.WriteString(w, "7")
	})
	handler := sdk.Middleware(mux)

	req := httptest.NewRequest("GET", "/example/stock/sku-1", nil)
	req.Header.Set("X-Correlation-ID", "order-42")
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println("response header", rec.Header().Get("X-Correlation-ID"))

	// The log lines, less their time and random IDs.
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var l map[string]any
		json.Unmarshal(sc.Bytes(), &l)
		fmt.Println(l["msg"], l["service"], l["correlation_id"], l["sku"], l["route"], l["status"],
			"trace_id:", len(l["trace_id"].(string)) == 32)
	}
	// Output:
	// handler sees correlation ID order-42
	// response header order-42
	// stock read inventory order-42 sku-1 <nil> <nil> trace_id: true
	// http request inventory order-42 <nil> /example/stock/{sku} 200 trace_id: true
}

// Transport carries the trace, the baggage and the correlation ID to the
// next service.
func ExampleTransport() {
	shutdown, _ := sdk.Start(context.Background(), sdk.Options{
		LogWriter:    io.Discard,
		SpanExporter: tracetest.NewInMemoryExporter(),
		LogExporter:  discardLogs{},
	})
	defer shutdown(context.Background())

	backend := httptest.NewServer(sdk.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("backend: correlation ID", sdk.CorrelationID(r.Context()))
		fmt.Println("backend: has traceparent", r.Header.Get("Traceparent") != "")
		fmt.Println("backend: baggage", r.Header.Get("Baggage"))
	})))
	defer backend.Close()

	client := &http.Client{Transport: sdk.Transport(nil)}
	frontend := sdk.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), "GET", backend.URL, nil)
		resp, err := client.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp.Body.Close()
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("X-Correlation-ID", "order-42")
	frontend.ServeHTTP(httptest.NewRecorder(), req)
	// Output:
	// backend: correlation ID order-42
	// backend: has traceparent true
	// backend: baggage correlation_id=order-42
}

// Outside an HTTP request, a job sets the correlation ID it works under;
// its logs, spans and outgoing calls carry it.
func ExampleContextWithCorrelationID() {
	ctx := sdk.ContextWithCorrelationID(context.Background(), "nightly-export-2025-06-01")
	fmt.Println(sdk.CorrelationID(ctx))
	// Output: nightly-export-2025-06-01
}

// Which correlation IDs Middleware accepts from a caller.
func ExampleValidCorrelationID() {
	for _, id := range []string{"order-42", "7f9c2a1e-3b4d-4e5f-8a6b-1c2d3e4f5a6b", "has space", "line\nbreak", strings.Repeat("x", 129)} {
		fmt.Println(sdk.ValidCorrelationID(id))
	}
	// Output:
	// true
	// true
	// false
	// false
	// false
}

// With a router other than http.ServeMux, the handler names its route, so
// that metrics and spans are labelled by it and not by the raw path.
func ExampleSetRoute() {
	var out bytes.Buffer
	shutdown, _ := sdk.Start(context.Background(), sdk.Options{
		LogWriter:    &out,
		SpanExporter: tracetest.NewInMemoryExporter(),
		LogExporter:  discardLogs{},
	})
	defer shutdown(context.Background())

	handler := sdk.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A router of its own matched "/example/users/:id".
		sdk.SetRoute(r.Context(), "/example/users/:id")
		fmt.Println("span:", trace.SpanFromContext(r.Context()).SpanContext().IsValid())
	}))
	handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/example/users/17", nil))

	var l map[string]any
	json.Unmarshal(out.Bytes(), &l)
	fmt.Println(l["route"], l["path"])
	// Output:
	// span: true
	// /example/users/:id /example/users/17
}

// MetricsHandler serves the request metrics (with exemplars to an
// OpenMetrics scraper) and whatever the service registers on Registry.
func ExampleMetricsHandler() {
	shutdown, _ := sdk.Start(context.Background(), sdk.Options{
		LogWriter:    io.Discard,
		SpanExporter: tracetest.NewInMemoryExporter(),
		LogExporter:  discardLogs{},
	})
	defer shutdown(context.Background())

	mux := http.NewServeMux()
	mux.HandleFunc("GET /example/hello", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi") })
	handler := sdk.Middleware(mux)
	for range 3 {
		handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/example/hello", nil))
	}

	rec := httptest.NewRecorder()
	sdk.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if strings.Contains(line, `route="/example/hello"`) && !strings.Contains(line, "_bucket") && !strings.Contains(line, "_sum") {
			fmt.Println(line)
		}
	}
	// Output:
	// http_server_request_duration_seconds_count{method="GET",route="/example/hello",status_class="2xx"} 3
	// http_server_requests_total{method="GET",route="/example/hello",status_class="2xx"} 3
}

// A service registers its own metrics on the SDK's registry, so one scrape
// returns them with the SDK's.
func ExampleRegistry() {
	orders := promauto.With(sdk.Registry()).NewCounterVec(prometheus.CounterOpts{
		Name: "example_orders_total",
		Help: "Orders placed, by payment method.",
	}, []string{"payment"})
	orders.WithLabelValues("card").Inc()

	rec := httptest.NewRecorder()
	sdk.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, "example_orders_total") {
			fmt.Println(line)
		}
	}
	// Output: example_orders_total{payment="card"} 1
}

// discardLogs is an sdklog.Exporter that drops every record, so that the
// examples (and the benchmarks) need no OTLP endpoint.
type discardLogs struct{}

func (discardLogs) Export(context.Context, []sdklog.Record) error { return nil }
func (discardLogs) Shutdown(context.Context) error                { return nil }
func (discardLogs) ForceFlush(context.Context) error              { return nil }
