package sdk_test

import (
	"bufio"
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/argus-obs/argus/sdk"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewCorrelationID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := sdk.NewCorrelationID()
		if !uuidRE.MatchString(id) {
			t.Fatalf("NewCorrelationID() = %q, not a version 4 UUID", id)
		}
		if !sdk.ValidCorrelationID(id) {
			t.Fatalf("NewCorrelationID() = %q, not valid", id)
		}
		if seen[id] {
			t.Fatalf("NewCorrelationID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestMiddlewareCorrelationID(t *testing.T) {
	e := start(t, sdk.Options{})
	tooLong := strings.Repeat("a", sdk.MaxCorrelationIDLen+1)
	longest := strings.Repeat("b", sdk.MaxCorrelationIDLen)
	tests := []struct {
		name    string
		header  string // X-Correlation-ID sent, "" for none
		baggage string // baggage header sent
		want    string // "" means a fresh UUID
		reason  string // rejection counted, if any
	}{
		{name: "absent", want: ""},
		{name: "kept", header: "order-42", want: "order-42"},
		{name: "longest", header: longest, want: longest},
		{name: "from baggage", baggage: "correlation_id=from-upstream", want: "from-upstream"},
		{name: "header beats baggage", header: "hdr", baggage: "correlation_id=bag", want: "hdr"},
		{name: "too long", header: tooLong, reason: "too_long"},
		{name: "control char", header: "abc\x01def", reason: "invalid_char"},
		{name: "newline", header: "abc\ndef", reason: "invalid_char"},
		{name: "space", header: "abc def", reason: "invalid_char"},
		{name: "non-ascii", header: "caf\u00e9", reason: "invalid_char"},
		{name: "DEL", header: "abc\x7f", reason: "invalid_char"},
		{name: "bad baggage", baggage: "correlation_id=a%20b", reason: "invalid_char"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			route := "/cid/" + string(rune('a'+i))
			var inCtx, inBaggage string
			mux := http.NewServeMux()
			mux.HandleFunc("GET "+route, func(w http.ResponseWriter, r *http.Request) {
				inCtx = sdk.CorrelationID(r.Context())
				inBaggage = baggage.FromContext(r.Context()).Member("correlation_id").Value()
				io.WriteString(w, "ok")
			})
			h := sdk.Middleware(mux)
			req := httptest.NewRequest("GET", route, nil)
			if tt.header != "" {
				req.Header["X-Correlation-Id"] = []string{tt.header}
			}
			if tt.baggage != "" {
				req.Header.Set("Baggage", tt.baggage)
			}
			var before float64
			if tt.reason != "" {
				before = counterValue(t, "argus_sdk_correlation_ids_rejected_total", map[string]string{"reason": tt.reason})
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			got := rec.Header().Get(sdk.CorrelationHeader)
			if tt.want != "" && got != tt.want {
				t.Errorf("response header = %q, want %q", got, tt.want)
			}
			if tt.want == "" && !uuidRE.MatchString(got) {
				t.Errorf("response header = %q, want a fresh UUID", got)
			}
			if inCtx != got || inBaggage != got {
				t.Errorf("handler saw CorrelationID %q, baggage %q; response says %q", inCtx, inBaggage, got)
			}
			if tt.reason != "" {
				after := counterValue(t, "argus_sdk_correlation_ids_rejected_total", map[string]string{"reason": tt.reason})
				if after != before+1 {
					t.Errorf("rejections{reason=%q} went %v -> %v, want +1", tt.reason, before, after)
				}
			}
			logs := e.out.accessLogs(t, route)
			if len(logs) != 1 {
				t.Fatalf("want 1 access log for %s, have %d", route, len(logs))
			}
			if logs[0]["correlation_id"] != got {
				t.Errorf("access log correlation_id = %v, want %q", logs[0]["correlation_id"], got)
			}
			if tt.reason != "" && tt.header != "" && strings.Contains(e.out.String(), tt.header) {
				t.Errorf("the rejected ID %q reached the log", tt.header)
			}
		})
	}
	e.flush(t)
	// Every span carries the ID its response did, and no rejected one.
	for _, s := range e.spans.stubs() {
		v, ok := spanAttr(s, "correlation_id")
		if !ok || !sdk.ValidCorrelationID(v) {
			t.Errorf("span %s: correlation_id = %q", s.Name, v)
		}
	}
}

func TestMiddlewareSpanAndAccessLog(t *testing.T) {
	e := start(t, sdk.Options{ServiceName: "shop"})
	mux := http.NewServeMux()
	var handlerSpan trace.SpanContext
	mux.HandleFunc("POST /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		handlerSpan = trace.SpanContextFromContext(r.Context())
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "created")
	})
	srv := httptest.NewServer(sdk.Middleware(mux))
	defer srv.Close()

	// An incoming trace: the server span must continue it.
	parent := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	req, _ := http.NewRequest("POST", srv.URL+"/orders/7?x=1", strings.NewReader("{}"))
	req.Header.Set("Traceparent", parent)
	req.Header.Set("User-Agent", "test-agent")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cid := resp.Header.Get(sdk.CorrelationHeader)
	e.flush(t)

	s := e.span(t, "POST /orders/{id}")
	if s.SpanKind != trace.SpanKindServer {
		t.Errorf("span kind = %v", s.SpanKind)
	}
	if got := s.SpanContext.TraceID().String(); got != "0af7651916cd43dd8448eb211c80319c" {
		t.Errorf("trace ID = %s, want the incoming one", got)
	}
	if got := s.Parent.SpanID().String(); got != "b7ad6b7169203331" || !s.Parent.IsRemote() {
		t.Errorf("parent = %s (remote %v), want the incoming span", got, s.Parent.IsRemote())
	}
	if handlerSpan.SpanID() != s.SpanContext.SpanID() {
		t.Errorf("the handler's context has span %s, want the server span %s", handlerSpan.SpanID(), s.SpanContext.SpanID())
	}
	for k, want := range map[string]string{
		"http.request.method":       "POST",
		"http.route":                "/orders/{id}",
		"http.response.status_code": "201",
		"url.path":                  "/orders/7",
		"url.scheme":                "http",
		"server.address":            "127.0.0.1",
		"client.address":            "127.0.0.1",
		"user_agent.original":       "test-agent",
		"network.protocol.version":  "1.1",
		"correlation_id":            cid,
	} {
		if got, _ := spanAttr(s, k); got != want {
			t.Errorf("span attribute %s = %q, want %q", k, got, want)
		}
	}
	if s.Status.Code != codes.Unset {
		t.Errorf("span status = %v, want unset for a 201", s.Status)
	}

	logs := e.out.accessLogs(t, "/orders/{id}")
	if len(logs) != 1 {
		t.Fatalf("want 1 access log, have %d:\n%s", len(logs), e.out)
	}
	l := logs[0]
	for k, want := range map[string]any{
		"level":          "INFO",
		"service":        "shop",
		"method":         "POST",
		"route":          "/orders/{id}",
		"path":           "/orders/7",
		"status":         float64(201),
		"bytes":          float64(len("created")),
		"trace_id":       s.SpanContext.TraceID().String(),
		"span_id":        s.SpanContext.SpanID().String(),
		"correlation_id": cid,
	} {
		if l[k] != want {
			t.Errorf("access log %s = %v (%T), want %v", k, l[k], l[k], want)
		}
	}
	if d, ok := l["duration"].(float64); !ok || d <= 0 {
		t.Errorf("access log duration = %v, want positive nanoseconds", l["duration"])
	}
}

