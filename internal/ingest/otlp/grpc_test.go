package otlp

import (
	"context"
	"errors"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/argus-obs/argus/internal/ingest/ingestmetrics/ingestmetricstest"
	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
	"github.com/argus-obs/argus/internal/store/memstore"
)

// grpcClient serves a receiver over w on a real grpc.Server, connected
// through an in-memory listener, and returns a client for it.
func grpcClient(t *testing.T, w store.TraceWriter, opts Options) (ptraceotlp.GRPCClient, *Receiver, *prometheus.Registry) {
	t.Helper()
	r, reg := newReceiver(t, w, opts)
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(int(r.MaxRequestBytes())))
	ptraceotlp.RegisterGRPCServer(srv, r.GRPCServer())
	return ptraceotlp.NewGRPCClient(dialServer(t, srv, bufconn.Listen(1<<20))), r, reg
}

// dialServer serves srv on lis until the test ends and returns a client
// connection to it. lis is an in-memory bufconn listener or a real one.
func dialServer(t *testing.T, srv *grpc.Server, lis net.Listener) *grpc.ClientConn {
	t.Helper()
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if bl, ok := lis.(*bufconn.Listener); ok {
		opts = append(opts, grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return bl.DialContext(ctx) }))
	}
	conn, err := grpc.NewClient("passthrough:///"+lis.Addr().String(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func export(t *testing.T, c ptraceotlp.GRPCClient, td ptrace.Traces, opts ...grpc.CallOption) (ptraceotlp.ExportResponse, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Export(ctx, ptraceotlp.NewExportRequestFromTraces(td), opts...)
}

func TestGRPCRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []grpc.CallOption
	}{
		{"uncompressed", nil},
		{"gzip", []grpc.CallOption{grpc.UseCompressor(gzip.Name)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			traces := memstore.NewTraces()
			c, _, reg := grpcClient(t, traces, Options{})
			resp, err := export(t, c, fullTraces(), tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if ps := resp.PartialSuccess(); ps.RejectedSpans() != 0 || ps.ErrorMessage() != "" {
				t.Errorf("partial success %d %q on a valid request", ps.RejectedSpans(), ps.ErrorMessage())
			}
			got, err := traces.GetTrace(context.Background(), model.TraceID(testTraceID))
			if err != nil {
				t.Fatal(err)
			}
			if want := []model.Span{fullSpan()}; !reflect.DeepEqual(got, want) {
				t.Errorf("stored\n %+v\nwant\n %+v", got, want)
			}
			if got, want := ingestmetricstest.Value(t, reg, "argus_ingest_trace_request_bytes_total", "protocol=grpc"), float64(len(protoBody(t, fullTraces()))); got != want {
				t.Errorf("request bytes = %v, want %v", got, want)
			}
			if got := ingestmetricstest.Value(t, reg, "argus_ingest_trace_requests_total", "protocol=grpc,outcome=success"); got != 1 {
				t.Errorf("successful requests = %v, want 1", got)
			}
		})
	}
}

func TestGRPCPartialSuccess(t *testing.T) {
	traces := memstore.NewTraces()
	c, _, reg := grpcClient(t, traces, Options{})
	resp, err := export(t, c, mixedTraces(), grpc.UseCompressor(gzip.Name))
	if err != nil {
		t.Fatal(err)
	}
	ps := resp.PartialSuccess()
	const wantMsg = "3 spans rejected: span 0af7651916cd43dd8448eb211c80319c/53995c3f42cd8ad8: end time before start time"
	if ps.RejectedSpans() != 3 || ps.ErrorMessage() != wantMsg {
		t.Errorf("partial success = %d %q, want 3 %q", ps.RejectedSpans(), ps.ErrorMessage(), wantMsg)
	}
	if got := ingestmetricstest.Value(t, reg, "argus_ingest_spans_accepted_total", "protocol=grpc"); got != 2 {
		t.Errorf("accepted = %v, want 2", got)
	}
	if got := ingestmetricstest.Value(t, reg, "argus_ingest_spans_rejected_total", "protocol=grpc,reason=zero_span_id"); got != 1 {
		t.Errorf("rejected{zero_span_id} = %v, want 1", got)
	}
}

func TestGRPCOverloaded(t *testing.T) {
	c, _, reg := grpcClient(t, overloaded, Options{RetryAfter: 3 * time.Second})
	_, err := export(t, c, fullTraces(), grpc.UseCompressor(gzip.Name))
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted {
		t.Fatalf("error %v, want ResourceExhausted", err)
	}
	var delay time.Duration
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			delay = ri.GetRetryDelay().AsDuration()
		}
	}
	if delay != 3*time.Second {
		t.Errorf("RetryInfo delay %v, want 3s (details %v)", delay, st.Details())
	}
	if got := ingestmetricstest.Value(t, reg, "argus_ingest_trace_requests_total", "protocol=grpc,outcome=overloaded"); got != 1 {
		t.Errorf("overloaded requests = %v, want 1", got)
	}
}

func TestGRPCStoreFailure(t *testing.T) {
	c, _, _ := grpcClient(t, errWriter{errors.New("disk full")}, Options{})
	_, err := export(t, c, fullTraces())
	if code := status.Code(err); code != codes.Unavailable {
		t.Errorf("error %v, want Unavailable", err)
	}
}

// Lowering the limit at run time takes effect even though the grpc.Server
// was built with the old one.
func TestGRPCTooLarge(t *testing.T) {
	traces := memstore.NewTraces()
	c, r, reg := grpcClient(t, traces, Options{})
	r.SetMaxRequestBytes(100)
	_, err := export(t, c, fullTraces())
	st := status.Convert(err)
	if st.Code() != codes.ResourceExhausted || len(st.Details()) != 0 {
		t.Errorf("error %v with details %v, want ResourceExhausted without RetryInfo", err, st.Details())
	}
	if got := ingestmetricstest.Value(t, reg, "argus_ingest_trace_requests_total", "protocol=grpc,outcome=too_large"); got != 1 {
		t.Errorf("too_large requests = %v, want 1", got)
	}
	if svcs, _ := traces.Services(context.Background()); len(svcs) != 0 {
		t.Errorf("an oversized request stored spans of %v", svcs)
	}
}
