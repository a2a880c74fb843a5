package colstore

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"slices"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/zstd"
)

// Part file layout (docs/format/colstore.md has the full description):
//
//	header  "ARGUSCOL" + format version (uint32 LE)
//	column blocks, back to back
//	index   zstd-compressed: streams, column names, block headers, blooms
//	footer  index offset, index size, index raw size (uint64 LE each),
//	        CRC-32C of the compressed index (uint32 LE), "ACOL"

const (
	partMagic      = "ARGUSCOL"
	partFooterTag  = "ACOL"
	partVersion    = 1
	partHeaderSize = len(partMagic) + 4
	partFooterSize = 32 // three uint64, one uint32, the 4-byte tag
	partExt        = ".part"

	timeColumn   = "_time"
	streamColumn = "_stream"

	// maxBlockRows bounds a block so a point lookup decodes little, while
	// still giving zstd and the dictionaries enough rows to work with. It
	// is the format's limit and the default; a store may choose smaller
	// blocks (Options.BlockRows).
	maxBlockRows = 8192
	// maxBlockBytes bounds the uncompressed values of one block.
	maxBlockBytes = 4 << 20
	// maxDecodedSize bounds what one column block or index may decode to,
	// so a corrupt size cannot make a reader allocate without limit.
	maxDecodedSize = 256 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// streamHash identifies a stream inside the engine. Rows sort by it, so one
// stream's rows are contiguous in a part. A 64-bit hash can collide;
// the writer keeps colliding streams apart by comparing labels.
func streamHash(labels []Label) uint64 {
	var d xxhash.Digest
	d.Reset()
	for _, l := range labels {
		_, _ = d.WriteString(l.Name)
		_, _ = d.Write([]byte{0})
		_, _ = d.WriteString(l.Value)
		_, _ = d.Write([]byte{0})
	}
	return d.Sum64()
}

// colKey names a column: two fields of one name but different types are
// different columns.
type colKey struct {
	name string
	typ  ColumnType
}

// colBuilder gathers one column's values for the block being built,
// copying them so the writer never retains the caller's memory.
type colBuilder struct {
	key  colKey
	ints []int64
	data []byte // byte values back to back
	ends []int  // end offset in data of each row's value
	set  bool   // whether the current row set it
}

// partWriter writes one part file from rows given in (stream, time) order.
type partWriter struct {
	f         *os.File
	w         *bufio.Writer
	off       uint64
	enc       columnEncoder
	meta      partMeta
	blockRows int // most rows per block

	streamIdx map[uint64]int // stream hash to index in meta.streams
	colIdx    map[colKey]int // column key to index in meta.columns

	// The block being built.
	curStream int
	times     []int64
	cols      []*colBuilder
	colByKey  map[colKey]*colBuilder
	// byPos[i] is the builder the previous row's field i went to: rows of
	// one stream usually list the same fields in the same order, so this
	// spares most map lookups.
	byPos []*colBuilder
	// spare holds builders of earlier blocks, reused with their buffers.
	spare  []*colBuilder
	bytes  int
	keys   keySet
	hasher keyHasher
	vals   [][]byte
	block  []byte
}

func newPartWriter(path string, id uint64, sources []uint64, z *zstd.Encoder, blockRows int) (*partWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	pw := &partWriter{
		f:         f,
		w:         bufio.NewWriterSize(f, 1<<20),
		enc:       columnEncoder{zstd: z},
		meta:      partMeta{id: id, sources: sources, minTime: 1<<63 - 1, maxTime: -1 << 63},
		streamIdx: map[uint64]int{},
		colIdx:    map[colKey]int{},
		colByKey:  map[colKey]*colBuilder{},
		curStream: -1,
		blockRows: blockRows,
	}
	var hdr [partHeaderSize]byte
	copy(hdr[:], partMagic)
	binary.LittleEndian.PutUint32(hdr[len(partMagic):], partVersion)
	if err := pw.write(hdr[:]); err != nil {
		f.Close()
		return nil, err
	}
	return pw, nil
}

func (pw *partWriter) write(b []byte) error {
	n, err := pw.w.Write(b)
	pw.off += uint64(n)
	return err
}

// streamIndex returns the index of a stream in the part's stream table,
// adding it (with copies of its labels) on first use.
func (pw *partWriter) streamIndex(labels []Label, hash uint64) int {
	si, ok := pw.streamIdx[hash]
	if ok && !labelsEqual(pw.meta.streams[si].labels, labels) {
		// A hash collision: give the second stream a distinct index. Its
		// rows may then be split over blocks, which readers handle.
		ok = false
	}
	if !ok {
		si = len(pw.meta.streams)
		pw.streamIdx[hash] = si
		pw.meta.streams = append(pw.meta.streams, partStream{hash: hash, labels: slices.Clone(labels)})
		for i := range pw.meta.streams[si].labels {
			l := &pw.meta.streams[si].labels[i]
			l.Name, l.Value = cloneString(l.Name), cloneString(l.Value)
		}
	}
	return si
}

// add appends one row. hash must be streamHash(r.Stream).
func (pw *partWriter) add(r *Row, hash uint64) error {
	si := pw.streamIndex(r.Stream, hash)
	if si != pw.curStream || len(pw.times) >= pw.blockRows || pw.bytes >= maxBlockBytes {
		if err := pw.flushBlock(); err != nil {
			return err
		}
		pw.curStream = si
	}
	row := len(pw.times)
	pw.times = append(pw.times, r.Time)
	for i := range r.Fields {
		f := &r.Fields[i]
		var c *colBuilder
		if i < len(pw.byPos) {
			c = pw.byPos[i]
		}
		if c == nil || c.key.name != f.Name || c.key.typ != f.Type {
			c = pw.builder(colKey{f.Name, f.Type}, row)
			if i < len(pw.byPos) {
				pw.byPos[i] = c
			} else {
				pw.byPos = append(pw.byPos, c)
			}
		}
		if c.set {
			continue // a duplicate field name: the first one wins
		}
		c.set = true
		switch f.Type {
		case TypeInt:
			c.ints = append(c.ints, f.Int)
			pw.bytes += 8
		case TypeString, TypeText:
			c.data = append(c.data, f.Str...)
			c.ends = append(c.ends, len(c.data))
			pw.bytes += len(f.Str)
		default:
			c.data = append(c.data, f.Bytes...)
			c.ends = append(c.ends, len(c.data))
			pw.bytes += len(f.Bytes)
		}
	}
	for _, c := range pw.cols {
		if !c.set {
			c.appendZero()
		}
		c.set = false
	}
	return nil
}

// builder returns the block's builder of column k, starting one (with
// zero values for the block's first rows rows) if the block has none.
func (pw *partWriter) builder(k colKey, rows int) *colBuilder {
	if c := pw.colByKey[k]; c != nil {
		return c
	}
	var c *colBuilder
	if n := len(pw.spare); n > 0 {
		c = pw.spare[n-1]
		pw.spare = pw.spare[:n-1]
		*c = colBuilder{ints: c.ints[:0], data: c.data[:0], ends: c.ends[:0]}
	} else {
		c = &colBuilder{}
	}
	c.key = colKey{cloneString(k.name), k.typ}
	pw.colByKey[c.key] = c
	pw.cols = append(pw.cols, c)
	for range rows {
		c.appendZero()
	}
	return c
}

func (c *colBuilder) appendZero() {
	if c.key.typ == TypeInt {
		c.ints = append(c.ints, 0)
	} else {
		c.ends = append(c.ends, len(c.data))
	}
}

func (c *colBuilder) values(dst [][]byte) [][]byte {
	dst = dst[:0]
	start := 0
	for _, end := range c.ends {
		dst = append(dst, c.data[start:end:end])
		start = end
	}
	return dst
}

// flushBlock encodes the buffered rows as one block.
func (pw *partWriter) flushBlock() error {
	if len(pw.times) == 0 {
		return nil
	}
	b := blockHeader{
		stream:  pw.curStream,
		rows:    len(pw.times),
		minTime: slices.Min(pw.times),
		maxTime: slices.Max(pw.times),
	}
	pw.meta.rows += uint64(b.rows)
	pw.meta.minTime = min(pw.meta.minTime, b.minTime)
	pw.meta.maxTime = max(pw.meta.maxTime, b.maxTime)

	// Columns in a stable order, time first, so equal inputs give equal files.
	slices.SortFunc(pw.cols, func(a, b *colBuilder) int {
		return cmp.Or(cmp.Compare(a.key.name, b.key.name), cmp.Compare(a.key.typ, b.key.typ))
	})
	pw.keys.reset()
	if err := pw.writeColumn(&b, colKey{timeColumn, TypeInt}, &columnValues{typ: TypeInt, ints: pw.times}); err != nil {
		return err
	}
	for _, c := range pw.cols {
		cv := columnValues{typ: c.key.typ, ints: c.ints}
		if c.key.typ != TypeInt {
			pw.vals = c.values(pw.vals)
			cv.vals = pw.vals
			pw.hasher.reset(c.key.name)
			switch c.key.typ {
			case TypeString, TypeID:
				for _, v := range pw.vals {
					if len(v) > 0 {
						pw.keys.add(pw.hasher.key(v))
					}
				}
			case TypeText:
				for _, v := range pw.vals {
					forEachWord(v, func(start, end int) { pw.keys.add(pw.hasher.key(v[start:end])) })
				}
			}
		}
		if err := pw.writeColumn(&b, c.key, &cv); err != nil {
			return err
		}
	}
	b.bloom = newBloomFilter(pw.keys.keys)
	pw.meta.blocks = append(pw.meta.blocks, b)

	pw.times = pw.times[:0]
	pw.spare = append(pw.spare, pw.cols...)
	pw.cols = pw.cols[:0]
	clear(pw.colByKey)
	clear(pw.byPos)
	pw.bytes = 0
	return nil
}

// columnIndex returns the index of a column in the part's column table,
// adding it on first use.
func (pw *partWriter) columnIndex(k colKey) int {
	ci, ok := pw.colIdx[k]
	if !ok {
		ci = len(pw.meta.columns)
		pw.colIdx[k] = ci
		pw.meta.columns = append(pw.meta.columns, k)
	}
	return ci
}

func (pw *partWriter) writeColumn(b *blockHeader, k colKey, cv *columnValues) error {
	ci := pw.columnIndex(k)
	var h encodedColumn
	pw.block, h = pw.enc.encode(pw.block[:0], cv)
	b.columns = append(b.columns, columnHeader{
		column:     ci,
		encoding:   h.encoding,
		compressed: h.compressed,
		offset:     pw.off,
		size:       uint64(len(pw.block)),
		rawSize:    uint64(h.rawSize),
		min:        h.min,
		max:        h.max,
		crc:        crc32.Checksum(pw.block, crcTable),
	})
	return pw.write(pw.block)
}

// copyBlock appends block b of part src as it is stored: its column
// blocks are copied byte for byte (their checksums checked on the way) and
// its bloom filter is shared, so a merge spends no decoding, tokenizing or
// compression on a block whose rows need no interleaving with another
// part's. buf is scratch space, returned for reuse. Rows added before the
// call form a block of their own.
func (pw *partWriter) copyBlock(src *part, b *blockHeader, buf []byte) ([]byte, error) {
	if err := pw.flushBlock(); err != nil {
		return buf, err
	}
	pw.curStream = -1
	st := &src.meta.streams[b.stream]
	nb := blockHeader{
		stream:  pw.streamIndex(st.labels, st.hash),
		rows:    b.rows,
		minTime: b.minTime,
		maxTime: b.maxTime,
		columns: make([]columnHeader, len(b.columns)),
		bloom:   b.bloom, // immutable once written
	}
	for i, ch := range b.columns {
		var err error
		if buf, err = src.readRaw(buf, &ch); err != nil {
			return buf, err
		}
		ch.column = pw.columnIndex(src.meta.columns[ch.column])
		ch.offset = pw.off
		nb.columns[i] = ch
		if err := pw.write(buf); err != nil {
			return buf, err
		}
	}
	pw.meta.rows += uint64(nb.rows)
	pw.meta.minTime = min(pw.meta.minTime, nb.minTime)
	pw.meta.maxTime = max(pw.meta.maxTime, nb.maxTime)
	pw.meta.blocks = append(pw.meta.blocks, nb)
	return buf, nil
}

// finish writes the index and footer, syncs, and closes the file. It
// returns the metadata of the written part.
func (pw *partWriter) finish() (*partMeta, error) {
	defer pw.f.Close()
	if err := pw.flushBlock(); err != nil {
		return nil, err
	}
	raw := pw.meta.marshal(nil)
	index := pw.enc.zstd.EncodeAll(raw, nil)
	indexOff := pw.off
	if err := pw.write(index); err != nil {
		return nil, err
	}
	var footer [partFooterSize]byte
	binary.LittleEndian.PutUint64(footer[0:], indexOff)
	binary.LittleEndian.PutUint64(footer[8:], uint64(len(index)))
	binary.LittleEndian.PutUint64(footer[16:], uint64(len(raw)))
	binary.LittleEndian.PutUint32(footer[24:], crc32.Checksum(index, crcTable))
	copy(footer[28:], partFooterTag)
	if err := pw.write(footer[:]); err != nil {
		return nil, err
	}
	if err := pw.w.Flush(); err != nil {
		return nil, err
	}
	if err := pw.f.Sync(); err != nil {
		return nil, fmt.Errorf("sync part: %w", err)
	}
	pw.meta.size = pw.off
	return &pw.meta, nil
}

// abort removes a part that will not be finished.
func (pw *partWriter) abort() {
	pw.f.Close()
	os.Remove(pw.f.Name())
}

func cloneString(s string) string { return string([]byte(s)) }
