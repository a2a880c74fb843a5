package otlp

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/argus-obs/argus/internal/ingest/ingestmetrics"
	"github.com/argus-obs/argus/internal/ingest/ingestmetrics/ingestmetricstest"
	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
	"github.com/argus-obs/argus/internal/store/storetest"
)

// WriteLogs makes errWriter a failing log store too.
func (w errWriter) WriteLogs(context.Context, []model.LogRecord) error { return w.err }

// newLogsReceiver returns a log receiver over w with its own metrics
// registry and the receive time fixed at testReceived.
func newLogsReceiver(t testing.TB, w store.LogWriter, opts LogsOptions) (*LogsReceiver, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts.Writer = w
	opts.Registerer = reg
	opts.Now = func() time.Time { return testReceived }
	r, err := NewLogsReceiver(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r, reg
}

// logsBody encodes ld as an export request in the encoding contentType
// names.
func logsBody(t testing.TB, ld plog.Logs, contentType string) []byte {
	t.Helper()
	req := plogotlp.NewExportRequestFromLogs(ld)
	var b []byte
	var err error
	if strings.HasPrefix(strings.ToLower(contentType), "application/json") {
		b, err = req.MarshalJSON()
	} else {
		b, err = req.MarshalProto()
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeLogs decodes a 200 answer to a log export.
func decodeLogs(t testing.TB, rec *httptest.ResponseRecorder) plogotlp.ExportResponse {
	t.Helper()
	resp := plogotlp.NewExportResponse()
	decodeOK(t, rec, resp)
	return resp
}

// mixedLogs holds two valid records and two over the limits of
// mixedLimits, the first of those with too many attributes.
func mixedLogs() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "frontend")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	lrs.AppendEmpty().Body().SetStr("ok")
	tooMany := lrs.AppendEmpty()
	tooMany.Body().SetStr("attrs")
	for _, k := range []string{"a", "b", "c"} {
		tooMany.Attributes().PutStr(k, k)
	}
	lrs.AppendEmpty().Body().SetStr(strings.Repeat("x", 17))
	lrs.AppendEmpty().Body().SetStr("also ok")
	return ld
}

// checkFullLogsStored checks the answer to an export of fullLogs and what
// the sink took.
func checkFullLogsStored(t *testing.T, resp plogotlp.ExportResponse, sink *storetest.LogSink) {
	t.Helper()
	if ps := resp.PartialSuccess(); ps.RejectedLogRecords() != 0 || ps.ErrorMessage() != "" {
		t.Errorf("partial success %d %q on a valid request", ps.RejectedLogRecords(), ps.ErrorMessage())
	}
	if got, want := sink.Records(), []model.LogRecord{fullLogRecord()}; !reflect.DeepEqual(got, want) {
		t.Errorf("stored\n %+v\nwant\n %+v", got, want)
	}
}

// retryDelay returns the delay of st's RetryInfo detail, or 0.
func retryDelay(st *status.Status) time.Duration {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return 0
}

var mixedLimits = LogsOptions{MaxLineBytes: 16, MaxAttributes: 2}

const mixedMessage = "2 log records rejected (1 line_too_long, 1 too_many_attributes); " +
	"first: resourceLogs[0].scopeLogs[0].logRecords[1]: 3 attributes exceed the limit of 2"

func TestLogsHTTPRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name, contentType, encoding, wantType string
	}{
		{"protobuf", "application/x-protobuf", "", "application/x-protobuf"},
		{"json", "application/json", "", "application/json"},
		{"protobuf gzip", "application/x-protobuf", "gzip", "application/x-protobuf"},
		{"json gzip", "application/json; charset=utf-8", "gzip", "application/json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &storetest.LogSink{}
			r, reg := newLogsReceiver(t, sink, LogsOptions{})
			body := logsBody(t, fullLogs(), tc.contentType)
			if tc.encoding == "gzip" {
				body = gzipBytes(t, body)
			}

			rec := post(r, tc.contentType, tc.encoding, bytes.NewReader(body))
			resp := decodeLogs(t, rec)
			if ct := rec.Header().Get("Content-Type"); ct != tc.wantType {
				t.Errorf("Content-Type %q, want %q", ct, tc.wantType)
			}
			checkFullLogsStored(t, resp, sink)
			for name, want := range map[string]float64{
				"argus_ingest_log_records_received_total": 1,
				"argus_ingest_log_records_accepted_total": 1,
			} {
				if got := ingestmetricstest.Value(t, reg, name, "protocol=otlp_http"); got != want {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
			if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_requests_total", "protocol=otlp_http,outcome=success"); got != 1 {
				t.Errorf("successful requests = %v, want 1", got)
			}
		})
	}
}

