package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store/memstore"
)

// The fuzz tests feed arbitrary bodies through the HTTP handler, the
// receiver's most exposed surface. Whatever the bytes, it must not panic
// and must answer 200, 400 or 413 with a body in the request's encoding;
// on 200 every span of the request is either stored or counted as
// rejected.

// fuzzLimit is small enough that the fuzzer can reach 413 and big enough
// for every seed.
const fuzzLimit = 64 << 10

// countingWriter counts the spans a memstore takes, so a fuzz run can
// check that none went missing.
type countingWriter struct {
	*memstore.Traces
	n int
}

func (w *countingWriter) WriteSpans(ctx context.Context, spans []model.Span) error {
	w.n += len(spans)
	return w.Traces.WriteSpans(ctx, spans)
}

func fuzzSeeds() []ptrace.Traces {
	return []ptrace.Traces{fullTraces(), mixedTraces(), manySpans(8), ptrace.NewTraces()}
}

func checkHTTP(t *testing.T, contentType, contentEncoding string, body []byte) {
	w := &countingWriter{Traces: memstore.NewTraces()}
	r, err := New(Options{Writer: w, MaxRequestBytes: fuzzLimit})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/v1/traces", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if contentEncoding != "" {
		req.Header.Set("Content-Encoding", contentEncoding)
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)

	switch rec.Code {
	case http.StatusOK:
		resp := exportResponse(t, rec)
		// Decode the request again to learn how many spans it held; the
		// handler said it was valid, so this must succeed.
		raw := body
		if contentEncoding == "gzip" {
			raw = gunzip(t, body)
		}
		ereq := ptraceotlp.NewExportRequest()
		if err := unmarshalRequest(ereq, encodingOf(contentType), raw); err != nil {
			t.Fatalf("handler answered 200 to a request that does not decode: %v", err)
		}
		sent := ereq.Traces().SpanCount()
		if got := w.n + int(resp.PartialSuccess().RejectedSpans()); got != sent {
			t.Fatalf("%d spans sent, %d stored + %d rejected", sent, w.n, resp.PartialSuccess().RejectedSpans())
		}
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		if st := rpcStatus(t, rec); st.GetMessage() == "" {
			t.Fatalf("%d without a message", rec.Code)
		}
	default:
		t.Fatalf("status %d; body %q", rec.Code, rec.Body.String())
	}
}

func encodingOf(contentType string) encoding {
	enc, _ := requestEncoding(contentType)
	return enc
}

func gunzip(t *testing.T, b []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func FuzzHTTPProtobuf(f *testing.F) {
	for _, td := range fuzzSeeds() {
		f.Add(protoBody(f, td))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkHTTP(t, "application/x-protobuf", "", body)
	})
}

func FuzzHTTPJSON(f *testing.F) {
	for _, td := range fuzzSeeds() {
		f.Add(jsonBody(f, td))
	}
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"00f067aa0ba902b7","attributes":[{"key":"k","value":{"kvlistValue":{"values":[{"key":"a","value":{"arrayValue":{"values":[{"doubleValue":"NaN"}]}}}]}}}]}]}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		checkHTTP(t, "application/json", "", body)
	})
}

// FuzzHTTPGzip fuzzes the compressed bytes themselves, in both encodings,
// so the decompressor and the size limits on both sides of it are
// exercised, not only the decoders behind them.
func FuzzHTTPGzip(f *testing.F) {
	for _, td := range fuzzSeeds() {
		f.Add(gzipBytes(f, protoBody(f, td)), false)
		f.Add(gzipBytes(f, jsonBody(f, td)), true)
	}
	f.Add(gzipBytes(f, make([]byte, 2*fuzzLimit)), false)
	f.Fuzz(func(t *testing.T, body []byte, json bool) {
		ct := "application/x-protobuf"
		if json {
			ct = "application/json"
		}
		checkHTTP(t, ct, "gzip", body)
	})
}
