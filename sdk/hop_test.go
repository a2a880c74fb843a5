package sdk_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/argus-obs/argus/sdk"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// TestHop runs the picture of the design: a caller -> frontend -> backend
// chain over real HTTP, with Middleware on both services and Transport
// between them, and checks that the trace, the baggage and the correlation
// ID cross the hop.
func TestHop(t *testing.T) {
	e := start(t, sdk.Options{ServiceName: "shop"})

	type seen struct {
		cid, bagCID, tenant, header string
		span                        trace.SpanContext
	}
	var atBackend seen
	backend := http.NewServeMux()
	backend.HandleFunc("GET /stock/{sku}", func(w http.ResponseWriter, r *http.Request) {
		bag := baggage.FromContext(r.Context())
		atBackend = seen{
			cid:    sdk.CorrelationID(r.Context()),
			bagCID: bag.Member("correlation_id").Value(),
			tenant: bag.Member("tenant").Value(),
			header: r.Header.Get("X-Correlation-ID"),
			span:   trace.SpanContextFromContext(r.Context()),
		}
		io.WriteString(w, "7")
	})
	backendSrv := httptest.NewServer(sdk.Middleware(backend))
	defer backendSrv.Close()

	client := &http.Client{Transport: sdk.Transport(nil)}
	frontend := http.NewServeMux()
	var atFrontend trace.SpanContext
	frontend.HandleFunc("GET /checkout", func(w http.ResponseWriter, r *http.Request) {
		atFrontend = trace.SpanContextFromContext(r.Context())
		// Baggage the service adds itself travels too.
		m, _ := baggage.NewMemberRaw("tenant", "acme")
		bag, _ := baggage.FromContext(r.Context()).SetMember(m)
		ctx := baggage.ContextWithBaggage(r.Context(), bag)
		req, _ := http.NewRequestWithContext(ctx, "GET", backendSrv.URL+"/stock/sku-1?token=secret", nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("backend call: %v", err)
			return
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)
	})
	frontendSrv := httptest.NewServer(sdk.Middleware(frontend))
	defer frontendSrv.Close()

	req, _ := http.NewRequest("GET", frontendSrv.URL+"/checkout", nil)
	req.Header.Set("X-Correlation-ID", "hop-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "7" || resp.Header.Get("X-Correlation-ID") != "hop-1" {
		t.Fatalf("frontend answered %q with correlation ID %q", body, resp.Header.Get("X-Correlation-ID"))
	}
	want := seen{cid: "hop-1", bagCID: "hop-1", tenant: "acme", header: "hop-1"}
	if got := atBackend; got.cid != want.cid || got.bagCID != want.bagCID || got.tenant != want.tenant || got.header != want.header {
		t.Errorf("backend saw %+v, want %+v", got, want)
	}

	e.flush(t)
	front := e.span(t, "GET /checkout")
	call := e.span(t, "GET")
	back := e.span(t, "GET /stock/{sku}")
	if call.SpanKind != trace.SpanKindClient {
		t.Errorf("client span kind = %v", call.SpanKind)
	}
	tid := front.SpanContext.TraceID()
	for _, s := range []struct {
		name   string
		span   trace.SpanContext
		parent trace.SpanID
	}{
		{"client", call.SpanContext, front.SpanContext.SpanID()},
		{"backend", back.SpanContext, call.SpanContext.SpanID()},
	} {
		if s.span.TraceID() != tid {
			t.Errorf("%s span is in trace %s, want %s", s.name, s.span.TraceID(), tid)
		}
	}
	if call.Parent.SpanID() != front.SpanContext.SpanID() {
		t.Errorf("client span's parent = %s, want the frontend server span %s", call.Parent.SpanID(), front.SpanContext.SpanID())
	}
	if back.Parent.SpanID() != call.SpanContext.SpanID() || !back.Parent.IsRemote() {
		t.Errorf("backend span's parent = %s, want the client span %s", back.Parent.SpanID(), call.SpanContext.SpanID())
	}
	if atBackend.span.SpanID() != back.SpanContext.SpanID() || atFrontend.SpanID() != front.SpanContext.SpanID() {
		t.Errorf("handlers' contexts do not hold their server spans")
	}
	_, port, _ := net.SplitHostPort(backendSrv.Listener.Addr().String())
	for k, want := range map[string]string{
		"http.request.method":       "GET",
		"http.response.status_code": "200",
		"server.address":            "127.0.0.1",
		"server.port":               port,
		"url.full":                  backendSrv.URL + "/stock/sku-1",
	} {
		if got, _ := spanAttr(call, k); got != want {
			t.Errorf("client span %s = %q, want %q", k, got, want)
		}
	}
	for _, s := range []string{"GET /checkout", "GET /stock/{sku}"} {
		if got, _ := spanAttr(e.span(t, s), "correlation_id"); got != "hop-1" {
			t.Errorf("%s: correlation_id = %q", s, got)
		}
	}

	// Both access logs carry the request's correlation ID and trace.
	for route, span := range map[string]trace.SpanContext{"/checkout": front.SpanContext, "/stock/{sku}": back.SpanContext} {
		logs := e.out.accessLogs(t, route)
		if len(logs) != 1 {
			t.Fatalf("%s: %d access logs", route, len(logs))
		}
		if logs[0]["correlation_id"] != "hop-1" || logs[0]["trace_id"] != tid.String() || logs[0]["span_id"] != span.SpanID().String() {
			t.Errorf("%s access log = %v", route, logs[0])
		}
	}

	// The client latency histogram got the call, with the trace as exemplar.
	host := backendSrv.Listener.Addr().String()
	h := histogram(t, "http_client_request_duration_seconds", map[string]string{"method": "GET", "host": host, "status_class": "2xx"})
	if h == nil || h.GetSampleCount() != 1 {
		t.Fatalf("client histogram for %s: %v", host, h)
	}
	if !hasExemplar(h, tid.String()) {
		t.Errorf("client histogram has no exemplar of trace %s", tid)
	}
}

