package traces

import (
	"errors"
	"fmt"

	"encoding/binary"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store/colstore"
	"github.com/argus-obs/argus/internal/store/resource"
)

var errBadRow = errors.New("malformed span row")

// rowToSpan rebuilds a span from its row, copying every value (the row's
// memory belongs to the column store).
func rowToSpan(r *colstore.Row) (model.Span, error) {
	var s model.Span
	s.Resource = resource.FromLabels(r.Stream)
	s.Resource.ServiceName = clone(s.Resource.ServiceName)
	for i := range s.Resource.Attributes {
		a := &s.Resource.Attributes[i]
		a.Key, a.Value = clone(a.Key), clone(a.Value)
	}
	s.StartUnixNano = r.Time
	var attrKeys string
	for i := range r.Fields {
		f := &r.Fields[i]
		switch f.Name {
		case colTraceID:
			copy(s.TraceID[:], f.Bytes)
		case colSpanID:
			copy(s.SpanID[:], f.Bytes)
		case colParentSpanID:
			copy(s.ParentSpanID[:], f.Bytes)
		case colName:
			s.Name = clone(f.Str)
		case colKind:
			s.Kind = model.SpanKind(f.Int)
		case colDuration:
			s.EndUnixNano = r.Time + f.Int
		case colStatusCode:
			s.StatusCode = model.StatusCode(f.Int)
		case colStatusMessage:
			s.StatusMessage = clone(f.Str)
		case colTraceState:
			s.TraceState = clone(f.Str)
		case colFlags:
			s.Flags = uint32(f.Int)
		case colScopeName:
			s.Scope.Name = clone(f.Str)
		case colScopeVersion:
			s.Scope.Version = clone(f.Str)
		case colAttrKeys:
			attrKeys = f.Str
		case colEvents:
			if len(f.Bytes) == 0 {
				continue // a block column this span does not have
			}
			ev, err := decodeEvents(f.Bytes)
			if err != nil {
				return s, err
			}
			s.Events = ev
		case colLinks:
			if len(f.Bytes) == 0 {
				continue
			}
			links, err := decodeLinks(f.Bytes)
			if err != nil {
				return s, err
			}
			s.Links = links
		case colDroppedAttrs:
			s.DroppedAttributes = uint32(f.Int)
		case colDroppedEvents:
			s.DroppedEvents = uint32(f.Int)
		case colDroppedLinks:
			s.DroppedLinks = uint32(f.Int)
		}
	}
	if s.EndUnixNano == 0 {
		s.EndUnixNano = r.Time
	}
	if attrKeys != "" {
		attrs, err := decodeAttrValues(attrKeys, r)
		if err != nil {
			return s, err
		}
		s.Attributes = attrs
	}
	return s, nil
}

func clone(s string) string {
	if s == "" {
		return ""
	}
	return string([]byte(s))
}

// decodeAttrValues reads the attribute key list and picks each value from
// its column.
func decodeAttrValues(keys string, r *colstore.Row) ([]model.Attribute, error) {
	d := reader{b: []byte(keys)}
	var attrs []model.Attribute
	for len(d.b) > 0 && d.err == nil {
		key := d.str()
		typ := model.ValueType(d.byte())
		if d.err != nil {
			break
		}
		a := model.Attribute{Key: key, Type: typ}
		for i := range r.Fields {
			f := &r.Fields[i]
			if len(f.Name) == len(attrPrefix)+len(key) && f.Name[len(attrPrefix):] == key && f.Name[:len(attrPrefix)] == attrPrefix {
				a.Value = clone(f.Str)
				break
			}
		}
		attrs = append(attrs, a)
	}
	return attrs, d.err
}

func decodeAttrs(d *reader) []model.Attribute {
	n := d.count()
	if n == 0 {
		return nil
	}
	attrs := make([]model.Attribute, n)
	for i := range attrs {
		attrs[i] = model.Attribute{Key: d.str(), Type: model.ValueType(d.byte()), Value: d.str()}
	}
	return attrs
}

func decodeEvents(b []byte) ([]model.Event, error) {
	d := reader{b: b}
	events := make([]model.Event, d.count())
	for i := range events {
		events[i] = model.Event{TimeUnixNano: d.varint(), Name: d.str(), Attributes: decodeAttrs(&d)}
	}
	return events, d.err
}

func decodeLinks(b []byte) ([]model.Link, error) {
	d := reader{b: b}
	links := make([]model.Link, d.count())
	for i := range links {
		l := &links[i]
		copy(l.TraceID[:], d.bytes(16))
		copy(l.SpanID[:], d.bytes(8))
		l.TraceState = d.str()
		l.Attributes = decodeAttrs(&d)
	}
	return links, d.err
}

// reader decodes the encodings above; the first error sticks. Strings are
// copied, since the input belongs to the column store.
type reader struct {
	b   []byte
	err error
}

func (d *reader) fail() {
	if d.err == nil {
		d.err = fmt.Errorf("%w", errBadRow)
	}
	d.b = nil
}

func (d *reader) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *reader) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads an item count, refusing counts the input cannot hold.
func (d *reader) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *reader) byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *reader) bytes(n int) []byte {
	if n > len(d.b) {
		d.fail()
		return make([]byte, n)
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *reader) str() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	return string(d.bytes(int(n)))
}
