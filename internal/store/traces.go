package store

import (
	"context"
	"errors"
	"time"

	"github.com/argus-obs/argus/internal/model"
)

// ErrTraceNotFound is returned by TraceReader.GetTrace when no span of the
// trace is stored.
var ErrTraceNotFound = errors.New("trace not found")

// TraceWriter stores spans.
//
// WriteSpans is safe for concurrent use. When it returns nil, every span is
// durable (it survives a crash of the process) and visible to every reader
// of the store. The writer does not keep spans or anything they reference
// after it returns, so the caller may reuse them. A span written twice
// (an OTLP retry) is stored twice; readers return both copies.
type TraceWriter interface {
	WriteSpans(ctx context.Context, spans []model.Span) error
}

// TraceReader answers trace queries. All methods are safe for concurrent
// use, and the returned values are owned by the caller.
type TraceReader interface {
	// GetTrace returns every span of the trace, ordered by start time. It
	// returns ErrTraceNotFound when there is none.
	GetTrace(ctx context.Context, id model.TraceID) ([]model.Span, error)

	// Services returns the names of the services that sent spans, sorted.
	Services(ctx context.Context) ([]string, error)

	// Operations returns the distinct span names (with kind) of a service,
	// sorted by name then kind. A zero Kind in the query means any kind.
	Operations(ctx context.Context, q OperationQuery) ([]Operation, error)

	// FindTraces returns the traces that have at least one span matching
	// every condition of q, most recent first, at most q.Limit of them
	// (each with all its spans, ordered by start time).
	FindTraces(ctx context.Context, q TraceQuery) ([]Trace, error)

	// Dependencies returns caller → callee edges between services, counted
	// from parent/child span pairs that cross a service boundary and whose
	// child starts in [start, end].
	Dependencies(ctx context.Context, start, end time.Time) ([]DependencyLink, error)
}

// OperationQuery selects the operations of one service.
type OperationQuery struct {
	Service string
	// Kind filters by span kind; SpanKindUnspecified means any.
	Kind model.SpanKind
}

// Operation is a span name as seen for a service, with its kind.
type Operation struct {
	Name string
	Kind model.SpanKind
}

// TraceQuery is a search for traces. Zero fields do not constrain. A span
// matches when it satisfies every set field; a trace matches when any of
// its spans does.
type TraceQuery struct {
	Service   string
	Operation string
	// Attributes must all be present on the span, its resource, or (for
	// "error", "span.kind" and friends) its derived tags, with exactly
	// these string values.
	Attributes map[string]string
	// StartMin and StartMax bound the span start time (inclusive).
	StartMin, StartMax time.Time
	// DurationMin and DurationMax bound the span duration (inclusive).
	DurationMin, DurationMax time.Duration
	// Limit caps the number of traces; zero means DefaultTraceLimit.
	Limit int
}

// DefaultTraceLimit is the number of traces FindTraces returns when the
// query sets no limit, as in Jaeger.
const DefaultTraceLimit = 20

// Trace is one trace's spans, ordered by start time.
type Trace struct {
	ID    model.TraceID
	Spans []model.Span
}

// DependencyLink is one caller → callee edge of the service graph.
type DependencyLink struct {
	Parent    string
	Child     string
	CallCount uint64
}

// ErrOverloaded is wrapped by a writer's error when it cannot take more
// data right now (its write queue is full). The write was not stored; the
// caller should retry later. Ingest answers it with HTTP 429 or gRPC
// RESOURCE_EXHAUSTED and a retry hint, as the OTLP specification asks.
var ErrOverloaded = errors.New("store overloaded")
