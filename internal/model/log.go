package model

import "strings"

// Severity is a log record's severity number, as OTLP defines it: 1-4
// TRACE, 5-8 DEBUG, 9-12 INFO, 13-16 WARN, 17-20 ERROR, 21-24 FATAL, and
// 0 when the sender gave none.
type Severity int32

// The first severity number of each OTLP range.
const (
	SeverityUnspecified Severity = 0
	SeverityTrace       Severity = 1
	SeverityDebug       Severity = 5
	SeverityInfo        Severity = 9
	SeverityWarn        Severity = 13
	SeverityError       Severity = 17
	SeverityFatal       Severity = 21
)

// Level returns the lower-case level name Loki and Grafana use for the
// severity's range ("trace", "debug", "info", "warn", "error", "fatal"),
// or "unknown" for 0 and out-of-range numbers.
func (s Severity) Level() string {
	switch {
	case s >= 1 && s <= 4:
		return "trace"
	case s >= 5 && s <= 8:
		return "debug"
	case s >= 9 && s <= 12:
		return "info"
	case s >= 13 && s <= 16:
		return "warn"
	case s >= 17 && s <= 20:
		return "error"
	case s >= 21 && s <= 24:
		return "fatal"
	}
	return "unknown"
}

// ParseLevel maps a level name in its common spellings (case-insensitive:
// "trace", "debug", "dbug", "info", "information", "notice", "warn",
// "warning", "error", "err", "fatal", "critical", "crit", "panic",
// "emerg", "alert") to the first severity number of its range. ok is false
// for names it does not know.
func ParseLevel(name string) (s Severity, ok bool) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "trace", "trc":
		return SeverityTrace, true
	case "debug", "dbug", "dbg":
		return SeverityDebug, true
	case "info", "information", "informational", "inf", "notice":
		return SeverityInfo, true
	case "warn", "warning", "wrn":
		return SeverityWarn, true
	case "error", "err", "eror":
		return SeverityError, true
	case "fatal", "critical", "crit", "panic", "emerg", "emergency", "alert":
		return SeverityFatal, true
	}
	return SeverityUnspecified, false
}

// LogRecord is one log line with everything OTLP carries for it, plus the
// request's correlation ID as a first-class field. Times are Unix
// nanoseconds.
type LogRecord struct {
	// TimeUnixNano is when the event happened; ObservedUnixNano is when a
	// collector or Argus first saw it. Receivers set TimeUnixNano from
	// ObservedUnixNano when the sender gave no event time.
	TimeUnixNano     int64
	ObservedUnixNano int64

	Severity     Severity
	SeverityText string // as the sender spelled it; may be empty

	// Body is the message. A structured (map or array) OTLP body is kept
	// as JSON text, as attribute values are.
	Body string

	// Attributes are the record's own fields, Loki's "structured
	// metadata". Nested objects are flattened with dotted keys.
	Attributes []Attribute

	TraceID TraceID // zero when the line is not part of a trace
	SpanID  SpanID
	Flags   uint32

	// CorrelationID is the request's correlation ID (X-Correlation-ID,
	// request_id, ...), empty when the record has none.
	CorrelationID string

	// Resource is the stream the record belongs to: the service and the
	// resource attributes or stream labels the shipper sent.
	Resource Resource
	Scope    Scope

	DroppedAttributes uint32
}

// Level returns the record's level name: its severity number's range
// when it has one, else its severity text in lower case, else "unknown".
func (r *LogRecord) Level() string {
	if r.Severity != SeverityUnspecified {
		return r.Severity.Level()
	}
	if s, ok := ParseLevel(r.SeverityText); ok {
		return s.Level()
	}
	return "unknown"
}

// correlationIDKeys are the attribute keys whose value is a request's
// correlation ID, in order of preference: the canonical key first, then the
// spellings services and frameworks commonly log.
var correlationIDKeys = [...]string{
	"correlation_id", "correlation.id", "correlationId", "correlationID", "CorrelationID",
	"x_correlation_id", "x-correlation-id", "X-Correlation-ID",
	"request_id", "request.id", "requestId", "requestID", "RequestID",
	"x_request_id", "x-request-id", "X-Request-ID",
}

// CorrelationIDKey is the canonical attribute key of a correlation ID, the
// name under which Argus stores and serves it.
const CorrelationIDKey = "correlation_id"

// LiftCorrelationID finds a correlation ID among attrs by the common
// spellings (correlation_id, correlationId, request_id, X-Request-ID, ...)
// and returns it. An attribute under the canonical key CorrelationIDKey is
// removed from the returned slice (it lives on as LogRecord.CorrelationID);
// other spellings stay, so a filter on the name a service logged still
// matches. attrs is modified in place. id is empty when there is none.
func LiftCorrelationID(attrs []Attribute) (id string, rest []Attribute) {
	for _, key := range correlationIDKeys {
		for i := range attrs {
			if attrs[i].Key != key || attrs[i].Value == "" {
				continue
			}
			id = attrs[i].Value
			if key == CorrelationIDKey {
				attrs = append(attrs[:i], attrs[i+1:]...)
			}
			return id, attrs
		}
	}
	return "", attrs
}
