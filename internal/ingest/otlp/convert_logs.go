package otlp

import (
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/argus-obs/argus/internal/model"
)

// DefaultMaxLineBytes is the body size limit of a log record when
// LogLimits.MaxLineBytes is zero: Loki's default line limit, far above any
// line a person reads, and small enough that one record cannot dominate a
// block of the store.
const DefaultMaxLineBytes = 256 << 10

// DefaultMaxAttributes is the attribute limit of a log record when
// LogLimits.MaxAttributes is zero, the OpenTelemetry SDKs' default
// attribute count limit.
const DefaultMaxAttributes = 128

// LogLimits bounds a single log record; a record over a limit is rejected
// on its own. The zero value means the defaults.
type LogLimits struct {
	// MaxLineBytes caps the body as stored: a string body's bytes, or the
	// JSON text of any other kind. Zero or less means DefaultMaxLineBytes.
	MaxLineBytes int

	// MaxAttributes caps the number of the record's own attributes;
	// resource attributes do not count. Zero or less means
	// DefaultMaxAttributes.
	MaxAttributes int
}

func (l LogLimits) withDefaults() LogLimits {
	if l.MaxLineBytes <= 0 {
		l.MaxLineBytes = DefaultMaxLineBytes
	}
	if l.MaxAttributes <= 0 {
		l.MaxAttributes = DefaultMaxAttributes
	}
	return l
}

// LogRejectReason says why a log record was refused. Its String form is
// the value of the reason label on argus_ingest_log_records_rejected_total.
type LogRejectReason uint8

// The reasons a log record is rejected. Both are limits rather than
// validity rules: OTLP makes every field of a log record optional.
const (
	LogLineTooLong       LogRejectReason = iota // body over LogLimits.MaxLineBytes
	LogTooManyAttributes                        // more than LogLimits.MaxAttributes
	numLogRejectReasons
)

// logRejectReasonNames are the reason label values. "line_too_long" is
// Loki's name for the same refusal, which Loki users already alert on.
var logRejectReasonNames = [numLogRejectReasons]string{"line_too_long", "too_many_attributes"}

// String returns the metric label form of r, such as "line_too_long".
func (r LogRejectReason) String() string {
	if r >= numLogRejectReasons {
		return "unknown"
	}
	return logRejectReasonNames[r]
}

// LogRejections counts the log records a conversion refused and describes
// the first of them.
type LogRejections struct {
	// ByReason counts rejected records, indexed by LogRejectReason.
	ByReason [numLogRejectReasons]int
	// First says where the first rejected record is in the request and
	// what was wrong with it, as "resourceLogs[0].scopeLogs[1].
	// logRecords[7]: body of 300000 bytes exceeds the limit of 262144
	// bytes"; empty when none was rejected.
	First string
}

// Count returns the number of rejected log records.
func (r LogRejections) Count() int { return sum(r.ByReason[:]) }

// Message returns the text for an OTLP partial-success error_message: the
// count, the count of each reason, and the first offender, as in
// "3 log records rejected (2 line_too_long, 1 too_many_attributes); first:
// resourceLogs[0].scopeLogs[0].logRecords[4]: 130 attributes exceed the
// limit of 128". It is "" when no record was rejected.
func (r LogRejections) Message() string {
	n := r.Count()
	if n == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(quantity(n, "log record", "log records"))
	b.WriteString(" rejected (")
	sep := ""
	for reason, c := range r.ByReason {
		if c > 0 {
			b.WriteString(sep)
			b.WriteString(strconv.Itoa(c))
			b.WriteByte(' ')
			b.WriteString(logRejectReasonNames[reason])
			sep = ", "
		}
	}
	b.WriteString("); first: ")
	b.WriteString(r.First)
	return b.String()
}

// add counts a rejection of the record at rls[i].scopeLogs[j].logRecords[k].
// Only the first one is described, so problem is called at most once.
func (r *LogRejections) add(reason LogRejectReason, i, j, k int, problem func() string) {
	if r.Count() == 0 {
		r.First = "resourceLogs[" + strconv.Itoa(i) + "].scopeLogs[" + strconv.Itoa(j) +
			"].logRecords[" + strconv.Itoa(k) + "]: " + problem()
	}
	r.ByReason[reason]++
}

// eventNameKey is the attribute that holds a record's OTLP event_name:
// the model has no field of its own for it, and "event.name" is the
// attribute OpenTelemetry used for it before the field existed.
const eventNameKey = "event.name"

