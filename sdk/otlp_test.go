package sdk_test

import (
	"context"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/argus-obs/argus/sdk"
	collogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// receiver is a minimal OTLP endpoint (HTTP and gRPC) that keeps what it
// receives, so the tests can check what the real exporters send.
type receiver struct {
	mu     sync.Mutex
	traces []*coltrace.ExportTraceServiceRequest
	logs   []*collogs.ExportLogsServiceRequest

	coltrace.UnimplementedTraceServiceServer
}

func (rc *receiver) Export(_ context.Context, req *coltrace.ExportTraceServiceRequest) (*coltrace.ExportTraceServiceResponse, error) {
	rc.mu.Lock()
	rc.traces = append(rc.traces, req)
	rc.mu.Unlock()
	return &coltrace.ExportTraceServiceResponse{}, nil
}

// logsServer adapts receiver to the logs service, whose Export method has
// another signature.
type logsServer struct {
	collogs.UnimplementedLogsServiceServer
	rc *receiver
}

func (s logsServer) Export(_ context.Context, req *collogs.ExportLogsServiceRequest) (*collogs.ExportLogsServiceResponse, error) {
	s.rc.mu.Lock()
	s.rc.logs = append(s.rc.logs, req)
	s.rc.mu.Unlock()
	return &collogs.ExportLogsServiceResponse{}, nil
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	switch r.URL.Path {
	case "/v1/traces":
		req := new(coltrace.ExportTraceServiceRequest)
		if err := proto.Unmarshal(body, req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.Export(r.Context(), req)
		out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	case "/v1/logs":
		req := new(collogs.ExportLogsServiceRequest)
		if err := proto.Unmarshal(body, req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		logsServer{rc: rc}.Export(r.Context(), req)
		out, _ := proto.Marshal(&collogs.ExportLogsServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	default:
		http.NotFound(w, r)
	}
}

// TestOTLPExport sends a request's span and logs through the real OTLP
// exporters, over HTTP and over gRPC, and checks what arrives.
func TestOTLPExport(t *testing.T) {
	for _, proto := range []string{"http/protobuf", "grpc"} {
		t.Run(proto, func(t *testing.T) {
			rc := &receiver{}
			var endpoint string
			if proto == "grpc" {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				srv := grpc.NewServer()
				coltrace.RegisterTraceServiceServer(srv, rc)
				collogs.RegisterLogsServiceServer(srv, logsServer{rc: rc})
				go srv.Serve(l)
				defer srv.Stop()
				endpoint = l.Addr().String() // a bare host:port: plaintext
			} else {
				srv := httptest.NewServer(rc)
				defer srv.Close()
				endpoint = srv.URL
			}
			out := &syncBuffer{}
			shutdown, err := sdk.Start(context.Background(), sdk.Options{
				ServiceName: "otlp-svc", ServiceVersion: "2.0.0",
				Endpoint: endpoint, Protocol: proto, LogWriter: out,
			})
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			mux.HandleFunc("GET /otlp/{id}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
			req := httptest.NewRequest("GET", "/otlp/1", nil)
			req.Header.Set("X-Correlation-ID", "otlp-cid")
			sdk.Middleware(mux).ServeHTTP(httptest.NewRecorder(), req)
			if err := shutdown(context.Background()); err != nil {
				t.Fatalf("shutdown: %v", err)
			}

			rc.mu.Lock()
			defer rc.mu.Unlock()
			var traceID, spanID []byte
			for _, req := range rc.traces {
				for _, rs := range req.ResourceSpans {
					checkResource(t, rs.Resource.Attributes)
					for _, ss := range rs.ScopeSpans {
						for _, s := range ss.Spans {
							if s.Name == "GET /otlp/{id}" {
								traceID, spanID = s.TraceId, s.SpanId
								if attr(s.Attributes, "correlation_id") != "otlp-cid" {
									t.Errorf("span attributes %v", s.Attributes)
								}
							}
						}
					}
				}
			}
			if traceID == nil {
				t.Fatalf("no server span arrived: %v", rc.traces)
			}
			var found bool
			for _, req := range rc.logs {
				for _, rl := range req.ResourceLogs {
					checkResource(t, rl.Resource.Attributes)
					for _, sl := range rl.ScopeLogs {
						for _, l := range sl.LogRecords {
							if l.Body.GetStringValue() != "http request" {
								continue
							}
							found = true
							if hex.EncodeToString(l.TraceId) != hex.EncodeToString(traceID) || hex.EncodeToString(l.SpanId) != hex.EncodeToString(spanID) {
								t.Errorf("log record trace %x/%x, want the span's %x/%x", l.TraceId, l.SpanId, traceID, spanID)
							}
							if attr(l.Attributes, "correlation_id") != "otlp-cid" || attr(l.Attributes, "route") != "/otlp/{id}" {
								t.Errorf("log record attributes %v", l.Attributes)
							}
						}
					}
				}
			}
			if !found {
				t.Errorf("no access-log record arrived: %v", rc.logs)
			}
			if n := counterValue(t, "argus_sdk_telemetry_exported_total", map[string]string{"signal": "logs"}); n < 1 {
				t.Errorf("exported logs counter = %v", n)
			}
		})
	}
}

func checkResource(t *testing.T, attrs []*commonpb.KeyValue) {
	t.Helper()
	if attr(attrs, "service.name") != "otlp-svc" || attr(attrs, "service.version") != "2.0.0" {
		t.Errorf("resource %v", attrs)
	}
}

func attr(attrs []*commonpb.KeyValue, key string) string {
	for _, a := range attrs {
		if a.Key == key {
			return a.Value.GetStringValue()
		}
	}
	return ""
}
