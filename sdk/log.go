package sdk

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/trace"
)

// logHandler is the slog.Handler that Start makes the default. Every record
// goes two ways:
//
//   - to a slog.JSONHandler (stdout unless Options.LogWriter), with the
//     service name and, from the context, trace_id, span_id and
//     correlation_id added at the top level of the object;
//   - to an OpenTelemetry Logs Bridge API logger (nil: no OTLP export), as
//     a log record whose trace context comes from the context (the SDK logger
//     reads it there) and whose attributes are the record's, plus
//     correlation_id. Groups become dotted key prefixes ("req.method"), the
//     namespacing convention of OpenTelemetry attribute names.
//
// It is safe for concurrent use, as slog requires.
type logHandler struct {
	json  slog.Handler   // with the service attribute and the attrs added before any group
	otel  otellog.Logger // nil: no OTLP export
	level slog.Leveler

	// For the JSON side: the groups opened by WithGroup and the attrs added
	// inside them, which the record's attrs nest into. Nil while no group is
	// open (the common case), then records go to json as they are.
	groups []logGroup
	// For the OTLP side: every attr from WithAttrs, converted, keys prefixed.
	oattrs []attribute.KeyValue
	prefix string // "g1.g2." for the open groups
}

type logGroup struct {
	name  string
	attrs []slog.Attr
}

func newLogHandler(json slog.Handler, logger otellog.Logger, level slog.Leveler) *logHandler {
	return &logHandler{json: json, otel: logger, level: level}
}

func (h *logHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	h2 := *h
	if len(h.groups) == 0 {
		h2.json = h.json.WithAttrs(as)
	} else {
		h2.groups = slices.Clone(h.groups)
		last := &h2.groups[len(h2.groups)-1]
		last.attrs = append(slices.Clip(last.attrs), as...)
	}
	if h.otel != nil {
		h2.oattrs = slices.Clip(h.oattrs)
		for _, a := range as {
			h2.oattrs = appendKV(h2.oattrs, h.prefix, a)
		}
	}
	return &h2
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.groups = append(slices.Clip(h.groups), logGroup{name: name})
	h2.prefix = h.prefix + name + "."
	return &h2
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	tid, sid, cid := contextFields(ctx)
	if h.otel != nil {
		h.emit(ctx, &r, cid)
	}
	if len(h.groups) > 0 {
		r = h.nest(r)
	}
	// One AddAttrs call: each call may grow the record's attribute slice.
	switch {
	case tid != "" && cid != "":
		r.AddAttrs(slog.String("trace_id", tid), slog.String("span_id", sid), slog.String(CorrelationKey, cid))
	case tid != "":
		r.AddAttrs(slog.String("trace_id", tid), slog.String("span_id", sid))
	case cid != "":
		r.AddAttrs(slog.String(CorrelationKey, cid))
	}
	return h.json.Handle(ctx, r)
}

