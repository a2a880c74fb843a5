package sdk

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// scopeName is the instrumentation scope of the SDK's spans and log records.
const scopeName = "github.com/argus-obs/argus/sdk"

// Middleware returns a handler that serves every request with next, and
// around it:
//
//   - takes the request's correlation ID from the X-Correlation-ID header
//     (or from the correlation_id baggage member), or makes a fresh one when
//     there is none; a malformed one (longer than MaxCorrelationIDLen bytes,
//     control characters, spaces, non-ASCII) is replaced by a fresh one and
//     counted in argus_sdk_correlation_ids_rejected_total, never passed on.
//     The ID is put in the request's context (see CorrelationID), in its
//     baggage (so Transport, or any OpenTelemetry-instrumented client,
//     carries it to the next service), on the server span, and in the
//     X-Correlation-ID response header;
//   - starts a server span, continuing the trace of the W3C traceparent
//     header if the request has one, with the HTTP semantic-convention
//     attributes;
//   - writes one access-log record through slog.Default: method, route,
//     path, status, duration and bytes, plus the trace_id, span_id and
//     correlation_id the logger adds (level Error for 5xx, Info otherwise);
//   - counts the request in http_server_requests_total and observes its
//     duration in http_server_request_duration_seconds, labelled by method,
//     route and status_class, with the trace ID as exemplar when the span is
//     sampled.
//
// The route is the pattern of the http.ServeMux entry that matched
// (r.Pattern, Go 1.22+), without its method and host: "/products/{id}".
// Middleware can wrap the whole ServeMux (it reads the pattern after the mux
// has routed) or single handlers registered on one. With another router,
// call SetRoute from inside the handler. A request no route is known for
// gets route "" and a span named after its method only: the raw path never
// becomes a label, so the number of series stays bounded.
//
// Middleware uses the global tracer provider and propagator that Start
// installs; without Start it still counts, logs and manages correlation IDs,
// and its spans are the no-op ones of the OpenTelemetry API.
//
// Middleware nested inside another Middleware only passes its route on.
func Middleware(next http.Handler) http.Handler {
	return &middleware{next: next}
}

// SetRoute sets the route of the request ctx belongs to, for routers other
// than http.ServeMux: the low-cardinality template ("/users/{id}") that
// labels the request's metrics, names its span and fills http.route. It has
// no effect outside a handler wrapped by Middleware. Call it from the
// handler's goroutine, before the handler returns.
func SetRoute(ctx context.Context, route string) {
	if info := infoFrom(ctx); info != nil && info.srv != nil {
		info.srv.route = route
	}
}

type middleware struct {
	next   http.Handler
	tracer tracerCache
}

// tracerCache holds the tracer of the global provider, fetched again when
// the global provider changes (Start called after the handler was built, or
// called again).
type tracerCache struct {
	p atomic.Pointer[tracerEntry]
}

type tracerEntry struct {
	provider trace.TracerProvider
	tracer   trace.Tracer
}

func (c *tracerCache) get() trace.Tracer {
	tp := otel.GetTracerProvider()
	if e := c.p.Load(); e != nil && e.provider == tp {
		return e.tracer
	}
	e := &tracerEntry{provider: tp, tracer: tp.Tracer(scopeName)}
	c.p.Store(e)
	return e.tracer
}

