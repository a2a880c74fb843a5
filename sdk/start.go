package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Options configures Start. The zero value is ready to use: it names the
// service from the environment or the executable, exports traces and logs
// over OTLP/gRPC to an Argus on 127.0.0.1:4317 (or wherever the standard
// OTEL_EXPORTER_OTLP_* variables point), and logs JSON to stdout at Info.
type Options struct {
	// ServiceName is the service.name resource attribute, and the
	// "service" field of every log line. Empty: OTEL_SERVICE_NAME, else
	// service.name in OTEL_RESOURCE_ATTRIBUTES, else the executable's name.
	ServiceName string
	// ServiceVersion is the service.version resource attribute. Empty:
	// service.version in OTEL_RESOURCE_ATTRIBUTES, if any.
	ServiceVersion string

	// Endpoint is where traces and logs are exported: a URL such as
	// "http://127.0.0.1:4317" or "https://argus.example.com:4318" (https
	// means TLS), or a bare "host:port", which means plaintext. For
	// OTLP/HTTP the signal's path (/v1/traces, /v1/logs) is appended to the
	// URL's path. Empty: the OTEL_EXPORTER_OTLP_ENDPOINT variables
	// (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, ..._LOGS_ENDPOINT) as the
	// exporters read them, else a local Argus: 127.0.0.1:4317 for gRPC,
	// 127.0.0.1:4318 for HTTP, plaintext. Headers, timeout, compression and
	// certificates always come from the standard variables.
	Endpoint string
	// Protocol is the OTLP transport: "grpc" or "http/protobuf". Empty:
	// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL / ..._LOGS_PROTOCOL, else
	// OTEL_EXPORTER_OTLP_PROTOCOL, else "grpc".
	Protocol string

	// LogWriter receives the JSON log lines. Nil: os.Stdout.
	LogWriter io.Writer
	// LogLevel is the minimum level logged, to LogWriter and over OTLP
	// alike. Nil: slog.LevelInfo. A *slog.LevelVar changes it at run time.
	LogLevel slog.Leveler

	// QueueSize bounds the spans, and separately the log records, buffered
	// for export; beyond it new ones are dropped and counted (the service
	// never blocks on telemetry). Zero: OTEL_BSP_MAX_QUEUE_SIZE for spans
	// and OTEL_BLRP_MAX_QUEUE_SIZE for log records, else 2048 each.
	QueueSize int
	// DropReportInterval is the least time between two log lines that
	// report dropped telemetry and export errors. Zero: one minute.
	DropReportInterval time.Duration

	// SpanExporter, if set, receives the spans instead of an OTLP
	// exporter: stdout in development, an in-memory exporter in tests. It
	// still sits behind the bounded batch processor, and Start's shutdown
	// shuts it down.
	SpanExporter sdktrace.SpanExporter
	// LogExporter, if set, receives the log records instead of an OTLP
	// exporter, like SpanExporter.
	LogExporter sdklog.Exporter
}

// Protocols accepted in Options.Protocol and the OTEL_EXPORTER_OTLP_*PROTOCOL
// variables.
const (
	protocolGRPC = "grpc"
	protocolHTTP = "http/protobuf"
)

