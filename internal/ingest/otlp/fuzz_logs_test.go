package otlp

import (
	"bytes"
	"net/http"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/argus-obs/argus/internal/store/storetest"
)

// The log fuzz tests hold the log handler to the trace handler's promise:
// no panic, 200, 400 or 413 with a body in the request's encoding, and on
// 200 every record either stored or counted as rejected. The limits are
// low so that the fuzzer reaches the rejections.

var fuzzLogLimits = LogsOptions{MaxRequestBytes: fuzzLimit, MaxLineBytes: 64, MaxAttributes: 4}

func logFuzzSeeds() []plog.Logs {
	return []plog.Logs{fullLogs(), mixedLogs(), manyLogs(8), plog.NewLogs()}
}

func checkLogsHTTP(t *testing.T, contentType string, body []byte) {
	sink := &storetest.LogSink{}
	r, _ := newLogsReceiver(t, sink, fuzzLogLimits)
	rec := post(r, contentType, "", bytes.NewReader(body))
	if rec.Code != http.StatusOK {
		if rec.Code != http.StatusBadRequest && rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d; body %q", rec.Code, rec.Body.String())
		}
		if rpcStatus(t, rec).GetMessage() == "" {
			t.Fatalf("%d without a message", rec.Code)
		}
		return
	}
	ps := decodeLogs(t, rec).PartialSuccess()
	ereq := plogotlp.NewExportRequest()
	if err := unmarshalRequest(ereq, encodingOf(contentType), body); err != nil {
		t.Fatalf("handler answered 200 to a request that does not decode: %v", err)
	}
	sent, stored := ereq.Logs().LogRecordCount(), len(sink.Records())
	if stored+int(ps.RejectedLogRecords()) != sent {
		t.Fatalf("%d records sent, %d stored + %d rejected", sent, stored, ps.RejectedLogRecords())
	}
	if (ps.RejectedLogRecords() > 0) != (ps.ErrorMessage() != "") {
		t.Fatalf("%d rejected with message %q", ps.RejectedLogRecords(), ps.ErrorMessage())
	}
}

func FuzzLogsHTTPProtobuf(f *testing.F) {
	for _, ld := range logFuzzSeeds() {
		f.Add(logsBody(f, ld, "application/x-protobuf"))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkLogsHTTP(t, "application/x-protobuf", body)
	})
}

func FuzzLogsHTTPJSON(f *testing.F) {
	for _, ld := range logFuzzSeeds() {
		f.Add(logsBody(f, ld, "application/json"))
	}
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"kvlistValue":{"values":[{"key":"a","value":{"arrayValue":{"values":[{"doubleValue":"NaN"}]}}}]}},"spanId":"00f067aa0ba902b7","eventName":"e"}]}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		checkLogsHTTP(t, "application/json", body)
	})
}
