package jaeger

import (
	"cmp"
	"net/http"
	"slices"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
)

// The api_v3 handlers answer as Jaeger's HTTP gateway does, which encodes
// protobuf messages with proto3 JSON names (camelCase) and traces as OTLP
// JSON under "result". Unlike the gateway, empty lists are written as []
// rather than left out; proto3 JSON readers accept both.

// v3Services answers GET /api/v3/services: {"services":[...]}.
func (h *Handler) v3Services(w http.ResponseWriter, r *http.Request) {
	names, err := h.reader.Services(r.Context())
	if err != nil {
		h.v3Error(w, r, statusFor(err), err.Error(), err)
		return
	}
	if names == nil {
		names = []string{}
	}
	h.writeJSON(w, r, http.StatusOK, struct {
		Services []string `json:"services"`
	}{names})
}

// v3Operations answers GET /api/v3/operations?service=&span_kind= with
// {"operations":[{"name","spanKind"}]}. The gateway reports operations of
// unspecified kind as "internal"; so does this, merging the two.
func (h *Handler) v3Operations(w http.ResponseWriter, r *http.Request) {
	kindValue, kindParam := v3Param(r.URL.Query(), "spanKind", "span_kind")
	ops, err := h.queryOperations(r, "service", kindParam, kindValue)
	if err != nil {
		h.v3Error(w, r, statusFor(err), err.Error(), err)
		return
	}
	out := make([]uiOperation, len(ops))
	for i, op := range ops {
		kind := op.Kind
		if kind == model.SpanKindUnspecified {
			kind = model.SpanKindInternal
		}
		out[i] = uiOperation{Name: op.Name, SpanKind: kind.String()}
	}
	out = slices.Compact(out)
	h.writeJSON(w, r, http.StatusOK, struct {
		Operations []uiOperation `json:"operations"`
	}{out})
}

// v3Search runs the search described by an api_v3 request's query.*
// parameters, answering the error itself when there is one.
func (h *Handler) v3Search(w http.ResponseWriter, r *http.Request) ([]store.Trace, v3TraceSearch, bool) {
	s, err := parseV3TraceSearch(r.URL.Query(), h.maxTraces)
	if err != nil {
		h.v3Error(w, r, http.StatusBadRequest, err.Error(), err)
		return nil, s, false
	}
	traces, err := h.reader.FindTraces(r.Context(), s.query)
	if err != nil {
		h.v3Error(w, r, statusFor(err), err.Error(), err)
		return nil, s, false
	}
	return traces, s, true
}

// v3FindTraces answers GET /api/v3/traces?query.* with the matching traces
// as one OTLP TracesData: {"result":{"resourceSpans":[...]}}. As in Jaeger,
// a search that finds nothing answers 404 "No traces found".
func (h *Handler) v3FindTraces(w http.ResponseWriter, r *http.Request) {
	traces, s, ok := h.v3Search(w, r)
	if !ok {
		return
	}
	if len(traces) == 0 {
		h.v3Error(w, r, http.StatusNotFound, "No traces found", nil)
		return
	}
	h.writeOTLP(w, r, traces, s.raw)
}

// v3GetTrace answers GET /api/v3/traces/{trace_id}. start_time and
// end_time (RFC 3339) are time hints for stores that need them; they are
// checked but this store seam does not take them. A correlation ID in
// place of the trace ID returns every trace of that request.
func (h *Handler) v3GetTrace(w http.ResponseWriter, r *http.Request) {
	id, parseErr := parseTraceIDParam("trace_id", r.PathValue("trace_id"))
	var err error
	q := r.URL.Query()
	for _, p := range [][2]string{{"startTime", "start_time"}, {"endTime", "end_time"}} {
		if v, name := v3Param(q, p[0], p[1]); v != "" {
			if _, err := parseRFC3339Param(name, v); err != nil {
				h.v3Error(w, r, http.StatusBadRequest, err.Error(), err)
				return
			}
		}
	}
	raw := false
	if v, name := v3Param(q, "rawTraces", "raw_traces"); v != "" {
		if raw, err = parseBoolParam(q, name); err != nil {
			h.v3Error(w, r, http.StatusBadRequest, err.Error(), err)
			return
		}
	}
	traces, err := h.tracesByID(r.Context(), r.PathValue("trace_id"), id, parseErr)
	if err != nil {
		h.v3Error(w, r, statusFor(err), err.Error(), err)
		return
	}
	h.writeOTLP(w, r, traces, raw)
}

