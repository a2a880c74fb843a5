package otlp

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store/storetest"
)

// sendLogsWithSDK emits two records inside a span's context through the
// OpenTelemetry Go SDK's log exporter, the client most Go services will
// point at Argus: a plain line and one with a map body. It then checks
// that sink, the receiver's store, holds both as they were sent.
func sendLogsWithSDK(t *testing.T, exp sdklog.Exporter, sink *storetest.LogSink) {
	t.Helper()
	res := resource.NewSchemaless(attribute.String("service.name", "sdk-test"))
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)), sdklog.WithResource(res))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID(testTraceID), SpanID: trace.SpanID(testSpanID), TraceFlags: trace.FlagsSampled,
	}))

	l := lp.Logger("argus/otlp_test", otellog.WithInstrumentationVersion("0.1"))
	var line otellog.Record
	line.SetTimestamp(time.Unix(0, testStart))
	line.SetSeverity(otellog.SeverityError)
	line.SetSeverityText("ERROR")
	line.SetBody(attribute.StringValue("checkout failed"))
	line.AddAttributes(attribute.String("requestId", "r-9"), attribute.Int("attempt", 2))
	l.Emit(ctx, line)

	var structured otellog.Record
	structured.SetTimestamp(time.Unix(0, testEnd))
	structured.SetBody(attribute.MapValue(attribute.String("msg", "retrying"), attribute.Int("in_ms", 250)))
	l.Emit(ctx, structured)

	if err := lp.Shutdown(ctx); err != nil {
		t.Fatalf("SDK export: %v", err)
	}
	checkSDKLogs(t, sink)
}

func checkSDKLogs(t *testing.T, sink *storetest.LogSink) {
	t.Helper()
	got := sink.Records()
	if len(got) != 2 {
		t.Fatalf("stored %d records, want 2", len(got))
	}
	line, structured := got[0], got[1]
	if line.Body != "checkout failed" || line.Level() != "error" || line.SeverityText != "ERROR" || line.TimeUnixNano != testStart {
		t.Errorf("line %+v", line)
	}
	if v, _ := model.Lookup(line.Attributes, "attempt"); v != "2" || line.CorrelationID != "r-9" {
		t.Errorf("attributes %v, correlation ID %q", line.Attributes, line.CorrelationID)
	}
	// The SDK sorts map keys; the receiver keeps the order it is sent.
	if structured.Body != `{"in_ms":250,"msg":"retrying"}` {
		t.Errorf("map body stored as %q", structured.Body)
	}
	for _, rec := range got {
		if rec.TraceID != model.TraceID(testTraceID) || rec.SpanID != model.SpanID(testSpanID) || rec.Flags != 1 {
			t.Errorf("trace context %v/%v/%d", rec.TraceID, rec.SpanID, rec.Flags)
		}
		if rec.Resource.ServiceName != "sdk-test" || rec.Scope != (model.Scope{Name: "argus/otlp_test", Version: "0.1"}) {
			t.Errorf("resource %+v scope %+v", rec.Resource, rec.Scope)
		}
		if rec.ObservedUnixNano == 0 {
			t.Errorf("no observed time: %+v", rec)
		}
	}
}

func TestOTelSDKLogsOverHTTP(t *testing.T) {
	for _, compression := range []otlploghttp.Compression{otlploghttp.NoCompression, otlploghttp.GzipCompression} {
		sink := &storetest.LogSink{}
		r, _ := newLogsReceiver(t, sink, LogsOptions{})
		mux := http.NewServeMux()
		mux.Handle("POST /v1/logs", r)
		srv := httptest.NewServer(mux)
		defer srv.Close()

		exp, err := otlploghttp.New(context.Background(),
			otlploghttp.WithEndpointURL(srv.URL+"/v1/logs"),
			otlploghttp.WithCompression(compression))
		if err != nil {
			t.Fatal(err)
		}
		sendLogsWithSDK(t, exp, sink)
	}
}

func TestOTelSDKLogsOverGRPC(t *testing.T) {
	sink := &storetest.LogSink{}
	r, _ := newLogsReceiver(t, sink, LogsOptions{})
	srv := grpc.NewServer()
	plogotlp.RegisterGRPCServer(srv, r.GRPCServer())
	// The exporter dials by address, so the server needs a real port.
	// dialServer serves it until the test ends; its own client goes unused.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dialServer(t, srv, lis)

	exp, err := otlploggrpc.New(context.Background(),
		otlploggrpc.WithEndpoint(lis.Addr().String()),
		otlploggrpc.WithInsecure(),
		otlploggrpc.WithCompressor("gzip"))
	if err != nil {
		t.Fatal(err)
	}
	sendLogsWithSDK(t, exp, sink)
}
