package e2e

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// postWrite sends a marshalled remote-write message of the given protobuf
// content type and protocol version, snappy-compressed.
func postWrite(t *testing.T, s *server, contentType, version string, raw []byte) (*http.Response, string) {
	t.Helper()
	hreq, _ := http.NewRequest(http.MethodPost, s.url("/api/v1/write"), bytes.NewReader(snappy.Encode(nil, raw)))
	hreq.Header.Set("Content-Type", contentType)
	hreq.Header.Set("Content-Encoding", "snappy")
	hreq.Header.Set("X-Prometheus-Remote-Write-Version", version)
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// remoteWrite sends a remote-write 1.0 request and returns the answer.
func remoteWrite(t *testing.T, s *server, series ...prompb.TimeSeries) (int, string) {
	t.Helper()
	raw, err := (&prompb.WriteRequest{Timeseries: series}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	resp, body := postWrite(t, s, "application/x-protobuf", "0.1.0", raw)
	return resp.StatusCode, body
}

func series(name string, ts time.Time, v float64) prompb.TimeSeries {
	return prompb.TimeSeries{
		Labels:  []prompb.Label{{Name: "__name__", Value: name}, {Name: "job", Value: "rw"}},
		Samples: []prompb.Sample{{Timestamp: ts.UnixMilli(), Value: v}},
	}
}

// TestRemoteWritePartial sends a remote-write 1.0 request holding one
// sample the TSDB must refuse (far older than its out-of-order window)
// and valid ones: the valid ones are stored, and the answer says what was
// refused.
func TestRemoteWritePartial(t *testing.T) {
	s := startArgus(t, t.TempDir())
	now := time.Now()
	if code, body := remoteWrite(t, s, series("rw_x", now, 1)); code >= 300 {
		t.Fatalf("first write: %d %s", code, body)
	}
	code, body := remoteWrite(t, s,
		series("rw_x", now.Add(-time.Hour), 2), // an hour out of order
		series("rw_y", now, 3),
		series("rw_z", now, 4))
	if code != 400 || !strings.Contains(body, "1 samples rejected") || !strings.Contains(body, "rw_x") {
		t.Fatalf("mixed write: %d %q, want 400 naming the refused sample", code, body)
	}
	v := s.query(`{job="rw"}`)
	got := map[string]string{}
	for i, r := range v.Result {
		got[r.Metric["__name__"]] = v.Value(i)
	}
	if got["rw_x"] != "1" || got["rw_y"] != "3" || got["rw_z"] != "4" {
		t.Fatalf("stored: %v, want rw_x=1 rw_y=3 rw_z=4", got)
	}
	if code, body := remoteWrite(t, s, series("rw_w", now, 5)); code >= 300 {
		t.Fatalf("clean write: %d %s", code, body)
	}
}

// TestRemoteWrite2 sends a remote-write 2.0 request (symbol table and
// label references) and reads the samples back.
func TestRemoteWrite2(t *testing.T) {
	s := startArgus(t, t.TempDir())
	now := time.Now().UnixMilli()
	req := &writev2.Request{
		Symbols: []string{"", "__name__", "rw2_requests_total", "job", "rw2", "route", "/a", "/b"},
		Timeseries: []writev2.TimeSeries{
			{LabelsRefs: []uint32{1, 2, 3, 4, 5, 6}, Samples: []writev2.Sample{{Value: 10, Timestamp: now}}},
			{LabelsRefs: []uint32{1, 2, 3, 4, 5, 7}, Samples: []writev2.Sample{{Value: 20, Timestamp: now}}},
		},
	}
	raw, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	resp, body := postWrite(t, s, "application/x-protobuf;proto=io.prometheus.write.v2.Request", "2.0.0", raw)
	if resp.StatusCode >= 300 || resp.Header.Get("X-Prometheus-Remote-Write-Samples-Written") != "2" {
		t.Fatalf("write 2.0: %d %q, samples written %q", resp.StatusCode, body, resp.Header.Get("X-Prometheus-Remote-Write-Samples-Written"))
	}
	v := s.query(`sum(rw2_requests_total{job="rw2"})`)
	if len(v.Result) != 1 || v.Value(0) != "30" {
		t.Fatalf("stored: %+v", v.Result)
	}
}
