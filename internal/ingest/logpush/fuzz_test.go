package logpush

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The fuzz tests feed arbitrary bodies through the HTTP handlers, the
// package's exposed surface. Whatever the bytes, a handler must not panic,
// must answer with one of its documented statuses, and must account for
// every record it counted: accepted + rejected == received, with exactly
// the accepted ones in the store.

// fuzzLimit is small enough that the fuzzer can reach 413 and big enough
// for every seed.
const fuzzLimit = 64 << 10

// fuzzOptions set tight limits, so that every refusal reason is
// reachable.
var fuzzOptions = Options{
	MaxRequestBytes: fuzzLimit,
	MaxLineBytes:    512,
	MaxAttributes:   8,
	MaxAge:          365 * 24 * time.Hour,
}

// checkFuzz posts body and checks the answer and the accounts. It
// returns the recorder for protocol-specific checks.
func checkFuzz(t *testing.T, protocol string, handler func(*Handlers) http.Handler, path string, body []byte, headers []string, statuses ...int) {
	h, w, reg := newTest(t, fuzzOptions)
	rec := request(handler(h), http.MethodPost, path, body, headers...)
	if !containsInt(statuses, rec.Code) {
		t.Fatalf("status %d, body %q", rec.Code, rec.Body.String())
	}
	received, accepted, rejected := checkCounts(t, reg, protocol)
	if int(accepted) != len(w.Records()) {
		t.Fatalf("%v accepted, %d stored", accepted, len(w.Records()))
	}
	switch rec.Code {
	case http.StatusOK, http.StatusNoContent:
		if protocol != "elasticsearch" && rejected != 0 {
			t.Fatalf("status %d with %v rejected", rec.Code, rejected)
		}
	case http.StatusBadRequest:
		if rec.Body.Len() == 0 {
			t.Fatal("400 without a message")
		}
	default:
		if received != 0 {
			t.Fatalf("status %d after counting %v records", rec.Code, received)
		}
	}
	for _, r := range w.Records() {
		if r.TimeUnixNano <= 0 || r.Resource.ServiceName == "" || len(r.Attributes) > fuzzOptions.MaxAttributes {
			t.Fatalf("stored an invalid record %+v", r)
		}
	}
	if protocol == "elasticsearch" && rec.Code == http.StatusOK {
		var resp bulkResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("bulk response %q: %v", rec.Body.String(), err)
		}
		// Every item is a received record, and the failed ones are the
		// rejected ones.
		failed := 0
		for _, it := range resp.Items {
			for _, v := range it {
				if v.Status != 201 {
					failed++
				}
			}
		}
		if len(resp.Items) != int(received) || failed != int(rejected) || resp.Errors != (failed > 0) {
			t.Fatalf("%d items (%d failed, errors=%v) for %v received, %v rejected", len(resp.Items), failed, resp.Errors, received, rejected)
		}
	}
	if protocol == "jsonlines" && (rec.Code == http.StatusOK || rec.Code == http.StatusBadRequest) {
		var resp struct{ Accepted, Rejected int }
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("response %q: %v", rec.Body.String(), err)
		}
		if resp.Accepted != int(accepted) || resp.Rejected != int(rejected) {
			t.Fatalf("response %q for %v accepted, %v rejected", rec.Body.String(), accepted, rejected)
		}
	}
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func loki(h *Handlers) http.Handler          { return h.Loki() }
func jsonLines(h *Handlers) http.Handler     { return h.JSONLines() }
func elasticsearch(h *Handlers) http.Handler { return h.Elasticsearch() }

// FuzzLokiProtobuf fuzzes the protobuf itself: the handler receives it
// snappy-compressed, as clients send it, so the fuzzer's bytes reach the
// decoder rather than die in the decompressor.
func FuzzLokiProtobuf(f *testing.F) {
	f.Add(encodePush(promtailPush()...))
	f.Add(encodePush(lokiStream{labels: `{app="x"}`, entries: []lokiEntry{
		{ts: testNow.Add(-400 * 24 * time.Hour), line: "old"},
		{ts: testNow.Add(time.Hour), line: "new"},
		{ts: testNow, line: strings.Repeat("x", 600)},
		{ts: testNow, line: "meta", meta: [][2]string{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "4"}, {"e", "5"}, {"f", "6"}, {"g", "7"}, {"h", "8"}, {"i", "9"}}},
	}}))
	f.Add(encodePush(lokiStream{labels: `{app="x"`, entries: []lokiEntry{{ts: testNow, line: "bad labels"}}}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFuzz(t, "loki", loki, LokiPushPath, snappyBytes(body), []string{"Content-Type: application/x-protobuf"},
			http.StatusNoContent, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
	})
}

func FuzzLokiJSON(f *testing.F) {
	f.Add([]byte(lokiDocJSON))
	f.Add([]byte(fluentBitLokiJSON))
	f.Add([]byte(`{"streams":[{"values":[[1714564799000000001,"x",{"level":"WARNING","n":3,"trace_id":"abc"}],["12a","y"]],"stream":{"service":"api"}},{"stream":{}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFuzz(t, "loki", loki, LokiPushPath, body, []string{"Content-Type: application/json"},
			http.StatusNoContent, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
	})
}

func FuzzBulk(f *testing.F) {
	for _, s := range []string{filebeatBulk, vectorBulk, fluentBitBulk, logstashBulk,
		"{\"delete\":{\"_id\":\"1\"}}\n{\"update\":{\"_id\":\"1\"}}\n{\"doc\":{}}\n{\"index\":{}}\n{\"@timestamp\":\"bad\"}\n{\"index\":{}}\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFuzz(t, "elasticsearch", elasticsearch, "/logs/_bulk", body, nil,
			http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
	})
}

func FuzzJSONLines(f *testing.F) {
	f.Add([]byte(`{"time":"2024-05-01T11:59:58.123456789+02:00","level":"ERROR","msg":"payment declined","service":"checkout","order_id":1234}` + "\n" +
		`{"level":30,"time":1714564798123,"pid":4242,"hostname":"web-1","msg":"request completed","req":{"method":"GET"}}` + "\n" +
		"not json\n\n" + `{"ts":"12ms"}` + "\n" + `{"t":1e3,"trace_id":"0af7651916cd43dd8448eb211c80319c","a":[1,{"b":null}]}`))
	f.Add([]byte(strings.Repeat(`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9}`+"\n", 3)))
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFuzz(t, "jsonlines", jsonLines, JSONLinesPath, body, nil,
			http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge)
	})
}