func (m *middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if info := infoFrom(r.Context()); info != nil && info.srv != nil {
		// Nested: the outer Middleware instruments this request.
		if r.Pattern != "" && info.srv.route == "" {
			info.srv.route = routeOf(r.Pattern)
		}
		m.next.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	sr := &serverRequest{w: w}
	sr.info.srv = sr

	ctx := otel.GetTextMapPropagator().Extract(r.Context(), headerCarrier(r.Header))

	// The correlation ID: header first, then upstream baggage, else new.
	bag := baggage.FromContext(ctx)
	var cid string
	if v := r.Header[correlationHeaderKey]; len(v) > 0 {
		cid = v[0]
	}
	if cid == "" {
		cid = bag.Member(CorrelationKey).Value()
	}
	if cid != "" {
		switch checkCorrelationID(cid) {
		case "":
		case reasonTooLong:
			rejectedTooLong.Inc()
			cid = ""
		default:
			rejectedInvalid.Inc()
			cid = ""
		}
	}
	if cid == "" {
		cid = NewCorrelationID()
	}
	sr.info.cid = cid
	ctx = withCorrelationBaggage(ctx, bag, cid)

	method, known := knownMethod(r.Method)
	if r.Pattern != "" { // Middleware wraps a handler the mux already routed to
		sr.route = routeOf(r.Pattern)
	}
	name := spanName(method, sr.route, r.Pattern, r.Method)
	startAttrs := requestAttrs(sr.startAttrs[:0], r, method, known)
	ctx, span := m.tracer.get().Start(ctx, name,
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(startAttrs...))
	sr.span = span

	ctx = context.WithValue(ctx, ctxKey{}, &sr.info)
	w.Header()[correlationHeaderKey] = []string{cid}
	r = r.WithContext(ctx)

	completed := false
	defer func() { m.finish(sr, r, method, name, start, !completed) }()
	m.next.ServeHTTP(sr, r)
	completed = true
}

// finish records the span, the metrics and the access log of a request. It
// runs deferred so that a handler that panics is recorded too (as a 500)
// before the panic goes on to net/http, stack intact.
func (m *middleware) finish(sr *serverRequest, r *http.Request, method, name string, start time.Time, panicked bool) {
	dur := time.Since(start)
	status := sr.status
	if !sr.wroteHeader {
		status = http.StatusOK
		if panicked {
			status = http.StatusInternalServerError
		}
	}
	if sr.route == "" && r.Pattern != "" {
		sr.route = routeOf(r.Pattern)
	}
	route := sr.route
	class := statusClass(status)
	span := sr.span

	a := append(sr.endAttrs[:0],
		semconv.HTTPResponseStatusCode(status),
		attribute.String(CorrelationKey, sr.info.cid))
	if route != "" {
		a = append(a, semconv.HTTPRoute(route))
		if n := spanName(method, route, r.Pattern, r.Method); n != name {
			span.SetName(n)
		}
	}
	if status >= 500 {
		a = append(a, semconv.ErrorTypeKey.String(strconv.Itoa(status)))
		span.SetStatus(codes.Error, "")
	}
	if panicked {
		span.SetStatus(codes.Error, "handler panicked")
	}
	span.SetAttributes(a...)

	var traceID func() string
	if span.SpanContext().IsSampled() {
		traceID = sr.traceID
	}
	serverSeries.get(seriesKey{method, route, class}).observe(dur.Seconds(), start.UnixNano()+int64(dur), traceID)

	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	slog.Default().LogAttrs(r.Context(), level, "http request",
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Duration("duration", dur),
		slog.Int64("bytes", sr.bytes))

	span.End()
}

// requestAttrs appends the semantic-convention attributes of a server
// request known when it arrives (the ones a sampler may look at).
func requestAttrs(a []attribute.KeyValue, r *http.Request, method string, known bool) []attribute.KeyValue {
	a = append(a, semconv.HTTPRequestMethodKey.String(method))
	if !known {
		a = append(a, semconv.HTTPRequestMethodOriginal(r.Method))
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	a = append(a, semconv.URLScheme(scheme), semconv.URLPath(r.URL.Path))
	if host, port := splitHostPort(r.Host); host != "" {
		a = append(a, semconv.ServerAddress(host))
		if port > 0 {
			a = append(a, semconv.ServerPort(port))
		}
	}
	if host, _ := splitHostPort(r.RemoteAddr); host != "" {
		a = append(a, semconv.ClientAddress(host))
	}
	if ua := r.Header["User-Agent"]; len(ua) > 0 {
		a = append(a, semconv.UserAgentOriginal(ua[0]))
	}
	a = append(a, semconv.NetworkProtocolVersion(protoVersion(r.ProtoMajor, r.ProtoMinor)))
	return a
}

func protoVersion(major, minor int) string {
	switch {
	case major == 1 && minor == 1:
		return "1.1"
	case major == 2:
		return "2"
	case major == 1 && minor == 0:
		return "1.0"
	case major == 3:
		return "3"
	}
	return strconv.Itoa(major) + "." + strconv.Itoa(minor)
}

// splitHostPort splits "host:port", "[v6]:port" or a bare host without
// allocating; port is 0 when absent or not a number.
func splitHostPort(hp string) (host string, port int) {
	if hp == "" {
		return "", 0
	}
	i := strings.LastIndexByte(hp, ':')
	if i < 0 || strings.IndexByte(hp[i:], ']') >= 0 {
		return strings.Trim(hp, "[]"), 0
	}
	host = strings.Trim(hp[:i], "[]")
	p, err := strconv.Atoi(hp[i+1:])
	if err != nil || p < 0 || p > 65535 {
		return host, 0
	}
	return host, p
}

// knownMethod returns the method as semantic conventions record it: one of
// the standard methods, or "_OTHER" (so a client cannot blow up label
// cardinality with made-up methods).
func knownMethod(m string) (string, bool) {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodDelete, http.MethodConnect, http.MethodOptions,
		http.MethodTrace, http.MethodPatch:
		return m, true
	}
	return "_OTHER", false
}

// routeOf returns the path part of a ServeMux pattern
// ("[METHOD ][HOST]/[PATH]").
func routeOf(pattern string) string {
	if i := strings.IndexAny(pattern, " \t"); i >= 0 {
		pattern = strings.TrimLeft(pattern[i:], " \t")
	}
	if i := strings.IndexByte(pattern, '/'); i > 0 {
		pattern = pattern[i:]
	}
	return pattern
}

// spanName returns the semantic-convention span name "{method} {route}",
// "{method}" while the route is unknown, "HTTP" for an unknown method. When
// the ServeMux pattern is exactly that string it is returned as is, which
// saves a concatenation per request.
func spanName(method, route, pattern, rawMethod string) string {
	if method == "_OTHER" {
		method = "HTTP"
	}
	if route == "" {
		return method
	}
	if len(pattern) == len(rawMethod)+1+len(route) && method == rawMethod &&
		strings.HasPrefix(pattern, rawMethod) && pattern[len(rawMethod)] == ' ' &&
		strings.HasSuffix(pattern, route) {
		return pattern
	}
	return method + " " + route
}

// serverRequest is the per-request state of Middleware: one allocation
// holding the correlation ID, the route, the span and the response writer
// wrapper that sees the status and the size of the response.
type serverRequest struct {
	info        requestInfo
	w           http.ResponseWriter
	span        trace.Span
	route       string
	status      int
	bytes       int64
	wroteHeader bool
	ids         string // hex trace ID + span ID of span, made on first use

	// Room for the span's attributes, so they cost no allocation of their
	// own.
	startAttrs [9]attribute.KeyValue
	endAttrs   [5]attribute.KeyValue
}

// traceID returns the hex trace ID of the request's span.
func (sr *serverRequest) traceID() string {
	sr.makeIDs()
	return sr.ids[:32]
}

// spanIDs returns the hex trace and span IDs of the request's span.
func (sr *serverRequest) spanIDs() (string, string) {
	sr.makeIDs()
	return sr.ids[:32], sr.ids[32:]
}

func (sr *serverRequest) makeIDs() {
	if sr.ids != "" {
		return
	}
	sc := sr.span.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	var b [48]byte
	hexEncode(b[:32], tid[:])
	hexEncode(b[32:], sid[:])
	sr.ids = string(b[:])
}

func hexEncode(dst, src []byte) {
	const hexdigits = "0123456789abcdef"
	for i, c := range src {
		dst[2*i] = hexdigits[c>>4]
		dst[2*i+1] = hexdigits[c&0xf]
	}
}

func (sr *serverRequest) Header() http.Header { return sr.w.Header() }

func (sr *serverRequest) WriteHeader(code int) {
	// 1xx responses other than 101 are informational: the final status
	// comes later.
	if !sr.wroteHeader && (code >= 200 || code < 100 || code == http.StatusSwitchingProtocols) {
		sr.status = code
		sr.wroteHeader = true
	}
	sr.w.WriteHeader(code)
}

func (sr *serverRequest) Write(b []byte) (int, error) {
	if !sr.wroteHeader {
		sr.status = http.StatusOK
		sr.wroteHeader = true
	}
	n, err := sr.w.Write(b)
	sr.bytes += int64(n)
	return n, err
}

// Flush implements http.Flusher, so streaming handlers keep working.
func (sr *serverRequest) Flush() {
	if !sr.wroteHeader {
		sr.status = http.StatusOK
		sr.wroteHeader = true
	}
	if f, ok := sr.w.(http.Flusher); ok {
		f.Flush()
		return
	}
	_ = http.NewResponseController(sr.w).Flush()
}

// Hijack implements http.Hijacker, so WebSocket upgrades keep working. It
// returns an error wrapping http.ErrNotSupported when the underlying writer
// cannot be hijacked.
func (sr *serverRequest) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !sr.wroteHeader {
		sr.status = http.StatusSwitchingProtocols
		sr.wroteHeader = true
	}
	if h, ok := sr.w.(http.Hijacker); ok {
		return h.Hijack()
	}
	return http.NewResponseController(sr.w).Hijack()
}