// nest returns a record whose attrs are r's wrapped in the open groups (with
// the attrs added inside each), so that the context fields added next stay
// at the top level. Groups left empty are omitted, as slog requires.
func (h *logHandler) nest(r slog.Record) slog.Record {
	content := make([]slog.Attr, 0, r.NumAttrs())
	r.Attrs(func(a slog.Attr) bool {
		content = append(content, a)
		return true
	})
	last := len(h.groups) - 1
	for i := last; i >= 0; i-- {
		c := make([]slog.Attr, 0, len(h.groups[i].attrs)+len(content))
		c = append(c, h.groups[i].attrs...)
		if i == last {
			c = append(c, content...)
		} else if len(content) > 0 {
			c = append(c, slog.Attr{Key: h.groups[i+1].name, Value: slog.GroupValue(content...)})
		}
		content = c
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	if len(content) > 0 {
		out.AddAttrs(slog.Attr{Key: h.groups[0].name, Value: slog.GroupValue(content...)})
	}
	return out
}

// emit sends r to the OpenTelemetry logger.
func (h *logHandler) emit(ctx context.Context, r *slog.Record, cid string) {
	var rec otellog.Record
	rec.SetTimestamp(r.Time)
	rec.SetSeverity(severity(r.Level))
	rec.SetSeverityText(r.Level.String())
	rec.SetBody(attribute.StringValue(r.Message))
	var buf [16]attribute.KeyValue
	kvs := append(buf[:0], h.oattrs...)
	r.Attrs(func(a slog.Attr) bool {
		kvs = appendKV(kvs, h.prefix, a)
		return true
	})
	if cid != "" {
		kvs = append(kvs, attribute.String(CorrelationKey, cid))
	}
	// The logger provider is made with WithAllowKeyDuplication, which
	// spares it a map per attribute; the keys are made unique here instead.
	kvs = dedup(kvs)
	rec.AddAttributes(kvs...)
	h.otel.Emit(ctx, rec)
}

// dedup removes the attributes whose key comes again later in kvs (the
// last value wins, as OpenTelemetry's deduplication does), in place.
func dedup(kvs []attribute.KeyValue) []attribute.KeyValue {
	if len(kvs) > 32 {
		return dedupLarge(kvs)
	}
	out := kvs[:0]
next:
	for _, kv := range kvs {
		for j := range out {
			if out[j].Key == kv.Key {
				out[j] = kv
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

func dedupLarge(kvs []attribute.KeyValue) []attribute.KeyValue {
	index := make(map[attribute.Key]int, len(kvs))
	out := kvs[:0]
	for _, kv := range kvs {
		if j, ok := index[kv.Key]; ok {
			out[j] = kv
			continue
		}
		index[kv.Key] = len(out)
		out = append(out, kv)
	}
	return out
}

// severity maps a slog level to an OpenTelemetry severity number: the
// slog levels are 4 apart, as are OpenTelemetry's DEBUG, INFO, WARN and
// ERROR ranges, and slog's Info (0) is OpenTelemetry's INFO (9).
func severity(l slog.Level) otellog.Severity {
	s := int(l) + int(otellog.SeverityInfo)
	return otellog.Severity(min(max(s, int(otellog.SeverityTrace1)), int(otellog.SeverityFatal4)))
}

// appendKV appends a, converted, to kvs: groups are flattened into dotted
// keys, empty attrs and empty groups are skipped.
func appendKV(kvs []attribute.KeyValue, prefix string, a slog.Attr) []attribute.KeyValue {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		attrs := v.Group()
		if len(attrs) == 0 {
			return kvs
		}
		p := prefix
		if a.Key != "" {
			p = prefix + a.Key + "."
		}
		for _, g := range attrs {
			kvs = appendKV(kvs, p, g)
		}
		return kvs
	}
	if a.Key == "" && v.Any() == nil {
		return kvs // the empty Attr
	}
	key := a.Key
	if prefix != "" {
		key = prefix + key
	}
	return append(kvs, attribute.KeyValue{Key: attribute.Key(key), Value: otelValue(v)})
}

// otelValue converts a resolved, non-group slog value. Durations are
// nanoseconds, as slog.JSONHandler writes them; times are RFC 3339 strings,
// as slog.JSONHandler writes them; anything else without an OpenTelemetry
// counterpart is formatted with fmt.
func otelValue(v slog.Value) attribute.Value {
	switch v.Kind() {
	case slog.KindString:
		return attribute.StringValue(v.String())
	case slog.KindInt64:
		return attribute.Int64Value(v.Int64())
	case slog.KindUint64:
		if u := v.Uint64(); u <= math.MaxInt64 {
			return attribute.Int64Value(int64(u))
		}
		return attribute.StringValue(strconv.FormatUint(v.Uint64(), 10))
	case slog.KindFloat64:
		return attribute.Float64Value(v.Float64())
	case slog.KindBool:
		return attribute.BoolValue(v.Bool())
	case slog.KindDuration:
		return attribute.Int64Value(int64(v.Duration()))
	case slog.KindTime:
		return attribute.StringValue(v.Time().Format(time.RFC3339Nano))
	}
	switch x := v.Any().(type) {
	case error:
		return attribute.StringValue(x.Error())
	case []byte:
		return attribute.ByteSliceValue(x)
	case fmt.Stringer:
		return attribute.StringValue(x.String())
	default:
		return attribute.StringValue(fmt.Sprintf("%+v", x))
	}
}

// contextFields returns the hex trace and span IDs of the span in ctx (""
// if none) and its correlation ID ("" if none).
func contextFields(ctx context.Context) (tid, sid, cid string) {
	info := infoFrom(ctx)
	if info != nil {
		cid = info.cid
	} else {
		cid = CorrelationID(ctx)
	}
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return "", "", cid
	}
	if info != nil && info.srv != nil && info.srv.span.SpanContext().SpanID() == sc.SpanID() {
		// The request's own span: its hex IDs are made once per request.
		tid, sid = info.srv.spanIDs()
		return tid, sid, cid
	}
	return sc.TraceID().String(), sc.SpanID().String(), cid
}
