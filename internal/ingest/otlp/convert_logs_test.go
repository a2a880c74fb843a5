package otlp

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/argus-obs/argus/internal/model"
)

// testReceived is the receive time the log tests stamp records with.
var testReceived = time.Unix(0, testEnd+1_000_000)

// fullLogs returns one log record that sets every field OTLP has for it,
// including a correlation ID under the canonical key.
func fullLogs() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("k8s.pod.name", "payments-7f9c")
	rl.Resource().Attributes().PutStr("service.name", "payments")
	rl.Resource().Attributes().PutBool("debug", false)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("log/slog")
	sl.Scope().SetVersion("go1.26")

	lr := sl.LogRecords().AppendEmpty()
	lr.SetTimestamp(testStart)
	lr.SetObservedTimestamp(testStart + 5)
	lr.SetSeverityNumber(plog.SeverityNumberWarn2)
	lr.SetSeverityText("WARNING")
	lr.Body().SetStr("payment retried\nattempt 2")
	a := lr.Attributes()
	a.PutStr("http.method", "POST")
	a.PutStr(model.CorrelationIDKey, "c-42")
	a.PutInt("attempt", 2)
	a.PutDouble("ratio", 0.25)
	a.PutBool("cache.hit", false)
	a.PutEmptyBytes("blob").FromRaw([]byte{0x00, 0xff, 'a'})
	a.PutEmptySlice("tags").AppendEmpty().SetStr("a")
	a.PutEmptyMap("nested").PutInt("n", 1)
	a.PutEmpty("nothing")
	lr.SetTraceID(testTraceID)
	lr.SetSpanID(testSpanID)
	lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(true))
	lr.SetDroppedAttributesCount(3)
	lr.SetEventName("payment.retry")
	return ld
}

// fullLogRecord is fullLogs' record as the model holds it.
func fullLogRecord() model.LogRecord {
	return model.LogRecord{
		TimeUnixNano:     testStart,
		ObservedUnixNano: testStart + 5,
		Severity:         model.SeverityWarn + 1,
		SeverityText:     "WARNING",
		Body:             "payment retried\nattempt 2",
		Attributes: []model.Attribute{
			model.String("http.method", "POST"),
			model.Int("attempt", 2),
			model.Double("ratio", 0.25),
			model.Bool("cache.hit", false),
			{Key: "blob", Type: model.ValueBytes, Value: "\x00\xffa"},
			{Key: "tags", Type: model.ValueArray, Value: `["a"]`},
			{Key: "nested", Type: model.ValueMap, Value: `{"n":1}`},
			{Key: "nothing", Type: model.ValueString, Value: ""},
			model.String("event.name", "payment.retry"),
		},
		TraceID:       model.TraceID(testTraceID),
		SpanID:        model.SpanID(testSpanID),
		Flags:         1,
		CorrelationID: "c-42",
		Resource: model.Resource{
			ServiceName: "payments",
			Attributes:  []model.Attribute{model.String("k8s.pod.name", "payments-7f9c"), model.Bool("debug", false)},
		},
		Scope:             model.Scope{Name: "log/slog", Version: "go1.26"},
		DroppedAttributes: 3,
	}
}

func TestConvertLogsCarriesEveryField(t *testing.T) {
	records, rej := ConvertLogs(fullLogs(), testReceived, LogLimits{})
	if rej.Count() != 0 {
		t.Fatalf("rejected %d records: %s", rej.Count(), rej.Message())
	}
	if want := []model.LogRecord{fullLogRecord()}; !reflect.DeepEqual(records, want) {
		t.Errorf("ConvertLogs:\n got %+v\nwant %+v", records, want)
	}
}

// oneRecord converts a request of one record that set prepares.
func oneRecord(t *testing.T, set func(plog.LogRecord)) model.LogRecord {
	t.Helper()
	ld := plog.NewLogs()
	set(ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty())
	records, rej := ConvertLogs(ld, testReceived, LogLimits{})
	if len(records) != 1 {
		t.Fatalf("got %d records (%s), want 1", len(records), rej.Message())
	}
	return records[0]
}

