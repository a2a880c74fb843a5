package otlp

import (
	"encoding/base64"
	"math"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/argus-obs/argus/internal/ingest/jsonstr"
	"github.com/argus-obs/argus/internal/model"
)

// UnknownService is the service name given to spans and log records whose
// resource has no "service.name" attribute, as the OpenTelemetry resource
// semantic conventions prescribe.
const UnknownService = "unknown_service"

const serviceNameKey = "service.name"

// RejectReason says why a span was refused. Its String form is the value of
// the reason label on the rejected-spans counter.
type RejectReason uint8

// The reasons a span is rejected. Each one makes the span meaningless to a
// trace store: it could not be found, linked, or placed on a timeline.
const (
	ZeroTraceID RejectReason = iota
	ZeroSpanID
	EndBeforeStart
	numRejectReasons
)

var rejectReasonNames = [numRejectReasons]string{"zero_trace_id", "zero_span_id", "end_before_start"}

var rejectReasonText = [numRejectReasons]string{
	"trace id is all zeros",
	"span id is all zeros",
	"end time before start time",
}

// String returns the metric label form of r, such as "zero_trace_id".
func (r RejectReason) String() string {
	if r >= numRejectReasons {
		return "unknown"
	}
	return rejectReasonNames[r]
}

// Rejections counts the spans a conversion refused and describes the first
// of them, which is enough for a sender to find the bug without the
// response growing with the number of bad spans.
type Rejections struct {
	// ByReason counts rejected spans, indexed by RejectReason.
	ByReason [numRejectReasons]int
	// First describes the first rejected span, as
	// "span <trace id>/<span id>: <what was wrong>"; empty when none was.
	First string
}

// Count returns the number of rejected spans.
func (r Rejections) Count() int { return sum(r.ByReason[:]) }

// Message returns the text for an OTLP partial-success error_message, for
// example "2 spans rejected: span 0af7…319c/00f0…02b7: end time before start
// time", or "" when no span was rejected.
func (r Rejections) Message() string {
	n := r.Count()
	if n == 0 {
		return ""
	}
	return quantity(n, "span", "spans") + " rejected: " + r.First
}

func sum(counts []int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// quantity returns n and the noun in its number: "1 span", "2 spans".
func quantity(n int, singular, plural string) string {
	if n == 1 {
		return "1 " + singular
	}
	return strconv.Itoa(n) + " " + plural
}

func (r *Rejections) add(reason RejectReason, s ptrace.Span) {
	if r.Count() == 0 {
		r.First = "span " + model.TraceID(s.TraceID()).String() + "/" +
			model.SpanID(s.SpanID()).String() + ": " + rejectReasonText[reason]
	}
	r.ByReason[reason]++
}

// validate returns why s must be rejected; rejected is false when it is
// fine. Times are compared as OTLP's unsigned nanoseconds, before
// conversion.
func validate(s ptrace.Span) (reason RejectReason, rejected bool) {
	switch {
	case s.TraceID().IsEmpty():
		return ZeroTraceID, true
	case s.SpanID().IsEmpty():
		return ZeroSpanID, true
	case s.EndTimestamp() < s.StartTimestamp():
		return EndBeforeStart, true
	}
	return 0, false
}

// ConvertTraces turns OTLP trace data into model spans, leaving out the
// spans that fail validation (an all-zero trace or span ID, or an end time
// before the start time) and counting them in rej. One bad span never costs
// the others of the same request.
//
// Strings are shared with td, which is safe because pdata strings are
// immutable. To keep allocations per request rather than per span, the
// returned spans share backing arrays: all attribute slices come from one
// array, all events from another, and the spans of one resource share its
// Resource.Attributes. Every sub-slice is capped at its own length, so
// appending to one span's slice never overwrites another's; modifying
// elements of a shared Resource.Attributes is visible to every span of
// that resource.
func ConvertTraces(td ptrace.Traces) (spans []model.Span, rej Rejections) {
	// A first pass validates and sizes everything, so the second can carve
	// all spans, attributes, events and links out of exactly-sized arrays.
	var nSpans, nAttrs, nEvents, nLinks int
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		nAttrs += rs.Resource().Attributes().Len()
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j).Spans()
			for k := 0; k < ss.Len(); k++ {
				s := ss.At(k)
				if reason, bad := validate(s); bad {
					rej.add(reason, s)
					continue
				}
				nSpans++
				nAttrs += s.Attributes().Len()
				evs := s.Events()
				nEvents += evs.Len()
				for e := 0; e < evs.Len(); e++ {
					nAttrs += evs.At(e).Attributes().Len()
				}
				ls := s.Links()
				nLinks += ls.Len()
				for l := 0; l < ls.Len(); l++ {
					nAttrs += ls.At(l).Attributes().Len()
				}
			}
		}
	}
	if nSpans == 0 {
		return nil, rej
	}

	c := converter{
		attrs:  make([]model.Attribute, 0, nAttrs),
		events: make([]model.Event, 0, nEvents),
		links:  make([]model.Link, 0, nLinks),
	}
	spans = make([]model.Span, 0, nSpans)
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		res := c.resource(rs.Resource())
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			scope := sss.At(j).Scope()
			sc := model.Scope{Name: scope.Name(), Version: scope.Version()}
			ss := sss.At(j).Spans()
			for k := 0; k < ss.Len(); k++ {
				s := ss.At(k)
				if _, bad := validate(s); bad {
					continue
				}
				spans = append(spans, c.span(s, res, sc))
			}
		}
	}
	return spans, rej
}

