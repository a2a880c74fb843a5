// Package correlate serves GET /api/argus/v1/correlate/{id}: every log
// line and span of one request, found by its trace ID or its correlation
// ID, across all services, ordered by time, with the services involved.
// It is the seed of the "what happened to this request" view.
//
// The answer:
//
//	{"id": "...", "services": ["frontend", "inventory"],
//	 "traceIds": ["..."],
//	 "logs":  [{"time": "RFC 3339", "timeUnixNano": "...", "service": "...", "level": "error",
//	            "body": "...", "traceId": "...", "spanId": "...", "correlationId": "...",
//	            "attributes": {...}, "resource": {...}}],
//	 "spans": [{"traceId": "...", "spanId": "...", "parentSpanId": "...", "service": "...",
//	            "name": "...", "kind": "server", "start": "RFC 3339", "startUnixNano": "...",
//	            "durationNanos": "...", "status": "error", "statusMessage": "...", "attributes": {...}}],
//	 "exemplars": [{"series": {"__name__": "...", ...}, "labels": {"trace_id": "...", ...},
//	                "value": 0.042, "time": "RFC 3339"}]}
//
// Parameters: start and end (RFC 3339 or Unix seconds) bound the log
// search, limit caps the log lines (default 1000, at most 10000).
package correlate

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/exemplar"

	"github.com/argus-obs/argus/internal/api/timeparam"
	"github.com/argus-obs/argus/internal/model"
)

// LogFinder finds the log records of one request. Times are Unix
// nanoseconds, inclusive; zero end means no bound.
type LogFinder interface {
	ByID(ctx context.Context, id string, start, end int64, limit int) ([]model.LogRecord, error)
}

// SpanFinder finds the spans of one request.
type SpanFinder interface {
	ByID(ctx context.Context, id string) ([]model.Span, error)
}

// ExemplarFinder finds the exemplars that name one request's trace or
// correlation ID. Times are Unix milliseconds, inclusive; zero end means
// no bound.
type ExemplarFinder interface {
	ByID(ctx context.Context, id string, start, end int64) ([]exemplar.QueryResult, error)
}

// Handler answers correlation lookups. It is safe for concurrent use.
type Handler struct {
	logs      LogFinder
	spans     SpanFinder
	exemplars ExemplarFinder // optional
	log       *slog.Logger
}

// New returns a Handler over the stores; exemplars and logger may be nil.
func New(logs LogFinder, spans SpanFinder, exemplars ExemplarFinder, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{logs: logs, spans: spans, exemplars: exemplars, log: logger}
}

const (
	defaultLimit = 1000
	maxLimit     = 10000
)

type response struct {
	ID       string    `json:"id"`
	Services []string  `json:"services"`
	TraceIDs []string  `json:"traceIds"`
	Logs     []logLine `json:"logs"`
	Spans    []span    `json:"spans"`
	// Exemplars are the metric samples that name the request: the
	// latency observations of its spans, and any a service recorded.
	Exemplars []exemplarPoint `json:"exemplars"`
}

type exemplarPoint struct {
	Series map[string]string `json:"series"`
	Labels map[string]string `json:"labels"`
	// Value is null when it is not a finite number, which JSON cannot
	// carry.
	Value *float64  `json:"value"`
	Time  time.Time `json:"time"`
}

type logLine struct {
	Time          time.Time         `json:"time"`
	TimeUnixNano  string            `json:"timeUnixNano"`
	Service       string            `json:"service"`
	Level         string            `json:"level"`
	Body          string            `json:"body"`
	TraceID       string            `json:"traceId,omitempty"`
	SpanID        string            `json:"spanId,omitempty"`
	CorrelationID string            `json:"correlationId,omitempty"`
	Attributes    map[string]string `json:"attributes,omitempty"`
	Resource      map[string]string `json:"resource,omitempty"`
}

type span struct {
	TraceID       string            `json:"traceId"`
	SpanID        string            `json:"spanId"`
	ParentSpanID  string            `json:"parentSpanId,omitempty"`
	Service       string            `json:"service"`
	Name          string            `json:"name"`
	Kind          string            `json:"kind"`
	Start         time.Time         `json:"start"`
	StartUnixNano string            `json:"startUnixNano"`
	DurationNanos string            `json:"durationNanos"`
	Status        string            `json:"status"`
	StatusMessage string            `json:"statusMessage,omitempty"`
	Attributes    map[string]string `json:"attributes,omitempty"`
}

