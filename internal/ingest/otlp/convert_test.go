package otlp

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/argus-obs/argus/internal/model"
)

var (
	testTraceID  = pcommon.TraceID{0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c}
	testSpanID   = pcommon.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
	testParentID = pcommon.SpanID{0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31}
	otherTraceID = pcommon.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	otherSpanID  = pcommon.SpanID{0x53, 0x99, 0x5c, 0x3f, 0x42, 0xcd, 0x8a, 0xd8}
)

const (
	testStart = 1_700_000_000_000_000_000
	testEnd   = testStart + 1_500_000
)

// fullTraces returns one span that sets every field OTLP has for it.
func fullTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("host.name", "web-1")
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	rs.Resource().Attributes().PutInt("process.pid", 4242)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("argus-test")
	ss.Scope().SetVersion("1.2.3")

	s := ss.Spans().AppendEmpty()
	s.SetTraceID(testTraceID)
	s.SetSpanID(testSpanID)
	s.SetParentSpanID(testParentID)
	s.TraceState().FromRaw("vendor=x")
	s.SetFlags(1)
	s.SetName("GET /cart")
	s.SetKind(ptrace.SpanKindServer)
	s.SetStartTimestamp(testStart)
	s.SetEndTimestamp(testEnd)
	s.Status().SetCode(ptrace.StatusCodeError)
	s.Status().SetMessage("boom")
	a := s.Attributes()
	a.PutStr("http.method", "GET")
	a.PutInt("http.status_code", 500)
	a.PutDouble("ratio", 0.25)
	a.PutBool("cache.hit", false)
	a.PutEmptyBytes("blob").FromRaw([]byte{0x00, 0xff, 'a'})
	arr := a.PutEmptySlice("tags")
	arr.AppendEmpty().SetStr("a")
	arr.AppendEmpty().SetInt(1)
	arr.AppendEmpty().SetDouble(1.5)
	arr.AppendEmpty().SetBool(true)
	m := a.PutEmptyMap("nested")
	m.PutStr("z", "last-key-first")
	m.PutEmptySlice("list").AppendEmpty().SetEmptyBytes().FromRaw([]byte("hi"))
	a.PutEmpty("nothing")
	s.SetDroppedAttributesCount(3)

	e := s.Events().AppendEmpty()
	e.SetTimestamp(testStart + 10)
	e.SetName("exception")
	e.Attributes().PutStr("exception.type", "io.EOF")
	e2 := s.Events().AppendEmpty()
	e2.SetTimestamp(testStart + 20)
	e2.SetName("retry")
	s.SetDroppedEventsCount(4)

	l := s.Links().AppendEmpty()
	l.SetTraceID(otherTraceID)
	l.SetSpanID(otherSpanID)
	l.TraceState().FromRaw("other=y")
	l.Attributes().PutStr("link.kind", "follows")
	s.SetDroppedLinksCount(5)
	return td
}

// fullSpan is fullTraces' span as the model holds it.
func fullSpan() model.Span {
	return model.Span{
		TraceID:       model.TraceID(testTraceID),
		SpanID:        model.SpanID(testSpanID),
		ParentSpanID:  model.SpanID(testParentID),
		TraceState:    "vendor=x",
		Flags:         1,
		Name:          "GET /cart",
		Kind:          model.SpanKindServer,
		StartUnixNano: testStart,
		EndUnixNano:   testEnd,
		StatusCode:    model.StatusError,
		StatusMessage: "boom",
		Attributes: []model.Attribute{
			model.String("http.method", "GET"),
			model.Int("http.status_code", 500),
			model.Double("ratio", 0.25),
			model.Bool("cache.hit", false),
			{Key: "blob", Type: model.ValueBytes, Value: "\x00\xffa"},
			{Key: "tags", Type: model.ValueArray, Value: `["a",1,1.5,true]`},
			{Key: "nested", Type: model.ValueMap, Value: `{"z":"last-key-first","list":["aGk="]}`},
			{Key: "nothing", Type: model.ValueString, Value: ""},
		},
		Events: []model.Event{
			{TimeUnixNano: testStart + 10, Name: "exception", Attributes: []model.Attribute{model.String("exception.type", "io.EOF")}},
			{TimeUnixNano: testStart + 20, Name: "retry"},
		},
		Links: []model.Link{{
			TraceID:    model.TraceID(otherTraceID),
			SpanID:     model.SpanID(otherSpanID),
			TraceState: "other=y",
			Attributes: []model.Attribute{model.String("link.kind", "follows")},
		}},
		Resource: model.Resource{
			ServiceName: "checkout",
			Attributes:  []model.Attribute{model.String("host.name", "web-1"), model.Int("process.pid", 4242)},
		},
		Scope:             model.Scope{Name: "argus-test", Version: "1.2.3"},
		DroppedAttributes: 3,
		DroppedEvents:     4,
		DroppedLinks:      5,
	}
}

