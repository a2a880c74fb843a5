package e2e

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// Jaeger's JSON, as much of it as the tests read.
type jaegerResponse[T any] struct {
	Data   T `json:"data"`
	Errors []struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	} `json:"errors"`
}

type jaegerTrace struct {
	TraceID   string                   `json:"traceID"`
	Spans     []jaegerSpan             `json:"spans"`
	Processes map[string]jaegerProcess `json:"processes"`
}

type jaegerSpan struct {
	TraceID       string `json:"traceID"`
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		TraceID string `json:"traceID"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	StartTime int64       `json:"startTime"`
	Duration  int64       `json:"duration"`
	Tags      []jaegerTag `json:"tags"`
	Logs      []struct {
		Timestamp int64       `json:"timestamp"`
		Fields    []jaegerTag `json:"fields"`
	} `json:"logs"`
	ProcessID string `json:"processID"`
}

type jaegerTag struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

type jaegerProcess struct {
	ServiceName string      `json:"serviceName"`
	Tags        []jaegerTag `json:"tags"`
}

func tag(tags []jaegerTag, key string) (any, bool) {
	for _, t := range tags {
		if t.Key == key {
			return t.Value, true
		}
	}
	return nil, false
}

// shopTrace records one request through the example shop: frontend's
// server span, its client span calling inventory, and inventory's server
// span, which fails. It returns the spans of each service.
func shopTrace(t *testing.T, start time.Time) (frontend, inventory []sdktrace.ReadOnlySpan) {
	t.Helper()
	record := func(service string) (*tracetest.SpanRecorder, trace.Tracer) {
		rec := tracetest.NewSpanRecorder()
		res := resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(service), semconv.ServiceVersion("1.2.3"),
			attribute.String("host.name", "shop-1"))
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithResource(res))
		return rec, tp.Tracer("shop/" + service)
	}
	frec, ft := record("frontend")
	irec, it := record("inventory")

	ctx, root := ft.Start(context.Background(), "GET /checkout", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithTimestamp(start), trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.Int("http.response.status_code", 502)))
	cctx, client := ft.Start(ctx, "GET /stock", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(start.Add(10*time.Millisecond)))
	_, server := it.Start(cctx, "GET /stock", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(start.Add(12*time.Millisecond)),
		trace.WithAttributes(attribute.String("correlation_id", "req-42"), attribute.Bool("cache.hit", false), attribute.Float64("load", 0.75)))
	server.AddEvent("stock lookup failed", trace.WithTimestamp(start.Add(50*time.Millisecond)), trace.WithAttributes(attribute.String("sku", "A-1")))
	server.SetStatus(codes.Error, "database unavailable")
	server.End(trace.WithTimestamp(start.Add(60 * time.Millisecond)))
	client.End(trace.WithTimestamp(start.Add(65 * time.Millisecond)))
	root.End(trace.WithTimestamp(start.Add(70 * time.Millisecond)))
	return frec.Ended(), irec.Ended()
}

func grpcExporter(t *testing.T, s *server) *otlptrace.Exporter {
	exp, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpoint(s.grpcAddr), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exp.Shutdown(context.Background()) })
	return exp
}

func httpExporter(t *testing.T, endpoint string) *otlptrace.Exporter {
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpoint(endpoint), otlptracehttp.WithInsecure(),
		otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exp.Shutdown(context.Background()) })
	return exp
}

// TestTracesEndToEnd exports a two-service trace with the OpenTelemetry
// SDK (frontend over gRPC, inventory over HTTP with gzip) and reads it
// back through every Jaeger endpoint.
func TestTracesEndToEnd(t *testing.T) {
	s := startArgus(t, t.TempDir())
	start := time.Now().Add(-time.Minute).Truncate(time.Microsecond)
	frontend, inventory := shopTrace(t, start)
	ctx := ctxTimeout(t, 30*time.Second)
	if err := grpcExporter(t, s).ExportSpans(ctx, frontend); err != nil {
		t.Fatalf("export over gRPC: %v", err)
	}
	if err := httpExporter(t, s.otlpHTTP).ExportSpans(ctx, inventory); err != nil {
		t.Fatalf("export over HTTP: %v", err)
	}
	traceID := frontend[0].SpanContext().TraceID().String()

	var services jaegerResponse[[]string]
	s.getJSON("/jaeger/api/services", 200, &services)
	if !slices.Equal(services.Data, []string{"frontend", "inventory"}) {
		t.Errorf("services = %v", services.Data)
	}
	var ops jaegerResponse[[]string]
	s.getJSON("/jaeger/api/services/frontend/operations", 200, &ops)
	if !slices.Equal(ops.Data, []string{"GET /checkout", "GET /stock"}) {
		t.Errorf("frontend operations = %v", ops.Data)
	}

	var got jaegerResponse[[]jaegerTrace]
	s.getJSON("/jaeger/api/traces/"+traceID, 200, &got)
	if len(got.Data) != 1 || len(got.Data[0].Spans) != 3 {
		t.Fatalf("trace by id: %+v", got.Data)
	}
	tr := got.Data[0]
	byID := map[string]jaegerSpan{}
	for _, sp := range tr.Spans {
		byID[sp.SpanID] = sp
	}
	for _, want := range append(slices.Clone(frontend), inventory...) {
		sp, ok := byID[want.SpanContext().SpanID().String()]
		if !ok {
			t.Fatalf("span %s missing", want.SpanContext().SpanID())
		}
		if sp.OperationName != want.Name() {
			t.Errorf("span %s name %q, want %q", sp.SpanID, sp.OperationName, want.Name())
		}
		if sp.StartTime != want.StartTime().UnixMicro() || sp.Duration != want.EndTime().Sub(want.StartTime()).Microseconds() {
			t.Errorf("span %s start %d duration %d, want %d %d", want.Name(), sp.StartTime, sp.Duration,
				want.StartTime().UnixMicro(), want.EndTime().Sub(want.StartTime()).Microseconds())
		}
		if want.Parent().IsValid() {
			if len(sp.References) == 0 || sp.References[0].RefType != "CHILD_OF" || sp.References[0].SpanID != want.Parent().SpanID().String() {
				t.Errorf("span %s references %+v, want CHILD_OF %s", want.Name(), sp.References, want.Parent().SpanID())
			}
		} else if len(sp.References) != 0 {
			t.Errorf("root span has references %+v", sp.References)
		}
		wantService, _ := want.Resource().Set().Value(semconv.ServiceNameKey)
		if proc := tr.Processes[sp.ProcessID]; proc.ServiceName != wantService.AsString() {
			t.Errorf("span %s process %+v, want service %s", want.Name(), proc, wantService.AsString())
		}
	}
	failing := byID[inventory[0].SpanContext().SpanID().String()]
	if v, _ := tag(failing.Tags, "correlation_id"); v != "req-42" {
		t.Errorf("correlation_id tag = %v", v)
	}
	if v, _ := tag(failing.Tags, "cache.hit"); v != false {
		t.Errorf("cache.hit tag = %v (%T)", v, v)
	}
	if v, _ := tag(failing.Tags, "load"); v != 0.75 {
		t.Errorf("load tag = %v", v)
	}
	if v, _ := tag(failing.Tags, "error"); v != true {
		t.Errorf("error tag = %v", v)
	}
	if len(failing.Logs) != 1 || failing.Logs[0].Timestamp != start.Add(50*time.Millisecond).UnixMicro() {
		t.Errorf("logs = %+v", failing.Logs)
	}
	if p := tr.Processes[failing.ProcessID]; p.ServiceName != "inventory" {
		t.Errorf("inventory span process = %+v", p)
	} else if v, _ := tag(p.Tags, "host.name"); v != "shop-1" {
		t.Errorf("process tags = %+v", p.Tags)
	}

	// Search: by service, operation, tags (both forms), duration, time.
	window := fmt.Sprintf("&start=%d&end=%d", start.Add(-time.Minute).UnixMicro(), start.Add(time.Minute).UnixMicro())
	for _, c := range []struct {
		query string
		want  int
	}{
		{"service=inventory", 1},
		{"service=frontend&operation=GET+%2Fcheckout", 1},
		{"service=frontend&operation=nope", 0},
		{"service=inventory&tags=" + url.QueryEscape(`{"correlation_id":"req-42"}`), 1},
		{"service=inventory&tags=" + url.QueryEscape(`error=true`), 1},
		{"service=inventory&tags=" + url.QueryEscape(`{"correlation_id":"req-43"}`), 0},
		{"service=frontend&minDuration=69ms", 1},
		{"service=frontend&minDuration=71ms", 0},
		{"service=frontend&maxDuration=1ms", 0},
	} {
		var res jaegerResponse[[]jaegerTrace]
		s.getJSON("/jaeger/api/traces?"+c.query+window, 200, &res)
		if len(res.Data) != c.want {
			t.Errorf("search %s: %d traces, want %d", c.query, len(res.Data), c.want)
		} else if c.want == 1 && (res.Data[0].TraceID != traceID || len(res.Data[0].Spans) != 3) {
			t.Errorf("search %s: got trace %s with %d spans", c.query, res.Data[0].TraceID, len(res.Data[0].Spans))
		}
	}
	var old jaegerResponse[[]jaegerTrace]
	s.getJSON(fmt.Sprintf("/jaeger/api/traces?service=frontend&start=%d&end=%d", start.Add(-2*time.Hour).UnixMicro(), start.Add(-time.Hour).UnixMicro()), 200, &old)
	if len(old.Data) != 0 {
		t.Errorf("search outside the time window found %d traces", len(old.Data))
	}

	var deps jaegerResponse[[]struct {
		Parent    string `json:"parent"`
		Child     string `json:"child"`
		CallCount int    `json:"callCount"`
	}]
	s.getJSON(fmt.Sprintf("/jaeger/api/dependencies?endTs=%d&lookback=%d", time.Now().UnixMilli(), time.Hour.Milliseconds()), 200, &deps)
	if len(deps.Data) != 1 || deps.Data[0].Parent != "frontend" || deps.Data[0].Child != "inventory" || deps.Data[0].CallCount != 1 {
		t.Errorf("dependencies = %+v", deps.Data)
	}

	var missing jaegerResponse[[]jaegerTrace]
	s.getJSON("/jaeger/api/traces/0123456789abcdef0123456789abcdef", 404, &missing)
	s.getJSON("/jaeger/api/traces/not-hex", 400, nil)
	s.getJSON("/jaeger/api/traces?service=frontend&minDuration=fast", 400, nil)

	// api_v3 answers with OTLP JSON.
	var v3services struct {
		Services []string `json:"services"`
	}
	s.getJSON("/jaeger/api/v3/services", 200, &v3services)
	if !slices.Equal(v3services.Services, []string{"frontend", "inventory"}) {
		t.Errorf("v3 services = %v", v3services.Services)
	}
	var v3trace struct {
		Result struct {
			ResourceSpans []struct {
				ScopeSpans []struct {
					Spans []struct {
						TraceID string `json:"traceId"`
						SpanID  string `json:"spanId"`
					} `json:"spans"`
				} `json:"scopeSpans"`
			} `json:"resourceSpans"`
		} `json:"result"`
	}
	s.getJSON("/jaeger/api/v3/traces/"+traceID, 200, &v3trace)
	n := 0
	for _, rs := range v3trace.Result.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				if sp.TraceID != traceID {
					t.Errorf("v3 span trace id %s", sp.TraceID)
				}
				n++
			}
		}
	}
	if n != 3 {
		t.Errorf("v3 trace has %d spans, want 3", n)
	}
}