// ConvertLogs turns OTLP log data into model log records, leaving out the
// records over limits (zero fields mean the defaults) and counting them in
// rej. One bad record never costs the others of the same request.
//
// Every field is kept. A record without an observed time gets received
// (Argus is then the first to observe it), and a record without an event
// time gets its observed time. A string body is kept as it is and any
// other body as JSON text (a map body becomes a JSON object). An event
// name becomes the "event.name" attribute unless one is already set. A
// span ID without a trace ID is dropped, since it cannot identify a span
// (OTLP: a sender giving a span ID SHOULD give a trace ID). Finally the
// correlation ID is lifted out of the attributes with
// model.LiftCorrelationID.
//
// Strings and backing arrays are shared as ConvertTraces shares them: all
// attribute slices come from one array, each capped at its own length,
// and the records of one resource share its Resource.Attributes.
func ConvertLogs(ld plog.Logs, received time.Time, limits LogLimits) (records []model.LogRecord, rej LogRejections) {
	limits = limits.withDefaults()
	// A first pass sizes the arrays, so the second can carve every record
	// and attribute out of them without growing them.
	var nRecords, nAttrs int
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		nAttrs += rl.Resource().Attributes().Len()
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			nRecords += lrs.Len()
			for k := 0; k < lrs.Len(); k++ {
				nAttrs += attributeSlots(lrs.At(k), limits)
			}
		}
	}
	if nRecords == 0 {
		return nil, rej
	}

	c := converter{attrs: make([]model.Attribute, 0, nAttrs)}
	records = make([]model.LogRecord, 0, nRecords)
	recv := received.UnixNano()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		res := c.resource(rl.Resource())
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			scope := sls.At(j).Scope()
			sc := model.Scope{Name: scope.Name(), Version: scope.Version()}
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				if n := lr.Attributes().Len(); n > limits.MaxAttributes {
					rej.add(LogTooManyAttributes, i, j, k, func() string {
						return strconv.Itoa(n) + " attributes exceed the limit of " + strconv.Itoa(limits.MaxAttributes)
					})
					continue
				}
				body := c.body(lr.Body())
				if n := len(body); n > limits.MaxLineBytes {
					rej.add(LogLineTooLong, i, j, k, func() string {
						return "body of " + strconv.Itoa(n) + " bytes exceeds the limit of " + strconv.Itoa(limits.MaxLineBytes) + " bytes"
					})
					continue
				}
				records = append(records, c.logRecord(lr, body, recv, res, sc))
			}
		}
	}
	if len(records) == 0 {
		return nil, rej
	}
	return records, rej
}

// attributeSlots is the number of attributes lr takes in the converter's
// array if it is stored: none when it has too many to be.
func attributeSlots(lr plog.LogRecord, limits LogLimits) int {
	n := lr.Attributes().Len()
	if n > limits.MaxAttributes {
		return 0
	}
	if lr.EventName() != "" {
		n++
	}
	return n
}

// body returns v as the record's message: a string as it is, nothing as
// "", and every other kind as JSON text. Only the last allocates.
func (c *converter) body(v pcommon.Value) string {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeEmpty:
		return ""
	}
	c.scratch = appendJSONValue(c.scratch[:0], v, 0)
	return string(c.scratch)
}

func (c *converter) logRecord(lr plog.LogRecord, body string, received int64, res model.Resource, sc model.Scope) model.LogRecord {
	observed := int64(lr.ObservedTimestamp())
	if observed == 0 {
		observed = received
	}
	t := int64(lr.Timestamp())
	if t == 0 {
		t = observed
	}
	out := model.LogRecord{
		TimeUnixNano:      t,
		ObservedUnixNano:  observed,
		Severity:          model.Severity(lr.SeverityNumber()),
		SeverityText:      lr.SeverityText(),
		Body:              body,
		TraceID:           model.TraceID(lr.TraceID()),
		Flags:             uint32(lr.Flags()),
		Resource:          res,
		Scope:             sc,
		DroppedAttributes: lr.DroppedAttributesCount(),
	}
	if !out.TraceID.IsZero() {
		out.SpanID = model.SpanID(lr.SpanID())
	}

	attrs := lr.Attributes()
	start := len(c.attrs)
	for k, v := range attrs.All() {
		c.attrs = append(c.attrs, c.attribute(k, v))
	}
	if name := lr.EventName(); name != "" {
		if _, set := attrs.Get(eventNameKey); !set {
			c.attrs = append(c.attrs, model.String(eventNameKey, name))
		}
	}
	out.CorrelationID, out.Attributes = model.LiftCorrelationID(c.carveAttrs(start))
	if len(out.Attributes) == 0 {
		out.Attributes = nil // the lifted ID was the only one
	}
	return out
}
