package sdk

import (
	"fmt"
	"net/http"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Transport returns an http.RoundTripper that sends each request through
// base (http.DefaultTransport if nil) and, around it:
//
//   - starts a client span, child of the span in the request's context;
//   - injects the W3C traceparent and baggage headers (with the global
//     propagator Start installs), so the next service continues the trace
//     and receives the correlation_id baggage member;
//   - sets the X-Correlation-ID header to CorrelationID of the request's
//     context, when it has one;
//   - observes the time to the response headers in
//     http_client_request_duration_seconds, labelled by method, host and
//     status_class ("error" when no response came), with the trace ID as
//     exemplar when the span is sampled.
//
// The span ends when the response headers arrive, not when the body has
// been read. The request passed to RoundTrip is not modified: the headers
// go on a copy. Use it as the Transport of the service's http.Client, and
// pass the incoming request's context to every outgoing request:
//
//	client := &http.Client{Transport: sdk.Transport(nil), Timeout: 5 * time.Second}
//	req, _ := http.NewRequestWithContext(r.Context(), "GET", url, nil)
//	resp, err := client.Do(req)
func Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{base: base}
}

type transport struct {
	base   http.RoundTripper
	tracer tracerCache
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	method, known := knownMethod(req.Method)
	name := method
	if !known {
		name = "HTTP"
	}
	var attrs [5]attribute.KeyValue
	a := append(attrs[:0], semconv.HTTPRequestMethodKey.String(method))
	if !known {
		a = append(a, semconv.HTTPRequestMethodOriginal(req.Method))
	}
	host := req.URL.Host
	if addr, port := splitHostPort(host); addr != "" {
		a = append(a, semconv.ServerAddress(addr))
		if port > 0 {
			a = append(a, semconv.ServerPort(port))
		}
	}
	// url.full without user info and query, which may hold secrets.
	a = append(a, semconv.URLFull(req.URL.Scheme+"://"+host+req.URL.EscapedPath()))
	ctx, span := t.tracer.get().Start(req.Context(), name,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(a...))

	out := req.WithContext(ctx)
	out.Header = make(http.Header, len(req.Header)+3)
	for k, v := range req.Header {
		out.Header[k] = v
	}
	otel.GetTextMapPropagator().Inject(ctx, headerCarrier(out.Header))
	if cid := CorrelationID(ctx); cid != "" {
		out.Header[correlationHeaderKey] = []string{cid}
	}

	resp, err := t.base.RoundTrip(out)

	dur := time.Since(start)
	class := statusClassError
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		span.SetAttributes(semconv.ErrorTypeKey.String(fmt.Sprintf("%T", err)))
	} else {
		class = statusClass(resp.StatusCode)
		span.SetAttributes(semconv.HTTPResponseStatusCode(resp.StatusCode))
		if resp.StatusCode >= 400 {
			span.SetStatus(codes.Error, "")
			span.SetAttributes(semconv.ErrorTypeKey.String(fmt.Sprint(resp.StatusCode)))
		}
	}
	var traceID func() string
	if sc := span.SpanContext(); sc.IsSampled() {
		traceID = sc.TraceID().String
	}
	clientSeries.get(seriesKey{method, host, class}).observe(dur.Seconds(), start.UnixNano()+int64(dur), traceID)
	span.End()
	return resp, err
}

// CloseIdleConnections closes the idle connections of the base transport,
// if it keeps any, so http.Client.CloseIdleConnections keeps working.
func (t *transport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