func TestConvertLogsTimes(t *testing.T) {
	recv := testReceived.UnixNano()
	for _, tc := range []struct {
		name                   string
		time, observed         uint64
		wantTime, wantObserved int64
	}{
		{"both", testStart, testStart + 5, testStart, testStart + 5},
		{"no event time", 0, testStart + 5, testStart + 5, testStart + 5},
		{"no observed time", testStart, 0, testStart, recv},
		{"neither", 0, 0, recv, recv},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := oneRecord(t, func(lr plog.LogRecord) {
				lr.SetTimestamp(pcommon.Timestamp(tc.time))
				lr.SetObservedTimestamp(pcommon.Timestamp(tc.observed))
			})
			if rec.TimeUnixNano != tc.wantTime || rec.ObservedUnixNano != tc.wantObserved {
				t.Errorf("times %d/%d, want %d/%d", rec.TimeUnixNano, rec.ObservedUnixNano, tc.wantTime, tc.wantObserved)
			}
		})
	}
}

func TestConvertLogsBody(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(pcommon.Value)
		want string
	}{
		{"string as is", func(v pcommon.Value) { v.SetStr(`say "hi"` + "\n") }, `say "hi"` + "\n"},
		{"empty", func(pcommon.Value) {}, ""},
		{"int", func(v pcommon.Value) { v.SetInt(-42) }, "-42"},
		{"double", func(v pcommon.Value) { v.SetDouble(1.5) }, "1.5"},
		{"bool", func(v pcommon.Value) { v.SetBool(true) }, "true"},
		{"bytes", func(v pcommon.Value) { v.SetEmptyBytes().FromRaw([]byte("hi")) }, `"aGk="`},
		{"array", func(v pcommon.Value) {
			s := v.SetEmptySlice()
			s.AppendEmpty().SetStr("a")
			s.AppendEmpty().SetInt(1)
		}, `["a",1]`},
		{"map", func(v pcommon.Value) {
			m := v.SetEmptyMap()
			m.PutStr("msg", "user logged in")
			m.PutEmptyMap("user").PutInt("id", 7)
		}, `{"msg":"user logged in","user":{"id":7}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := oneRecord(t, func(lr plog.LogRecord) { tc.set(lr.Body()) })
			if rec.Body != tc.want {
				t.Errorf("Body = %q, want %q", rec.Body, tc.want)
			}
		})
	}
}

func TestConvertLogsServiceName(t *testing.T) {
	ld := plog.NewLogs()
	for _, name := range []string{"", "cart"} {
		rl := ld.ResourceLogs().AppendEmpty()
		if name != "" {
			rl.Resource().Attributes().PutStr("service.name", name)
		}
		rl.Resource().Attributes().PutStr("k", "v")
		rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	}
	records, _ := ConvertLogs(ld, testReceived, LogLimits{})
	if len(records) != 2 {
		t.Fatalf("got %d records, want 2", len(records))
	}
	for i, want := range []string{UnknownService, "cart"} {
		res := records[i].Resource
		if res.ServiceName != want || !reflect.DeepEqual(res.Attributes, []model.Attribute{model.String("k", "v")}) {
			t.Errorf("record %d: resource %+v, want service %q and only k=v", i, res, want)
		}
	}
}

// OTLP makes both IDs optional: a record may belong to a trace without
// naming a span, but a span ID alone identifies nothing.
func TestConvertLogsTraceContext(t *testing.T) {
	for _, tc := range []struct {
		name      string
		tid       pcommon.TraceID
		sid       pcommon.SpanID
		wantTrace model.TraceID
		wantSpan  model.SpanID
	}{
		{"trace and span", testTraceID, testSpanID, model.TraceID(testTraceID), model.SpanID(testSpanID)},
		{"trace only", testTraceID, pcommon.SpanID{}, model.TraceID(testTraceID), model.SpanID{}},
		{"span only", pcommon.TraceID{}, testSpanID, model.TraceID{}, model.SpanID{}},
		{"neither", pcommon.TraceID{}, pcommon.SpanID{}, model.TraceID{}, model.SpanID{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := oneRecord(t, func(lr plog.LogRecord) {
				lr.SetTraceID(tc.tid)
				lr.SetSpanID(tc.sid)
			})
			if rec.TraceID != tc.wantTrace || rec.SpanID != tc.wantSpan {
				t.Errorf("IDs %v/%v, want %v/%v", rec.TraceID, rec.SpanID, tc.wantTrace, tc.wantSpan)
			}
		})
	}
}

func TestConvertLogsCorrelationID(t *testing.T) {
	for _, tc := range []struct {
		name      string
		set       func(pcommon.Map)
		wantID    string
		wantAttrs []model.Attribute
	}{
		{"none", func(m pcommon.Map) { m.PutStr("a", "1") }, "", []model.Attribute{model.String("a", "1")}},
		{"canonical key is lifted out", func(m pcommon.Map) { m.PutStr(model.CorrelationIDKey, "c-1") }, "c-1", nil},
		{"other spelling stays", func(m pcommon.Map) { m.PutInt("request_id", 77) }, "77", []model.Attribute{model.Int("request_id", 77)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := oneRecord(t, func(lr plog.LogRecord) { tc.set(lr.Attributes()) })
			if rec.CorrelationID != tc.wantID || !reflect.DeepEqual(rec.Attributes, tc.wantAttrs) {
				t.Errorf("CorrelationID %q, Attributes %v; want %q, %v", rec.CorrelationID, rec.Attributes, tc.wantID, tc.wantAttrs)
			}
		})
	}
}

func TestConvertLogsEventName(t *testing.T) {
	rec := oneRecord(t, func(lr plog.LogRecord) {
		lr.SetEventName("from-field")
		lr.Attributes().PutStr("event.name", "from-attribute")
	})
	if want := []model.Attribute{model.String("event.name", "from-attribute")}; !reflect.DeepEqual(rec.Attributes, want) {
		t.Errorf("Attributes = %v, want the sender's own event.name only", rec.Attributes)
	}
}

func TestConvertLogsLimits(t *testing.T) {
	limits := LogLimits{MaxLineBytes: 10, MaxAttributes: 2}
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	add := func(body string, nAttrs int) plog.LogRecord {
		lr := lrs.AppendEmpty()
		lr.Body().SetStr(body)
		for i := range nAttrs {
			lr.Attributes().PutInt(string(rune('a'+i)), int64(i))
		}
		return lr
	}
	add("0123456789", 2).SetEventName("at-the-limits")  // kept: the event name does not count
	add("0123456789x", 0)                               // line too long: the first offender
	add("ok", 3)                                        // too many attributes
	add("", 0).Body().SetEmptyMap().PutStr("k", "long") // {"k":"long"} is 12 bytes
	add("fine", 1)

	records, rej := ConvertLogs(ld, testReceived, limits)
	if len(records) != 2 || records[0].Body != "0123456789" || records[1].Body != "fine" {
		t.Errorf("kept %+v, want the two records within the limits, in order", records)
	}
	if len(records) > 0 && len(records[0].Attributes) != 3 {
		t.Errorf("first record's attributes %v, want a, b and event.name", records[0].Attributes)
	}
	if want := [numLogRejectReasons]int{LogLineTooLong: 2, LogTooManyAttributes: 1}; rej.ByReason != want {
		t.Errorf("ByReason = %v, want %v", rej.ByReason, want)
	}
	const wantMsg = "3 log records rejected (2 line_too_long, 1 too_many_attributes); " +
		"first: resourceLogs[0].scopeLogs[0].logRecords[1]: body of 11 bytes exceeds the limit of 10 bytes"
	if got := rej.Message(); got != wantMsg {
		t.Errorf("Message() =\n %q, want\n %q", got, wantMsg)
	}
}

func TestConvertLogsDefaultLimits(t *testing.T) {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	lrs.AppendEmpty().Body().SetStr(strings.Repeat("x", DefaultMaxLineBytes))
	lrs.AppendEmpty().Body().SetStr(strings.Repeat("x", DefaultMaxLineBytes+1))
	many := lrs.AppendEmpty().Attributes()
	for i := range DefaultMaxAttributes + 1 {
		many.PutInt(strings.Repeat("k", i+1), int64(i))
	}

	records, rej := ConvertLogs(ld, testReceived, LogLimits{})
	if len(records) != 1 || len(records[0].Body) != DefaultMaxLineBytes {
		t.Errorf("kept %d records, want the one at the line limit", len(records))
	}
	if want := [numLogRejectReasons]int{LogLineTooLong: 1, LogTooManyAttributes: 1}; rej.ByReason != want {
		t.Errorf("ByReason = %v, want %v", rej.ByReason, want)
	}
	if msg := rej.Message(); !strings.Contains(msg, "logRecords[1]: body of 262145 bytes exceeds the limit of 262144 bytes") {
		t.Errorf("Message() = %q", msg)
	}
}

func TestLogRejectionsMessage(t *testing.T) {
	var r LogRejections
	if r.Message() != "" {
		t.Errorf("no rejections: Message() = %q, want empty", r.Message())
	}
	r.add(LogTooManyAttributes, 0, 1, 2, func() string { return "3 attributes exceed the limit of 2" })
	want := "1 log record rejected (1 too_many_attributes); first: resourceLogs[0].scopeLogs[1].logRecords[2]: 3 attributes exceed the limit of 2"
	if got := r.Message(); got != want {
		t.Errorf("Message() =\n %q, want\n %q", got, want)
	}
	if LogLineTooLong.String() != "line_too_long" || LogRejectReason(9).String() != "unknown" {
		t.Errorf("reason names %q %q", LogLineTooLong, LogRejectReason(9))
	}
}

func TestConvertLogsNothingStored(t *testing.T) {
	if records, rej := ConvertLogs(plog.NewLogs(), testReceived, LogLimits{}); records != nil || rej.Count() != 0 {
		t.Errorf("empty request: %v, %d rejected", records, rej.Count())
	}
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("too long")
	if records, rej := ConvertLogs(ld, testReceived, LogLimits{MaxLineBytes: 1}); records != nil || rej.Count() != 1 {
		t.Errorf("all rejected: %v, %d rejected; want nil and 1", records, rej.Count())
	}
}

// Records share one attribute array; appending to one record's
// attributes must not overwrite the next record's.
func TestConvertLogsSlicesAreCapped(t *testing.T) {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := range 2 {
		a := lrs.AppendEmpty().Attributes()
		a.PutStr("i", string(rune('0'+i)))
		a.PutStr(model.CorrelationIDKey, "c") // lifted, leaving a spare slot
	}
	records, _ := ConvertLogs(ld, testReceived, LogLimits{})
	_ = append(records[0].Attributes, model.String("extra", "x"), model.String("more", "y"))
	if got := records[1].Attributes[0]; got != model.String("i", "1") {
		t.Errorf("second record's attribute = %v after appending to the first", got)
	}
}

// manyLogs returns n log records over a few resources, shaped like what
// an instrumented service sends: a short message, a few string attributes
// including a correlation ID, trace context on most.
func manyLogs(n int) plog.Logs {
	ld := plog.NewLogs()
	for r := range 4 {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", "svc-"+string(rune('a'+r)))
		rl.Resource().Attributes().PutStr("host.name", "host-1")
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName("log/slog")
		for i := range n / 4 {
			lr := sl.LogRecords().AppendEmpty()
			lr.SetTimestamp(pcommon.Timestamp(testStart + i))
			lr.SetSeverityNumber(plog.SeverityNumberInfo)
			lr.SetSeverityText("INFO")
			lr.Body().SetStr("GET /api/items 200 in 12ms")
			if i%4 != 0 {
				lr.SetTraceID(pcommon.TraceID{1, byte(r), byte(i), byte(i >> 8)})
				lr.SetSpanID(pcommon.SpanID{2, byte(r), byte(i), byte(i >> 8)})
			}
			lr.Attributes().PutStr("http.method", "GET")
			lr.Attributes().PutStr("http.route", "/api/items")
			lr.Attributes().PutStr("correlation_id", "c-123")
		}
	}
	return ld
}

// The conversion allocates per request, not per record or string
// attribute: the record and attribute arrays and nothing else. The budget
// catches a per-record allocation sneaking in.
func TestConvertLogsAllocations(t *testing.T) {
	ld := manyLogs(400)
	allocs := testing.AllocsPerRun(20, func() { ConvertLogs(ld, testReceived, LogLimits{}) })
	if allocs > 2 {
		t.Errorf("ConvertLogs of 400 records made %.0f allocations, want at most 2", allocs)
	}
}

func BenchmarkConvertLogs(b *testing.B) {
	const n = 512
	ld := manyLogs(n)
	allocs := testing.AllocsPerRun(10, func() { ConvertLogs(ld, testReceived, LogLimits{}) })
	b.ReportAllocs()
	for b.Loop() {
		ConvertLogs(ld, testReceived, LogLimits{})
	}
	perRecord := float64(b.Elapsed().Nanoseconds()) / float64(b.N*n)
	b.ReportMetric(perRecord, "ns/record")
	b.ReportMetric(1e9/perRecord, "records/s")
	b.ReportMetric(allocs/n, "allocs/record")
}