// ServeHTTP implements http.Handler for GET .../correlate/{id}.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == "" || len(id) > 256 {
		httpError(w, http.StatusBadRequest, "the id must be 1 to 256 characters")
		return
	}
	q := r.URL.Query()
	start, err := unixNanos(q.Get("start"))
	if err != nil {
		httpError(w, http.StatusBadRequest, "invalid start: "+err.Error())
		return
	}
	end, err := unixNanos(q.Get("end"))
	if err != nil {
		httpError(w, http.StatusBadRequest, "invalid end: "+err.Error())
		return
	}
	limit := defaultLimit
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit <= 0 || limit > maxLimit {
			httpError(w, http.StatusBadRequest, fmt.Sprintf("invalid limit %q: must be 1 to %d", s, maxLimit))
			return
		}
	}
	recs, err := h.logs.ByID(r.Context(), id, start, end, limit)
	if err != nil {
		h.fail(w, err)
		return
	}
	spans, err := h.spans.ByID(r.Context(), id)
	if err != nil {
		h.fail(w, err)
		return
	}
	var exemplars []exemplar.QueryResult
	if h.exemplars != nil {
		if exemplars, err = h.exemplars.ByID(r.Context(), id, start/1e6, end/1e6); err != nil {
			h.fail(w, err)
			return
		}
	}
	resp := build(id, recs, spans)
	for _, res := range exemplars {
		for _, e := range res.Exemplars {
			p := exemplarPoint{Series: res.SeriesLabels.Map(), Labels: e.Labels.Map(), Time: time.UnixMilli(e.Ts).UTC()}
			if !math.IsNaN(e.Value) && !math.IsInf(e.Value, 0) {
				p.Value = &e.Value
			}
			resp.Exemplars = append(resp.Exemplars, p)
		}
	}
	slices.SortStableFunc(resp.Exemplars, func(a, b exemplarPoint) int { return a.Time.Compare(b.Time) })
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

func build(id string, recs []model.LogRecord, spans []model.Span) response {
	resp := response{ID: id, Services: []string{}, TraceIDs: []string{}, Logs: []logLine{}, Spans: []span{}, Exemplars: []exemplarPoint{}}
	services := map[string]bool{}
	traces := map[string]bool{}
	for i := range recs {
		r := &recs[i]
		l := logLine{
			Time: time.Unix(0, r.TimeUnixNano).UTC(), TimeUnixNano: strconv.FormatInt(r.TimeUnixNano, 10),
			Service: r.Resource.ServiceName, Level: r.Level(), Body: r.Body, CorrelationID: r.CorrelationID,
			Attributes: attrMap(r.Attributes), Resource: attrMap(r.Resource.Attributes),
		}
		if !r.TraceID.IsZero() {
			l.TraceID = r.TraceID.String()
			traces[l.TraceID] = true
		}
		if !r.SpanID.IsZero() {
			l.SpanID = r.SpanID.String()
		}
		services[l.Service] = true
		resp.Logs = append(resp.Logs, l)
	}
	for i := range spans {
		s := &spans[i]
		out := span{
			TraceID: s.TraceID.String(), SpanID: s.SpanID.String(), Service: s.Resource.ServiceName,
			Name: s.Name, Kind: s.Kind.String(), Start: time.Unix(0, s.StartUnixNano).UTC(),
			StartUnixNano: strconv.FormatInt(s.StartUnixNano, 10), DurationNanos: strconv.FormatInt(s.Duration(), 10),
			Status: s.StatusCode.String(), StatusMessage: s.StatusMessage, Attributes: attrMap(s.Attributes),
		}
		if !s.ParentSpanID.IsZero() {
			out.ParentSpanID = s.ParentSpanID.String()
		}
		services[out.Service] = true
		traces[out.TraceID] = true
		resp.Spans = append(resp.Spans, out)
	}
	slices.SortStableFunc(resp.Logs, func(a, b logLine) int { return a.Time.Compare(b.Time) })
	slices.SortStableFunc(resp.Spans, func(a, b span) int { return cmp.Compare(a.StartUnixNano, b.StartUnixNano) })
	for s := range services {
		resp.Services = append(resp.Services, s)
	}
	for t := range traces {
		resp.TraceIDs = append(resp.TraceIDs, t)
	}
	slices.Sort(resp.Services)
	slices.Sort(resp.TraceIDs)
	return resp
}

func attrMap(attrs []model.Attribute) map[string]string {
	if len(attrs) == 0 {
		return nil
	}
	m := make(map[string]string, len(attrs))
	for _, a := range attrs {
		m[a.Key] = a.Value
	}
	return m
}

func (h *Handler) fail(w http.ResponseWriter, err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		httpError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	h.log.Error("correlate", "err", err)
	httpError(w, http.StatusInternalServerError, err.Error())
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// unixNanos parses a time parameter into Unix nanoseconds; absent is 0.
func unixNanos(s string) (int64, error) {
	t, err := timeparam.Parse(s)
	if err != nil || t.IsZero() {
		return 0, err
	}
	return t.UnixNano(), nil
}
