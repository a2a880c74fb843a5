package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"testing/slogtest"

	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// TestLogHandlerConformance runs the standard slog handler conformance
// suite on the handler Start installs, with and without the OTLP side.
func TestLogHandlerConformance(t *testing.T) {
	for _, withOTel := range []bool{false, true} {
		name := "json"
		if withOTel {
			name = "json+otlp"
		}
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			slogtest.Run(t, func(*testing.T) slog.Handler {
				buf.Reset()
				json := slog.NewJSONHandler(&buf, nil)
				if !withOTel {
					return newLogHandler(json, nil, slog.LevelInfo)
				}
				lp := sdklog.NewLoggerProvider()
				t.Cleanup(func() { lp.Shutdown(context.Background()) })
				return newLogHandler(json, lp.Logger("test"), slog.LevelInfo)
			}, func(t *testing.T) map[string]any {
				var m map[string]any
				if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
					t.Fatalf("%q: %v", buf.Bytes(), err)
				}
				return m
			})
		})
	}
}

func TestProtocol(t *testing.T) {
	for _, tt := range []struct {
		opt, generic, signal string
		want                 string
		err                  bool
	}{
		{want: "grpc"},
		{opt: "http/protobuf", want: "http/protobuf"},
		{generic: "http/protobuf", want: "http/protobuf"},
		{generic: "grpc", signal: "http/protobuf", want: "http/protobuf"},
		{opt: "grpc", generic: "http/protobuf", want: "grpc"},
		{generic: "http/json", err: true},
	} {
		t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", tt.generic)
		t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", tt.signal)
		got, err := protocol(tt.opt, "TRACES")
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("protocol(%q) with env %q/%q = %q, %v; want %q", tt.opt, tt.generic, tt.signal, got, err, tt.want)
		}
	}
}

func TestResolveEndpoint(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	for _, tt := range []struct {
		opt, proto string
		want       endpoint
		err        bool
	}{
		{proto: protocolGRPC, want: endpoint{hostport: "127.0.0.1:4317", insecure: true}},
		{proto: protocolHTTP, want: endpoint{hostport: "127.0.0.1:4318", insecure: true}},
		{opt: "argus:4317", proto: protocolGRPC, want: endpoint{hostport: "argus:4317", insecure: true}},
		{opt: "https://argus.example.com:4318/otlp/", proto: protocolHTTP, want: endpoint{hostport: "argus.example.com:4318", path: "/otlp"}},
		{opt: "http://[::1]:4318", proto: protocolHTTP, want: endpoint{hostport: "[::1]:4318", insecure: true}},
		{opt: "ftp://x:1", err: true},
		{opt: "http://", err: true},
	} {
		got, explicit, err := resolveEndpoint(tt.opt, "TRACES", tt.proto)
		if (err != nil) != tt.err || (!tt.err && (!explicit || got != tt.want)) {
			t.Errorf("resolveEndpoint(%q, %s) = %+v, %v, %v; want %+v", tt.opt, tt.proto, got, explicit, err, tt.want)
		}
	}
	// With the environment naming an endpoint, the exporter reads it.
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:4317")
	if _, explicit, _ := resolveEndpoint("", "TRACES", protocolGRPC); explicit {
		t.Error("an endpoint in the environment was overridden")
	}
	if got, _, _ := resolveEndpoint("other:1", "TRACES", protocolGRPC); got.hostport != "other:1" {
		t.Error("Options.Endpoint did not win over the environment")
	}
}

func TestSeverity(t *testing.T) {
	for l, want := range map[slog.Level]int{
		slog.LevelDebug: 5, slog.LevelInfo: 9, slog.LevelWarn: 13, slog.LevelError: 17,
		slog.LevelError + 100: 24, slog.LevelDebug - 100: 1, slog.LevelInfo + 2: 11,
	} {
		if got := int(severity(l)); got != want {
			t.Errorf("severity(%v) = %d, want %d", l, got, want)
		}
	}
}

func TestRouteOfAndSpanName(t *testing.T) {
	for pattern, want := range map[string]string{
		"/":                  "/",
		"/a/{b}":             "/a/{b}",
		"GET /a/{b}":         "/a/{b}",
		"GET  example.com/x": "/x",
		"example.com/x/":     "/x/",
		"POST\t/tab":         "/tab",
	} {
		if got := routeOf(pattern); got != want {
			t.Errorf("routeOf(%q) = %q, want %q", pattern, got, want)
		}
	}
	if got := spanName("GET", "/a", "GET /a", "GET"); got != "GET /a" {
		t.Errorf("spanName = %q", got)
	}
	if got := spanName("HEAD", "/a", "GET /a", "HEAD"); got != "HEAD /a" {
		t.Errorf("spanName = %q", got)
	}
	if got := spanName("_OTHER", "", "", "BREW"); got != "HTTP" {
		t.Errorf("spanName = %q", got)
	}
	// The pattern is returned as is when it is the span name: no allocation.
	if n := testing.AllocsPerRun(100, func() { _ = spanName("GET", "/a/{id}", "GET /a/{id}", "GET") }); n != 0 {
		t.Errorf("spanName allocates %v times for a method pattern", n)
	}
}

func TestSplitHostPort(t *testing.T) {
	for in, want := range map[string]struct {
		host string
		port int
	}{
		"a:80": {"a", 80}, "a": {"a", 0}, "[::1]:443": {"::1", 443}, "[::1]": {"::1", 0},
		"": {"", 0}, "a:x": {"a", 0}, "1.2.3.4:65536": {"1.2.3.4", 0},
	} {
		h, p := splitHostPort(in)
		if h != want.host || p != want.port {
			t.Errorf("splitHostPort(%q) = %q, %d; want %q, %d", in, h, p, want.host, want.port)
		}
	}
}
