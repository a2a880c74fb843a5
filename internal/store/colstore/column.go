package colstore

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/klauspost/compress/zstd"
)

// Column encodings. A column block is the encoding's payload, optionally
// compressed with zstd; the block header records which encoding and
// whether it is compressed.
const (
	encConst      = 0 // every row has the same value: the value once
	encVarint     = 1 // ints: zigzag varint per row
	encDelta      = 2 // ints: first value, then zigzag varint deltas
	encDict       = 3 // bytes: up to 256 distinct values, then one index byte per row
	encPlainBytes = 4 // bytes: uvarint length per row, then the values back to back
	encFixedBytes = 5 // bytes: one width, then every value of that width back to back
)

// maxDictEntries is the most distinct values a dictionary-encoded column
// block holds; one byte per row indexes it.
const maxDictEntries = 256

// minCompressSize is the payload size below which zstd is not tried: its
// frame overhead would eat the gain.
const minCompressSize = 64

// columnValues is one column of a block in memory: ints for TypeInt,
// vals for the byte-like types. Decoded vals alias the decoded buffer.
type columnValues struct {
	typ  ColumnType
	ints []int64
	vals [][]byte
}

// encodedColumn is what encodeColumn produced, ready for the block header.
type encodedColumn struct {
	encoding   byte
	compressed bool
	rawSize    int // payload size before compression
	min, max   int64
}

// columnEncoder encodes column blocks, reusing its buffers across calls.
// It is not safe for concurrent use; the zstd encoder it shares is.
type columnEncoder struct {
	zstd    *zstd.Encoder
	scratch []byte
	dict    map[string]int
	order   [][]byte
}

// encode appends the encoded column to dst.
func (e *columnEncoder) encode(dst []byte, c *columnValues) ([]byte, encodedColumn) {
	var h encodedColumn
	e.scratch = e.scratch[:0]
	switch c.typ {
	case TypeInt:
		e.scratch, h = encodeInts(e.scratch, c.ints)
	default:
		e.scratch, h.encoding = e.encodeBytes(e.scratch, c.vals)
	}
	h.rawSize = len(e.scratch)
	if len(e.scratch) >= minCompressSize {
		start := len(dst)
		dst = e.zstd.EncodeAll(e.scratch, dst)
		if len(dst)-start < len(e.scratch)*9/10 {
			h.compressed = true
			return dst, h
		}
		dst = dst[:start]
	}
	return append(dst, e.scratch...), h
}

func encodeInts(dst []byte, v []int64) ([]byte, encodedColumn) {
	h := encodedColumn{min: v[0], max: v[0]}
	sorted := true
	for i := 1; i < len(v); i++ {
		h.min = min(h.min, v[i])
		h.max = max(h.max, v[i])
		if v[i] < v[i-1] {
			sorted = false
		}
	}
	if h.min == h.max {
		h.encoding = encConst
		return binary.AppendVarint(dst, v[0]), h
	}
	if sorted {
		// Timestamps and other ascending values: deltas are small.
		h.encoding = encDelta
		dst = binary.AppendVarint(dst, v[0])
		for i := 1; i < len(v); i++ {
			dst = binary.AppendVarint(dst, v[i]-v[i-1])
		}
		return dst, h
	}
	h.encoding = encVarint
	for _, x := range v {
		dst = binary.AppendVarint(dst, x)
	}
	return dst, h
}