func TestConvertTracesCarriesEveryField(t *testing.T) {
	spans, rej := ConvertTraces(fullTraces())
	if rej.Count() != 0 {
		t.Fatalf("rejected %d spans: %s", rej.Count(), rej.Message())
	}
	want := []model.Span{fullSpan()}
	if !reflect.DeepEqual(spans, want) {
		t.Errorf("ConvertTraces:\n got %+v\nwant %+v", spans, want)
	}
}

func TestConvertTracesServiceName(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(pcommon.Map)
		want string
	}{
		{"missing", func(pcommon.Map) {}, UnknownService},
		{"empty", func(m pcommon.Map) { m.PutStr("service.name", "") }, UnknownService},
		{"string", func(m pcommon.Map) { m.PutStr("service.name", "cart") }, "cart"},
		{"not a string", func(m pcommon.Map) { m.PutInt("service.name", 7) }, "7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			td := ptrace.NewTraces()
			rs := td.ResourceSpans().AppendEmpty()
			tc.set(rs.Resource().Attributes())
			rs.Resource().Attributes().PutStr("k", "v")
			s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
			s.SetTraceID(testTraceID)
			s.SetSpanID(testSpanID)

			spans, _ := ConvertTraces(td)
			if len(spans) != 1 {
				t.Fatalf("got %d spans, want 1", len(spans))
			}
			res := spans[0].Resource
			if res.ServiceName != tc.want {
				t.Errorf("ServiceName = %q, want %q", res.ServiceName, tc.want)
			}
			if want := []model.Attribute{model.String("k", "v")}; !reflect.DeepEqual(res.Attributes, want) {
				t.Errorf("Resource.Attributes = %v, want %v (service.name must not repeat)", res.Attributes, want)
			}
		})
	}
}

func TestConvertTracesRejects(t *testing.T) {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	add := func(tid pcommon.TraceID, sid pcommon.SpanID, start, end uint64) {
		s := ss.AppendEmpty()
		s.SetTraceID(tid)
		s.SetSpanID(sid)
		s.SetStartTimestamp(pcommon.Timestamp(start))
		s.SetEndTimestamp(pcommon.Timestamp(end))
	}
	add(testTraceID, testSpanID, 10, 20)             // valid
	add(testTraceID, otherSpanID, 20, 10)            // end before start: the first offender
	add(pcommon.TraceID{}, testSpanID, 10, 20)       // zero trace ID
	add(otherTraceID, pcommon.SpanID{}, 10, 20)      // zero span ID
	add(otherTraceID, otherSpanID, 10, 10)           // zero duration is fine
	add(pcommon.TraceID{}, pcommon.SpanID{}, 20, 10) // counted once, for the trace ID

	spans, rej := ConvertTraces(td)
	if len(spans) != 2 || spans[0].SpanID != model.SpanID(testSpanID) || spans[1].SpanID != model.SpanID(otherSpanID) {
		t.Errorf("kept %v, want the two valid spans in order", spans)
	}
	if want := [numRejectReasons]int{ZeroTraceID: 2, ZeroSpanID: 1, EndBeforeStart: 1}; rej.ByReason != want {
		t.Errorf("ByReason = %v, want %v", rej.ByReason, want)
	}
	const wantMsg = "4 spans rejected: span 0af7651916cd43dd8448eb211c80319c/53995c3f42cd8ad8: end time before start time"
	if got := rej.Message(); got != wantMsg {
		t.Errorf("Message() =\n %q, want\n %q", got, wantMsg)
	}
}

func TestRejectionsMessage(t *testing.T) {
	var r Rejections
	if r.Message() != "" {
		t.Errorf("no rejections: Message() = %q, want empty", r.Message())
	}
	r.ByReason[ZeroSpanID] = 1
	r.First = "span x/y: span id is all zeros"
	if got, want := r.Message(), "1 span rejected: span x/y: span id is all zeros"; got != want {
		t.Errorf("Message() = %q, want %q", got, want)
	}
}

func TestConvertTracesAllRejected(t *testing.T) {
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	spans, rej := ConvertTraces(td)
	if spans != nil || rej.Count() != 1 {
		t.Errorf("got %d spans, %d rejected; want none and 1", len(spans), rej.Count())
	}
}

