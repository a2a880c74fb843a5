package logpush

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/argus-obs/argus/internal/ingest/ingestmetrics/ingestmetricstest"
	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
	"github.com/argus-obs/argus/internal/store/storetest"
)

// testNow is the clock of every test: records without a time get it, and
// the age limits count from it.
var testNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return testNow }

var errOverloaded = fmt.Errorf("write queue full: %w", store.ErrOverloaded)

// newTest returns handlers over a fresh LogSink with their own metrics
// registry and the test clock. opts may set limits.
func newTest(t testing.TB, opts Options) (*Handlers, *storetest.LogSink, *prometheus.Registry) {
	t.Helper()
	w := &storetest.LogSink{}
	reg := prometheus.NewRegistry()
	opts.Writer = w
	opts.Registerer = reg
	if opts.Now == nil {
		opts.Now = fixedClock
	}
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return h, w, reg
}

// request sends body to h. Headers are given as "Name: value" strings.
func request(h http.Handler, method, target string, body []byte, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	for _, hv := range headers {
		k, v, _ := strings.Cut(hv, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
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

func snappyBytes(b []byte) []byte { return snappy.Encode(nil, b) }

// checkCounts checks that every record the handlers counted as received
// for protocol was either accepted or rejected: the invariant a request
// that reached the store keeps.
func checkCounts(t testing.TB, reg *prometheus.Registry, protocol string) (received, accepted, rejected float64) {
	t.Helper()
	received = ingestmetricstest.Value(t, reg, "argus_ingest_log_records_received_total", "protocol="+protocol)
	accepted = ingestmetricstest.Value(t, reg, "argus_ingest_log_records_accepted_total", "protocol="+protocol)
	rejected = ingestmetricstest.Value(t, reg, "argus_ingest_log_records_rejected_total", "protocol="+protocol)
	if accepted+rejected != received {
		t.Fatalf("%s: %v received, %v accepted + %v rejected", protocol, received, accepted, rejected)
	}
	return received, accepted, rejected
}

func str(k, v string) model.Attribute { return model.String(k, v) }

func mustTraceID(t testing.TB, s string) model.TraceID {
	t.Helper()
	id, err := model.ParseTraceID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func mustSpanID(t testing.TB, s string) model.SpanID {
	t.Helper()
	id, err := model.ParseSpanID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// diffRecords reports the first difference between two record lists.
func diffRecords(t testing.TB, got, want []model.LogRecord) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d records stored, want %d", len(got), len(want))
		for i, r := range got {
			t.Logf("got[%d] = %+v", i, r)
		}
		return
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ObservedUnixNano != testNow.UnixNano() {
			t.Errorf("record %d observed at %d, want the request's arrival %d", i, g.ObservedUnixNano, testNow.UnixNano())
		}
		w.ObservedUnixNano = g.ObservedUnixNano
		// nil and empty attribute slices are the same thing.
		if len(g.Attributes) == 0 && len(w.Attributes) == 0 {
			g.Attributes, w.Attributes = nil, nil
		}
		if len(g.Resource.Attributes) == 0 && len(w.Resource.Attributes) == 0 {
			g.Resource.Attributes, w.Resource.Attributes = nil, nil
		}
		if fmt.Sprintf("%#v", g) != fmt.Sprintf("%#v", w) {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}