func TestLogsHTTPPartialSuccess(t *testing.T) {
	for _, ct := range []string{"application/x-protobuf", "application/json"} {
		t.Run(ct, func(t *testing.T) {
			sink := &storetest.LogSink{}
			r, reg := newLogsReceiver(t, sink, mixedLimits)
			resp := decodeLogs(t, post(r, ct, "", bytes.NewReader(logsBody(t, mixedLogs(), ct))))

			ps := resp.PartialSuccess()
			if ps.RejectedLogRecords() != 2 || ps.ErrorMessage() != mixedMessage {
				t.Errorf("partial success = %d %q, want 2 %q", ps.RejectedLogRecords(), ps.ErrorMessage(), mixedMessage)
			}
			if got := sink.Records(); len(got) != 2 || got[0].Body != "ok" || got[1].Body != "also ok" {
				t.Errorf("stored %+v, want the two valid records", got)
			}
			for labels, want := range map[string]float64{
				"reason=line_too_long":       1,
				"reason=too_many_attributes": 1,
			} {
				if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_records_rejected_total", "protocol=otlp_http,"+labels); got != want {
					t.Errorf("rejected{%s} = %v, want %v", labels, got, want)
				}
			}
			if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_records_received_total", "protocol=otlp_http"); got != 4 {
				t.Errorf("received = %v, want 4", got)
			}
			if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_records_accepted_total", "protocol=otlp_http"); got != 2 {
				t.Errorf("accepted = %v, want 2", got)
			}
			if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_requests_total", "protocol=otlp_http,outcome=partial_success"); got != 1 {
				t.Errorf("partial_success requests = %v, want 1", got)
			}
		})
	}
}

// The log handler shares the trace handler's request checks; this table
// checks each answer once more through it, with the log message names.
func TestLogsHTTPErrors(t *testing.T) {
	const limit = 4096
	for _, tc := range []struct {
		name, method, contentType, encoding string
		body                                []byte
		wantCode                            int
		wantRPC                             codes.Code
		wantMsg, wantOutcome                string
	}{
		{"GET", http.MethodGet, "application/json", "", nil,
			http.StatusMethodNotAllowed, codes.Unimplemented, "method GET not allowed", "method_not_allowed"},
		{"unknown content type", "", "text/plain", "", []byte("x"),
			http.StatusUnsupportedMediaType, codes.InvalidArgument, `unsupported content type "text/plain"`, "unsupported_media_type"},
		{"unknown content encoding", "", "application/x-protobuf", "zstd", []byte("x"),
			http.StatusUnsupportedMediaType, codes.InvalidArgument, `unsupported content encoding "zstd"`, "unsupported_media_type"},
		{"malformed protobuf", "", "application/x-protobuf", "", []byte{0x0a, 0xff, 0xff, 0x01},
			http.StatusBadRequest, codes.InvalidArgument, "could not parse protobuf ExportLogsServiceRequest", "bad_request"},
		{"malformed JSON", "", "application/json", "", []byte(`{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "not hex"}]}]}]}`),
			http.StatusBadRequest, codes.InvalidArgument, "could not parse JSON ExportLogsServiceRequest", "bad_request"},
		{"empty JSON", "", "application/json", "", nil,
			http.StatusBadRequest, codes.InvalidArgument, "could not parse JSON ExportLogsServiceRequest: empty body", "bad_request"},
		{"body over the limit", "", "application/x-protobuf", "", make([]byte, limit+1),
			http.StatusRequestEntityTooLarge, codes.ResourceExhausted, "request body of 4097 bytes exceeds the limit of 4096 bytes", "too_large"},
		{"gzip bomb", "", "application/x-protobuf", "gzip", gzipBytes(t, make([]byte, 10*limit)),
			http.StatusRequestEntityTooLarge, codes.ResourceExhausted, "decompressed request body exceeds the limit of 4096 bytes", "too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &storetest.LogSink{}
			r, reg := newLogsReceiver(t, sink, LogsOptions{MaxRequestBytes: limit})
			req := httptest.NewRequest(cmp.Or(tc.method, http.MethodPost), "/v1/logs", bytes.NewReader(tc.body))
			for k, v := range map[string]string{"Content-Type": tc.contentType, "Content-Encoding": tc.encoding} {
				if v != "" {
					req.Header.Set(k, v)
				}
			}
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)
			if rec.Code != tc.wantCode {
				t.Fatalf("status %d, want %d; body %q", rec.Code, tc.wantCode, rec.Body.String())
			}
			st := rpcStatus(t, rec)
			if codes.Code(st.GetCode()) != tc.wantRPC || !strings.Contains(st.GetMessage(), tc.wantMsg) {
				t.Errorf("status body = %v %q, want %v containing %q", codes.Code(st.GetCode()), st.GetMessage(), tc.wantRPC, tc.wantMsg)
			}
			if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_requests_total", "protocol=otlp_http,outcome="+tc.wantOutcome); got != 1 {
				t.Errorf("%s requests = %v, want 1", tc.wantOutcome, got)
			}
			if n := len(sink.Records()); n != 0 {
				t.Errorf("a refused request stored %d records", n)
			}
		})
	}
}

