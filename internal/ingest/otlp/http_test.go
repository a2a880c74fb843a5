package otlp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	"github.com/argus-obs/argus/internal/ingest/ingestmetrics/ingestmetricstest"
	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store/memstore"
)

func TestHTTPRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name, contentType, encoding string
		body                        func(testing.TB, ptrace.Traces) []byte
		wantType                    string
	}{
		{"protobuf", "application/x-protobuf", "", protoBody, "application/x-protobuf"},
		{"json", "application/json", "", jsonBody, "application/json"},
		{"protobuf gzip", "application/x-protobuf", "gzip", gzipProto, "application/x-protobuf"},
		{"json gzip", "application/json", "gzip", gzipJSON, "application/json"},
		{"json with charset", "application/json; charset=utf-8", "", jsonBody, "application/json"},
		{"mixed case, identity", "Application/X-Protobuf", "identity", protoBody, "application/x-protobuf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			traces := memstore.NewTraces()
			r, reg := newReceiver(t, traces, Options{})
			body := tc.body(t, fullTraces())

			rec := post(r, tc.contentType, tc.encoding, bytes.NewReader(body))
			resp := exportResponse(t, rec)
			if ct := rec.Header().Get("Content-Type"); ct != tc.wantType {
				t.Errorf("Content-Type %q, want %q", ct, tc.wantType)
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

			for name, want := range map[string]float64{
				"argus_ingest_spans_received_total":      1,
				"argus_ingest_spans_accepted_total":      1,
				"argus_ingest_trace_request_bytes_total": float64(len(protoOrJSON(t, tc.wantType))),
			} {
				if got := ingestmetricstest.Value(t, reg, name, "protocol=http"); got != want {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
			if got := ingestmetricstest.Value(t, reg, "argus_ingest_trace_requests_total", "protocol=http,outcome=success"); got != 1 {
				t.Errorf("successful requests = %v, want 1", got)
			}
		})
	}
}

func gzipProto(t testing.TB, td ptrace.Traces) []byte { return gzipBytes(t, protoBody(t, td)) }
func gzipJSON(t testing.TB, td ptrace.Traces) []byte  { return gzipBytes(t, jsonBody(t, td)) }

// protoOrJSON is fullTraces' request uncompressed, which is what the
// bytes counter measures.
func protoOrJSON(t testing.TB, contentType string) []byte {
	if contentType == "application/json" {
		return jsonBody(t, fullTraces())
	}
	return protoBody(t, fullTraces())
}

// mixedTraces holds two valid spans and three invalid ones, the first
// invalid one ending before it starts.
func mixedTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "frontend")
	ss := rs.ScopeSpans().AppendEmpty().Spans()
	add := func(tid pcommon.TraceID, sid pcommon.SpanID, start, end uint64) {
		s := ss.AppendEmpty()
		s.SetTraceID(tid)
		s.SetSpanID(sid)
		s.SetName("op")
		s.SetStartTimestamp(pcommon.Timestamp(start))
		s.SetEndTimestamp(pcommon.Timestamp(end))
	}
	add(testTraceID, testSpanID, testStart, testEnd)
	add(testTraceID, otherSpanID, testEnd, testStart)
	add(pcommon.TraceID{}, otherSpanID, testStart, testEnd)
	add(otherTraceID, pcommon.SpanID{}, testStart, testEnd)
	add(otherTraceID, otherSpanID, testStart, testEnd)
	return td
}

