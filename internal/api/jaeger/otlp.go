package jaeger

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/argus-obs/argus/internal/model"
)

// appendOTLP appends spans to td as OTLP, grouping them the way a sender
// would have: one ResourceSpans per distinct resource and, inside it, one
// ScopeSpans per distinct scope, each in order of first appearance. Spans
// keep their order within a group.
//
// Resources are grouped per call, so calling it once per trace gives each
// trace its own ResourceSpans, as Jaeger's api_v3 gateway does.
func appendOTLP(td ptrace.Traces, spans []model.Span) {
	type scopeKey struct{ name, version string }
	type resourceGroup struct {
		rs     ptrace.ResourceSpans
		scopes map[scopeKey]ptrace.SpanSlice
	}
	groups := make(map[string]*resourceGroup)
	var key []byte
	for i := range spans {
		s := &spans[i]
		key = resourceKey(key[:0], &s.Resource)
		g, ok := groups[string(key)]
		if !ok {
			g = &resourceGroup{rs: td.ResourceSpans().AppendEmpty(), scopes: make(map[scopeKey]ptrace.SpanSlice)}
			setResource(g.rs.Resource(), &s.Resource)
			groups[string(key)] = g
		}
		sk := scopeKey{s.Scope.Name, s.Scope.Version}
		slice, ok := g.scopes[sk]
		if !ok {
			ss := g.rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName(s.Scope.Name)
			ss.Scope().SetVersion(s.Scope.Version)
			slice = ss.Spans()
			g.scopes[sk] = slice
		}
		setSpan(slice.AppendEmpty(), s)
	}
}

// setResource writes service.name first, then the other attributes; the
// model keeps the service name apart from them.
func setResource(dst pcommon.Resource, r *model.Resource) {
	attrs := dst.Attributes()
	attrs.EnsureCapacity(len(r.Attributes) + 1)
	if r.ServiceName != "" {
		attrs.PutStr("service.name", r.ServiceName)
	}
	putAttributes(attrs, r.Attributes)
}

func setSpan(dst ptrace.Span, s *model.Span) {
	dst.SetTraceID(pcommon.TraceID(s.TraceID))
	dst.SetSpanID(pcommon.SpanID(s.SpanID))
	dst.SetParentSpanID(pcommon.SpanID(s.ParentSpanID))
	dst.TraceState().FromRaw(s.TraceState)
	dst.SetFlags(s.Flags)
	dst.SetName(s.Name)
	dst.SetKind(ptrace.SpanKind(s.Kind))
	dst.SetStartTimestamp(unixNanoTimestamp(s.StartUnixNano))
	dst.SetEndTimestamp(unixNanoTimestamp(s.EndUnixNano))
	putAttributes(dst.Attributes(), s.Attributes)
	dst.SetDroppedAttributesCount(s.DroppedAttributes)
	events := dst.Events()
	events.EnsureCapacity(len(s.Events))
	for i := range s.Events {
		e := &s.Events[i]
		de := events.AppendEmpty()
		de.SetTimestamp(unixNanoTimestamp(e.TimeUnixNano))
		de.SetName(e.Name)
		putAttributes(de.Attributes(), e.Attributes)
	}
	dst.SetDroppedEventsCount(s.DroppedEvents)
	links := dst.Links()
	links.EnsureCapacity(len(s.Links))
	for i := range s.Links {
		l := &s.Links[i]
		dl := links.AppendEmpty()
		dl.SetTraceID(pcommon.TraceID(l.TraceID))
		dl.SetSpanID(pcommon.SpanID(l.SpanID))
		dl.TraceState().FromRaw(l.TraceState)
		putAttributes(dl.Attributes(), l.Attributes)
	}
	dst.SetDroppedLinksCount(s.DroppedLinks)
	dst.Status().SetCode(ptrace.StatusCode(s.StatusCode))
	dst.Status().SetMessage(s.StatusMessage)
}

// unixNanoTimestamp converts Unix nanoseconds to OTLP's unsigned form;
// OTLP cannot express times before 1970, which become 0 ("unknown").
func unixNanoTimestamp(ns int64) pcommon.Timestamp {
	return pcommon.Timestamp(uint64(max(0, ns)))
}