func (e *columnEncoder) encodeBytes(dst []byte, vals [][]byte) ([]byte, byte) {
	// Gather distinct values up to the dictionary limit.
	if e.dict == nil {
		e.dict = make(map[string]int, maxDictEntries)
	}
	clear(e.dict)
	e.order = e.order[:0]
	isDict := true
	for _, v := range vals {
		if _, ok := e.dict[unsafeString(v)]; ok {
			continue
		}
		if len(e.order) == maxDictEntries {
			isDict = false
			break
		}
		e.dict[unsafeString(v)] = len(e.order)
		e.order = append(e.order, v)
	}
	if isDict && len(e.order) == 1 {
		return appendLenBytes(dst, e.order[0]), encConst
	}
	if isDict {
		dst = binary.AppendUvarint(dst, uint64(len(e.order)))
		for _, d := range e.order {
			dst = appendLenBytes(dst, d)
		}
		for _, v := range vals {
			dst = append(dst, byte(e.dict[unsafeString(v)]))
		}
		return dst, encDict
	}
	width := len(vals[0])
	fixed := true
	for _, v := range vals {
		if len(v) != width {
			fixed = false
			break
		}
	}
	if fixed {
		dst = binary.AppendUvarint(dst, uint64(width))
		for _, v := range vals {
			dst = append(dst, v...)
		}
		return dst, encFixedBytes
	}
	for _, v := range vals {
		dst = binary.AppendUvarint(dst, uint64(len(v)))
	}
	for _, v := range vals {
		dst = append(dst, v...)
	}
	return dst, encPlainBytes
}

// decodeColumn decodes a column block of rows values into c, reusing its
// slices. buf holds the (decompressed) payload and must stay unmodified
// while c is in use, since byte values alias it.
func decodeColumn(c *columnValues, typ ColumnType, encoding byte, payload []byte, rows int) error {
	c.typ = typ
	d := decoder{b: payload}
	if typ == TypeInt {
		c.ints = slices.Grow(c.ints[:0], rows)[:rows]
		switch encoding {
		case encConst:
			v := d.varint()
			for i := range c.ints {
				c.ints[i] = v
			}
		case encVarint:
			for i := range c.ints {
				c.ints[i] = d.varint()
			}
		case encDelta:
			v := d.varint()
			c.ints[0] = v
			for i := 1; i < rows; i++ {
				v += d.varint()
				c.ints[i] = v
			}
		default:
			return fmt.Errorf("%w: int column encoding %d", errCorrupt, encoding)
		}
		return d.err
	}
	c.vals = slices.Grow(c.vals[:0], rows)[:rows]
	switch encoding {
	case encConst:
		v := d.lenBytes()
		for i := range c.vals {
			c.vals[i] = v
		}
	case encDict:
		n := d.count(1)
		if n > maxDictEntries {
			return fmt.Errorf("%w: dictionary of %d entries", errCorrupt, n)
		}
		var dict [maxDictEntries][]byte
		for i := 0; i < n; i++ {
			dict[i] = d.lenBytes()
		}
		idx := d.bytes(rows)
		if d.err != nil {
			return d.err
		}
		for i, k := range idx {
			if int(k) >= n {
				return fmt.Errorf("%w: dictionary index %d of %d", errCorrupt, k, n)
			}
			c.vals[i] = dict[k]
		}
	case encFixedBytes:
		w := int(d.uvarint())
		if d.err == nil && (w < 0 || w > len(d.b) || w*rows != len(d.b)) {
			return fmt.Errorf("%w: fixed width %d for %d rows in %d bytes", errCorrupt, w, rows, len(d.b))
		}
		for i := range c.vals {
			c.vals[i] = d.bytes(w)
		}
	case encPlainBytes:
		lens := make([]int, rows)
		total := 0
		for i := range lens {
			n := d.uvarint()
			if n > uint64(len(payload)) {
				return fmt.Errorf("%w: value length %d", errCorrupt, n)
			}
			lens[i] = int(n)
			total += int(n)
		}
		if d.err == nil && total != len(d.b) {
			return fmt.Errorf("%w: values take %d bytes, block has %d", errCorrupt, total, len(d.b))
		}
		for i, n := range lens {
			c.vals[i] = d.bytes(n)
		}
	default:
		return fmt.Errorf("%w: bytes column encoding %d", errCorrupt, encoding)
	}
	return d.err
}