func TestHTTPPartialSuccess(t *testing.T) {
	for _, ct := range []string{"application/x-protobuf", "application/json"} {
		t.Run(ct, func(t *testing.T) {
			traces := memstore.NewTraces()
			r, reg := newReceiver(t, traces, Options{})
			body := protoBody(t, mixedTraces())
			if ct == "application/json" {
				body = jsonBody(t, mixedTraces())
			}
			resp := exportResponse(t, post(r, ct, "", bytes.NewReader(body)))

			ps := resp.PartialSuccess()
			const wantMsg = "3 spans rejected: span 0af7651916cd43dd8448eb211c80319c/53995c3f42cd8ad8: end time before start time"
			if ps.RejectedSpans() != 3 || ps.ErrorMessage() != wantMsg {
				t.Errorf("partial success = %d %q, want 3 %q", ps.RejectedSpans(), ps.ErrorMessage(), wantMsg)
			}
			for _, id := range []pcommon.TraceID{testTraceID, otherTraceID} {
				spans, err := traces.GetTrace(context.Background(), model.TraceID(id))
				if err != nil || len(spans) != 1 {
					t.Errorf("trace %x: %d spans, %v; want the 1 valid span", id, len(spans), err)
				}
			}

			for labels, want := range map[string]float64{
				"reason=zero_trace_id":    1,
				"reason=zero_span_id":     1,
				"reason=end_before_start": 1,
			} {
				if got := ingestmetricstest.Value(t, reg, "argus_ingest_spans_rejected_total", "protocol=http,"+labels); got != want {
					t.Errorf("rejected{%s} = %v, want %v", labels, got, want)
				}
			}
			if got := ingestmetricstest.Value(t, reg, "argus_ingest_spans_accepted_total", "protocol=http"); got != 2 {
				t.Errorf("accepted = %v, want 2", got)
			}
			if got := ingestmetricstest.Value(t, reg, "argus_ingest_trace_requests_total", "protocol=http,outcome=partial_success"); got != 1 {
				t.Errorf("partial_success requests = %v, want 1", got)
			}
		})
	}
}

// An empty body is an export of nothing, which is valid protobuf.
func TestHTTPEmptyProtobuf(t *testing.T) {
	r, _ := newReceiver(t, memstore.NewTraces(), Options{})
	exportResponse(t, post(r, "application/x-protobuf", "", strings.NewReader("")))
}

// streamed hides a body's length, as a chunked request does, so the size
// limit must be found while reading.
type streamed struct{ io.Reader }

