package jaeger

import (
	"math"
	"reflect"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/argus-obs/argus/internal/model"
)

func TestCompositeValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		attr model.Attribute
		raw  any    // pcommon.Value.AsRaw of the decoded value
		text string // what the v1 API shows
	}{
		{
			"plain array", model.Attribute{Type: model.ValueArray, Value: `["a",1,2.5,true,null,[1],{"k":"v"}]`},
			[]any{"a", int64(1), 2.5, true, nil, []any{int64(1)}, map[string]any{"k": "v"}},
			`["a",1,2.5,true,null,[1],{"k":"v"}]`,
		},
		{
			"OTLP array", model.Attribute{Type: model.ValueArray, Value: `[{"stringValue":"a"},{"intValue":"-7"},{"doubleValue":2.5},{"boolValue":false},{},{"bytesValue":"AQI="},{"arrayValue":{"values":[{"intValue":1}]}},{"kvlistValue":{}}]`},
			[]any{"a", int64(-7), 2.5, false, nil, []byte{1, 2}, []any{int64(1)}, map[string]any{}},
			`["a",-7,2.5,false,null,"AQI=",[1],{}]`,
		},
		{
			"plain map keeps key order", model.Attribute{Type: model.ValueMap, Value: `{"z":1,"a":{"b":[true]}}`},
			map[string]any{"z": int64(1), "a": map[string]any{"b": []any{true}}},
			`{"z":1,"a":{"b":[true]}}`, // plain JSON is shown as stored
		},
		{
			"OTLP map", model.Attribute{Type: model.ValueMap, Value: `{"values":[{"key":"sku","value":{"stringValue":"A-100"}},{"key":"qty","value":{"intValue":"2"}},{"key":"none"}]}`},
			map[string]any{"sku": "A-100", "qty": int64(2), "none": nil},
			`{"none":null,"qty":2,"sku":"A-100"}`,
		},
		{
			// Looks OTLP-ish but is not: an unknown AnyValue key makes the
			// whole array plain JSON.
			"array of objects", model.Attribute{Type: model.ValueArray, Value: `[{"stringValue":"a"},{"name":"b"}]`},
			[]any{map[string]any{"stringValue": "a"}, map[string]any{"name": "b"}},
			`[{"stringValue":"a"},{"name":"b"}]`,
		},
		{
			"map named values that is not a kvlist", model.Attribute{Type: model.ValueMap, Value: `{"values":[1,2]}`},
			map[string]any{"values": []any{int64(1), int64(2)}},
			`{"values":[1,2]}`,
		},
		{
			"big and fractional numbers", model.Attribute{Type: model.ValueArray, Value: `[1e3,18446744073709551616,-0.5]`},
			[]any{1000.0, 18446744073709551616.0, -0.5},
			`[1e3,18446744073709551616,-0.5]`,
		},
		{
			"not JSON", model.Attribute{Type: model.ValueArray, Value: `[oops`},
			"[oops", "[oops",
		},
		{
			"trailing data", model.Attribute{Type: model.ValueMap, Value: `{} {}`},
			"{} {}", "{} {}",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := pcommon.NewValueEmpty()
			setAttributeValue(v, &tc.attr)
			if got := v.AsRaw(); !reflect.DeepEqual(got, tc.raw) {
				t.Errorf("decoded %#v, want %#v", got, tc.raw)
			}
			if got := compositeText(&tc.attr); got != tc.text {
				t.Errorf("text %s, want %s", got, tc.text)
			}
		})
	}
}

func TestScalarValues(t *testing.T) {
	for _, tc := range []struct {
		attr model.Attribute
		raw  any
		ui   uiKeyValue
	}{
		{model.String("k", "v"), "v", uiKeyValue{"k", "string", "v"}},
		{model.Int("k", -42), int64(-42), uiKeyValue{"k", "int64", int64(-42)}},
		{model.Int("k", 1<<53), int64(1 << 53), uiKeyValue{"k", "int64", "9007199254740992"}},
		{model.Int("k", -(1<<53 - 1)), int64(-(1<<53 - 1)), uiKeyValue{"k", "int64", int64(-(1<<53 - 1))}},
		{model.Bool("k", false), false, uiKeyValue{"k", "bool", false}},
		{model.Double("k", 1e300), 1e300, uiKeyValue{"k", "float64", 1e300}},
		{model.Attribute{Key: "k", Type: model.ValueDouble, Value: "NaN"}, math.NaN(), uiKeyValue{"k", "float64", "NaN"}},
		{model.Attribute{Key: "k", Type: model.ValueDouble, Value: "Infinity"}, math.Inf(1), uiKeyValue{"k", "float64", "Infinity"}},
		{model.Attribute{Key: "k", Type: model.ValueBytes, Value: "\x00\xff"}, []byte{0, 0xff}, uiKeyValue{"k", "binary", []byte{0, 0xff}}},
		// Corrupt text keeps its declared type in v1 and becomes a string
		// in OTLP, rather than being lost.
		{model.Attribute{Key: "k", Type: model.ValueInt, Value: "12x"}, "12x", uiKeyValue{"k", "int64", "12x"}},
		{model.Attribute{Key: "k", Type: model.ValueBool, Value: "yes"}, "yes", uiKeyValue{"k", "bool", "yes"}},
	} {
		v := pcommon.NewValueEmpty()
		setAttributeValue(v, &tc.attr)
		got := v.AsRaw()
		if f, ok := tc.raw.(float64); ok && math.IsNaN(f) {
			if g, ok := got.(float64); !ok || !math.IsNaN(g) {
				t.Errorf("%v: decoded %#v, want NaN", tc.attr, got)
			}
		} else if !reflect.DeepEqual(got, tc.raw) {
			t.Errorf("%v: decoded %#v, want %#v", tc.attr, got, tc.raw)
		}
		if ui := toUIKeyValue(&tc.attr); !reflect.DeepEqual(ui, tc.ui) {
			t.Errorf("%v: UI tag %#v, want %#v", tc.attr, ui, tc.ui)
		}
	}
}

// FuzzCompositeValue checks that no stored array or map text crashes the
// decoders.
func FuzzCompositeValue(f *testing.F) {
	for _, s := range []string{
		`[1,"a",{"b":null}]`, `{"values":[{"key":"k","value":{"kvlistValue":{"values":[]}}}]}`,
		`[{"arrayValue":{"values":[{"arrayValue":{}}]}}]`, `[{"bytesValue":"!!"}]`, `[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]`, `{`,
	} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, isArray bool) {
		a := model.Attribute{Key: "k", Type: model.ValueMap, Value: s}
		if isArray {
			a.Type = model.ValueArray
		}
		setAttributeValue(pcommon.NewValueEmpty(), &a)
		_ = compositeText(&a)
	})
}
