/*
Package sdk gives a Go service its telemetry in a few lines: structured JSON
logs that carry the request's correlation ID and trace ID, Prometheus
metrics with exemplars, and distributed traces that follow a request from
service to service.

It is built on the libraries a Go team would use anyway (log/slog, the
OpenTelemetry Go API and SDK, and Prometheus's client_golang) and wires them
together once, the way they are meant to fit. Everything it sets up is
theirs: slog.Default is a *slog.Logger, the tracer provider is OpenTelemetry's,
the registry is a *prometheus.Registry. Code that already uses those APIs
keeps working, and gains the correlation.

Argus (https://github.com/argus-obs/argus) receives what the SDK sends and
correlates it, but nothing here is Argus-specific: any OTLP endpoint and any
Prometheus-compatible scraper will do.

# Starting

A service calls Start once, first thing in main, and defers the shutdown it
returns:

	func main() {
		shutdown, err := sdk.Start(context.Background(), sdk.Options{ServiceName: "inventory"})
		if err != nil {
			log.Fatal(err)
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			shutdown(ctx)
		}()

		mux := http.NewServeMux()
		mux.HandleFunc("GET /stock/{sku}", stock)
		mux.Handle("GET /metrics", sdk.MetricsHandler())
		srv := &http.Server{Addr: "127.0.0.1:8081", Handler: sdk.Middleware(mux)}
		...
	}

The zero Options works: the service name then comes from OTEL_SERVICE_NAME
or OTEL_RESOURCE_ATTRIBUTES, else the executable's name, and traces and logs
go over OTLP/gRPC to an Argus on 127.0.0.1:4317, or wherever the standard
OTEL_EXPORTER_OTLP_* variables point. Start installs its pieces globally, as
slog.SetDefault does: the tracer provider (otel.SetTracerProvider), the W3C
trace-context and baggage propagators (otel.SetTextMapPropagator), the
logger provider (otel.SetLoggerProvider), and the default slog
logger.

# Logging

After Start, slog.Default writes one JSON object per record to stdout:

	{"time":"2025-06-01T12:00:00.123Z","level":"INFO","msg":"reserved","service":"inventory",
	 "sku":"sku-1","qty":2,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736",
	 "span_id":"00f067aa0ba902b7","correlation_id":"order-42"}

service is always there. trace_id, span_id and correlation_id come from the
context the record was logged with, so log with the request's context:

	slog.InfoContext(r.Context(), "reserved", "sku", sku, "qty", n)

A record logged with slog.Info (no context) has no trace_id and no
correlation_id. The same record is also exported over OTLP through the
OpenTelemetry Logs Bridge API: its trace context is set from the context, so
Argus links it to its span, and its attributes are the record's, plus
correlation_id. Groups (slog.Group, Logger.WithGroup) nest in the JSON and
become dotted attribute names over OTLP ("order.id"), as OpenTelemetry
names its attributes. Output of the standard log package goes the same way,
at level Info.

Options.LogWriter and Options.LogLevel change where the JSON goes and the
least level logged (a *slog.LevelVar changes it at run time).

# Serving HTTP

Middleware wraps a handler, usually the service's http.ServeMux. For each
request it starts a server span (continuing the caller's trace, if the
request carries a W3C traceparent header), settles the correlation ID (see
below), counts the request and observes its duration, and logs one
access-log record:

	{"time":"...","level":"INFO","msg":"http request","service":"inventory",
	 "method":"GET","route":"/stock/{sku}","path":"/stock/sku-1","status":200,
	 "duration":1250000,"bytes":2,"trace_id":"...","span_id":"...","correlation_id":"order-42"}

The duration is in nanoseconds, as slog.JSONHandler writes durations. The
route is the pattern of the ServeMux entry that matched, without its method:
"/stock/{sku}". It names the span ("GET /stock/{sku}") and labels the
metrics; the raw path never becomes a label, so a scan of random URLs
cannot create unbounded series. With a router other than http.ServeMux, the
handler names its route with SetRoute.

# Calling other services

Transport is the other half: used as an http.Client's transport, it starts
a client span for each request and sends the trace context, the baggage and
the correlation ID along, so the next service's Middleware continues both:

	client := &http.Client{Transport: sdk.Transport(nil), Timeout: 5 * time.Second}

	func checkout(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), "GET", inventoryURL+"/stock/sku-1", nil)
		resp, err := client.Do(req)
		...
	}

The outgoing request must carry the incoming request's context
(NewRequestWithContext), or there is nothing to propagate.

# Correlation IDs

A correlation ID names one request of a user across every service it
touches, including ones that do not trace. Middleware takes it from the
X-Correlation-ID header of the request or, failing that, from the
correlation_id baggage member; a request with neither gets a fresh one
(NewCorrelationID, a random UUID). An ID that is longer than
MaxCorrelationIDLen bytes, or holds anything but printable ASCII without
spaces, is never trusted: it is replaced by a fresh one, and the rejection
is counted in argus_sdk_correlation_ids_rejected_total. The ID is then

  - in the request's context: CorrelationID(r.Context());
  - in its baggage as correlation_id, which Transport (or any
    OpenTelemetry-instrumented client) carries to the next service;
  - on the server span, as the attribute correlation_id;
  - in every log record logged with the context, as correlation_id;
  - in the X-Correlation-ID header of the response, so the caller can quote it.

Work that does not start with an HTTP request (a queue consumer, a batch
job) sets one with ContextWithCorrelationID.

# Metrics

MetricsHandler serves the SDK's Prometheus registry, conventionally at
/metrics. Registry returns that registry, for the service's own metrics.
The SDK records:

	http_server_requests_total{method,route,status_class}             counter
	http_server_request_duration_seconds{method,route,status_class}   histogram
	http_client_request_duration_seconds{method,host,status_class}    histogram
	argus_sdk_correlation_ids_rejected_total{reason}                  counter
	argus_sdk_telemetry_dropped_total{signal,reason}                  counter
	argus_sdk_telemetry_exported_total{signal}                        counter
	target_info{service_name,service_version}                         gauge, 1
	go_*, process_*                                                   runtime and process

status_class is "2xx", "4xx", "5xx" and so on ("error" for a client request
that got no response). The methods are the standard ones; any other is
recorded as "_OTHER". The duration histograms have classic buckets (the
Prometheus defaults, 5 ms to 10 s) and native-histogram buckets too: a
scraper that negotiates the protobuf format, as Prometheus and Argus do with
native histograms enabled, gets both.

The request counter and the histograms carry the trace ID as an exemplar
(label trace_id), so a point on a latency graph leads to a trace. Exemplars
come from sampled spans only (whose traces are stored), and each counter
series and each histogram bucket takes at most one per second: a scraper
sees one exemplar per series or bucket per scrape, and making one is the
costliest part of recording a request. Exemplars are exposed in the
OpenMetrics format, which MetricsHandler serves to scrapers that ask for it.

# When the endpoint is down

Nothing in Start connects, and nothing on a request's path waits for the
network. Spans and log records are batched by OpenTelemetry's batch
processors; at most Options.QueueSize of each (2048 by default) wait for
export, and beyond that new ones are dropped. Those dropped at the queue,
those the exporter gave up on after its retries, and those still buffered
when shutdown's deadline passes are counted in
argus_sdk_telemetry_dropped_total by signal and reason, and a warning sums
them up on the JSON log at most once per Options.DropReportInterval (a
minute by default), however many requests are served meanwhile. The JSON
log itself never drops.

The shutdown function returned by Start flushes what is buffered, waiting no
longer than its context allows.

# Configuration

Besides Options, the SDK and the OpenTelemetry exporters read the standard
environment variables:

	OTEL_SERVICE_NAME                       the service name, unless Options has one
	OTEL_RESOURCE_ATTRIBUTES                more resource attributes: deployment.environment.name=prod,...
	OTEL_EXPORTER_OTLP_ENDPOINT             where to export, unless Options.Endpoint is set
	OTEL_EXPORTER_OTLP_{TRACES,LOGS}_ENDPOINT    the same, per signal
	OTEL_EXPORTER_OTLP_PROTOCOL             grpc or http/protobuf (also per signal)
	OTEL_EXPORTER_OTLP_HEADERS              headers of every export request (also per signal)
	OTEL_EXPORTER_OTLP_TIMEOUT              the export timeout in milliseconds (also per signal)
	OTEL_EXPORTER_OTLP_COMPRESSION          gzip (also per signal)
	OTEL_EXPORTER_OTLP_CERTIFICATE          and the other TLS variables
	OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG    the sampler (default parentbased_always_on)
	OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BLRP_MAX_QUEUE_SIZE    the queue bounds, unless Options.QueueSize is set
	OTEL_BSP_SCHEDULE_DELAY, OTEL_BLRP_SCHEDULE_DELAY    how long a batch waits to fill

# Testing

Options.SpanExporter and Options.LogExporter replace the OTLP exporters,
with in-memory ones in tests (go.opentelemetry.io/otel/sdk/trace/tracetest
has one for spans), and Options.LogWriter captures the JSON log. The shutdown
returned by Start flushes both into them.

# What this is not

It is not a replacement for OpenTelemetry or client_golang: it configures
them. It does not export metrics over OTLP (Prometheus scrapes /metrics), it
does not instrument gRPC or databases (the OpenTelemetry contrib packages
do, and their spans join the same traces), and it does not sample logs.
*/
package sdk
