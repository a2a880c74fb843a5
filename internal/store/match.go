package store

import (
	"github.com/argus-obs/argus/internal/model"
)

// SpanMatches reports whether span satisfies every condition of q except
// Limit. It is the one definition of a match that every TraceReader
// implementation applies, so backends agree on edge cases.
func SpanMatches(span *model.Span, q *TraceQuery) bool {
	if q.Service != "" && span.Resource.ServiceName != q.Service {
		return false
	}
	if q.Operation != "" && span.Name != q.Operation {
		return false
	}
	if !q.StartMin.IsZero() && span.StartUnixNano < q.StartMin.UnixNano() {
		return false
	}
	if !q.StartMax.IsZero() && span.StartUnixNano > q.StartMax.UnixNano() {
		return false
	}
	d := span.Duration()
	if q.DurationMin > 0 && d < int64(q.DurationMin) {
		return false
	}
	if q.DurationMax > 0 && d > int64(q.DurationMax) {
		return false
	}
	for k, v := range q.Attributes {
		if got, ok := SpanTag(span, k); !ok || got != v {
			return false
		}
	}
	return true
}

// SpanTag returns the value of the tag named key as a Jaeger search sees
// it: a span attribute, else a resource attribute, else one of the tags
// Jaeger derives from OTLP fields ("error", "span.kind",
// "otel.status_code", "otel.status_description", "otel.scope.name",
// "otel.scope.version", "service.name").
func SpanTag(span *model.Span, key string) (string, bool) {
	if v, ok := model.Lookup(span.Attributes, key); ok {
		return v, true
	}
	if v, ok := model.Lookup(span.Resource.Attributes, key); ok {
		return v, true
	}
	switch key {
	case "service.name":
		return span.Resource.ServiceName, true
	case "error":
		if span.StatusCode == model.StatusError {
			return "true", true
		}
	case "span.kind":
		if span.Kind != model.SpanKindUnspecified {
			return span.Kind.String(), true
		}
	case "otel.status_code":
		switch span.StatusCode {
		case model.StatusOK:
			return "OK", true
		case model.StatusError:
			return "ERROR", true
		}
	case "otel.status_description":
		if span.StatusMessage != "" {
			return span.StatusMessage, true
		}
	case "otel.scope.name":
		if span.Scope.Name != "" {
			return span.Scope.Name, true
		}
	case "otel.scope.version":
		if span.Scope.Version != "" {
			return span.Scope.Version, true
		}
	}
	return "", false
}
