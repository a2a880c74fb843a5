package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func post(t *testing.T, url, contentType string, body []byte) (int, string) {
	t.Helper()
	resp, err := http.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestBadInput sends what a broken or hostile client might, on both HTTP
// ports and over gRPC, and checks each gets the answer the OTLP
// specification asks for while valid spans in the same request are kept.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "argus.yml")
	if err := os.WriteFile(cfg, []byte("limits:\n  max_request_bytes: 64KiB\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startArgus(t, filepath.Join(dir, "data"), "--config="+cfg)
	for _, base := range []string{s.url(""), "http://" + s.otlpHTTP} {
		if code, body := post(t, base+"/v1/traces", "application/x-protobuf", []byte{0xff, 0xff, 0xff}); code != 400 {
			t.Errorf("%s malformed protobuf: %d %s", base, code, body)
		}
		if code, body := post(t, base+"/v1/traces", "application/json", []byte(`{"resourceSpans": [`)); code != 400 {
			t.Errorf("%s malformed JSON: %d %s", base, code, body)
		}
		if code, body := post(t, base+"/v1/traces", "text/plain", []byte("hello")); code != 415 {
			t.Errorf("%s text/plain: %d %s", base, code, body)
		}
		if code, body := post(t, base+"/v1/traces", "application/x-protobuf", make([]byte, 100<<10)); code != 413 {
			t.Errorf("%s 100KiB body with a 64KiB limit: %d %s", base, code, body)
		}
	}

	// Metrics receivers: Prometheus's answers for bodies they cannot read.
	if code, body := post(t, s.url("/api/v1/write"), "application/x-protobuf", []byte("not snappy")); code != 400 {
		t.Errorf("malformed remote write: %d %s", code, body)
	}
	if code, body := post(t, s.url("/v1/metrics"), "application/x-protobuf", []byte{0xff, 0xff, 0xff}); code != 400 {
		t.Errorf("malformed OTLP metrics: %d %s", code, body)
	}

	// One valid span and two invalid ones in one gRPC request.
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "partial")
	ss := rs.ScopeSpans().AppendEmpty().Spans()
	now := time.Now()
	good := ss.AppendEmpty()
	good.SetTraceID(pcommon.TraceID{1, 2, 3})
	good.SetSpanID(pcommon.SpanID{1})
	good.SetName("good")
	good.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
	good.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
	zero := ss.AppendEmpty()
	zero.SetSpanID(pcommon.SpanID{2})
	zero.SetName("zero trace id")
	backwards := ss.AppendEmpty()
	backwards.SetTraceID(pcommon.TraceID{1, 2, 3})
	backwards.SetSpanID(pcommon.SpanID{3})
	backwards.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
	backwards.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Second)))

	conn, err := grpc.NewClient(s.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, err := ptraceotlp.NewGRPCClient(conn).Export(ctxTimeout(t, 10*time.Second), ptraceotlp.NewExportRequestFromTraces(td))
	if err != nil {
		t.Fatal(err)
	}
	if ps := resp.PartialSuccess(); ps.RejectedSpans() != 2 || ps.ErrorMessage() == "" {
		t.Errorf("partial success: rejected %d, message %q", ps.RejectedSpans(), ps.ErrorMessage())
	}
	var got jaegerResponse[[]jaegerTrace]
	s.getJSON("/jaeger/api/traces/01020300000000000000000000000000", 200, &got)
	if len(got.Data) != 1 || len(got.Data[0].Spans) != 1 || got.Data[0].Spans[0].OperationName != "good" {
		t.Errorf("stored: %+v", got.Data)
	}
}

// TestConfigReload changes the request limit through POST /-/reload and
// SIGHUP, and checks a broken file is refused while the old config stays.
func TestConfigReload(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "argus.yml")
	write := func(s string) {
		if err := os.WriteFile(cfg, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("limits:\n  max_request_bytes: 1MiB\n")
	s := startArgus(t, filepath.Join(dir, "data"), "--config="+cfg)
	body := make([]byte, 100<<10)
	if code, _ := post(t, s.url("/v1/traces"), "application/x-protobuf", body); code != 400 {
		t.Fatalf("100KiB under a 1MiB limit: %d, want 400 (parsed, malformed)", code)
	}

	write("limits:\n  max_request_bytes: 10KiB\n")
	if code, msg := post(t, s.url("/-/reload"), "", nil); code != 200 {
		t.Fatalf("reload: %d %s", code, msg)
	}
	if code, _ := post(t, s.url("/v1/traces"), "application/x-protobuf", body); code != 413 {
		t.Fatalf("100KiB under a 10KiB limit: %d, want 413", code)
	}

	write("limits:\n  max_request_bytes: lots\n  unknown_setting: 1\n")
	code, msg := post(t, s.url("/-/reload"), "", nil)
	if code != 400 || !strings.Contains(msg, "lots") || !strings.Contains(msg, "unknown_setting") {
		t.Fatalf("bad reload: %d %q, want 400 naming both problems", code, msg)
	}
	if code, _ := post(t, s.url("/v1/traces"), "application/x-protobuf", body); code != 413 {
		t.Fatalf("the old limit did not stay after a failed reload: %d", code)
	}

	write("limits:\n  max_request_bytes: 1MiB\n")
	s.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, 10*time.Second, func() error {
		if code, _ := post(t, s.url("/v1/traces"), "application/x-protobuf", body); code != 400 {
			return &statusError{code}
		}
		return nil
	})
}

type statusError struct{ code int }

func (e *statusError) Error() string { return "status " + http.StatusText(e.code) }

// TestBadConfigRefusesToStart checks that an invalid config stops argus
// at start with every problem named.
func TestBadConfigRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "argus.yml")
	os.WriteFile(cfg, []byte("limits:\n  max_request_bytes: -5\nbogus: true\n"), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, argusBin, "--config="+cfg, "--data.dir="+dir,
		"--http.addr=127.0.0.1:0", "--otlp.grpc.addr=127.0.0.1:0", "--otlp.http.addr=127.0.0.1:0").CombinedOutput()
	if err == nil {
		t.Fatalf("argus started with a bad config:\n%s", out)
	}
	if !strings.Contains(string(out), "bogus") {
		t.Errorf("output does not name the unknown key:\n%s", out)
	}
}

// TestOperationalEndpoints checks health, readiness, version and the
// server's own metrics.
func TestOperationalEndpoints(t *testing.T) {
	s := startArgus(t, t.TempDir())
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(s.url(p))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", p, resp, err)
		}
		resp.Body.Close()
	}
	spans, _ := batchOfTraces("metrics", 3, time.Now())
	if err := grpcExporter(t, s).ExportSpans(ctxTimeout(t, 10*time.Second), spans); err != nil {
		t.Fatal(err)
	}
	s.getJSON("/jaeger/api/services", 200, nil)
	resp, err := http.Get(s.url("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"argus_build_info{",
		`argus_ingest_spans_accepted_total{protocol="grpc"} 3`,
		`argus_colstore_rows_written_total{store="traces"} 3`,
		"argus_colstore_part_bytes",
		"argus_colstore_merges_total",
		`argus_http_request_duration_seconds_count{handler="jaeger"} 1`,
		"process_resident_memory_bytes",
	} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	out, err := exec.Command(argusBin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "argus ") {
		t.Errorf("argus version: %q %v", out, err)
	}
}