func TestTransportError(t *testing.T) {
	e := start(t, sdk.Options{})
	addr := closedAddr(t)
	client := &http.Client{Transport: sdk.Transport(nil)}
	ctx := sdk.ContextWithCorrelationID(context.Background(), "bg-job")
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/x", nil)
	if _, err := client.Do(req); err == nil {
		t.Fatal("a request to a closed port succeeded")
	}
	e.flush(t)
	s := e.span(t, "POST")
	if s.Status.Code != codes.Error {
		t.Errorf("span status = %v, want Error", s.Status)
	}
	if _, ok := spanAttr(s, "error.type"); !ok {
		t.Error("span has no error.type")
	}
	if len(s.Events) == 0 || s.Events[0].Name != "exception" {
		t.Errorf("span events = %v, want the recorded error", s.Events)
	}
	if h := histogram(t, "http_client_request_duration_seconds", map[string]string{"method": "POST", "host": addr, "status_class": "error"}); h == nil || h.GetSampleCount() != 1 {
		t.Errorf("failed call not observed with status_class=error: %v", h)
	}
}

// TestTransportDoesNotModifyRequest: RoundTrippers must not change the
// request they are given.
func TestTransportDoesNotModifyRequest(t *testing.T) {
	start(t, sdk.Options{})
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	defer srv.Close()
	ctx := sdk.ContextWithCorrelationID(context.Background(), "c-1")
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	req.Header.Set("X-Custom", "v")
	resp, err := sdk.Transport(nil).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(req.Header) != 1 || req.Context() != ctx {
		t.Errorf("the caller's request was modified: %v", req.Header)
	}
	for _, k := range []string{"Traceparent", "Baggage", "X-Correlation-Id", "X-Custom"} {
		if got.Get(k) == "" {
			t.Errorf("the server did not get %s (got %v)", k, got)
		}
	}
	if got.Get("X-Correlation-Id") != "c-1" {
		t.Errorf("X-Correlation-ID = %q", got.Get("X-Correlation-Id"))
	}
}

func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