// Start sets up the telemetry of a service and installs it globally, the
// way slog.SetDefault installs a logger:
//
//   - a resource naming the service (see Options.ServiceName), with the
//     attributes of OTEL_RESOURCE_ATTRIBUTES and the host name;
//   - a tracer provider exporting over OTLP through a bounded batch
//     processor, as otel.SetTracerProvider;
//   - the W3C trace-context and baggage propagators, as
//     otel.SetTextMapPropagator;
//   - a logger provider exporting over OTLP the same way, as
//     otel.SetLoggerProvider;
//   - a JSON slog logger, as slog.SetDefault, that writes to stdout and
//     exports every record through the logger provider, adding service,
//     trace_id, span_id and correlation_id from the record's context;
//   - the Go runtime, process and build-info collectors on Registry;
//   - an OpenTelemetry error handler that, with the drop counters, reports
//     export trouble at most once per Options.DropReportInterval.
//
// Nothing connects at Start: with the endpoint down, the service runs as
// usual and its telemetry is dropped beyond the queue bound and counted.
//
// Call the returned shutdown before the process exits. It flushes what is
// buffered until ctx is done, shuts the providers down, and returns
// ctx.Err() (joined with export errors) if the deadline came first; calls
// after the first return its result. It leaves the globals installed:
// spans and records after it are dropped, the JSON log keeps working.
//
// Start returns an error for a malformed Endpoint or an unsupported
// Protocol, and then installs nothing.
func Start(ctx context.Context, opts Options) (shutdown func(context.Context) error, err error) {
	res, service, err := newResource(ctx, opts)
	if err != nil {
		return nil, err
	}
	w := opts.LogWriter
	if w == nil {
		w = os.Stdout
	}
	level := opts.LogLevel
	if level == nil {
		level = slog.LevelInfo
	}
	interval := opts.DropReportInterval
	if interval <= 0 {
		interval = time.Minute
	}
	spanQueue := queueSize(opts.QueueSize, "OTEL_BSP_MAX_QUEUE_SIZE")
	logQueue := queueSize(opts.QueueSize, "OTEL_BLRP_MAX_QUEUE_SIZE")

	spanExp, logExp := opts.SpanExporter, opts.LogExporter
	if spanExp == nil {
		if spanExp, err = newSpanExporter(ctx, opts); err != nil {
			return nil, err
		}
	}
	if logExp == nil {
		if logExp, err = newLogExporter(ctx, opts); err != nil {
			_ = spanExp.Shutdown(ctx)
			return nil, err
		}
	}

	jsonHandler := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}).
		WithAttrs([]slog.Attr{slog.String("service", service)})
	rep := newReporter(slog.New(newLogHandler(jsonHandler, nil, level)), interval)
	rep.traces = newPipelineStats(signalTraces, spanQueue, rep.wake)
	rep.logs = newPipelineStats(signalLogs, logQueue, rep.wake)

	bsp := sdktrace.NewBatchSpanProcessor(&spanCounter{next: spanExp, stats: rep.traces},
		sdktrace.WithMaxQueueSize(spanQueue),
		sdktrace.WithMaxExportBatchSize(min(sdktrace.DefaultMaxExportBatchSize, spanQueue)))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSpanProcessor(&spanGate{next: bsp, stats: rep.traces}))

	blp := sdklog.NewBatchProcessor(&logCounter{next: logExp, stats: rep.logs},
		sdklog.WithMaxQueueSize(logQueue),
		sdklog.WithExportMaxBatchSize(min(512, logQueue)))
	lp := sdklog.NewLoggerProvider(
		sdklog.WithResource(res),
		// The SDK's slog bridge makes keys unique itself, more cheaply.
		sdklog.WithAllowKeyDuplication(),
		sdklog.WithProcessor(&logGate{next: blp, stats: rep.logs}))

	otel.SetErrorHandler(rep)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
		propagation.TraceContext{}, propagation.Baggage{}))
	otel.SetLoggerProvider(lp)
	slog.SetDefault(slog.New(newLogHandler(jsonHandler, lp.Logger(scopeName), level)))
	registerRuntimeMetrics()
	targetInfo.set(service, resourceValue(res, semconv.ServiceVersionKey))
	go rep.run()

	var (
		once        sync.Once
		shutdownErr error
	)
	return func(ctx context.Context) error {
		once.Do(func() {
			shutdownErr = shutdownProviders(ctx, tp, lp)
			if shutdownErr != nil {
				rep.traces.abandon()
				rep.logs.abandon()
			}
			rep.shutdown()
		})
		return shutdownErr
	}, nil
}

var errShutdownTimeout = errors.New("shutdown deadline passed before telemetry was flushed")

// shutdownProviders shuts both providers down in parallel, each flushing
// first, and returns when both are done or ctx is, whichever comes first.
func shutdownProviders(ctx context.Context, tp *sdktrace.TracerProvider, lp *sdklog.LoggerProvider) error {
	errc := make(chan error, 2)
	go func() { errc <- tp.Shutdown(ctx) }()
	go func() { errc <- lp.Shutdown(ctx) }()
	var err error
	for range 2 {
		select {
		case e := <-errc:
			err = errors.Join(err, e)
		case <-ctx.Done():
			return errors.Join(err, fmt.Errorf("%w: %w", errShutdownTimeout, context.Cause(ctx)))
		}
	}
	return err
}

// newResource makes the service's resource, and returns its service name.
// Later sources override earlier ones: the executable's name, then the
// environment (OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME), then Options.
func newResource(ctx context.Context, opts Options) (*resource.Resource, string, error) {
	var given []resource.Option
	if opts.ServiceName != "" {
		given = append(given, resource.WithAttributes(semconv.ServiceName(opts.ServiceName)))
	}
	if opts.ServiceVersion != "" {
		given = append(given, resource.WithAttributes(semconv.ServiceVersion(opts.ServiceVersion)))
	}
	res, err := resource.New(ctx, append([]resource.Option{
		resource.WithTelemetrySDK(),
		resource.WithHost(),
		resource.WithAttributes(semconv.ServiceName(executableName())),
		resource.WithFromEnv(),
	}, given...)...)
	if err != nil && res == nil {
		return nil, "", fmt.Errorf("resource: %w", err)
	}
	// A partial resource (say, a malformed OTEL_RESOURCE_ATTRIBUTES entry)
	// is still the best description of the service: use it.
	if err != nil {
		otel.Handle(fmt.Errorf("resource: %w", err))
	}
	return res, resourceValue(res, semconv.ServiceNameKey), nil
}

