package jaeger

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
)

// services answers GET /api/services with the sorted service names.
func (h *Handler) services(w http.ResponseWriter, r *http.Request) {
	names, err := h.reader.Services(r.Context())
	if err != nil {
		h.v1Error(w, r, err)
		return
	}
	if names == nil {
		names = []string{}
	}
	h.writeJSON(w, r, http.StatusOK, structuredResponse{Data: names, Total: len(names)})
}

// operationsLegacy answers GET /api/services/{service}/operations with the
// distinct operation names of every kind, the form Grafana and older
// Jaeger UIs use.
func (h *Handler) operationsLegacy(w http.ResponseWriter, r *http.Request) {
	ops, err := h.reader.Operations(r.Context(), store.OperationQuery{Service: r.PathValue("service")})
	if err != nil {
		h.v1Error(w, r, err)
		return
	}
	names := make([]string, 0, len(ops))
	for _, op := range ops {
		names = append(names, op.Name)
	}
	// The store sorts by name, so the kinds of one name are adjacent.
	names = slices.Compact(names)
	h.writeJSON(w, r, http.StatusOK, structuredResponse{Data: names, Total: len(names)})
}

// operations answers GET /api/operations?service=&spanKind= with names and
// kinds. As in Jaeger, an operation of unspecified kind has spanKind "".
func (h *Handler) operations(w http.ResponseWriter, r *http.Request) {
	ops, err := h.queryOperations(r, "service", "spanKind", r.URL.Query().Get("spanKind"))
	if err != nil {
		h.v1Error(w, r, err)
		return
	}
	out := make([]uiOperation, len(ops))
	for i, op := range ops {
		out[i] = uiOperation{Name: op.Name}
		if op.Kind != model.SpanKindUnspecified {
			out[i].SpanKind = op.Kind.String()
		}
	}
	h.writeJSON(w, r, http.StatusOK, structuredResponse{Data: out, Total: len(out)})
}

// queryOperations reads the service and kind parameters and asks the
// store. The store reads a zero kind as "any", so a request for
// unspecified-kind operations asks for all and keeps those.
func (h *Handler) queryOperations(r *http.Request, serviceParam, kindParam, kindValue string) ([]store.Operation, error) {
	service := r.URL.Query().Get(serviceParam)
	if service == "" {
		return nil, missingParam(serviceParam)
	}
	kind, kindSet, err := parseSpanKindParam(kindParam, kindValue)
	if err != nil {
		return nil, err
	}
	ops, err := h.reader.Operations(r.Context(), store.OperationQuery{Service: service, Kind: kind})
	if err != nil {
		return nil, err
	}
	if kindSet && kind == model.SpanKindUnspecified {
		ops = slices.DeleteFunc(ops, func(op store.Operation) bool { return op.Kind != model.SpanKindUnspecified })
	}
	return ops, nil
}

// findTraces answers GET /api/traces: a search, or with traceID params a
// lookup of those traces. A lookup answers 200 with the traces it found
// and one errors entry per missing ID, as Jaeger does. A traceID that is
// a correlation ID stands for the traces of that request.
func (h *Handler) findTraces(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	errs, err := h.resolveCorrelationIDs(r.Context(), q)
	if err != nil {
		h.v1Error(w, r, err)
		return
	}
	if len(errs) > 0 && len(q["traceID"]) == 0 {
		h.writeJSON(w, r, http.StatusOK, structuredResponse{Data: []uiTrace{}, Errors: errs})
		return
	}
	s, err := parseV1TraceSearch(q, h.now(), h.maxTraces)
	if err != nil {
		h.v1Error(w, r, err)
		return
	}
	var traces []store.Trace
	if len(s.traceIDs) > 0 {
		seen := make(map[model.TraceID]bool, len(s.traceIDs))
		for _, id := range s.traceIDs {
			if seen[id] {
				continue
			}
			seen[id] = true
			spans, err := h.reader.GetTrace(r.Context(), id)
			if errors.Is(err, store.ErrTraceNotFound) {
				errs = append(errs, structuredError{Msg: store.ErrTraceNotFound.Error(), TraceID: id.String()})
				continue
			}
			if err != nil {
				h.v1Error(w, r, err)
				return
			}
			traces = append(traces, store.Trace{ID: id, Spans: spans})
		}
	} else {
		if traces, err = h.reader.FindTraces(r.Context(), s.query); err != nil {
			h.v1Error(w, r, err)
			return
		}
	}
	h.writeJSON(w, r, http.StatusOK, structuredResponse{Data: uiTraces(traces, s.raw), Errors: errs})
}

