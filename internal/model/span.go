package model

import "slices"

// SpanKind says what role a span plays in a call, as OTLP defines it.
type SpanKind int32

// The span kinds, with OTLP's numbering.
const (
	SpanKindUnspecified SpanKind = 0
	SpanKindInternal    SpanKind = 1
	SpanKindServer      SpanKind = 2
	SpanKindClient      SpanKind = 3
	SpanKindProducer    SpanKind = 4
	SpanKindConsumer    SpanKind = 5
)

var spanKindNames = [...]string{"unspecified", "internal", "server", "client", "producer", "consumer"}

// String returns the lower-case name Jaeger uses for the kind ("server",
// "client", ...), or "unspecified".
func (k SpanKind) String() string {
	if k < 0 || int(k) >= len(spanKindNames) {
		return "unspecified"
	}
	return spanKindNames[k]
}

// ParseSpanKind is the inverse of SpanKind.String. It also accepts OTLP's
// upper-case enum names ("SPAN_KIND_SERVER"). ok is false for unknown names.
func ParseSpanKind(s string) (kind SpanKind, ok bool) {
	for i, name := range spanKindNames {
		if s == name || s == "SPAN_KIND_"+upper(name) {
			return SpanKind(i), true
		}
	}
	return SpanKindUnspecified, false
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// StatusCode is a span's status, as OTLP defines it.
type StatusCode int32

// The status codes, with OTLP's numbering.
const (
	StatusUnset StatusCode = 0
	StatusOK    StatusCode = 1
	StatusError StatusCode = 2
)

// String returns "unset", "ok" or "error".
func (c StatusCode) String() string {
	switch c {
	case StatusOK:
		return "ok"
	case StatusError:
		return "error"
	default:
		return "unset"
	}
}

// Span is one timed operation of a trace, with everything OTLP carries for
// it. Times are Unix nanoseconds.
type Span struct {
	TraceID       TraceID
	SpanID        SpanID
	ParentSpanID  SpanID // zero for a root span
	TraceState    string
	Flags         uint32
	Name          string
	Kind          SpanKind
	StartUnixNano int64
	EndUnixNano   int64
	StatusCode    StatusCode
	StatusMessage string
	Attributes    []Attribute
	Events        []Event
	Links         []Link
	Resource      Resource
	Scope         Scope

	// DroppedAttributes, DroppedEvents and DroppedLinks are the counts the
	// sender reported as dropped, kept so a reader knows data is missing.
	DroppedAttributes uint32
	DroppedEvents     uint32
	DroppedLinks      uint32
}

// Duration returns the span's duration in nanoseconds.
func (s *Span) Duration() int64 { return s.EndUnixNano - s.StartUnixNano }

// Event is a timestamped annotation on a span (a Jaeger "log").
type Event struct {
	TimeUnixNano int64
	Name         string
	Attributes   []Attribute
}

// Link points from a span to another span, possibly in another trace.
type Link struct {
	TraceID    TraceID
	SpanID     SpanID
	TraceState string
	Attributes []Attribute
}

// Scope is the instrumentation scope (library) that produced a span.
type Scope struct {
	Name    string
	Version string
}

// Resource describes the entity that produced telemetry: a service
// instance. ServiceName is the value of the "service.name" attribute, kept
// separately because every query needs it; Attributes holds the others.
type Resource struct {
	ServiceName string
	Attributes  []Attribute
}

// Clone returns a deep copy of s: its attribute, event and link slices are
// its own, so changing one span never changes the other.
func (s *Span) Clone() Span {
	c := *s
	c.Attributes = slices.Clone(s.Attributes)
	c.Resource.Attributes = slices.Clone(s.Resource.Attributes)
	c.Events = slices.Clone(s.Events)
	for i := range c.Events {
		c.Events[i].Attributes = slices.Clone(c.Events[i].Attributes)
	}
	c.Links = slices.Clone(s.Links)
	for i := range c.Links {
		c.Links[i].Attributes = slices.Clone(c.Links[i].Attributes)
	}
	return c
}