func TestLogsHTTPOverloaded(t *testing.T) {
	r, reg := newLogsReceiver(t, overloaded, LogsOptions{RetryAfter: 2500 * time.Millisecond})
	rec := post(r, "application/x-protobuf", "", bytes.NewReader(logsBody(t, fullLogs(), "application/x-protobuf")))
	if got, want := rec.Code, http.StatusTooManyRequests; got != want || rec.Header().Get("Retry-After") != "3" {
		t.Fatalf("status %d with Retry-After %q, want %d with 3 (2.5s rounded up)", got, rec.Header().Get("Retry-After"), want)
	}
	st := status.FromProto(rpcStatus(t, rec))
	if st.Code() != codes.ResourceExhausted || retryDelay(st) != 2500*time.Millisecond {
		t.Errorf("status %v with details %v, want ResourceExhausted with a RetryInfo of 2.5s", st.Code(), st.Details())
	}
	if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_requests_total", "protocol=otlp_http,outcome=overloaded"); got != 1 {
		t.Errorf("overloaded requests = %v, want 1", got)
	}
	if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_records_accepted_total", "protocol=otlp_http"); got != 0 {
		t.Errorf("accepted = %v after an overloaded write", got)
	}
}

func TestLogsHTTPStoreFailure(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	r, reg := newLogsReceiver(t, errWriter{errors.New("open /data/logs/00042: disk full")}, LogsOptions{Logger: logger})

	rec := post(r, "application/json", "", bytes.NewReader(logsBody(t, fullLogs(), "application/json")))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", rec.Code)
	}
	st := rpcStatus(t, rec)
	if codes.Code(st.GetCode()) != codes.Unavailable || st.GetMessage() != "log records could not be stored; retry later" {
		t.Errorf("status %v %q: want Unavailable without the store's error", codes.Code(st.GetCode()), st.GetMessage())
	}
	if !strings.Contains(logs.String(), "otlp log records not stored") || !strings.Contains(logs.String(), "protocol=otlp_http") {
		t.Errorf("store error not logged: %q", logs.String())
	}
	if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_requests_total", "protocol=otlp_http,outcome=unavailable"); got != 1 {
		t.Errorf("unavailable requests = %v, want 1", got)
	}
}

// logsGRPCClient serves a log receiver over w on a real grpc.Server,
// connected through an in-memory listener, and returns a client for it.
func logsGRPCClient(t *testing.T, w store.LogWriter, opts LogsOptions) (plogotlp.GRPCClient, *LogsReceiver, *prometheus.Registry) {
	t.Helper()
	r, reg := newLogsReceiver(t, w, opts)
	srv := grpc.NewServer(grpc.MaxRecvMsgSize(int(r.MaxRequestBytes())))
	plogotlp.RegisterGRPCServer(srv, r.GRPCServer())
	return plogotlp.NewGRPCClient(dialServer(t, srv, bufconn.Listen(1<<20))), r, reg
}