func TestMiddlewareRoutes(t *testing.T) {
	e := start(t, sdk.Options{})
	ok := func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }
	mux := http.NewServeMux()
	mux.HandleFunc("GET /r/items/{id}", ok)
	mux.HandleFunc("/r/static/", ok)
	mux.HandleFunc("example.com/r/hosted", ok)
	// Per-route wrapping inside a wrapped mux: counted once.
	mux.Handle("GET /r/nested", sdk.Middleware(http.HandlerFunc(ok)))
	// Another router: the handler names the route.
	mux.HandleFunc("/r/custom/", func(w http.ResponseWriter, r *http.Request) {
		sdk.SetRoute(r.Context(), "/r/custom/:name")
		ok(w, r)
	})
	h := sdk.Middleware(mux)
	// Middleware around a handler the mux already routed to.
	inner := http.NewServeMux()
	inner.Handle("GET /r/inner/{x}", sdk.Middleware(http.HandlerFunc(ok)))

	tests := []struct {
		h          http.Handler
		method     string
		url        string
		route      string
		spanName   string
		statusCode int
	}{
		{h, "GET", "/r/items/1", "/r/items/{id}", "GET /r/items/{id}", 200},
		{h, "HEAD", "/r/items/2", "/r/items/{id}", "HEAD /r/items/{id}", 200},
		{h, "GET", "/r/static/a/b.css", "/r/static/", "GET /r/static/", 200},
		{h, "GET", "http://example.com/r/hosted", "/r/hosted", "GET /r/hosted", 200},
		{h, "GET", "/r/nested", "/r/nested", "GET /r/nested", 200},
		{h, "GET", "/r/custom/x", "/r/custom/:name", "GET /r/custom/:name", 200},
		{h, "GET", "/r/nothing-here", "", "GET", 404},
		{h, "BREW", "/r/items/3", "", "HTTP", 405},
		{inner, "GET", "/r/inner/5", "/r/inner/{x}", "GET /r/inner/{x}", 200},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		tt.h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.url, nil))
		if rec.Code != tt.statusCode {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.url, rec.Code, tt.statusCode)
		}
	}
	e.flush(t)
	stubs := e.spans.stubs()
	if len(stubs) != len(tests) {
		t.Fatalf("have %d spans %v, want %d (one per request, nested Middleware included)", len(stubs), spanNames(stubs), len(tests))
	}
	for i, tt := range tests {
		s := stubs[i]
		if s.Name != tt.spanName {
			t.Errorf("%s %s: span name %q, want %q", tt.method, tt.url, s.Name, tt.spanName)
		}
		got, has := spanAttr(s, "http.route")
		if got != tt.route || has != (tt.route != "") {
			t.Errorf("%s %s: http.route = %q (set %v), want %q", tt.method, tt.url, got, has, tt.route)
		}
	}
	// The unknown method is recorded as _OTHER, the original kept apart.
	if got, _ := spanAttr(stubs[7], "http.request.method"); got != "_OTHER" {
		t.Errorf("BREW: http.request.method = %q, want _OTHER", got)
	}
	if got, _ := spanAttr(stubs[7], "http.request.method_original"); got != "BREW" {
		t.Errorf("BREW: http.request.method_original = %q", got)
	}
	if v := counterValue(t, "http_server_requests_total", map[string]string{"method": "_OTHER", "route": "", "status_class": "4xx"}); v < 1 {
		t.Errorf("the BREW request was not counted under method _OTHER")
	}
}

