package colstore

// ColumnType is the type of a field, and so of the column that stores it.
type ColumnType uint8

// The column types. The type decides the encoding and which filters apply.
const (
	// TypeString is text. Stored dictionary-encoded when a block has few
	// distinct values, and indexed in the block's bloom filter by exact
	// value.
	TypeString ColumnType = 1
	// TypeInt is a signed 64-bit integer, stored delta- or varint-encoded
	// with per-block min and max.
	TypeInt ColumnType = 2
	// TypeBytes is opaque binary data (encoded sub-records, span IDs). Not
	// indexed.
	TypeBytes ColumnType = 3
	// TypeID is a binary identifier (a trace ID) looked up by exact value:
	// stored like TypeBytes, and indexed in the bloom filter.
	TypeID ColumnType = 4
	// TypeText is free text (a log line): stored like TypeString, but its
	// bloom filter holds the words of each value rather than the whole
	// value, so a search for a word skips the blocks that lack it.
	TypeText ColumnType = 5
)

func (t ColumnType) valid() bool { return t >= TypeString && t <= TypeText }

// isString reports whether values of the type are text held in Field.Str.
func (t ColumnType) isString() bool { return t == TypeString || t == TypeText }

// Label is one name/value pair of a stream's identity.
type Label struct {
	Name, Value string
}

// Field is one typed value of a row. Str holds TypeString and TypeText
// values, Int TypeInt values, and Bytes TypeBytes and TypeID values.
//
// A row that lacks a field reads back with that field's zero value (empty
// string, 0, nil), so a reader cannot tell a missing field from a zero
// one: record presence in another field when it matters.
type Field struct {
	Name  string
	Type  ColumnType
	Str   string
	Int   int64
	Bytes []byte
}

// Row is one record: the stream it belongs to, its time in Unix
// nanoseconds, and its fields. Field names are unique within a row, and
// "_time" and "_stream" are reserved.
type Row struct {
	// Stream identifies the source of the row. The order of labels is
	// part of the identity and is preserved.
	Stream []Label
	Time   int64
	Fields []Field
}

// Field returns the field named name, or nil.
func (r *Row) Field(name string) *Field {
	for i := range r.Fields {
		if r.Fields[i].Name == name {
			return &r.Fields[i]
		}
	}
	return nil
}

func labelsEqual(a, b []Label) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// AppendString appends a TypeString field to fields unless v is empty: a
// row lacking a field reads back with its zero value, so storing zero
// values would only cost space.
func AppendString(fields []Field, name, v string) []Field {
	if v == "" {
		return fields
	}
	return append(fields, Field{Name: name, Type: TypeString, Str: v})
}

// AppendInt appends a TypeInt field to fields unless v is zero.
func AppendInt(fields []Field, name string, v int64) []Field {
	if v == 0 {
		return fields
	}
	return append(fields, Field{Name: name, Type: TypeInt, Int: v})
}