func TestHTTPErrors(t *testing.T) {
	const limit = 4096
	valid := protoBody(t, fullTraces())
	bomb := gzipBytes(t, make([]byte, 10*limit))
	big := make([]byte, 2*limit)
	_, _ = rand.NewChaCha8([32]byte{}).Read(big) // random bytes do not compress
	bigGzip := gzipBytes(t, big)
	if len(bigGzip) <= limit {
		t.Fatalf("test setup: compressed body of %d bytes is within the limit", len(bigGzip))
	}
	deepJSON := strings.Repeat("[", maxJSONDepth+1)

	for _, tc := range []struct {
		name        string
		method      string
		contentType string
		encoding    string
		body        io.Reader
		wantCode    int
		wantRPC     codes.Code
		wantMsg     string
		wantType    string
		wantHeader  [2]string
	}{
		{
			name: "GET", method: http.MethodGet, contentType: "application/x-protobuf",
			wantCode: http.StatusMethodNotAllowed, wantRPC: codes.Unimplemented,
			wantMsg: "method GET not allowed", wantType: "application/x-protobuf",
			wantHeader: [2]string{"Allow", "POST"},
		},
		{
			name: "unknown content type", contentType: "text/plain", body: bytes.NewReader(valid),
			wantCode: http.StatusUnsupportedMediaType, wantRPC: codes.InvalidArgument,
			wantMsg: `unsupported content type "text/plain"`, wantType: "application/json",
		},
		{
			name: "missing content type", body: bytes.NewReader(valid),
			wantCode: http.StatusUnsupportedMediaType, wantRPC: codes.InvalidArgument,
			wantMsg: `unsupported content type ""`, wantType: "application/json",
		},
		{
			name: "unknown content encoding", contentType: "application/x-protobuf", encoding: "br",
			body:     bytes.NewReader(valid),
			wantCode: http.StatusUnsupportedMediaType, wantRPC: codes.InvalidArgument,
			wantMsg: `unsupported content encoding "br"`, wantType: "application/x-protobuf",
			wantHeader: [2]string{"Accept-Encoding", "gzip"},
		},
		{
			name: "malformed protobuf", contentType: "application/x-protobuf",
			body:     bytes.NewReader([]byte{0x0a, 0xff, 0xff, 0x01}),
			wantCode: http.StatusBadRequest, wantRPC: codes.InvalidArgument,
			wantMsg: "could not parse protobuf ExportTraceServiceRequest", wantType: "application/x-protobuf",
		},
		{
			name: "malformed JSON", contentType: "application/json",
			body:     strings.NewReader(`{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "not hex"}]}]}]}`),
			wantCode: http.StatusBadRequest, wantRPC: codes.InvalidArgument,
			wantMsg: "could not parse JSON ExportTraceServiceRequest", wantType: "application/json",
		},
		{
			name: "JSON with invalid UTF-8 near the error", contentType: "application/json",
			body:     strings.NewReader("{\"resourceSpans\": \xff\xfe}"),
			wantCode: http.StatusBadRequest, wantRPC: codes.InvalidArgument,
			wantMsg: "could not parse JSON ExportTraceServiceRequest", wantType: "application/json",
		},
		{
			name: "JSON nested too deep", contentType: "application/json", body: strings.NewReader(deepJSON),
			wantCode: http.StatusBadRequest, wantRPC: codes.InvalidArgument,
			wantMsg: "nested deeper than 256 levels", wantType: "application/json",
		},
		{
			name: "not gzip", contentType: "application/x-protobuf", encoding: "gzip",
			body:     bytes.NewReader(valid),
			wantCode: http.StatusBadRequest, wantRPC: codes.InvalidArgument,
			wantMsg: "could not decompress gzip request body", wantType: "application/x-protobuf",
		},
		{
			name: "truncated gzip", contentType: "application/json", encoding: "gzip",
			body:     bytes.NewReader(gzipBytes(t, valid)[:40]),
			wantCode: http.StatusBadRequest, wantRPC: codes.InvalidArgument,
			wantMsg: "could not decompress gzip request body", wantType: "application/json",
		},
		{
			name: "Content-Length over the limit", contentType: "application/x-protobuf",
			body:     bytes.NewReader(make([]byte, limit+1)),
			wantCode: http.StatusRequestEntityTooLarge, wantRPC: codes.ResourceExhausted,
			wantMsg: "request body of 4097 bytes exceeds the limit of 4096 bytes", wantType: "application/x-protobuf",
		},
		{
			name: "streamed body over the limit", contentType: "application/x-protobuf",
			body:     streamed{bytes.NewReader(make([]byte, limit+1))},
			wantCode: http.StatusRequestEntityTooLarge, wantRPC: codes.ResourceExhausted,
			wantMsg: "request body exceeds the limit of 4096 bytes", wantType: "application/x-protobuf",
		},
		{
			name: "streamed gzip body over the limit", contentType: "application/json", encoding: "gzip",
			body:     streamed{bytes.NewReader(bigGzip)},
			wantCode: http.StatusRequestEntityTooLarge, wantRPC: codes.ResourceExhausted,
			wantMsg: "request body exceeds the limit of 4096 bytes", wantType: "application/json",
		},
		{
			name: "gzip bomb", contentType: "application/x-protobuf", encoding: "gzip",
			body:     bytes.NewReader(bomb),
			wantCode: http.StatusRequestEntityTooLarge, wantRPC: codes.ResourceExhausted,
			wantMsg: "decompressed request body exceeds the limit of 4096 bytes", wantType: "application/x-protobuf",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			traces := memstore.NewTraces()
			r, _ := newReceiver(t, traces, Options{MaxRequestBytes: limit})
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			body := tc.body
			if body == nil {
				body = http.NoBody
			}
			req, err := http.NewRequest(method, "/v1/traces", body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			if tc.encoding != "" {
				req.Header.Set("Content-Encoding", tc.encoding)
			}
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)

			if rec.Code != tc.wantCode {
				t.Fatalf("status %d, want %d; body %q", rec.Code, tc.wantCode, rec.Body.String())
			}
			if ct := rec.Header().Get("Content-Type"); ct != tc.wantType {
				t.Errorf("Content-Type %q, want %q", ct, tc.wantType)
			}
			if h := tc.wantHeader; h[0] != "" && rec.Header().Get(h[0]) != h[1] {
				t.Errorf("%s: %q, want %q", h[0], rec.Header().Get(h[0]), h[1])
			}
			st := rpcStatus(t, rec)
			if codes.Code(st.GetCode()) != tc.wantRPC || !strings.Contains(st.GetMessage(), tc.wantMsg) {
				t.Errorf("status body = %v %q, want %v containing %q", codes.Code(st.GetCode()), st.GetMessage(), tc.wantRPC, tc.wantMsg)
			}
			if svcs, _ := traces.Services(context.Background()); len(svcs) != 0 {
				t.Errorf("a refused request stored spans of %v", svcs)
			}
		})
	}
}

