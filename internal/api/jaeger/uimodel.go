package jaeger

import (
	"cmp"
	"math"
	"slices"
	"strconv"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
)

// The types below are the JSON shapes of Jaeger's v1 HTTP API (Jaeger's
// internal/uimodel), which the Jaeger UI and Grafana's Jaeger data source
// decode. Field names, omitempty and null-versus-empty choices follow
// Jaeger, so clients that tolerate Jaeger's quirks see the same ones here.

// structuredResponse is the envelope of every v1 response.
type structuredResponse struct {
	Data   any               `json:"data"`
	Total  int               `json:"total"`
	Limit  int               `json:"limit"`
	Offset int               `json:"offset"`
	Errors []structuredError `json:"errors"`
}

// structuredError is one entry of the v1 envelope's errors. Code is absent
// for the per-trace "trace not found" entries of a multi-ID lookup, as in
// Jaeger.
type structuredError struct {
	Code    int    `json:"code,omitempty"`
	Msg     string `json:"msg"`
	TraceID string `json:"traceID,omitempty"`
}

type uiTrace struct {
	TraceID   string               `json:"traceID"`
	Spans     []uiSpan             `json:"spans"`
	Processes map[string]uiProcess `json:"processes"`
	Warnings  []string             `json:"warnings"`
}

type uiSpan struct {
	TraceID       string        `json:"traceID"`
	SpanID        string        `json:"spanID"`
	Flags         uint32        `json:"flags,omitempty"`
	OperationName string        `json:"operationName"`
	References    []uiReference `json:"references"`
	StartTime     uint64        `json:"startTime"` // microseconds since the Unix epoch
	Duration      uint64        `json:"duration"`  // microseconds
	Tags          []uiKeyValue  `json:"tags"`
	Logs          []uiLog       `json:"logs"`
	ProcessID     string        `json:"processID,omitempty"`
	Warnings      []string      `json:"warnings"`
}

type uiReference struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

type uiProcess struct {
	ServiceName string       `json:"serviceName"`
	Tags        []uiKeyValue `json:"tags"`
}

type uiLog struct {
	Timestamp uint64       `json:"timestamp"`
	Fields    []uiKeyValue `json:"fields"`
}

// uiKeyValue is a typed tag. Value holds a string, bool, int64, float64 or
// []byte (which encoding/json writes as base64, as Jaeger does for binary).
type uiKeyValue struct {
	Key   string `json:"key"`
	Type  string `json:"type,omitempty"`
	Value any    `json:"value"`
}

type uiOperation struct {
	Name     string `json:"name"`
	SpanKind string `json:"spanKind"`
}

type uiDependencyLink struct {
	Parent    string `json:"parent"`
	Child     string `json:"child"`
	CallCount uint64 `json:"callCount"`
}

// Reference types and the link attribute that picks one, as in the
// OpenTelemetry-to-Jaeger translation Jaeger uses.
const (
	refChildOf     = "CHILD_OF"
	refFollowsFrom = "FOLLOWS_FROM"
	refTypeAttr    = "opentracing.ref_type"
	refTypeChildOf = "child_of"
)

// jsMaxSafeInt is the largest integer a JavaScript number holds exactly.
// Jaeger writes larger int64 tag values as strings so the UI does not round
// them, and so does this package.
const jsMaxSafeInt = 1<<53 - 1

// micros converts Unix nanoseconds to the unsigned microseconds Jaeger
// uses; times before 1970 have no such form and become 0.
func micros(ns int64) uint64 { return uint64(max(0, ns) / 1000) }

