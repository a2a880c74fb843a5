package sdk_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/argus-obs/argus/sdk"
)

// TestEndpointDown points the OTLP exporters at a closed port: the service
// must keep serving at full speed, drops beyond the queue bound must be
// counted and reported at most once per interval, and shutdown must return
// by its deadline.
func TestEndpointDown(t *testing.T) {
	for _, proto := range []string{"grpc", "http/protobuf"} {
		t.Run(proto, func(t *testing.T) {
			// Fail each export attempt fast, so export failures show up too.
			t.Setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "200")
			signals := []string{"traces", "logs"}
			dropped := func(signal string) float64 {
				var n float64
				for _, reason := range []string{"queue_full", "export_failed", "shutdown"} {
					n += counterValue(t, "argus_sdk_telemetry_dropped_total", map[string]string{"signal": signal, "reason": reason})
				}
				return n
			}
			before := map[string]float64{}
			for _, s := range signals {
				before[s] = dropped(s)
			}
			const interval = 300 * time.Millisecond
			out := &syncBuffer{}
			shutdown, err := sdk.Start(context.Background(), sdk.Options{
				ServiceName:        "down-svc",
				Endpoint:           closedAddr(t),
				Protocol:           proto,
				QueueSize:          16,
				DropReportInterval: interval,
				LogWriter:          out,
			})
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			mux.HandleFunc("GET /down", func(w http.ResponseWriter, r *http.Request) {
				slog.InfoContext(r.Context(), "handling")
				io.WriteString(w, "ok")
			})
			srv := httptest.NewServer(sdk.Middleware(mux))
			defer srv.Close()

			began := time.Now()
			const requests = 300
			for i := range requests {
				t0 := time.Now()
				resp, err := http.Get(srv.URL + "/down")
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("request %d: status %d", i, resp.StatusCode)
				}
				if d := time.Since(t0); d > 2*time.Second {
					t.Fatalf("request %d took %v: telemetry blocked the service", i, d)
				}
			}
			// Were a request to wait for a failing export (200ms), the
			// requests would take a minute.
			if d := time.Since(began); d > 10*time.Second {
				t.Errorf("%d requests took %v: telemetry slowed the service down", requests, d)
			}
			// Let the exporters fail a few times and the reporter speak.
			time.Sleep(3 * interval)
			elapsed := time.Since(began)

			// Every span and log record is lost: dropped at the full queue,
			// or by the exporter that could not reach the endpoint. Each
			// request makes one span and two log records, and at most
			// QueueSize of each are still buffered.
			for s, want := range map[string]float64{"traces": requests - 16, "logs": 2*requests - 16} {
				if got := dropped(s) - before[s]; got < want {
					t.Errorf("%s: %v dropped, want at least %v", s, got, want)
				}
			}

			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			t0 := time.Now()
			err = shutdown(ctx)
			if d := time.Since(t0); d > 1500*time.Millisecond {
				t.Errorf("shutdown took %v with a 500ms deadline", d)
			}
			t.Logf("shutdown: %v\n%s", err, grepWarn(out.String()))
			if err2 := shutdown(context.Background()); !errors.Is(err2, err) && err2 != err {
				t.Errorf("second shutdown returned %v, first %v", err2, err)
			}

			// The drops were reported, once per interval at most, not per
			// request, and only to the local log.
			var reports int
			var sawDrops bool
			for _, l := range out.lines(t) {
				if l["level"] != "WARN" {
					continue
				}
				reports++
				if l["dropped_spans"].(float64) > 0 && l["dropped_log_records"].(float64) > 0 {
					sawDrops = true
				}
			}
			if !sawDrops {
				t.Errorf("no report of dropped spans and log records in:\n%s", out)
			}
			if max := int(elapsed/interval) + 3; reports > max {
				t.Errorf("%d drop reports in %v, want at most %d (one per %v)", reports, elapsed, max, interval)
			}
			if n := strings.Count(out.String(), `"msg":"http request"`); n != requests {
				t.Errorf("%d access log lines on stdout, want %d: stdout must not drop", n, requests)
			}
		})
	}
}

