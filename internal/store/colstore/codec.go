package colstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"
)

// errCorrupt marks data that does not decode: a damaged part or WAL record.
var errCorrupt = errors.New("corrupt data")

// decoder reads the append-style encodings below. The first failure sticks
// in err and every later read returns zero values, so callers check err
// once at the end instead of after every field.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", errCorrupt, what)
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail("short byte")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uint64() uint64 {
	if len(d.b) < 8 {
		d.fail("short uint64")
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

// count reads a uvarint count of items that each take at least minSize
// bytes, and rejects counts the remaining input cannot hold, so corrupt
// input cannot make a caller allocate a huge slice.
func (d *decoder) count(minSize int) int {
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)/max(minSize, 1)) {
		d.fail("count exceeds input")
		return 0
	}
	return int(n)
}

// bytes reads n raw bytes; the result aliases the input.
func (d *decoder) bytes(n int) []byte {
	if n < 0 || n > len(d.b) {
		d.fail("short bytes")
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// lenBytes reads a uvarint length and that many bytes (aliasing the input).
func (d *decoder) lenBytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("length exceeds input")
		return nil
	}
	return d.bytes(int(n))
}

// str reads a length-prefixed string that aliases the input. The input
// must never be modified afterwards.
func (d *decoder) str() string { return unsafeString(d.lenBytes()) }

func appendLenBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// unsafeString returns a string sharing b's memory. The engine uses it for
// data that is immutable once written (decoded blocks, WAL records held by
// the memtable), so rows are decoded without copying every value.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// unsafeBytes returns the bytes of s without copying. They must not be
// modified.
func unsafeBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
