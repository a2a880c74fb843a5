package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
)

// errWriter is a store that fails every write with err. It stands in for
// the states a real store reaches only under load or on a broken disk:
// overloaded (err wraps store.ErrOverloaded) or failing.
type errWriter struct{ err error }

func (w errWriter) WriteSpans(context.Context, []model.Span) error { return w.err }

var overloaded = errWriter{fmt.Errorf("write queue full: %w", store.ErrOverloaded)}

// newReceiver returns a receiver over w with its own metrics registry.
func newReceiver(t testing.TB, w store.TraceWriter, opts Options) (*Receiver, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts.Writer = w
	opts.Registerer = reg
	r, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r, reg
}

func protoBody(t testing.TB, td ptrace.Traces) []byte {
	t.Helper()
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonBody(t testing.TB, td ptrace.Traces) []byte {
	t.Helper()
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// post sends body to h as an OTLP/HTTP export. An empty contentEncoding
// sends none.
func post(h http.Handler, contentType, contentEncoding string, body io.Reader) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/v1/traces", body)
	req.Header.Set("Content-Type", contentType)
	if contentEncoding != "" {
		req.Header.Set("Content-Encoding", contentEncoding)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// exportResponse decodes a 200 answer in the encoding its Content-Type
// names.
func exportResponse(t testing.TB, rec *httptest.ResponseRecorder) ptraceotlp.ExportResponse {
	t.Helper()
	resp := ptraceotlp.NewExportResponse()
	decodeOK(t, rec, resp)
	return resp
}

// decodeOK decodes a 200 answer into resp in the encoding its
// Content-Type names.
func decodeOK(t testing.TB, rec *httptest.ResponseRecorder, resp unmarshaler) {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200; body %q", rec.Code, rec.Body.String())
	}
	var err error
	switch ct := rec.Header().Get("Content-Type"); ct {
	case "application/x-protobuf":
		err = resp.UnmarshalProto(rec.Body.Bytes())
	case "application/json":
		err = resp.UnmarshalJSON(rec.Body.Bytes())
	default:
		t.Fatalf("response Content-Type %q", ct)
	}
	if err != nil {
		t.Fatalf("decode export response %q: %v", rec.Body.String(), err)
	}
}

// rpcStatus decodes an error answer's google.rpc.Status body.
func rpcStatus(t testing.TB, rec *httptest.ResponseRecorder) *spb.Status {
	t.Helper()
	st := new(spb.Status)
	var err error
	switch ct := rec.Header().Get("Content-Type"); ct {
	case "application/x-protobuf":
		err = proto.Unmarshal(rec.Body.Bytes(), st)
	case "application/json":
		err = protojson.Unmarshal(rec.Body.Bytes(), st)
	default:
		t.Fatalf("error Content-Type %q", ct)
	}
	if err != nil {
		t.Fatalf("decode status body %q: %v", rec.Body.String(), err)
	}
	return st
}