func exportLogs(t *testing.T, c plogotlp.GRPCClient, ld plog.Logs) (plogotlp.ExportResponse, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Export(ctx, plogotlp.NewExportRequestFromLogs(ld), grpc.UseCompressor(gzip.Name))
}

func TestLogsGRPC(t *testing.T) {
	t.Run("round trip", func(t *testing.T) {
		sink := &storetest.LogSink{}
		c, _, reg := logsGRPCClient(t, sink, LogsOptions{})
		resp, err := exportLogs(t, c, fullLogs())
		if err != nil {
			t.Fatal(err)
		}
		checkFullLogsStored(t, resp, sink)
		if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_requests_total", "protocol=otlp_grpc,outcome=success"); got != 1 {
			t.Errorf("successful requests = %v, want 1", got)
		}
	})
	t.Run("partial success", func(t *testing.T) {
		c, _, reg := logsGRPCClient(t, &storetest.LogSink{}, mixedLimits)
		resp, err := exportLogs(t, c, mixedLogs())
		if err != nil {
			t.Fatal(err)
		}
		if ps := resp.PartialSuccess(); ps.RejectedLogRecords() != 2 || ps.ErrorMessage() != mixedMessage {
			t.Errorf("partial success = %d %q, want 2 %q", ps.RejectedLogRecords(), ps.ErrorMessage(), mixedMessage)
		}
		if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_records_rejected_total", "protocol=otlp_grpc,reason=line_too_long"); got != 1 {
			t.Errorf("rejected{line_too_long} = %v, want 1", got)
		}
		if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_requests_total", "protocol=otlp_grpc,outcome=partial_success"); got != 1 {
			t.Errorf("partial_success requests = %v, want 1", got)
		}
	})
	t.Run("overloaded", func(t *testing.T) {
		c, _, reg := logsGRPCClient(t, overloaded, LogsOptions{RetryAfter: 3 * time.Second})
		_, err := exportLogs(t, c, fullLogs())
		if st := status.Convert(err); st.Code() != codes.ResourceExhausted || retryDelay(st) != 3*time.Second {
			t.Errorf("error %v with details %v, want ResourceExhausted with a RetryInfo of 3s", err, st.Details())
		}
		if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_requests_total", "protocol=otlp_grpc,outcome=overloaded"); got != 1 {
			t.Errorf("overloaded requests = %v, want 1", got)
		}
	})
	t.Run("store failure", func(t *testing.T) {
		c, _, _ := logsGRPCClient(t, errWriter{errors.New("disk full")}, LogsOptions{})
		_, err := exportLogs(t, c, fullLogs())
		if st := status.Convert(err); st.Code() != codes.Unavailable || st.Message() != "log records could not be stored; retry later" {
			t.Errorf("error %v, want Unavailable", err)
		}
	})
	// Lowering the limit at run time takes effect even though the
	// grpc.Server was built with the old one.
	t.Run("too large", func(t *testing.T) {
		sink := &storetest.LogSink{}
		c, r, reg := logsGRPCClient(t, sink, LogsOptions{})
		r.SetMaxRequestBytes(100)
		_, err := exportLogs(t, c, fullLogs())
		if st := status.Convert(err); st.Code() != codes.ResourceExhausted || len(st.Details()) != 0 {
			t.Errorf("error %v with details %v, want ResourceExhausted without RetryInfo", err, st.Details())
		}
		if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_requests_total", "protocol=otlp_grpc,outcome=too_large"); got != 1 {
			t.Errorf("too_large requests = %v, want 1", got)
		}
		if n := len(sink.Records()); n != 0 {
			t.Errorf("an oversized request stored %d records", n)
		}
	})
}