// Spans share backing arrays; appending to one span's attributes must not
// overwrite the next span's.
func TestConvertTracesSlicesAreCapped(t *testing.T) {
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := range 2 {
		s := ss.AppendEmpty()
		s.SetTraceID(testTraceID)
		s.SetSpanID(pcommon.SpanID{1, byte(i)})
		s.Attributes().PutStr("i", string(rune('0'+i)))
	}
	spans, _ := ConvertTraces(td)
	_ = append(spans[0].Attributes, model.String("extra", "x"))
	if got := spans[1].Attributes[0]; got != model.String("i", "1") {
		t.Errorf("second span's attribute = %v after appending to the first", got)
	}
}

func TestAppendJSONValue(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(pcommon.Value)
		want string
	}{
		{"escapes", func(v pcommon.Value) {
			v.SetEmptySlice().AppendEmpty().SetStr("q\"b\\n\n\t\r\x01é\u2028")
		}, `["q\"b\\n\n\t\r\u0001é` + "\u2028" + `"]`},
		{"invalid utf8", func(v pcommon.Value) { v.SetEmptySlice().AppendEmpty().SetStr("a\xffb") }, `["a\ufffdb"]`},
		{"non-finite", func(v pcommon.Value) {
			s := v.SetEmptySlice()
			s.AppendEmpty().SetDouble(math.NaN())
			s.AppendEmpty().SetDouble(math.Inf(1))
			s.AppendEmpty().SetDouble(math.Inf(-1))
			s.AppendEmpty().SetDouble(1e21)
		}, `["NaN","Infinity","-Infinity",1e+21]`},
		{"empty and nested", func(v pcommon.Value) {
			m := v.SetEmptyMap()
			m.PutEmpty("e")
			m.PutEmptyMap("m").PutEmptySlice("s")
		}, `{"e":null,"m":{"s":[]}}`},
		{"int64 extremes", func(v pcommon.Value) {
			s := v.SetEmptySlice()
			s.AppendEmpty().SetInt(math.MaxInt64)
			s.AppendEmpty().SetInt(math.MinInt64)
		}, `[9223372036854775807,-9223372036854775808]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := pcommon.NewValueEmpty()
			tc.set(v)
			if got := string(appendJSONValue(nil, v, 0)); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestAppendJSONValueDepthLimit(t *testing.T) {
	v := pcommon.NewValueEmpty()
	s := v.SetEmptySlice()
	for range maxValueDepth + 10 {
		s = s.AppendEmpty().SetEmptySlice()
	}
	got := string(appendJSONValue(nil, v, 0))
	if !strings.Contains(got, "null") || strings.Count(got, "[") != maxValueDepth+1 {
		t.Errorf("deep value not cut at depth %d: %d brackets", maxValueDepth, strings.Count(got, "["))
	}
}

// manySpans returns n spans over a few resources, shaped like what an
// instrumented HTTP service sends: string attributes, one int, an event on
// some spans.
func manySpans(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	for r := range 4 {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "svc-"+string(rune('a'+r)))
		rs.Resource().Attributes().PutStr("host.name", "host-1")
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("net/http")
		for i := range n / 4 {
			s := ss.Spans().AppendEmpty()
			s.SetTraceID(pcommon.TraceID{1, byte(r), byte(i), byte(i >> 8)})
			s.SetSpanID(pcommon.SpanID{2, byte(r), byte(i), byte(i >> 8)})
			s.SetName("GET /api/items")
			s.SetKind(ptrace.SpanKindServer)
			s.SetStartTimestamp(testStart)
			s.SetEndTimestamp(testEnd)
			s.Attributes().PutStr("http.method", "GET")
			s.Attributes().PutStr("http.route", "/api/items")
			s.Attributes().PutStr("correlation.id", "c-123")
			if i%4 == 0 {
				e := s.Events().AppendEmpty()
				e.SetName("cache miss")
				e.SetTimestamp(testStart + 5)
			}
		}
	}
	return td
}

// The conversion allocates per request, not per span or string
// attribute: the span, attribute, event and link arrays and nothing else.
// The budget catches a per-span allocation sneaking in.
func TestConvertTracesAllocations(t *testing.T) {
	td := manySpans(400)
	allocs := testing.AllocsPerRun(20, func() { ConvertTraces(td) })
	if allocs > 4 {
		t.Errorf("ConvertTraces of 400 spans made %.0f allocations, want at most 4", allocs)
	}
}

func BenchmarkConvertTraces(b *testing.B) {
	td := manySpans(512)
	b.ReportAllocs()
	for b.Loop() {
		ConvertTraces(td)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*512), "ns/span")
}
