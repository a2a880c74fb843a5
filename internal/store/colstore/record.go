package colstore

import (
	"encoding/binary"
	"fmt"
)

// Rows travel from Write to the write-ahead log and the memtable as
// encoded batches: a compact, append-only byte form that costs one
// allocation per batch instead of several per row, and that readers
// decode on demand without copying values (see decoder.str).
//
// A batch is: uvarint row count, then per row
//
//	stream  byte 0 = same stream as the previous row, 1 = labels follow
//	        (uvarint count, then name and value strings)
//	time    varint
//	fields  uvarint count, then per field: name string, type byte, and an
//	        int (varint) for TypeInt or a length-prefixed value otherwise
//
// A WAL record holds the batches of one Write, one per day partition:
// uvarint count, then per batch the day (varint) and the batch bytes
// (length-prefixed).

const recordVersion = 1

// appendBatch appends the encoding of rows to dst.
func appendBatch(dst []byte, rows []*Row) ([]byte, error) {
	dst = binary.AppendUvarint(dst, uint64(len(rows)))
	var prev []Label
	for i, r := range rows {
		if i > 0 && labelsEqual(prev, r.Stream) {
			dst = append(dst, 0)
		} else {
			dst = append(dst, 1)
			dst = binary.AppendUvarint(dst, uint64(len(r.Stream)))
			for _, l := range r.Stream {
				dst = appendString(dst, l.Name)
				dst = appendString(dst, l.Value)
			}
			prev = r.Stream
		}
		dst = binary.AppendVarint(dst, r.Time)
		dst = binary.AppendUvarint(dst, uint64(len(r.Fields)))
		for j := range r.Fields {
			f := &r.Fields[j]
			if !f.Type.valid() {
				return dst, fmt.Errorf("field %q: invalid column type %d", f.Name, f.Type)
			}
			if f.Name == "" || f.Name == timeColumn || f.Name == streamColumn {
				return dst, fmt.Errorf("field name %q is empty or reserved", f.Name)
			}
			dst = appendString(dst, f.Name)
			dst = append(dst, byte(f.Type))
			switch f.Type {
			case TypeInt:
				dst = binary.AppendVarint(dst, f.Int)
			case TypeString, TypeText:
				dst = appendString(dst, f.Str)
			default:
				dst = appendLenBytes(dst, f.Bytes)
			}
		}
	}
	return dst, nil
}

// batchReader decodes a batch row by row into one reused Row. Strings and
// byte values alias the batch, which must stay unmodified.
type batchReader struct {
	d      decoder
	left   int
	row    Row
	labels []Label
	fields []Field
	// rowOff is the offset, in the batch, of the last row's time: where
	// decodeAt can decode it again.
	rowOff int
	size   int
}

func newBatchReader(batch []byte) *batchReader {
	br := &batchReader{}
	br.reset(batch)
	return br
}

func (br *batchReader) reset(batch []byte) {
	br.d = decoder{b: batch}
	br.size = len(batch)
	br.left = br.d.count(3)
	br.labels = br.labels[:0]
}

// next decodes the next row into br.row. newStream reports whether its
// stream differs from the previous row's.
func (br *batchReader) next() (ok, newStream bool) {
	if br.left == 0 || br.d.err != nil {
		return false, false
	}
	br.left--
	d := &br.d
	if d.byte() == 1 {
		newStream = true
		n := d.count(2)
		// A fresh slice: rows handed out earlier keep their labels.
		br.labels = make([]Label, n)
		for i := range br.labels {
			br.labels[i] = Label{Name: d.str(), Value: d.str()}
		}
	}
	br.row.Stream = br.labels
	br.rowOff = br.size - len(d.b)
	br.decodeRest()
	return d.err == nil, newStream
}

// decodeAt decodes the time and fields of the row whose time is at off in
// batch (an offset next reported in rowOff). It leaves row.Stream alone.
func (br *batchReader) decodeAt(batch []byte, off int) error {
	if off < 0 || off > len(batch) {
		return fmt.Errorf("%w: row offset %d", errCorrupt, off)
	}
	br.d = decoder{b: batch[off:]}
	br.decodeRest()
	return br.d.err
}

// decodeRest decodes a row's time and fields.
func (br *batchReader) decodeRest() {
	d := &br.d
	br.row.Time = d.varint()
	n := d.count(2)
	br.fields = br.fields[:0]
	for i := 0; i < n && d.err == nil; i++ {
		f := Field{Name: d.str(), Type: ColumnType(d.byte())}
		switch f.Type {
		case TypeInt:
			f.Int = d.varint()
		case TypeString, TypeText:
			f.Str = d.str()
		case TypeBytes, TypeID:
			f.Bytes = d.lenBytes()
		default:
			d.fail("field type")
		}
		br.fields = append(br.fields, f)
	}
	br.row.Fields = br.fields
}

func (br *batchReader) err() error { return br.d.err }
