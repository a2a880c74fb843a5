package otlp

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store/memstore"
)

// sendWithSDK exports a parent and a child span through the OpenTelemetry
// Go SDK's exporter, the client most Go services will point at Argus.
func sendWithSDK(t *testing.T, exp sdktrace.SpanExporter) model.TraceID {
	t.Helper()
	res := resource.NewSchemaless(attribute.String("service.name", "sdk-test"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(res))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	tr := tp.Tracer("argus/otlp_test", trace.WithInstrumentationVersion("0.1"))
	ctx, parent := tr.Start(ctx, "parent", trace.WithSpanKind(trace.SpanKindServer))
	_, child := tr.Start(ctx, "child", trace.WithAttributes(attribute.Int("n", 7)))
	child.End()
	parent.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("SDK export: %v", err)
	}
	return model.TraceID(parent.SpanContext().TraceID())
}

func checkSDKTrace(t *testing.T, traces *memstore.Traces, id model.TraceID) {
	t.Helper()
	spans, err := traces.GetTrace(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 2 {
		t.Fatalf("stored %d spans, want 2", len(spans))
	}
	byName := map[string]model.Span{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	parent, child := byName["parent"], byName["child"]
	if child.ParentSpanID != parent.SpanID || parent.Kind != model.SpanKindServer {
		t.Errorf("parent/child not linked: %+v / %+v", parent, child)
	}
	if v, _ := model.Lookup(child.Attributes, "n"); v != "7" {
		t.Errorf("child attribute n = %q, want 7", v)
	}
	if parent.Resource.ServiceName != "sdk-test" || parent.Scope != (model.Scope{Name: "argus/otlp_test", Version: "0.1"}) {
		t.Errorf("resource %+v scope %+v", parent.Resource, parent.Scope)
	}
}

func TestOTelSDKOverHTTP(t *testing.T) {
	for _, compression := range []otlptracehttp.Compression{otlptracehttp.NoCompression, otlptracehttp.GzipCompression} {
		traces := memstore.NewTraces()
		r, _ := newReceiver(t, traces, Options{})
		mux := http.NewServeMux()
		mux.Handle("/v1/traces", r)
		srv := httptest.NewServer(mux)
		defer srv.Close()

		exp, err := otlptracehttp.New(context.Background(),
			otlptracehttp.WithEndpointURL(srv.URL+"/v1/traces"),
			otlptracehttp.WithCompression(compression))
		if err != nil {
			t.Fatal(err)
		}
		checkSDKTrace(t, traces, sendWithSDK(t, exp))
	}
}

func TestOTelSDKOverGRPC(t *testing.T) {
	traces := memstore.NewTraces()
	r, _ := newReceiver(t, traces, Options{})
	srv := grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(srv, r.GRPCServer())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	exp, err := otlptracegrpc.New(context.Background(),
		otlptracegrpc.WithEndpoint(lis.Addr().String()),
		otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithCompressor("gzip"))
	if err != nil {
		t.Fatal(err)
	}
	checkSDKTrace(t, traces, sendWithSDK(t, exp))
}
