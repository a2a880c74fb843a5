package jaeger

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/argus-obs/argus/internal/model"
)

// Arrays and maps reach this package as JSON text (model.ValueArray and
// model.ValueMap). Two spellings are in use: the plain JSON the
// OpenTelemetry non-OTLP mapping prescribes (["a",1]), which ingest writes,
// and OTLP's AnyValue JSON ([{"stringValue":"a"},{"intValue":"1"}]). The
// decoder below accepts both, so the APIs show the same value whichever
// writer stored it.

// maxValueDepth bounds how deeply nested an array or map may be before the
// decoder gives up and shows the text as a plain string. Stored values come
// from ingest, which has its own bound; this one only keeps a corrupt value
// from recursing without end.
const maxValueDepth = 64

var errNotAnyValue = errors.New("not an OTLP AnyValue")

// jsonNode is a parsed JSON value that, unlike map[string]any, keeps the
// order of object members, so a map attribute keeps its key order.
type jsonNode struct {
	kind  byte // 's' string, 'n' number, 'b' bool, 'z' null, 'a' array, 'o' object
	text  string
	b     bool
	elems []jsonNode // array elements or object member values
	keys  []string   // object member names, parallel to elems
}

func parseJSONNode(s string) (jsonNode, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	n, err := readJSONNode(dec, 0)
	if err != nil {
		return jsonNode{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return jsonNode{}, errors.New("trailing data after JSON value")
	}
	return n, nil
}

func readJSONNode(dec *json.Decoder, depth int) (jsonNode, error) {
	if depth > maxValueDepth {
		return jsonNode{}, errors.New("JSON value nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return jsonNode{}, err
	}
	switch t := tok.(type) {
	case string:
		return jsonNode{kind: 's', text: t}, nil
	case json.Number:
		return jsonNode{kind: 'n', text: string(t)}, nil
	case bool:
		return jsonNode{kind: 'b', b: t}, nil
	case nil:
		return jsonNode{kind: 'z'}, nil
	case json.Delim:
		n := jsonNode{kind: 'a'}
		if t == '{' {
			n.kind = 'o'
		}
		for dec.More() {
			if n.kind == 'o' {
				key, err := dec.Token()
				if err != nil {
					return jsonNode{}, err
				}
				n.keys = append(n.keys, key.(string))
			}
			elem, err := readJSONNode(dec, depth+1)
			if err != nil {
				return jsonNode{}, err
			}
			n.elems = append(n.elems, elem)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return jsonNode{}, err
		}
		return n, nil
	}
	return jsonNode{}, errors.New("unexpected JSON token")
}

// member returns the value of the object member named key.
func (n *jsonNode) member(key string) (*jsonNode, bool) {
	for i, k := range n.keys {
		if k == key {
			return &n.elems[i], true
		}
	}
	return nil, false
}

// setCompositeValue stores the array or map attribute a into dst. Text that
// is not JSON at all is kept as a string rather than dropped.
func setCompositeValue(dst pcommon.Value, a *model.Attribute) {
	n, err := parseJSONNode(a.Value)
	if err != nil {
		dst.SetStr(a.Value)
		return
	}
	setCompositeNode(dst, a.Type, &n)
}

// setCompositeNode stores the parsed value n of an attribute of type typ,
// read as OTLP's form when it has that shape throughout, else as plain
// JSON.
func setCompositeNode(dst pcommon.Value, typ model.ValueType, n *jsonNode) {
	switch {
	case typ == model.ValueArray && n.kind == 'a':
		if setOTLPValues(dst.SetEmptySlice(), n.elems, 0) == nil {
			return
		}
	case typ == model.ValueMap && n.kind == 'o':
		if values, ok := n.member("values"); ok && len(n.keys) == 1 && values.kind == 'a' {
			if setOTLPKeyValues(dst.SetEmptyMap(), values.elems, 0) == nil {
				return
			}
		}
	}
	setPlainValue(dst, n)
}

// compositeText returns the array or map attribute a as plain JSON, the
// form Jaeger shows such values in (as string tags). Text that cannot be
// in OTLP's form (an array not of objects, a map without "values") is
// returned as stored without parsing: it is plain JSON already, or not
// JSON at all and shown as it is.
func compositeText(a *model.Attribute) string {
	const space = " \t\r\n"
	t := strings.TrimLeft(a.Value, space)
	switch a.Type {
	case model.ValueArray:
		if !strings.HasPrefix(t, "[") || !strings.HasPrefix(strings.TrimLeft(t[1:], space), "{") {
			return a.Value
		}
	case model.ValueMap:
		if !strings.Contains(t, `"values"`) {
			return a.Value
		}
	}
	n, err := parseJSONNode(a.Value)
	if err != nil || (n.kind != 'a' && n.kind != 'o') {
		return a.Value
	}
	v := pcommon.NewValueEmpty()
	setCompositeNode(v, a.Type, &n)
	return v.AsString()
}

// setPlainValue converts plain JSON: numbers without a fraction or exponent
// become integers, other numbers doubles, null an empty value.
func setPlainValue(dst pcommon.Value, n *jsonNode) {
	switch n.kind {
	case 's':
		dst.SetStr(n.text)
	case 'b':
		dst.SetBool(n.b)
	case 'n':
		if !strings.ContainsAny(n.text, ".eE") {
			if i, err := strconv.ParseInt(n.text, 10, 64); err == nil {
				dst.SetInt(i)
				return
			}
		}
		f, _ := strconv.ParseFloat(n.text, 64) // json.Number is valid; overflow gives ±Inf
		dst.SetDouble(f)
	case 'a':
		s := dst.SetEmptySlice()
		s.EnsureCapacity(len(n.elems))
		for i := range n.elems {
			setPlainValue(s.AppendEmpty(), &n.elems[i])
		}
	case 'o':
		m := dst.SetEmptyMap()
		m.EnsureCapacity(len(n.elems))
		for i := range n.elems {
			setPlainValue(m.PutEmpty(n.keys[i]), &n.elems[i])
		}
	}
	// 'z' (null) leaves dst empty.
}

func setOTLPValues(dst pcommon.Slice, elems []jsonNode, depth int) error {
	dst.EnsureCapacity(len(elems))
	for i := range elems {
		if err := setOTLPValue(dst.AppendEmpty(), &elems[i], depth); err != nil {
			return err
		}
	}
	return nil
}

func setOTLPKeyValues(dst pcommon.Map, elems []jsonNode, depth int) error {
	dst.EnsureCapacity(len(elems))
	for i := range elems {
		kv := &elems[i]
		if kv.kind != 'o' {
			return errNotAnyValue
		}
		key, ok := kv.member("key")
		if !ok || key.kind != 's' {
			return errNotAnyValue
		}
		v := dst.PutEmpty(key.text)
		if val, ok := kv.member("value"); ok {
			if err := setOTLPValue(v, val, depth); err != nil {
				return err
			}
		}
	}
	return nil
}

// setOTLPValue converts one AnyValue object as protojson writes it: int64
// as a decimal string, bytes as base64, non-finite doubles as "NaN" and
// "Infinity".
func setOTLPValue(dst pcommon.Value, n *jsonNode, depth int) error {
	if depth > maxValueDepth || n.kind != 'o' || len(n.keys) > 1 {
		return errNotAnyValue
	}
	if len(n.keys) == 0 {
		return nil // an empty AnyValue
	}
	v := &n.elems[0]
	switch n.keys[0] {
	case "stringValue":
		if v.kind != 's' {
			return errNotAnyValue
		}
		dst.SetStr(v.text)
	case "boolValue":
		if v.kind != 'b' {
			return errNotAnyValue
		}
		dst.SetBool(v.b)
	case "intValue":
		if v.kind != 's' && v.kind != 'n' {
			return errNotAnyValue
		}
		i, err := strconv.ParseInt(v.text, 10, 64)
		if err != nil {
			return errNotAnyValue
		}
		dst.SetInt(i)
	case "doubleValue":
		if v.kind != 's' && v.kind != 'n' {
			return errNotAnyValue
		}
		f, err := parseProtoDouble(v.text)
		if err != nil {
			return errNotAnyValue
		}
		dst.SetDouble(f)
	case "bytesValue":
		if v.kind != 's' {
			return errNotAnyValue
		}
		b, err := base64.StdEncoding.DecodeString(v.text)
		if err != nil {
			if b, err = base64.URLEncoding.DecodeString(v.text); err != nil {
				return errNotAnyValue
			}
		}
		dst.SetEmptyBytes().FromRaw(b)
	case "arrayValue", "kvlistValue":
		if v.kind != 'o' || len(v.keys) > 1 {
			return errNotAnyValue
		}
		var elems []jsonNode
		if len(v.keys) == 1 {
			values, ok := v.member("values")
			if !ok || values.kind != 'a' {
				return errNotAnyValue
			}
			elems = values.elems
		}
		if n.keys[0] == "arrayValue" {
			return setOTLPValues(dst.SetEmptySlice(), elems, depth+1)
		}
		return setOTLPKeyValues(dst.SetEmptyMap(), elems, depth+1)
	default:
		return errNotAnyValue
	}
	return nil
}

func parseProtoDouble(s string) (float64, error) {
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	return strconv.ParseFloat(s, 64)
}

// setAttributeValue stores attribute a into dst with its original type. A
// value whose text does not parse as its type is kept as a string, so
// nothing stored is hidden from a reader.
func setAttributeValue(dst pcommon.Value, a *model.Attribute) {
	switch a.Type {
	case model.ValueBool:
		if b, err := strconv.ParseBool(a.Value); err == nil {
			dst.SetBool(b)
			return
		}
	case model.ValueInt:
		if i, err := strconv.ParseInt(a.Value, 10, 64); err == nil {
			dst.SetInt(i)
			return
		}
	case model.ValueDouble:
		if f, err := parseProtoDouble(a.Value); err == nil {
			dst.SetDouble(f)
			return
		}
	case model.ValueBytes:
		dst.SetEmptyBytes().FromRaw([]byte(a.Value))
		return
	case model.ValueArray, model.ValueMap:
		setCompositeValue(dst, a)
		return
	}
	dst.SetStr(a.Value)
}

// putAttributes appends attrs to m. A repeated key keeps its last value,
// as pcommon.Map holds each key once.
func putAttributes(m pcommon.Map, attrs []model.Attribute) {
	m.EnsureCapacity(m.Len() + len(attrs))
	for i := range attrs {
		setAttributeValue(m.PutEmpty(attrs[i].Key), &attrs[i])
	}
}

// resourceKey appends an encoding of a resource that is equal for equal
// resources: the key spans are grouped by, into OTLP resources and into
// Jaeger processes alike.
func resourceKey(dst []byte, r *model.Resource) []byte {
	dst = append(dst, r.ServiceName...)
	dst = append(dst, 0)
	return attributesKey(dst, r.Attributes)
}

// attributesKey appends an encoding of attrs that is equal for equal
// attribute lists, used to group spans by resource.
func attributesKey(dst []byte, attrs []model.Attribute) []byte {
	for i := range attrs {
		a := &attrs[i]
		dst = strconv.AppendInt(dst, int64(len(a.Key)), 10)
		dst = append(dst, ':')
		dst = append(dst, a.Key...)
		dst = append(dst, byte('0'+a.Type))
		dst = strconv.AppendInt(dst, int64(len(a.Value)), 10)
		dst = append(dst, ':')
		dst = append(dst, a.Value...)
	}
	return dst
}