func TestMiddlewareServerErrorAndPanic(t *testing.T) {
	e := start(t, sdk.Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /fail/error", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("GET /fail/panic", func(w http.ResponseWriter, r *http.Request) {
		panic("handler bug")
	})
	srv := httptest.NewUnstartedServer(sdk.Middleware(mux))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the panic is expected
	srv.Start()
	defer srv.Close()
	for _, p := range []string{"/fail/error", "/fail/panic"} {
		resp, err := http.Get(srv.URL + p)
		if err == nil {
			resp.Body.Close()
		}
	}
	e.flush(t)
	for name, status := range map[string]string{"GET /fail/error": "503", "GET /fail/panic": "500"} {
		s := e.span(t, name)
		if s.Status.Code != codes.Error {
			t.Errorf("%s: span status %v, want Error", name, s.Status)
		}
		if got, _ := spanAttr(s, "http.response.status_code"); got != status {
			t.Errorf("%s: status code %s, want %s", name, got, status)
		}
		if got, _ := spanAttr(s, "error.type"); got != status {
			t.Errorf("%s: error.type %q, want %s", name, got, status)
		}
	}
	for _, route := range []string{"/fail/error", "/fail/panic"} {
		logs := e.out.accessLogs(t, route)
		if len(logs) != 1 || logs[0]["level"] != "ERROR" {
			t.Errorf("%s: access logs %v, want one at ERROR", route, logs)
		}
		if v := counterValue(t, "http_server_requests_total", map[string]string{"method": "GET", "route": route, "status_class": "5xx"}); v != 1 {
			t.Errorf("%s: 5xx count %v, want 1", route, v)
		}
	}
}

func TestMiddlewareResponseWriterInterfaces(t *testing.T) {
	start(t, sdk.Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /rw/flush", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "a")
		w.(http.Flusher).Flush()
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("ResponseController.Flush: %v", err)
		}
		io.WriteString(w, "b")
	})
	mux.HandleFunc("GET /rw/copy", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(io.ReaderFrom); !ok {
			t.Error("the writer lost io.ReaderFrom")
		}
		io.Copy(w, strings.NewReader(strings.Repeat("x", 1000)))
	})
	mux.HandleFunc("GET /rw/hijack", func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		buf.Flush()
	})
	srv := httptest.NewServer(sdk.Middleware(mux))
	defer srv.Close()
	for path, want := range map[string]string{"/rw/flush": "ab", "/rw/copy": strings.Repeat("x", 1000), "/rw/hijack": "hijacked"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		body, _ := io.ReadAll(bufio.NewReader(resp.Body))
		resp.Body.Close()
		if string(body) != want {
			t.Errorf("%s: body %q, want %q", path, body, want)
		}
	}
}

func TestCorrelationIDOutsideRequests(t *testing.T) {
	ctx := context.Background()
	if got := sdk.CorrelationID(ctx); got != "" {
		t.Errorf("CorrelationID(Background) = %q", got)
	}
	ctx = sdk.ContextWithCorrelationID(ctx, "job-7")
	if got := sdk.CorrelationID(ctx); got != "job-7" {
		t.Errorf("CorrelationID = %q, want job-7", got)
	}
	if got := baggage.FromContext(ctx).Member("correlation_id").Value(); got != "job-7" {
		t.Errorf("baggage correlation_id = %q, want job-7", got)
	}
	// Only baggage, as a consumer that extracted it from a message has.
	m, _ := baggage.NewMemberRaw("correlation_id", "from-message")
	b, _ := baggage.New(m)
	if got := sdk.CorrelationID(baggage.ContextWithBaggage(context.Background(), b)); got != "from-message" {
		t.Errorf("CorrelationID from baggage = %q", got)
	}
	m, _ = baggage.NewMemberRaw("correlation_id", "has space")
	b, _ = baggage.New(m)
	if got := sdk.CorrelationID(baggage.ContextWithBaggage(context.Background(), b)); got != "" {
		t.Errorf("CorrelationID from invalid baggage = %q, want none", got)
	}
	// SetRoute outside Middleware is harmless.
	sdk.SetRoute(ctx, "/x")
}

// counterValue reads one series of a counter from the SDK registry (0 if
// absent).
func counterValue(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := sdk.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; !ok || v != lp.GetValue() {
					continue series
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