func resourceValue(res *resource.Resource, key attribute.Key) string {
	v, _ := res.Set().Value(key)
	return v.AsString()
}

func executableName() string {
	exe, err := os.Executable()
	if err != nil || exe == "" {
		exe = os.Args[0]
	}
	name := strings.TrimSuffix(filepath.Base(exe), ".exe")
	if name == "" || name == "." || name == string(filepath.Separator) {
		return "unknown_service"
	}
	return name
}

func queueSize(opt int, env string) int {
	if opt > 0 {
		return opt
	}
	if n, err := strconv.Atoi(strings.TrimSpace(os.Getenv(env))); err == nil && n > 0 {
		return n
	}
	return sdktrace.DefaultMaxQueueSize
}

// protocol resolves the OTLP protocol of a signal ("TRACES", "LOGS").
func protocol(opt, signal string) (string, error) {
	p := opt
	if p == "" {
		p = os.Getenv("OTEL_EXPORTER_OTLP_" + signal + "_PROTOCOL")
	}
	if p == "" {
		p = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch strings.TrimSpace(p) {
	case "", protocolGRPC:
		return protocolGRPC, nil
	case protocolHTTP, "http":
		return protocolHTTP, nil
	}
	return "", fmt.Errorf("otlp protocol %q: want %q or %q", p, protocolGRPC, protocolHTTP)
}

// endpoint is where a signal is exported when the exporter is not left to
// read the environment.
type endpoint struct {
	hostport string
	path     string // URL path prefix, for HTTP
	insecure bool
}

// resolveEndpoint returns the endpoint to configure explicitly, or ok false
// when the environment names one and the exporter should read it.
func resolveEndpoint(opt, signal, proto string) (ep endpoint, ok bool, err error) {
	if opt == "" {
		if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" ||
			os.Getenv("OTEL_EXPORTER_OTLP_"+signal+"_ENDPOINT") != "" {
			return endpoint{}, false, nil
		}
		// A local Argus: its OTLP listeners are plaintext on loopback.
		if proto == protocolGRPC {
			return endpoint{hostport: "127.0.0.1:4317", insecure: true}, true, nil
		}
		return endpoint{hostport: "127.0.0.1:4318", insecure: true}, true, nil
	}
	raw := opt
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, false, fmt.Errorf("endpoint %q: %w", opt, err)
	}
	if u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return endpoint{}, false, fmt.Errorf("endpoint %q: want http://host:port, https://host:port or host:port", opt)
	}
	return endpoint{hostport: u.Host, path: strings.TrimSuffix(u.Path, "/"), insecure: u.Scheme == "http"}, true, nil
}

func newSpanExporter(ctx context.Context, opts Options) (sdktrace.SpanExporter, error) {
	proto, err := protocol(opts.Protocol, "TRACES")
	if err != nil {
		return nil, err
	}
	ep, explicit, err := resolveEndpoint(opts.Endpoint, "TRACES", proto)
	if err != nil {
		return nil, err
	}
	if proto == protocolGRPC {
		var o []otlptracegrpc.Option
		if explicit {
			o = append(o, otlptracegrpc.WithEndpoint(ep.hostport))
			if ep.insecure {
				o = append(o, otlptracegrpc.WithInsecure())
			}
		}
		return otlptracegrpc.New(ctx, o...)
	}
	var o []otlptracehttp.Option
	if explicit {
		o = append(o, otlptracehttp.WithEndpoint(ep.hostport), otlptracehttp.WithURLPath(ep.path+"/v1/traces"))
		if ep.insecure {
			o = append(o, otlptracehttp.WithInsecure())
		}
	}
	return otlptracehttp.New(ctx, o...)
}

func newLogExporter(ctx context.Context, opts Options) (sdklog.Exporter, error) {
	proto, err := protocol(opts.Protocol, "LOGS")
	if err != nil {
		return nil, err
	}
	ep, explicit, err := resolveEndpoint(opts.Endpoint, "LOGS", proto)
	if err != nil {
		return nil, err
	}
	if proto == protocolGRPC {
		var o []otlploggrpc.Option
		if explicit {
			o = append(o, otlploggrpc.WithEndpoint(ep.hostport))
			if ep.insecure {
				o = append(o, otlploggrpc.WithInsecure())
			}
		}
		return otlploggrpc.New(ctx, o...)
	}
	var o []otlploghttp.Option
	if explicit {
		o = append(o, otlploghttp.WithEndpoint(ep.hostport), otlploghttp.WithURLPath(ep.path+"/v1/logs"))
		if ep.insecure {
			o = append(o, otlploghttp.WithInsecure())
		}
	}
	return otlploghttp.New(ctx, o...)
}