func TestHTTPOverloaded(t *testing.T) {
	for _, ct := range []string{"application/x-protobuf", "application/json"} {
		t.Run(ct, func(t *testing.T) {
			r, reg := newReceiver(t, overloaded, Options{RetryAfter: 2500 * time.Millisecond})
			body := protoBody(t, fullTraces())
			if ct == "application/json" {
				body = jsonBody(t, fullTraces())
			}
			rec := post(r, ct, "", bytes.NewReader(body))
			if rec.Code != http.StatusTooManyRequests {
				t.Fatalf("status %d, want 429; body %q", rec.Code, rec.Body.String())
			}
			if ra := rec.Header().Get("Retry-After"); ra != "3" {
				t.Errorf("Retry-After %q, want 3 (2.5s rounded up)", ra)
			}
			st := rpcStatus(t, rec)
			if codes.Code(st.GetCode()) != codes.ResourceExhausted {
				t.Errorf("status code %v, want ResourceExhausted", codes.Code(st.GetCode()))
			}
			var ri errdetails.RetryInfo
			if len(st.GetDetails()) != 1 || st.GetDetails()[0].UnmarshalTo(&ri) != nil {
				t.Fatalf("details %v, want one RetryInfo", st.GetDetails())
			}
			if d := ri.GetRetryDelay().AsDuration(); d != 2500*time.Millisecond {
				t.Errorf("RetryInfo delay %v, want 2.5s", d)
			}
			if got := ingestmetricstest.Value(t, reg, "argus_ingest_trace_requests_total", "protocol=http,outcome=overloaded"); got != 1 {
				t.Errorf("overloaded requests = %v, want 1", got)
			}
			if got := ingestmetricstest.Value(t, reg, "argus_ingest_spans_accepted_total", "protocol=http"); got != 0 {
				t.Errorf("accepted = %v after an overloaded write", got)
			}
		})
	}
}

func TestHTTPDefaultRetryAfter(t *testing.T) {
	r, _ := newReceiver(t, overloaded, Options{})
	rec := post(r, "application/x-protobuf", "", bytes.NewReader(protoBody(t, fullTraces())))
	if ra := rec.Header().Get("Retry-After"); ra != "2" {
		t.Errorf("Retry-After %q, want the default 2", ra)
	}
}

func TestHTTPStoreFailure(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	r, reg := newReceiver(t, errWriter{errors.New("open /data/wal/00042: disk full")}, Options{Logger: logger})

	rec := post(r, "application/json", "", bytes.NewReader(jsonBody(t, fullTraces())))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", rec.Code)
	}
	st := rpcStatus(t, rec)
	if codes.Code(st.GetCode()) != codes.Unavailable || strings.Contains(st.GetMessage(), "disk full") {
		t.Errorf("status %v %q: want Unavailable without the store's error", codes.Code(st.GetCode()), st.GetMessage())
	}
	if !strings.Contains(logs.String(), "disk full") || !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("store error not logged: %q", logs.String())
	}
	if got := ingestmetricstest.Value(t, reg, "argus_ingest_trace_requests_total", "protocol=http,outcome=unavailable"); got != 1 {
		t.Errorf("unavailable requests = %v, want 1", got)
	}
}