// writeOTLP writes traces as {"result": TracesData}, each trace with its
// own ResourceSpans as Jaeger's gateway concatenates them, adjusted as
// Jaeger adjusts them unless raw.
func (h *Handler) writeOTLP(w http.ResponseWriter, r *http.Request, traces []store.Trace, raw bool) {
	td := ptrace.NewTraces()
	for i := range traces {
		if !raw {
			adjust(traces[i].Spans)
		}
		appendOTLP(td, traces[i].Spans)
	}
	var m ptrace.JSONMarshaler
	body, err := m.MarshalTraces(td)
	if err != nil {
		h.v3Error(w, r, http.StatusInternalServerError, "failed to encode traces", err)
		return
	}
	out := make([]byte, 0, len(body)+len(`{"result":}`)+1)
	out = append(out, `{"result":`...)
	out = append(out, body...)
	out = append(out, "}\n"...)
	writeBody(w, http.StatusOK, out)
}

// v3TraceSummary is api_v3's TraceSummary (added in Jaeger v2.19) in proto3
// JSON: fixed64 fields are decimal strings and zero values are left out.
type v3TraceSummary struct {
	TraceID              string             `json:"traceId,omitempty"`
	RootServiceName      string             `json:"rootServiceName,omitempty"`
	RootOperationName    string             `json:"rootOperationName,omitempty"`
	MinStartTimeUnixNano uint64             `json:"minStartTimeUnixNano,omitempty,string"`
	MaxEndTimeUnixNano   uint64             `json:"maxEndTimeUnixNano,omitempty,string"`
	SpanCount            int                `json:"spanCount,omitempty"`
	ErrorSpanCount       int                `json:"errorSpanCount,omitempty"`
	OrphanSpanCount      int                `json:"orphanSpanCount,omitempty"`
	Services             []v3ServiceSummary `json:"services,omitempty"`
}

type v3ServiceSummary struct {
	Name           string `json:"name,omitempty"`
	SpanCount      int    `json:"spanCount,omitempty"`
	ErrorSpanCount int    `json:"errorSpanCount,omitempty"`
}

// v3TraceSummaries answers GET /api/v3/trace-summaries?query.* (the same
// parameters as /api/v3/traces) with {"summaries":[...]}: per trace its
// root, time span, span and error counts, and per-service counts. An
// empty result is not an error here, as in Jaeger.
func (h *Handler) v3TraceSummaries(w http.ResponseWriter, r *http.Request) {
	traces, _, ok := h.v3Search(w, r)
	if !ok {
		return
	}
	out := make([]v3TraceSummary, len(traces))
	for i := range traces {
		out[i] = summarize(&traces[i])
	}
	h.writeJSON(w, r, http.StatusOK, struct {
		Summaries []v3TraceSummary `json:"summaries"`
	}{out})
}

// summarize computes a trace summary as Jaeger defines it: the root is the
// earliest-starting span without a parent; an orphan is a span whose
// parent is not in the trace; services are sorted by name.
func summarize(t *store.Trace) v3TraceSummary {
	sum := v3TraceSummary{TraceID: t.ID.String(), SpanCount: len(t.Spans)}
	present := make(map[model.SpanID]bool, len(t.Spans))
	for i := range t.Spans {
		present[t.Spans[i].SpanID] = true
	}
	services := make(map[string]*v3ServiceSummary)
	var minStart, maxEnd, rootStart int64
	rootFound := false
	for i := range t.Spans {
		s := &t.Spans[i]
		svc := services[s.Resource.ServiceName]
		if svc == nil {
			svc = &v3ServiceSummary{Name: s.Resource.ServiceName}
			services[s.Resource.ServiceName] = svc
		}
		svc.SpanCount++
		if s.StatusCode == model.StatusError {
			svc.ErrorSpanCount++
			sum.ErrorSpanCount++
		}
		if i == 0 || s.StartUnixNano < minStart {
			minStart = s.StartUnixNano
		}
		if i == 0 || s.EndUnixNano > maxEnd {
			maxEnd = s.EndUnixNano
		}
		switch {
		case s.ParentSpanID.IsZero():
			if !rootFound || s.StartUnixNano < rootStart {
				rootFound, rootStart = true, s.StartUnixNano
				sum.RootServiceName, sum.RootOperationName = s.Resource.ServiceName, s.Name
			}
		case !present[s.ParentSpanID]:
			sum.OrphanSpanCount++
		}
	}
	sum.MinStartTimeUnixNano = uint64(max(0, minStart))
	sum.MaxEndTimeUnixNano = uint64(max(0, maxEnd))
	for _, svc := range services {
		sum.Services = append(sum.Services, *svc)
	}
	slices.SortFunc(sum.Services, func(a, b v3ServiceSummary) int { return cmp.Compare(a.Name, b.Name) })
	return sum
}