// resolveCorrelationIDs replaces, in q's traceID params, each value that
// is not a trace ID by the IDs of the traces whose correlation ID it is.
// A value that names none gets a "trace not found" errors entry and is
// dropped. Without an IDReader, q is left as it is.
func (h *Handler) resolveCorrelationIDs(ctx context.Context, q url.Values) ([]structuredError, error) {
	ids, ok := h.reader.(IDReader)
	if !ok || len(q["traceID"]) == 0 {
		return nil, nil
	}
	var kept []string
	var missing []structuredError
	for _, v := range q["traceID"] {
		if _, err := parseTraceIDParam("traceID", v); err == nil {
			kept = append(kept, v)
			continue
		}
		spans, err := ids.ByID(ctx, v)
		if err != nil {
			return nil, err
		}
		if len(spans) == 0 {
			missing = append(missing, structuredError{Msg: store.ErrTraceNotFound.Error(), TraceID: v})
			continue
		}
		seen := map[model.TraceID]bool{}
		for i := range spans {
			if t := spans[i].TraceID; !seen[t] {
				seen[t] = true
				kept = append(kept, t.String())
			}
		}
	}
	q["traceID"] = kept
	return missing, nil
}

// getTrace answers GET /api/traces/{traceID}. The optional start and end
// (microseconds) are time hints for stores that need them; they are
// checked but this store seam does not take them. A correlation ID in
// place of the trace ID returns every trace of that request.
func (h *Handler) getTrace(w http.ResponseWriter, r *http.Request) {
	id, parseErr := parseTraceIDParam("traceID", r.PathValue("traceID"))
	q := r.URL.Query()
	for _, p := range []string{"start", "end"} {
		if _, err := parseMicrosParam(q, p); err != nil {
			h.v1Error(w, r, err)
			return
		}
	}
	raw, err := parseBoolParam(q, "raw")
	if err != nil {
		h.v1Error(w, r, err)
		return
	}
	traces, err := h.tracesByID(r.Context(), r.PathValue("traceID"), id, parseErr)
	if err != nil {
		h.v1Error(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, structuredResponse{Data: uiTraces(traces, raw)})
}

// dependencies answers GET /api/dependencies?endTs=&lookback= (both in
// milliseconds) with the service graph edges of that window, optionally
// only those touching service.
func (h *Handler) dependencies(w http.ResponseWriter, r *http.Request) {
	start, end, err := parseDependencies(r.URL.Query(), h.now())
	if err != nil {
		h.v1Error(w, r, err)
		return
	}
	links, err := h.reader.Dependencies(r.Context(), start, end)
	if err != nil {
		h.v1Error(w, r, err)
		return
	}
	if links, err = h.addVirtualDependencies(r.Context(), links, start, end); err != nil {
		h.v1Error(w, r, err)
		return
	}
	if service := r.URL.Query().Get("service"); service != "" {
		links = slices.DeleteFunc(links, func(l store.DependencyLink) bool {
			return l.Parent != service && l.Child != service
		})
	}
	h.writeJSON(w, r, http.StatusOK, structuredResponse{Data: toUIDependencies(links)})
}

// uiTraces converts store traces to the UI model, adjusted as Jaeger
// adjusts them unless raw.
func uiTraces(traces []store.Trace, raw bool) []uiTrace {
	out := make([]uiTrace, len(traces))
	for i := range traces {
		if !raw {
			adjust(traces[i].Spans)
		}
		out[i] = toUITrace(traces[i].ID, traces[i].Spans)
	}
	return out
}
