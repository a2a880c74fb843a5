package model

import "strconv"

// ValueType is the type of an attribute's value, as OTLP's AnyValue has it.
type ValueType uint8

// The attribute value types. Arrays and maps (kvlists) are kept as plain
// JSON text (["a",1], {"k":"v"}), the form OpenTelemetry specifies for
// formats without typed values, typed so a reader can tell.
const (
	ValueString ValueType = iota
	ValueBool
	ValueInt
	ValueDouble
	ValueBytes // Value holds the raw bytes
	ValueArray // Value holds a JSON array
	ValueMap   // Value holds a JSON object
)

// Attribute is one key/value pair. Value is the canonical string form of
// the value (decimal for numbers, "true"/"false" for booleans), so filters
// compare attributes by string the way Jaeger's tag search does, and Type
// says how to turn it back into a typed value.
type Attribute struct {
	Key   string
	Type  ValueType
	Value string
}

// String makes a string attribute.
func String(key, value string) Attribute { return Attribute{Key: key, Type: ValueString, Value: value} }

// Int makes an integer attribute.
func Int(key string, value int64) Attribute {
	return Attribute{Key: key, Type: ValueInt, Value: strconv.FormatInt(value, 10)}
}

// Bool makes a boolean attribute.
func Bool(key string, value bool) Attribute {
	return Attribute{Key: key, Type: ValueBool, Value: strconv.FormatBool(value)}
}

// Double makes a floating-point attribute.
func Double(key string, value float64) Attribute {
	return Attribute{Key: key, Type: ValueDouble, Value: strconv.FormatFloat(value, 'g', -1, 64)}
}

// Lookup returns the value of the first attribute named key.
func Lookup(attrs []Attribute, key string) (value string, ok bool) {
	for i := range attrs {
		if attrs[i].Key == key {
			return attrs[i].Value, true
		}
	}
	return "", false
}

// SameKeys reports whether two attribute lists have the same keys and
// types in the same order, as consecutive records of one kind usually do.
func SameKeys(a, b []Attribute) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || a[i].Type != b[i].Type {
			return false
		}
	}
	return true
}