// ReadFrom implements io.ReaderFrom, so io.Copy into the response keeps
// using sendfile where the server can.
func (sr *serverRequest) ReadFrom(src io.Reader) (int64, error) {
	if !sr.wroteHeader {
		sr.status = http.StatusOK
		sr.wroteHeader = true
	}
	if rf, ok := sr.w.(io.ReaderFrom); ok {
		n, err := rf.ReadFrom(src)
		sr.bytes += n
		return n, err
	}
	return io.Copy(writerOnly{sr}, src)
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (sr *serverRequest) Unwrap() http.ResponseWriter { return sr.w }

// writerOnly hides ReadFrom from io.Copy, which would otherwise call it
// again.
type writerOnly struct{ io.Writer }

// headerCarrier is propagation.HeaderCarrier without the allocation that
// http.Header.Get makes for every lower-case key the propagators ask for:
// the keys of the W3C propagators are looked up in canonical form directly.
type headerCarrier http.Header

func canonicalKey(key string) string {
	switch key {
	case "traceparent":
		return "Traceparent"
	case "tracestate":
		return "Tracestate"
	case "baggage":
		return "Baggage"
	}
	return http.CanonicalHeaderKey(key)
}

func (c headerCarrier) Get(key string) string {
	if v := c[canonicalKey(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c headerCarrier) Values(key string) []string { return c[canonicalKey(key)] }

func (c headerCarrier) Set(key, value string) { c[canonicalKey(key)] = []string{value} }

func (c headerCarrier) Keys() []string { return propagation.HeaderCarrier(c).Keys() }