// converter carves slices out of arrays sized by the first pass of
// ConvertTraces or ConvertLogs and keeps a scratch buffer for encoding
// arrays and maps.
type converter struct {
	attrs   []model.Attribute
	events  []model.Event
	links   []model.Link
	scratch []byte
}

func (c *converter) resource(r pcommon.Resource) model.Resource {
	res := model.Resource{ServiceName: UnknownService}
	start := len(c.attrs)
	for k, v := range r.Attributes().All() {
		if k == serviceNameKey {
			// Only the first one counts, and none is repeated in
			// Attributes: readers take the service from ServiceName.
			if res.ServiceName == UnknownService {
				if name := v.AsString(); name != "" {
					res.ServiceName = name
				}
			}
			continue
		}
		c.attrs = append(c.attrs, c.attribute(k, v))
	}
	res.Attributes = c.carveAttrs(start)
	return res
}

func (c *converter) span(s ptrace.Span, res model.Resource, sc model.Scope) model.Span {
	st := s.Status()
	out := model.Span{
		TraceID:           model.TraceID(s.TraceID()),
		SpanID:            model.SpanID(s.SpanID()),
		ParentSpanID:      model.SpanID(s.ParentSpanID()),
		TraceState:        s.TraceState().AsRaw(),
		Flags:             s.Flags(),
		Name:              s.Name(),
		Kind:              model.SpanKind(s.Kind()),
		StartUnixNano:     int64(s.StartTimestamp()),
		EndUnixNano:       int64(s.EndTimestamp()),
		StatusCode:        model.StatusCode(st.Code()),
		StatusMessage:     st.Message(),
		Attributes:        c.attributes(s.Attributes()),
		Resource:          res,
		Scope:             sc,
		DroppedAttributes: s.DroppedAttributesCount(),
		DroppedEvents:     s.DroppedEventsCount(),
		DroppedLinks:      s.DroppedLinksCount(),
	}

	if evs := s.Events(); evs.Len() > 0 {
		start := len(c.events)
		for i := 0; i < evs.Len(); i++ {
			e := evs.At(i)
			c.events = append(c.events, model.Event{
				TimeUnixNano: int64(e.Timestamp()),
				Name:         e.Name(),
				Attributes:   c.attributes(e.Attributes()),
			})
		}
		out.Events = c.events[start:len(c.events):len(c.events)]
	}

	if ls := s.Links(); ls.Len() > 0 {
		start := len(c.links)
		for i := 0; i < ls.Len(); i++ {
			l := ls.At(i)
			c.links = append(c.links, model.Link{
				TraceID:    model.TraceID(l.TraceID()),
				SpanID:     model.SpanID(l.SpanID()),
				TraceState: l.TraceState().AsRaw(),
				Attributes: c.attributes(l.Attributes()),
			})
		}
		out.Links = c.links[start:len(c.links):len(c.links)]
	}
	return out
}