// adjust applies the parts of Jaeger's standard adjusters that change
// what a reader sees of well-formed data: every attribute list is sorted
// by key (SortCollections), so output does not depend on the order a
// sender used, and links with a zero trace or span ID are dropped
// (RemoveEmptySpanLinks). The sort is stable: repeated keys keep their
// relative order. Clock-skew correction and span-ID deduplication are
// not done.
func adjust(spans []model.Span) {
	byKey := func(a, b model.Attribute) int { return cmp.Compare(a.Key, b.Key) }
	for i := range spans {
		s := &spans[i]
		slices.SortStableFunc(s.Attributes, byKey)
		slices.SortStableFunc(s.Resource.Attributes, byKey)
		for j := range s.Events {
			slices.SortStableFunc(s.Events[j].Attributes, byKey)
		}
		s.Links = slices.DeleteFunc(s.Links, func(l model.Link) bool { return l.TraceID.IsZero() || l.SpanID.IsZero() })
		for j := range s.Links {
			slices.SortStableFunc(s.Links[j].Attributes, byKey)
		}
	}
}

// toUITrace converts one trace's spans (all with the same trace ID, in the
// order to show them) to Jaeger's UI model. Spans with equal resources
// share one process, named p1, p2, ... in order of first use.
func toUITrace(id model.TraceID, spans []model.Span) uiTrace {
	t := uiTrace{
		TraceID:   id.String(),
		Spans:     make([]uiSpan, len(spans)),
		Processes: make(map[string]uiProcess),
	}
	processIDs := make(map[string]string) // resource key -> process ID
	var key []byte
	for i := range spans {
		s := &spans[i]
		key = resourceKey(key[:0], &s.Resource)
		pid, ok := processIDs[string(key)]
		if !ok {
			pid = "p" + strconv.Itoa(len(processIDs)+1)
			processIDs[string(key)] = pid
			t.Processes[pid] = toUIProcess(&s.Resource)
		}
		t.Spans[i] = toUISpan(s, pid)
	}
	return t
}

func toUIProcess(r *model.Resource) uiProcess {
	p := uiProcess{ServiceName: r.ServiceName, Tags: make([]uiKeyValue, 0, len(r.Attributes))}
	for i := range r.Attributes {
		if r.Attributes[i].Key == "service.name" {
			continue // it is serviceName already
		}
		p.Tags = append(p.Tags, toUIKeyValue(&r.Attributes[i]))
	}
	return p
}

func toUISpan(s *model.Span, processID string) uiSpan {
	return uiSpan{
		TraceID: s.TraceID.String(),
		SpanID:  s.SpanID.String(),
		// The low byte of OTLP span flags is the W3C trace-flags byte,
		// whose sampled bit is Jaeger's sampled flag.
		Flags:         s.Flags & 0xff,
		OperationName: s.Name,
		References:    toUIReferences(s),
		StartTime:     micros(s.StartUnixNano),
		Duration:      uint64(max(0, s.Duration()) / 1000),
		Tags:          toUITags(s),
		Logs:          toUILogs(s.Events),
		ProcessID:     processID,
	}
}

// toUIReferences puts the parent first, as CHILD_OF, then every link as a
// reference of the type its "opentracing.ref_type" attribute names
// (FOLLOWS_FROM without one). A link to the parent itself only sets the
// parent reference's type. Links with a zero ID are dropped even from raw
// traces: a reference to nothing only confuses the UI.
func toUIReferences(s *model.Span) []uiReference {
	refs := make([]uiReference, 0, len(s.Links)+1)
	hasParent := !s.ParentSpanID.IsZero()
	if hasParent {
		refs = append(refs, uiReference{RefType: refChildOf, TraceID: s.TraceID.String(), SpanID: s.ParentSpanID.String()})
	}
	for i := range s.Links {
		l := &s.Links[i]
		if l.TraceID.IsZero() || l.SpanID.IsZero() {
			continue
		}
		refType := refFollowsFrom
		if v, ok := model.Lookup(l.Attributes, refTypeAttr); ok && v == refTypeChildOf {
			refType = refChildOf
		}
		if hasParent && l.TraceID == s.TraceID && l.SpanID == s.ParentSpanID {
			refs[0].RefType = refType
			continue
		}
		refs = append(refs, uiReference{RefType: refType, TraceID: l.TraceID.String(), SpanID: l.SpanID.String()})
	}
	return refs
}

