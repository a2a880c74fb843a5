package storetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
)

// testValues checks that unusual values survive a round trip and can be
// searched for: 64 KiB values, a thousand attributes, extreme numbers,
// arbitrary bytes, Unicode, empty strings, nil and empty slices, every span
// kind and status, extreme IDs and counts.
func testValues(t *testing.T, s TraceStore) func(*testing.T, TraceStore) {
	now := testNow()
	rng := rand.New(rand.NewPCG(5, 5))
	ms := int64(time.Millisecond)

	// 64 KiB of printable text, and 64 KiB of every byte value.
	letters := make([]byte, 64<<10)
	for i := range letters {
		letters[i] = byte(' ' + rng.IntN(95))
	}
	big := string(letters)
	raw := make([]byte, 64<<10)
	for i := range raw {
		if i < 512 {
			raw[i] = byte(i)
		} else {
			raw[i] = byte(rng.Uint32())
		}
	}
	bigBytes := string(raw)
	var ts strings.Builder // a trace state of the W3C maximum length
	for i := 0; ts.Len() < 500; i++ {
		fmt.Fprintf(&ts, "k%02d=v%08x,", i, rng.Uint32())
	}
	traceState := strings.TrimSuffix(ts.String(), ",")
	statusMessage := strings.Repeat("boom! ", 2000)

	tv := model.TraceID{0xff, 0x00, 0xff, 0x00, 0x7a, 0x1e, 0x5e, 0x5e, 0, 0, 0, 0, 0, 0, 0, 1}
	tu := model.TraceID{0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}
	te := model.TraceID{0xed, 0x9e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xed, 0x9e}

	vStart := now.Add(-30 * time.Minute).UnixNano()
	var events []model.Event
	for i := range 100 {
		e := model.Event{TimeUnixNano: vStart + int64(i)*ms, Name: fmt.Sprintf("event %d", i)}
		switch i % 3 {
		case 0:
			e.Attributes = nil
		case 1:
			e.Attributes = []model.Attribute{}
		case 2:
			e.Attributes = []model.Attribute{model.Int("i", int64(i)), model.String("payload", big[:i*100])}
		}
		events = append(events, e)
	}
	events[0].Name = ""
	var links []model.Link
	for i := range 50 {
		l := model.Link{TraceID: model.TraceID{0x11, byte(i), 15: byte(i + 1)}, SpanID: model.SpanID{7: byte(i + 1)}}
		switch i % 4 {
		case 0:
			l.TraceState = traceState
		case 1:
			l.Attributes = []model.Attribute{}
		case 2:
			l.Attributes = []model.Attribute{model.String("link.type", "follows_from"), model.Bool("sampled", i%8 == 2)}
		}
		links = append(links, l)
	}
	var many, manyRes []model.Attribute
	for i := 999; i >= 0; i-- { // keys in descending order: not sorted by the store
		many = append(many, typedAttribute(fmt.Sprintf("k%04d", i), i))
	}
	for i := range 200 {
		k := (i * 7) % 200 // not in key order
		manyRes = append(manyRes, model.String(fmt.Sprintf("resource.%03d", k), fmt.Sprintf("value %d", k)))
	}

	valuesRes := model.Resource{ServiceName: "values", Attributes: []model.Attribute{
		model.String("service.instance.id", ""), model.String("host.name", "values-1"),
	}}
	spans := []model.Span{
		{
			TraceID: tv, SpanID: model.SpanID{7: 1}, TraceState: traceState, Flags: math.MaxUint32,
			Name: "big", Kind: model.SpanKindServer, StartUnixNano: vStart, EndUnixNano: vStart + int64(time.Second),
			StatusCode: model.StatusError, StatusMessage: statusMessage,
			Attributes: []model.Attribute{
				model.String("big.string", big),
				{Key: "big.bytes", Type: model.ValueBytes, Value: bigBytes},
				model.String("empty", ""),
				{Key: "empty.bytes", Type: model.ValueBytes, Value: ""},
				model.String("nul", "a\x00b"),
				model.String("control", "line1\nline2\r\n\ttab \"quoted\" \\backslash\\ \u2028 \x7f"),
				model.String("json.like", `{"a":[1,2,{"b":null}],"c":"\u0000"}`),
				model.Int("int.min", math.MinInt64),
				model.Int("int.max", math.MaxInt64),
				model.Int("zero", 0),
				model.Double("nan", math.NaN()),
				model.Double("inf", math.Inf(1)),
				model.Double("neg.inf", math.Inf(-1)),
				model.Double("tiny", 5e-324),
				model.Double("neg.zero", math.Copysign(0, -1)),
				model.Bool("false", false),
				{Key: "empty.array", Type: model.ValueArray, Value: "[]"},
				{Key: "empty.map", Type: model.ValueMap, Value: "{}"},
				{Key: "nested", Type: model.ValueMap, Value: `{"values":[{"key":"a","value":{"arrayValue":{"values":[{"kvlistValue":{"values":[]}}]}}}]}`},
			},
			Events: events, Links: links, Resource: valuesRes,
			Scope:             model.Scope{Name: "scope/" + strings.Repeat("long/", 50), Version: "v0.0.0-20260101000000-abcdef123456"},
			DroppedAttributes: math.MaxUint32, DroppedEvents: 1, DroppedLinks: math.MaxUint32,
		},
		{
			TraceID: tv, SpanID: model.SpanID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ParentSpanID: model.SpanID{7: 1}, Flags: 1,
			Name: "many", Kind: model.SpanKindInternal, StartUnixNano: vStart + 3*ms, EndUnixNano: vStart + 5*ms,
			Attributes: many,
			Resource:   model.Resource{ServiceName: "values", Attributes: manyRes},
		},
	}

	uStart := now.Add(-20 * time.Minute).UnixNano()
	spans = append(spans,
		model.Span{
			TraceID: tu, SpanID: model.SpanID{0xc4, 0xfe}, Flags: 1,
			Name: "GET /ünïcödé/😀", Kind: model.SpanKindProducer, StartUnixNano: uStart, EndUnixNano: uStart + 7*ms,
			StatusCode: model.StatusError, StatusMessage: "échec ✗ 失败",
			Attributes: []model.Attribute{
				model.String("ключ", "значение 🚀"),
				model.String("emoji.key.🔑", "👩‍👩‍👧‍👦"),
				model.String("rtl", "שלום עולם"),
				model.String("combining", "e\u0301"), // not normalised to é
				model.String("bom", "\ufeffx"),
				model.String("cjk", "漢字かなカナ"),
			},
			Events:   []model.Event{{TimeUnixNano: uStart + ms, Name: "événement", Attributes: []model.Attribute{model.String("clé", "välue")}}},
			Resource: model.Resource{ServiceName: "café-サービス", Attributes: []model.Attribute{model.String("host.name", "höst-名")}},
			Scope:    model.Scope{Name: "инструмент", Version: "1.0"},
		},
		model.Span{
			TraceID: tu, SpanID: model.SpanID{0xc4, 0xff}, ParentSpanID: model.SpanID{0xc4, 0xfe}, Flags: 1,
			Name: "처리", Kind: model.SpanKindConsumer, StartUnixNano: uStart + 9*ms, EndUnixNano: uStart + 10*ms,
			Links:    []model.Link{{TraceID: tu, SpanID: model.SpanID{0xc4, 0xfe}, TraceState: "ü=1"}},
			Resource: model.Resource{ServiceName: "서비스"},
		},
	)

	// Nil slices, empty slices, and zero values everywhere.
	eStart := now.Add(-10 * time.Minute).UnixNano()
	root := model.SpanID{0, 0, 0, 0, 0, 0, 0, 1}
	spans = append(spans,
		model.Span{TraceID: te, SpanID: root, StartUnixNano: eStart, EndUnixNano: eStart, Resource: model.Resource{ServiceName: "edge"}},
		model.Span{
			TraceID: te, SpanID: model.SpanID{0, 0, 0, 0, 0, 0, 0, 2}, ParentSpanID: root,
			Name: "empty slices", Kind: model.SpanKindInternal, StartUnixNano: eStart + 1, EndUnixNano: eStart + 2,
			Attributes: []model.Attribute{},
			Events:     []model.Event{{TimeUnixNano: eStart + 1, Attributes: []model.Attribute{}}},
			Links:      []model.Link{{TraceID: te, SpanID: root, Attributes: []model.Attribute{}}, {TraceID: te, SpanID: root}},
			Resource:   model.Resource{ServiceName: "edge", Attributes: []model.Attribute{}},
		},
	)
	for k := model.SpanKindUnspecified; k <= model.SpanKindConsumer; k++ {
		sp := plainSpan(te, byte(0x10+k), 0, "edge", k, "kind", eStart+int64(k+1)*ms, time.Duration(k)*time.Millisecond)
		sp.ParentSpanID = root
		sp.StatusCode = model.StatusCode(int(k) % 3)
		sp.Flags = uint32(k)
		spans = append(spans, sp)
	}

	writeSpans(t, s, spans)
	traces := byTrace(spans)

	attrs := func(k, v string) map[string]string { return map[string]string{k: v} }
	type q = store.TraceQuery
	none := []model.TraceID(nil)
	cases := []struct {
		name string
		q    store.TraceQuery
		want []model.TraceID
	}{
		{"BigString", q{Attributes: attrs("big.string", big)}, []model.TraceID{tv}},
		{"BigStringPrefix", q{Attributes: attrs("big.string", big[:len(big)-1])}, none},
		{"BigBytes", q{Attributes: attrs("big.bytes", bigBytes)}, []model.TraceID{tv}},
		{"LongStatusMessage", q{Attributes: attrs("otel.status_description", statusMessage)}, []model.TraceID{tv}},
		{"EmptyValue", q{Attributes: attrs("empty", "")}, []model.TraceID{tv}},
		{"EmptyBytesValue", q{Attributes: attrs("empty.bytes", "")}, []model.TraceID{tv}},
		{"EmptyValueAbsentKey", q{Service: "edge", Attributes: attrs("empty", "")}, none},
		{"NUL", q{Attributes: attrs("nul", "a\x00b")}, []model.TraceID{tv}},
		{"NULPrefix", q{Attributes: attrs("nul", "a")}, none},
		{"MinInt", q{Attributes: attrs("int.min", "-9223372036854775808")}, []model.TraceID{tv}},
		{"NaN", q{Attributes: attrs("nan", "NaN")}, []model.TraceID{tv}},
		{"NegativeZero", q{Attributes: attrs("neg.zero", "-0")}, []model.TraceID{tv}},
		{"ManyAttributes", q{Attributes: attrs("k0500", typedAttribute("k0500", 500).Value)}, []model.TraceID{tv}},
		{"ManyResourceAttributes", q{Service: "values", Attributes: attrs("resource.150", "value 150")}, []model.TraceID{tv}},
		{"UnicodeService", q{Service: "café-サービス", Operation: "GET /ünïcödé/😀"}, []model.TraceID{tu}},
		{"UnicodeAttribute", q{Attributes: attrs("ключ", "значение 🚀")}, []model.TraceID{tu}},
		{"Emoji", q{Attributes: attrs("emoji.key.🔑", "👩‍👩‍👧‍👦")}, []model.TraceID{tu}},
		{"NotNormalised", q{Attributes: attrs("combining", "é")}, none},
		{"UnicodeScope", q{Attributes: attrs("otel.scope.name", "инструмент")}, []model.TraceID{tu}},
		{"Consumer", q{Service: "edge", Operation: "kind", Attributes: attrs("span.kind", "consumer")}, []model.TraceID{te}},
		{"ZeroDuration", q{Service: "edge", DurationMax: 1}, []model.TraceID{te}},
	}

	check := func(t *testing.T, s TraceStore) {
		wantTraces(t, s, traces)
		for _, c := range cases {
			t.Run("FindTraces/"+c.name, func(t *testing.T) { wantFind(t, s, c.q, traces, c.want...) })
		}
		wantSvcs := []string{"values", "café-サービス", "서비스", "edge"}
		slices.Sort(wantSvcs)
		if got := services(t, s); !slices.Equal(got, wantSvcs) {
			t.Errorf("Services = %q; want %q", got, wantSvcs)
		}
		for _, c := range []struct {
			q    store.OperationQuery
			want []store.Operation
		}{
			{store.OperationQuery{Service: "edge"}, []store.Operation{
				op("", model.SpanKindUnspecified), op("empty slices", model.SpanKindInternal),
				op("kind", model.SpanKindUnspecified), op("kind", model.SpanKindInternal), op("kind", model.SpanKindServer),
				op("kind", model.SpanKindClient), op("kind", model.SpanKindProducer), op("kind", model.SpanKindConsumer),
			}},
			{store.OperationQuery{Service: "edge", Kind: model.SpanKindProducer}, []store.Operation{op("kind", model.SpanKindProducer)}},
			{store.OperationQuery{Service: "café-サービス"}, []store.Operation{op("GET /ünïcödé/😀", model.SpanKindProducer)}},
		} {
			if got := operations(t, s, c.q); !slices.Equal(got, c.want) {
				t.Errorf("Operations(%+v) = %v; want %v", c.q, got, c.want)
			}
		}
		want := []store.DependencyLink{{Parent: "café-サービス", Child: "서비스", CallCount: 1}}
		if got := dependencies(t, s, now.Add(-time.Hour), now); !slices.Equal(got, want) {
			t.Errorf("Dependencies = %v; want %v", got, want)
		}
	}
	check(t, s)
	return check
}

// typedAttribute returns an attribute named key whose type and value
// depend on i, cycling through every value type.
func typedAttribute(key string, i int) model.Attribute {
	switch i % 7 {
	case 0:
		return model.String(key, fmt.Sprintf("value %d", i))
	case 1:
		return model.Bool(key, i%2 == 1)
	case 2:
		return model.Int(key, int64(i)*-1000003)
	case 3:
		return model.Double(key, float64(i)/7)
	case 4:
		return model.Attribute{Key: key, Type: model.ValueBytes, Value: string([]byte{byte(i), 0, 0xff, byte(i >> 8)})}
	case 5:
		return model.Attribute{Key: key, Type: model.ValueArray, Value: fmt.Sprintf(`[{"intValue":"%d"}]`, i)}
	default:
		return model.Attribute{Key: key, Type: model.ValueMap, Value: fmt.Sprintf(`{"values":[{"key":"i","value":{"intValue":"%d"}}]}`, i)}
	}
}