// A write that fails because the client went away is not the store's
// fault and must not be logged as an error.
func TestHTTPCanceled(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	r, reg := newReceiver(t, errWriter{context.Canceled}, Options{Logger: logger})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "/v1/traces", bytes.NewReader(protoBody(t, fullTraces())))
	req.Header.Set("Content-Type", "application/x-protobuf")
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", rec.Code)
	}
	if logs.Len() != 0 {
		t.Errorf("canceled request logged: %q", logs.String())
	}
	if got := ingestmetricstest.Value(t, reg, "argus_ingest_trace_requests_total", "protocol=http,outcome=canceled"); got != 1 {
		t.Errorf("canceled requests = %v, want 1", got)
	}
}

func TestSetMaxRequestBytes(t *testing.T) {
	r, _ := newReceiver(t, memstore.NewTraces(), Options{})
	if got := r.MaxRequestBytes(); got != DefaultMaxRequestBytes {
		t.Errorf("zero option gives limit %d, want %d", got, DefaultMaxRequestBytes)
	}
	body := protoBody(t, fullTraces())
	r.SetMaxRequestBytes(int64(len(body)))
	if rec := post(r, "application/x-protobuf", "", bytes.NewReader(body)); rec.Code != http.StatusOK {
		t.Errorf("body at the limit: status %d, want 200", rec.Code)
	}
	r.SetMaxRequestBytes(int64(len(body)) - 1)
	if rec := post(r, "application/x-protobuf", "", bytes.NewReader(body)); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("body over a lowered limit: status %d, want 413", rec.Code)
	}
	r.SetMaxRequestBytes(0)
	if got := r.MaxRequestBytes(); got != DefaultMaxRequestBytes {
		t.Errorf("SetMaxRequestBytes(0) gives %d, want the default", got)
	}
}

func TestNew(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without a writer succeeded")
	}
	if _, err := New(Options{Writer: memstore.NewTraces()}); err != nil {
		t.Errorf("New without registry or logger: %v", err)
	}
	// Two receivers on one registry share counters rather than failing.
	reg := prometheus.NewRegistry()
	r1, err := New(Options{Writer: memstore.NewTraces(), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := New(Options{Writer: memstore.NewTraces(), Registerer: reg})
	if err != nil {
		t.Fatalf("second receiver on one registry: %v", err)
	}
	post(r1, "application/x-protobuf", "", bytes.NewReader(protoBody(t, fullTraces())))
	post(r2, "application/x-protobuf", "", bytes.NewReader(protoBody(t, fullTraces())))
	if got := ingestmetricstest.Value(t, reg, "argus_ingest_spans_accepted_total", "protocol=http"); got != 2 {
		t.Errorf("shared accepted counter = %v, want 2", got)
	}
	// Every series exists before the first request of its kind.
	if n := seriesCount(t, reg, "argus_ingest_spans_rejected_total"); n != 6 {
		t.Errorf("%d rejected series, want 2 protocols × 3 reasons", n)
	}
}

func seriesCount(t *testing.T, reg *prometheus.Registry, name string) int {
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.GetMetric())
		}
	}
	return 0
}

func BenchmarkHTTPProtobuf(b *testing.B) {
	// A writer that keeps nothing: memstore would grow with every
	// iteration and measure itself.
	r, _ := newReceiver(b, errWriter{nil}, Options{})
	body := protoBody(b, manySpans(512))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rec := post(r, "application/x-protobuf", "", bytes.NewReader(body))
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