// toUITags returns the span's attributes with the tags Jaeger derives from
// OTLP fields, in Jaeger's order: scope name and version, attributes, then
// span.kind, otel.status_code, error, otel.status_description and
// w3c.tracestate.
func toUITags(s *model.Span) []uiKeyValue {
	tags := make([]uiKeyValue, 0, len(s.Attributes)+7)
	str := func(key, value string) {
		tags = append(tags, uiKeyValue{Key: key, Type: "string", Value: value})
	}
	if s.Scope.Name != "" {
		str("otel.scope.name", s.Scope.Name)
	}
	if s.Scope.Version != "" {
		str("otel.scope.version", s.Scope.Version)
	}
	for i := range s.Attributes {
		tags = append(tags, toUIKeyValue(&s.Attributes[i]))
	}
	// Jaeger tags every kind but unspecified, internal included.
	if s.Kind != model.SpanKindUnspecified {
		str("span.kind", s.Kind.String())
	}
	switch s.StatusCode {
	case model.StatusOK:
		str("otel.status_code", "OK")
	case model.StatusError:
		str("otel.status_code", "ERROR")
		tags = append(tags, uiKeyValue{Key: "error", Type: "bool", Value: true})
	}
	if s.StatusMessage != "" {
		str("otel.status_description", s.StatusMessage)
	}
	if s.TraceState != "" {
		str("w3c.tracestate", s.TraceState)
	}
	return tags
}

// toUILogs turns events into logs. The event name becomes the first field,
// "event", unless an attribute already has that key.
func toUILogs(events []model.Event) []uiLog {
	logs := make([]uiLog, len(events))
	for i := range events {
		e := &events[i]
		fields := make([]uiKeyValue, 0, len(e.Attributes)+1)
		if _, ok := model.Lookup(e.Attributes, "event"); e.Name != "" && !ok {
			fields = append(fields, uiKeyValue{Key: "event", Type: "string", Value: e.Name})
		}
		for j := range e.Attributes {
			fields = append(fields, toUIKeyValue(&e.Attributes[j]))
		}
		logs[i] = uiLog{Timestamp: micros(e.TimeUnixNano), Fields: fields}
	}
	return logs
}

// toUIKeyValue types a tag as Jaeger does. Arrays and maps become string
// tags holding plain JSON. A value that does not parse as its type, and a
// double JSON cannot hold (NaN, ±Inf), is shown as a string of the same
// type rather than failing the whole response.
func toUIKeyValue(a *model.Attribute) uiKeyValue {
	kv := uiKeyValue{Key: a.Key, Type: "string", Value: a.Value}
	switch a.Type {
	case model.ValueBool:
		kv.Type = "bool"
		if b, err := strconv.ParseBool(a.Value); err == nil {
			kv.Value = b
		}
	case model.ValueInt:
		kv.Type = "int64"
		if i, err := strconv.ParseInt(a.Value, 10, 64); err == nil && -jsMaxSafeInt <= i && i <= jsMaxSafeInt {
			kv.Value = i
		}
	case model.ValueDouble:
		kv.Type = "float64"
		if f, err := strconv.ParseFloat(a.Value, 64); err == nil && !isNonFinite(f) {
			kv.Value = f
		}
	case model.ValueBytes:
		kv.Type = "binary"
		kv.Value = []byte(a.Value)
	case model.ValueArray, model.ValueMap:
		kv.Value = compositeText(a)
	}
	return kv
}

func isNonFinite(f float64) bool { return math.IsNaN(f) || math.IsInf(f, 0) }

func toUIDependencies(links []store.DependencyLink) []uiDependencyLink {
	out := make([]uiDependencyLink, len(links))
	for i, l := range links {
		out[i] = uiDependencyLink(l)
	}
	return out
}
