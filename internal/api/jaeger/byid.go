package jaeger

import (
	"context"
	"errors"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
)

// IDReader is implemented by readers that find spans by correlation ID as
// well as by trace ID (the "correlation_id" attribute). With one, the
// trace endpoints accept a correlation ID wherever a trace ID goes and
// answer with every trace of that request.
type IDReader interface {
	// ByID returns the spans whose trace ID or correlation ID is id.
	ByID(ctx context.Context, id string) ([]model.Span, error)
}

// tracesByID resolves the path parameter of a trace lookup: a trace ID
// when it parses as one and the trace is stored, else a correlation ID,
// whose traces are returned whole. parseErr is the error of parsing raw as
// a trace ID (nil when it parsed as id); it is returned when raw is not a
// correlation ID either.
func (h *Handler) tracesByID(ctx context.Context, raw string, id model.TraceID, parseErr error) ([]store.Trace, error) {
	if parseErr == nil {
		spans, err := h.reader.GetTrace(ctx, id)
		if err == nil || !errors.Is(err, store.ErrTraceNotFound) {
			return []store.Trace{{ID: id, Spans: spans}}, err
		}
		parseErr = err
	}
	ids, ok := h.reader.(IDReader)
	if !ok {
		return nil, parseErr
	}
	spans, err := ids.ByID(ctx, raw)
	if err != nil {
		return nil, err
	}
	var traceIDs []model.TraceID
	seen := map[model.TraceID]bool{}
	for i := range spans {
		if t := spans[i].TraceID; !seen[t] && len(traceIDs) < h.maxTraces {
			seen[t] = true
			traceIDs = append(traceIDs, t)
		}
	}
	if len(traceIDs) == 0 {
		return nil, parseErr
	}
	out := make([]store.Trace, 0, len(traceIDs))
	for _, t := range traceIDs {
		spans, err := h.reader.GetTrace(ctx, t)
		if errors.Is(err, store.ErrTraceNotFound) {
			continue // removed by retention between the two reads
		}
		if err != nil {
			return nil, err
		}
		out = append(out, store.Trace{ID: t, Spans: spans})
	}
	if len(out) == 0 {
		return nil, parseErr
	}
	return out, nil
}