func (c *converter) attributes(m pcommon.Map) []model.Attribute {
	if m.Len() == 0 {
		return nil
	}
	start := len(c.attrs)
	for k, v := range m.All() {
		c.attrs = append(c.attrs, c.attribute(k, v))
	}
	return c.carveAttrs(start)
}

// carveAttrs returns the attributes appended since start, capped so that a
// caller appending to them reallocates instead of writing into the next
// span's attributes.
func (c *converter) carveAttrs(start int) []model.Attribute {
	if len(c.attrs) == start {
		return nil
	}
	return c.attrs[start:len(c.attrs):len(c.attrs)]
}

func (c *converter) attribute(key string, v pcommon.Value) model.Attribute {
	a := model.Attribute{Key: key}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		a.Type, a.Value = model.ValueString, v.Str()
	case pcommon.ValueTypeBool:
		a.Type, a.Value = model.ValueBool, strconv.FormatBool(v.Bool())
	case pcommon.ValueTypeInt:
		a.Type, a.Value = model.ValueInt, strconv.FormatInt(v.Int(), 10)
	case pcommon.ValueTypeDouble:
		a.Type, a.Value = model.ValueDouble, strconv.FormatFloat(v.Double(), 'g', -1, 64)
	case pcommon.ValueTypeBytes:
		a.Type, a.Value = model.ValueBytes, string(v.Bytes().AsRaw())
	case pcommon.ValueTypeSlice:
		c.scratch = appendJSONValue(c.scratch[:0], v, 0)
		a.Type, a.Value = model.ValueArray, string(c.scratch)
	case pcommon.ValueTypeMap:
		c.scratch = appendJSONValue(c.scratch[:0], v, 0)
		a.Type, a.Value = model.ValueMap, string(c.scratch)
	default:
		// OTLP allows a key with an empty value; the model has no empty
		// type, and an empty string is the closest a string filter sees.
		a.Type = model.ValueString
	}
	return a
}

// maxValueDepth bounds the nesting appendJSONValue follows. The protobuf
// decoder already refuses deeper values; this guards callers that build
// pdata themselves.
const maxValueDepth = 128

// appendJSONValue appends v as plain JSON, the form the OpenTelemetry
// specification gives for arrays and maps in non-OTLP formats and the one
// Jaeger shows: strings, numbers and booleans as themselves, bytes as
// base64 strings, empty values as null. Map keys keep their OTLP order.
// Non-finite doubles, which JSON cannot hold, become the strings protojson
// uses ("NaN", "Infinity", "-Infinity").
func appendJSONValue(dst []byte, v pcommon.Value, depth int) []byte {
	if depth > maxValueDepth {
		return append(dst, "null"...)
	}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return jsonstr.Append(dst, v.Str())
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(dst, v.Bool())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(dst, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		f := v.Double()
		switch {
		case math.IsNaN(f):
			return append(dst, `"NaN"`...)
		case math.IsInf(f, 1):
			return append(dst, `"Infinity"`...)
		case math.IsInf(f, -1):
			return append(dst, `"-Infinity"`...)
		}
		return strconv.AppendFloat(dst, f, 'g', -1, 64)
	case pcommon.ValueTypeBytes:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, v.Bytes().AsRaw())
		return append(dst, '"')
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		dst = append(dst, '[')
		for i := 0; i < s.Len(); i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONValue(dst, s.At(i), depth+1)
		}
		return append(dst, ']')
	case pcommon.ValueTypeMap:
		dst = append(dst, '{')
		first := true
		for k, e := range v.Map().All() {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = jsonstr.Append(dst, k)
			dst = append(dst, ':')
			dst = appendJSONValue(dst, e, depth+1)
		}
		return append(dst, '}')
	default:
		return append(dst, "null"...)
	}
}
