package logpush

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/argus-obs/argus/internal/model"
)

// The scanner is held to encoding/json: it must accept exactly the JSON
// that json.Valid accepts (short of its nesting limit), decode strings to
// what json.Unmarshal gives, and flatten documents to the same fields a
// map decoded by encoding/json has.

var jsonSamples = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e-3`, `true`, `false`, `null`, ` {"a" : [1, 2, {"b": null}] } `,
	`"\u00e9\ud83d\ude00\n\t\"\\\/"`, `"\ud800"`, `"\ud800\u0041"`, `"\udc00\ud800"`, "\"\xff\xfe\"",
	`{"a":1,}`, `[1,]`, `[,1]`, `{"a"}`, `{"a":}`, `{1:2}`, `01`, `1.`, `.5`, `1e`, `-`, `+1`, `tru`, `nul`, `"\x"`,
	`"\u12"`, "\"a\x01\"", `"unterminated`, `{"a":1}}`, `[1 2]`, `{"a":1 "b":2}`, `NaN`, `1e999`, ``, ` `,
	strings.Repeat("[", 64) + strings.Repeat("]", 64),
	`{"message":"GET /api 200","http":{"status":200,"headers":{"ua":"curl/8"}},"tags":["a", "b"],"ok":true,"n":null}`,
}

// scanValid runs the scanner over one whole JSON text.
func scanValid(data []byte) (ok bool, err error) {
	var sc scanner
	sc.reset(data)
	sc.skipValue()
	if sc.err == nil && !sc.atEnd() {
		sc.failChar()
	}
	return sc.err == nil, sc.err
}

// tooDeep reports whether data nests deeper than the scanner allows,
// counting brackets outside strings.
func tooDeep(data []byte) bool {
	depth, in := 0, false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case !in && (c == '{' || c == '['):
			if depth++; depth > maxJSONDepth {
				return true
			}
		case !in && (c == '}' || c == ']'):
			depth--
		}
	}
	return false
}

func checkScanner(t *testing.T, data []byte) {
	ok, err := scanValid(data)
	if want := json.Valid(data); ok != want && !(want && tooDeep(data)) {
		t.Fatalf("scanner says valid=%v (%v) for %q; encoding/json says %v", ok, err, data, want)
	}
	if !ok || !utf8.Valid(data) {
		return
	}
	var sc scanner
	sc.reset(data)
	if sc.peek() != '"' {
		return
	}
	got := sc.appendString(nil)
	var want string
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("string %q decodes to %q, encoding/json gives %q", data, got, want)
	}
}

func TestScanner(t *testing.T) {
	for _, s := range jsonSamples {
		checkScanner(t, []byte(s))
	}
	if ok, err := scanValid([]byte(strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1))); ok ||
		!strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("nesting past the limit: %v", err)
	}
}

func FuzzScanner(f *testing.F) {
	for _, s := range jsonSamples {
		f.Add([]byte(s))
	}
	f.Fuzz(checkScanner)
}

// flattenJSON is the reference flattening: encoding/json decodes, then
// objects are walked with dotted keys; each leaf is rendered as the
// document parser keeps it.
// An empty key adds no dot, as in the parser.
func flattenJSON(prefix string, top bool, v any, out map[string]string) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 && !top {
			out[prefix] = "map:{}"
		}
		for k, c := range v {
			if prefix != "" {
				k = prefix + "." + k
			}
			flattenJSON(k, false, c, out)
		}
	case nil:
	case string:
		out[prefix] = "string:" + v
	case bool:
		out[prefix] = fmt.Sprintf("bool:%v", v)
	case json.Number:
		out[prefix] = "number:" + v.String()
	case []any:
		b, _ := json.Marshal(v)
		out[prefix] = "array:" + string(b)
	}
}

func checkDocument(t *testing.T, data []byte) {
	var b batch
	var p docParser
	err := p.parse(&b, data)
	if err != nil {
		if len(b.arena) != 0 {
			t.Fatalf("a failed parse left %d bytes in the arena", len(b.arena))
		}
		return
	}
	if !json.Valid(data) {
		t.Fatalf("parsed %q, which is not JSON", data)
	}
	if !utf8.Valid(data) {
		return // encoding/json would replace the invalid bytes
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v map[string]any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("parsed %q, which encoding/json cannot decode as an object: %v", data, err)
	}
	want := map[string]string{}
	flattenJSON("", true, v, want)

	got := map[string]string{}
	for _, f := range p.fields {
		key := string(b.bytes(f.key))
		if _, dup := got[key]; dup {
			return // a repeated key: encoding/json keeps only the last
		}
		val := string(b.bytes(f.val))
		switch f.typ {
		case model.ValueString:
			got[key] = "string:" + val
		case model.ValueBool:
			got[key] = "bool:" + val
		case model.ValueInt, model.ValueDouble:
			got[key] = "number:" + val
		case model.ValueMap:
			got[key] = "map:" + val
		case model.ValueArray:
			// Re-encode, as the reference does, to compare values rather
			// than escapes.
			var a []any
			if err := json.Unmarshal([]byte(val), &a); err != nil {
				t.Fatalf("array field %s = %q is not JSON: %v", key, val, err)
			}
			e, _ := json.Marshal(a)
			got[key] = "array:" + string(e)
		}
	}
	if !reflect.DeepEqual(got, want) {
		keys := slices.Sorted(func(yield func(string) bool) {
			for k := range want {
				if !yield(k) {
					return
				}
			}
		})
		t.Fatalf("%q flattens to\n %v\nencoding/json gives (keys %v)\n %v", data, got, keys, want)
	}
}

func TestDocumentFlatten(t *testing.T) {
	for _, s := range jsonSamples {
		checkDocument(t, []byte(s))
	}
}

func FuzzDocument(f *testing.F) {
	for _, s := range jsonSamples {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"a":{"b":{"c":[1,{"d":"\u00e9"}]}},"a.b":2,"e":{}}`))
	f.Fuzz(checkDocument)
}
