package logpush

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/argus-obs/argus/internal/model"
)

// The benchmarks post realistic requests of benchRecords records of about
// 300 bytes each, through the whole handler, to a writer that discards
// what it gets: they measure decoding, mapping and answering. They report
// records/s and allocs/record.

const benchRecords = 1000

// discardWriter counts what it is given and keeps nothing.
type discardWriter struct{ n int }

func (w *discardWriter) WriteLogs(_ context.Context, records []model.LogRecord) error {
	w.n += len(records)
	return nil
}

// benchLine is a ~290-byte logfmt line, as an application writes it;
// with its trace and span IDs a Loki entry is about 350 bytes.
func benchLine(i int) string {
	return fmt.Sprintf(`level=info ts=2024-05-01T11:%02d:%02d.%03dZ caller=handler.go:142 msg="request completed" method=GET path=/api/v1/orders/%d status=200 duration_ms=%d bytes=%d user_id=u-%06d request_id=5f1c2e3d-%04x-4b0b-9d1e-7a1b2c3d4e5f remote_addr=10.1.%d.%d:54321 user_agent="Go-http-client/1.1"`,
		i/60%60, i%60, i%1000, 100000+i, i%97, 1000+i*13, i*7919%1000000, i, i%256, i*7%256)
}

func lokiBenchBody() []byte {
	var streams []lokiStream
	for s := range 10 {
		st := lokiStream{labels: fmt.Sprintf(`{app="orders", env="prod", instance="orders-%d", job="shop/orders", namespace="shop"}`, s)}
		for e := range benchRecords / 10 {
			i := s*100 + e
			st.entries = append(st.entries, lokiEntry{
				ts:   testNow.Add(-time.Duration(benchRecords-i) * time.Millisecond),
				line: benchLine(i),
				meta: [][2]string{{"trace_id", fmt.Sprintf("%032x", i+1)}, {"span_id", fmt.Sprintf("%016x", i+1)}},
			})
		}
		streams = append(streams, st)
	}
	return snappyBytes(encodePush(streams...))
}

func jsonLinesBenchBody() []byte {
	var buf bytes.Buffer
	for i := range benchRecords {
		fmt.Fprintf(&buf, `{"time":"2024-05-01T11:%02d:%02d.%03d123Z","level":"INFO","msg":"request completed","service":"orders","method":"GET","path":"/api/v1/orders/%d","status":200,"duration_ms":%d.25,"user_id":"u-%06d","trace_id":"%032x","span_id":"%016x","request_id":"5f1c2e3d-%04x-4b0b"}`+"\n",
			i/60%60, i%60, i%1000, 100000+i, i%97, i, i+1, i+1, i)
	}
	return buf.Bytes()
}

func bulkBenchBody() []byte {
	var buf bytes.Buffer
	for i := range benchRecords {
		fmt.Fprintf(&buf, `{"create":{"_index":"filebeat-8.11.0"}}`+"\n"+
			`{"@timestamp":"2024-05-01T11:%02d:%02d.%03dZ","log":{"offset":%d,"file":{"path":"/var/log/orders/app.log"}},"message":"GET /api/v1/orders/%d 200 %dms","input":{"type":"filestream"},"ecs":{"version":"8.0.0"},"host":{"name":"web-%d"},"agent":{"type":"filebeat","version":"8.11.0"},"service":{"name":"orders"}}`+"\n",
			i/60%60, i%60, i%1000, i*310, 100000+i, i%97, i%3)
	}
	return buf.Bytes()
}

// reusableRequest is a POST whose body can be rewound, so a benchmark
// loop measures the handler rather than building requests.
type reusableRequest struct {
	req  *http.Request
	body *bytes.Reader
}

func newReusableRequest(path string, body []byte, headers ...string) *reusableRequest {
	r := &reusableRequest{body: bytes.NewReader(body)}
	r.req, _ = http.NewRequest(http.MethodPost, path, r.body)
	r.req.ContentLength = int64(len(body))
	for _, hv := range headers {
		k, v, _ := strings.Cut(hv, ":")
		r.req.Header.Set(k, strings.TrimSpace(v))
	}
	return r
}

func (r *reusableRequest) rewind() *http.Request {
	_, _ = r.body.Seek(0, io.SeekStart)
	r.req.Body = io.NopCloser(r.body)
	return r.req
}

// nopResponse is a ResponseWriter that allocates nothing.
type nopResponse struct {
	h    http.Header
	code int
}

func (w *nopResponse) Header() http.Header         { return w.h }
func (w *nopResponse) WriteHeader(code int)        { w.code = code }
func (w *nopResponse) Write(p []byte) (int, error) { return len(p), nil }

func benchHandler(b *testing.B, handler func(*Handlers) http.Handler, path string, body []byte, okStatus int, headers ...string) {
	w := &discardWriter{}
	h, err := New(Options{Writer: w, Now: fixedClock})
	if err != nil {
		b.Fatal(err)
	}
	hh := handler(h)
	req := newReusableRequest(path, body, headers...)
	resp := &nopResponse{h: http.Header{}}
	hh.ServeHTTP(resp, req.rewind()) // warm the pools
	if resp.code != okStatus || w.n != benchRecords {
		b.Fatalf("status %d, %d records", resp.code, w.n)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		hh.ServeHTTP(resp, req.rewind())
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	records := float64(b.N) * benchRecords
	b.ReportMetric(records/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/records, "allocs/record")
}

func BenchmarkLokiPush(b *testing.B) {
	benchHandler(b, loki, LokiPushPath, lokiBenchBody(), http.StatusNoContent, "Content-Type: application/x-protobuf")
}

func BenchmarkJSONLines(b *testing.B) {
	benchHandler(b, jsonLines, JSONLinesPath, jsonLinesBenchBody(), http.StatusOK, "Content-Type: application/x-ndjson")
}

func BenchmarkBulk(b *testing.B) {
	benchHandler(b, elasticsearch, "/_bulk", bulkBenchBody(), http.StatusOK, "Content-Type: application/x-ndjson")
}

// TestAllocations holds each protocol to an allocation budget per request
// of benchRecords records: a few dozen, whatever the number of records,
// because strings share one allocation and the other memory is pooled.
func TestAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are slow to measure")
	}
	for _, tc := range []struct {
		name    string
		handler func(*Handlers) http.Handler
		path    string
		body    []byte
		status  int
		budget  float64
	}{
		// Loki parses each stream's labels with the PromQL parser: about
		// seven allocations for each of the ten streams.
		{"loki", loki, LokiPushPath, lokiBenchBody(), http.StatusNoContent, 40 + 10*10},
		{"jsonlines", jsonLines, JSONLinesPath, jsonLinesBenchBody(), http.StatusOK, 40},
		{"elasticsearch", elasticsearch, "/_bulk", bulkBenchBody(), http.StatusOK, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &discardWriter{}
			h, err := New(Options{Writer: w, Now: fixedClock})
			if err != nil {
				t.Fatal(err)
			}
			hh := tc.handler(h)
			req := newReusableRequest(tc.path, tc.body)
			resp := &nopResponse{h: http.Header{}}
			allocs := testing.AllocsPerRun(20, func() {
				hh.ServeHTTP(resp, req.rewind())
			})
			if resp.code != tc.status {
				t.Fatalf("status %d", resp.code)
			}
			if allocs > tc.budget {
				t.Errorf("%v allocations per request of %d records, budget %v", allocs, benchRecords, tc.budget)
			}
			t.Logf("%v allocations per request of %d records", allocs, benchRecords)
		})
	}
}