// TestZeroOptions: Start with the zero Options works, names the service
// after the executable and logs JSON to stdout.
func TestZeroOptions(t *testing.T) {
	// The default endpoint is a local Argus; keep this test's telemetry
	// away from one that might be running.
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+closedAddr(t))
	t.Setenv("OTEL_SERVICE_NAME", "")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = stdout }()

	shutdown, err := sdk.Start(context.Background(), sdk.Options{})
	os.Stdout = stdout
	if err != nil {
		t.Fatal(err)
	}
	slog.Info("zero", "k", "v")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	shutdown(ctx)
	w.Close()
	line, _ := bufio.NewReader(r).ReadBytes('\n')
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("stdout line %q: %v", line, err)
	}
	exe, _ := os.Executable()
	want := strings.TrimSuffix(filepath.Base(exe), ".exe")
	if m["msg"] != "zero" || m["k"] != "v" || m["service"] != want {
		t.Errorf("stdout line = %v, want msg zero, k v, service %q", m, want)
	}
}

func TestServiceName(t *testing.T) {
	for _, tt := range []struct {
		name              string
		opt, optVersion   string
		envName, envAttrs string
		wantName, wantVer string
	}{
		{name: "options", opt: "a", optVersion: "1", envName: "b", envAttrs: "service.name=c,service.version=2", wantName: "a", wantVer: "1"},
		{name: "OTEL_SERVICE_NAME", envName: "b", envAttrs: "service.name=c,service.version=2", wantName: "b", wantVer: "2"},
		{name: "OTEL_RESOURCE_ATTRIBUTES", envAttrs: "service.name=c,deployment.environment.name=dev", wantName: "c"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("OTEL_SERVICE_NAME", tt.envName)
			t.Setenv("OTEL_RESOURCE_ATTRIBUTES", tt.envAttrs)
			e := &env{spans: &spanSink{}, logs: &logSink{}, out: &syncBuffer{}}
			shutdown, err := sdk.Start(context.Background(), sdk.Options{
				ServiceName: tt.opt, ServiceVersion: tt.optVersion,
				SpanExporter: e.spans, LogExporter: e.logs, LogWriter: e.out,
			})
			if err != nil {
				t.Fatal(err)
			}
			e.shutdown = shutdown
			slog.Info("hello")
			e.flush(t)
			lines := e.out.lines(t)
			if len(lines) != 1 || lines[0]["service"] != tt.wantName {
				t.Errorf("log lines %v, want service %q", lines, tt.wantName)
			}
			recs := e.logs.all()
			if len(recs) != 1 {
				t.Fatalf("%d records exported", len(recs))
			}
			set := recs[0].Resource().Set()
			name, _ := set.Value("service.name")
			ver, _ := set.Value("service.version")
			if name.AsString() != tt.wantName || ver.AsString() != tt.wantVer {
				t.Errorf("resource service %q version %q, want %q %q", name.AsString(), ver.AsString(), tt.wantName, tt.wantVer)
			}
			if tt.name == "OTEL_RESOURCE_ATTRIBUTES" {
				if env, _ := set.Value("deployment.environment.name"); env.AsString() != "dev" {
					t.Errorf("OTEL_RESOURCE_ATTRIBUTES not applied: %v", set)
				}
			}
		})
	}
}

func TestStartErrors(t *testing.T) {
	for _, opts := range []sdk.Options{
		{Protocol: "http/json"},
		{Endpoint: "ftp://x:21"},
	} {
		if _, err := sdk.Start(context.Background(), opts); err == nil {
			t.Errorf("Start(%+v) succeeded", opts)
		}
	}
}

// TestShutdownFlushes: what is buffered when shutdown is called reaches
// the exporter, and a second call does nothing.
func TestShutdownFlushes(t *testing.T) {
	e := start(t, sdk.Options{})
	for i := range 100 {
		slog.Info("buffered", "i", i)
	}
	e.flush(t)
	if n := len(e.logs.all()); n != 100 {
		t.Errorf("%d records exported at shutdown, want 100", n)
	}
	if err := e.shutdown(context.Background()); err != nil {
		t.Errorf("second shutdown: %v", err)
	}
}

func grepWarn(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, `"WARN"`) {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