func TestNewLogsReceiver(t *testing.T) {
	if _, err := NewLogsReceiver(LogsOptions{}); err == nil {
		t.Error("NewLogsReceiver without a writer succeeded")
	}
	r, err := NewLogsReceiver(LogsOptions{Writer: &storetest.LogSink{}})
	if err != nil {
		t.Fatalf("NewLogsReceiver without registry, logger or clock: %v", err)
	}
	if r.MaxRequestBytes() != DefaultMaxRequestBytes || r.Limits() != (LogLimits{DefaultMaxLineBytes, DefaultMaxAttributes}) {
		t.Errorf("zero options give %d bytes, %+v; want the defaults", r.MaxRequestBytes(), r.Limits())
	}
	// A record without times gets the real clock's.
	before := time.Now().UnixNano()
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	sink := &storetest.LogSink{}
	r, _ = NewLogsReceiver(LogsOptions{Writer: sink})
	post(r, "application/x-protobuf", "", bytes.NewReader(logsBody(t, ld, "application/x-protobuf")))
	if got := sink.Records(); len(got) != 1 || got[0].TimeUnixNano < before || got[0].TimeUnixNano > time.Now().UnixNano() {
		t.Errorf("stored %+v, want one record stamped with the receive time", got)
	}
}

// Other log ingest paths register the same counter families; a receiver
// built on the same registry must share them, not fail, and a trace
// receiver beside it keeps its own.
func TestLogsMetricsShared(t *testing.T) {
	reg := prometheus.NewRegistry()
	other := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "argus_ingest_log_records_accepted_total",
		Help: "Log records received and stored, by protocol.",
	}, []string{"protocol"})
	reg.MustRegister(other)
	other.WithLabelValues("loki").Add(5)

	sink := &storetest.LogSink{}
	r, err := NewLogsReceiver(LogsOptions{Writer: sink, Registerer: reg})
	if err != nil {
		t.Fatalf("log receiver beside another registration: %v", err)
	}
	if _, err := New(Options{Writer: errWriter{}, Registerer: reg}); err != nil {
		t.Fatalf("trace receiver on the same registry: %v", err)
	}
	post(r, "application/x-protobuf", "", bytes.NewReader(logsBody(t, fullLogs(), "application/x-protobuf")))
	if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_records_accepted_total", "protocol=otlp_http"); got != 1 {
		t.Errorf("accepted{otlp_http} = %v, want 1", got)
	}
	if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_records_accepted_total", "protocol=loki"); got != 5 {
		t.Errorf("the other path's series = %v, want 5", got)
	}
	// Every series exists before the first request of its kind.
	if n := seriesCount(t, reg, "argus_ingest_log_records_rejected_total"); n != 4 {
		t.Errorf("%d rejected series, want 2 protocols × 2 reasons", n)
	}
	if n := seriesCount(t, reg, "argus_ingest_log_requests_total"); n != 2*int(ingestmetrics.NumOutcomes) {
		t.Errorf("%d request series, want 2 protocols × %d outcomes", n, ingestmetrics.NumOutcomes)
	}
}

func TestLogsSetLimits(t *testing.T) {
	sink := &storetest.LogSink{}
	r, _ := newLogsReceiver(t, sink, LogsOptions{})
	body := logsBody(t, mixedLogs(), "application/x-protobuf")
	if resp := decodeLogs(t, post(r, "application/x-protobuf", "", bytes.NewReader(body))); resp.PartialSuccess().RejectedLogRecords() != 0 {
		t.Errorf("default limits rejected %d records", resp.PartialSuccess().RejectedLogRecords())
	}
	r.SetLimits(LogLimits{MaxLineBytes: mixedLimits.MaxLineBytes, MaxAttributes: mixedLimits.MaxAttributes})
	if resp := decodeLogs(t, post(r, "application/x-protobuf", "", bytes.NewReader(body))); resp.PartialSuccess().ErrorMessage() != mixedMessage {
		t.Errorf("after SetLimits: %q, want %q", resp.PartialSuccess().ErrorMessage(), mixedMessage)
	}
	r.SetLimits(LogLimits{})
	if got := r.Limits(); got != (LogLimits{DefaultMaxLineBytes, DefaultMaxAttributes}) {
		t.Errorf("SetLimits of zero gives %+v, want the defaults", got)
	}
}
