package jaeger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/argus-obs/argus/internal/store"
)

// DefaultMaxTraces is the largest number of traces one request may ask
// for when Options.MaxTraces is zero: above what people page through in a
// search form, low enough that one request cannot make the store load
// traces without bound.
const DefaultMaxTraces = 1500

// Options configures a Handler. Only Reader is required; the zero value of
// every other field works.
type Options struct {
	// Reader answers every query.
	Reader store.TraceReader

	// Prefix is the URL path the handler is mounted under, such as
	// "/jaeger". Routes are matched as Prefix+"/api/...", so the handler
	// is mounted without http.StripPrefix:
	//
	//	mux.Handle("/jaeger/", h) // with Prefix "/jaeger"
	//
	// Empty serves the routes at "/api/...". A trailing slash is ignored.
	Prefix string

	// Logger receives server-side errors (at Error) and refused requests
	// (at Debug). Nil discards.
	Logger *slog.Logger

	// Now is the clock that default time ranges end at. Nil means
	// time.Now.
	Now func() time.Time

	// Registerer receives the handler's request counter. Nil leaves it
	// unregistered.
	Registerer prometheus.Registerer

	// Metrics, when set, answers the Service Performance Monitoring
	// endpoints (/api/metrics/...) from span metrics, and adds the service
	// graph's edges to uninstrumented callees (databases, peer.service)
	// to /api/dependencies.
	Metrics MetricsQuerier

	// MaxTraces caps the traces one request returns: larger limit and
	// search_depth values are lowered to it, and a lookup of more trace
	// IDs is refused. Zero means DefaultMaxTraces.
	MaxTraces int
}

// Handler serves Jaeger's query APIs over a store.TraceReader. It is safe
// for concurrent use and holds no resources, so it has no lifecycle of its
// own: it lives as long as the server that mounts it.
type Handler struct {
	reader    store.TraceReader
	metrics   MetricsQuerier
	logger    *slog.Logger
	now       func() time.Time
	maxTraces int
	mux       *http.ServeMux
	requests  *prometheus.CounterVec
}

// New returns a Handler for opts. It fails when Reader is missing, Prefix
// is not a path, or the request counter cannot be registered.
func New(opts Options) (*Handler, error) {
	if opts.Reader == nil {
		return nil, errors.New("jaeger api: Options.Reader is required")
	}
	prefix := strings.TrimSuffix(opts.Prefix, "/")
	if prefix != "" && (!strings.HasPrefix(prefix, "/") || strings.ContainsAny(prefix, "{}? ")) {
		return nil, fmt.Errorf("jaeger api: prefix %q: want a path such as /jaeger", opts.Prefix)
	}
	h := &Handler{
		reader:    opts.Reader,
		metrics:   opts.Metrics,
		logger:    opts.Logger,
		now:       opts.Now,
		maxTraces: opts.MaxTraces,
		mux:       http.NewServeMux(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_jaeger_api_requests_total",
			Help: "Requests to the Jaeger query API, by endpoint and HTTP status code.",
		}, []string{"endpoint", "code"}),
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.maxTraces <= 0 {
		h.maxTraces = DefaultMaxTraces
	}
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(h.requests); err != nil {
			return nil, fmt.Errorf("jaeger api: register metrics: %w", err)
		}
	}

	routes := []struct {
		path, endpoint string
		fn             http.HandlerFunc
	}{
		{"/api/services", "services", h.services},
		{"/api/services/{service}/operations", "operations_legacy", h.operationsLegacy},
		{"/api/operations", "operations", h.operations},
		{"/api/traces", "traces", h.findTraces},
		{"/api/traces/{traceID}", "trace", h.getTrace},
		{"/api/dependencies", "dependencies", h.dependencies},
		{"/api/metrics/calls", "metrics_calls", h.serveMetrics("calls")},
		{"/api/metrics/errors", "metrics_errors", h.serveMetrics("errors")},
		{"/api/metrics/latencies", "metrics_latencies", h.serveMetrics("latencies")},
		{"/api/metrics/minstep", "metrics_minstep", h.serveMinStep},

		{"/api/v3/services", "v3_services", h.v3Services},
		{"/api/v3/operations", "v3_operations", h.v3Operations},
		{"/api/v3/traces", "v3_traces", h.v3FindTraces},
		{"/api/v3/traces/{trace_id}", "v3_trace", h.v3GetTrace},
		{"/api/v3/trace-summaries", "v3_trace_summaries", h.v3TraceSummaries},
	}
	for _, r := range routes {
		h.mux.Handle("GET "+prefix+r.path, h.instrument(r.endpoint, r.fn))
	}
	return h, nil
}

// ServeHTTP implements http.Handler. Requests to paths or with methods it
// does not serve get http.ServeMux's plain 404 and 405.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

// instrument counts requests by endpoint and status code.
func (h *Handler) instrument(endpoint string, fn http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		fn(sw, r)
		h.requests.WithLabelValues(endpoint, strconv.Itoa(sw.code)).Inc()
	})
}

type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// writeJSON encodes v fully before writing, so an encoding failure becomes
// a clean 500 instead of a truncated body. prettyPrint=true indents, as
// Jaeger's query service allows.
func (h *Handler) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if p := r.URL.Query().Get("prettyPrint"); p != "" && p != "false" {
		enc.SetIndent("", "    ")
	}
	if err := enc.Encode(v); err != nil {
		h.logger.Error("jaeger api: encode response", "path", r.URL.Path, "err", err)
		writeBody(w, http.StatusInternalServerError, []byte(`{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":500,"msg":"failed to encode response"}]}`+"\n"))
		return
	}
	writeBody(w, status, buf.Bytes())
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client has gone; nothing to do
}

// statusFor maps an error to the status a response should carry: 400 for
// bad parameters, 404 for a missing trace, 500 for everything else.
func statusFor(err error) int {
	var bad *badRequest
	switch {
	case errors.As(err, &bad):
		return http.StatusBadRequest
	case errors.Is(err, store.ErrTraceNotFound):
		return http.StatusNotFound
	default:
		return http.StatusInternalServerError
	}
}

// logError logs server-side failures loudly and refused requests quietly;
// a request its client abandoned is not a server failure.
func (h *Handler) logError(r *http.Request, status int, err error) {
	if status >= 500 && !errors.Is(err, context.Canceled) {
		h.logger.Error("jaeger api: request failed", "path", r.URL.Path, "status", status, "err", err)
		return
	}
	h.logger.Debug("jaeger api: request refused", "path", r.URL.Path, "status", status, "err", err)
}

// v1Error answers in the v1 envelope with the error's status.
func (h *Handler) v1Error(w http.ResponseWriter, r *http.Request, err error) {
	status := statusFor(err)
	h.logError(r, status, err)
	h.writeJSON(w, r, status, structuredResponse{
		Errors: []structuredError{{Code: status, Msg: err.Error()}},
	})
}

// v3Error answers as Jaeger's api_v3 HTTP gateway does:
// {"error":{"httpCode":N,"message":"..."}}.
func (h *Handler) v3Error(w http.ResponseWriter, r *http.Request, status int, msg string, err error) {
	h.logError(r, status, err)
	type details struct {
		HTTPCode int    `json:"httpCode"`
		Message  string `json:"message"`
	}
	h.writeJSON(w, r, status, struct {
		Error details `json:"error"`
	}{details{status, msg}})
}
