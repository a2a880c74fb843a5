package colstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"
)

// partMeta is a part's index: everything but the column blocks. Readers
// keep it in memory, so deciding which blocks to read costs no I/O.
type partMeta struct {
	id      uint64
	sources []uint64 // parts this one replaces (written by a merge)
	rows    uint64
	minTime int64
	maxTime int64
	size    uint64 // file size; not marshalled
	streams []partStream
	columns []colKey
	blocks  []blockHeader
}

type partStream struct {
	hash   uint64
	labels []Label
}

// blockHeader describes one block: rows of one stream in time order.
type blockHeader struct {
	stream           int
	rows             int
	minTime, maxTime int64
	columns          []columnHeader
	bloom            bloomFilter
}

// columnHeader locates and describes one column block in the file.
type columnHeader struct {
	column     int // index into partMeta.columns
	encoding   byte
	compressed bool
	offset     uint64
	size       uint64
	rawSize    uint64
	min, max   int64 // for TypeInt columns
	crc        uint32
}

func (m *partMeta) marshal(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, m.id)
	dst = binary.AppendUvarint(dst, uint64(len(m.sources)))
	for _, s := range m.sources {
		dst = binary.AppendUvarint(dst, s)
	}
	dst = binary.AppendUvarint(dst, m.rows)
	dst = binary.AppendVarint(dst, m.minTime)
	dst = binary.AppendVarint(dst, m.maxTime)
	dst = binary.AppendUvarint(dst, uint64(len(m.streams)))
	for _, s := range m.streams {
		dst = binary.LittleEndian.AppendUint64(dst, s.hash)
		dst = binary.AppendUvarint(dst, uint64(len(s.labels)))
		for _, l := range s.labels {
			dst = appendString(dst, l.Name)
			dst = appendString(dst, l.Value)
		}
	}
	dst = binary.AppendUvarint(dst, uint64(len(m.columns)))
	for _, c := range m.columns {
		dst = appendString(dst, c.name)
		dst = append(dst, byte(c.typ))
	}
	dst = binary.AppendUvarint(dst, uint64(len(m.blocks)))
	for i := range m.blocks {
		b := &m.blocks[i]
		dst = binary.AppendUvarint(dst, uint64(b.stream))
		dst = binary.AppendUvarint(dst, uint64(b.rows))
		dst = binary.AppendVarint(dst, b.minTime)
		dst = binary.AppendUvarint(dst, uint64(b.maxTime-b.minTime))
		dst = binary.AppendUvarint(dst, uint64(len(b.columns)))
		for _, c := range b.columns {
			dst = binary.AppendUvarint(dst, uint64(c.column))
			dst = append(dst, c.encoding)
			flags := byte(0)
			if c.compressed {
				flags = 1
			}
			dst = append(dst, flags)
			dst = binary.AppendUvarint(dst, c.offset)
			dst = binary.AppendUvarint(dst, c.size)
			dst = binary.AppendUvarint(dst, c.rawSize)
			dst = binary.AppendVarint(dst, c.min)
			dst = binary.AppendVarint(dst, c.max)
			dst = binary.LittleEndian.AppendUint32(dst, c.crc)
		}
		dst = b.bloom.marshal(dst)
	}
	return dst
}

// unmarshal decodes an index. fileSize bounds the block offsets, so a
// damaged index is caught here rather than at query time.
func (m *partMeta) unmarshal(src []byte, fileSize uint64) error {
	d := decoder{b: src}
	m.id = d.uvarint()
	m.sources = make([]uint64, d.count(1))
	for i := range m.sources {
		m.sources[i] = d.uvarint()
	}
	m.rows = d.uvarint()
	m.minTime = d.varint()
	m.maxTime = d.varint()
	m.streams = make([]partStream, d.count(9))
	for i := range m.streams {
		s := &m.streams[i]
		s.hash = d.uint64()
		s.labels = make([]Label, d.count(2))
		for j := range s.labels {
			s.labels[j] = Label{Name: string(d.lenBytes()), Value: string(d.lenBytes())}
		}
	}
	m.columns = make([]colKey, d.count(2))
	for i := range m.columns {
		m.columns[i] = colKey{name: string(d.lenBytes()), typ: ColumnType(d.byte())}
		if d.err == nil && !m.columns[i].typ.valid() {
			return fmt.Errorf("%w: column %q has type %d", errCorrupt, m.columns[i].name, m.columns[i].typ)
		}
	}
	m.blocks = make([]blockHeader, d.count(6))
	var rows uint64
	for i := range m.blocks {
		b := &m.blocks[i]
		b.stream = int(d.uvarint())
		b.rows = int(d.uvarint())
		b.minTime = d.varint()
		b.maxTime = b.minTime + int64(d.uvarint())
		b.columns = make([]columnHeader, d.count(10))
		for j := range b.columns {
			c := &b.columns[j]
			c.column = int(d.uvarint())
			c.encoding = d.byte()
			c.compressed = d.byte()&1 != 0
			c.offset = d.uvarint()
			c.size = d.uvarint()
			c.rawSize = d.uvarint()
			c.min = d.varint()
			c.max = d.varint()
			c.crc = binary.LittleEndian.Uint32(d.bytes(4))
			if d.err != nil {
				return d.err
			}
			if c.column >= len(m.columns) || c.offset+c.size > fileSize || c.offset+c.size < c.offset || c.rawSize > maxDecodedSize {
				return fmt.Errorf("%w: block %d column %d out of range", errCorrupt, i, j)
			}
		}
		words := d.count(8)
		b.bloom = make(bloomFilter, words)
		for k := range b.bloom {
			b.bloom[k] = d.uint64()
		}
		if d.err != nil {
			return d.err
		}
		if b.stream >= len(m.streams) || b.rows <= 0 || b.rows > maxBlockRows || len(b.columns) == 0 || m.columns[b.columns[0].column].name != timeColumn {
			return fmt.Errorf("%w: block %d header", errCorrupt, i)
		}
		rows += uint64(b.rows)
	}
	if d.err != nil {
		return d.err
	}
	if rows != m.rows {
		return fmt.Errorf("%w: blocks hold %d rows, index says %d", errCorrupt, rows, m.rows)
	}
	return nil
}

// part is an open, immutable part file. Readers hold a reference while
// they use it; a merge that replaces it drops the store's reference, and
// the file is closed (and, if replaced, removed) when the last goes.
type part struct {
	path string
	f    *os.File
	meta *partMeta
	refs atomic.Int32
	// obsolete is set when a merge replaced the part: the file is removed
	// once the last reader is done.
	obsolete atomic.Bool
	// distinct caches Distinct's combinations per column set; the part
	// never changes, so they never go stale.
	distinct sync.Map // string -> []distinctCombo
}

// openPart opens a part file and validates its header, footer and index.
func openPart(path string, dec *zstd.Decoder) (*part, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	p, err := readPart(f, dec)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open part %s: %w", path, err)
	}
	p.path = path
	p.refs.Store(1)
	return p, nil
}

func readPart(f *os.File, dec *zstd.Decoder) (*part, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := uint64(st.Size())
	if size < uint64(partHeaderSize+partFooterSize) {
		return nil, fmt.Errorf("%w: file of %d bytes is too short", errCorrupt, size)
	}
	var hdr [partHeaderSize]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		return nil, err
	}
	if string(hdr[:len(partMagic)]) != partMagic {
		return nil, fmt.Errorf("%w: bad magic", errCorrupt)
	}
	if v := binary.LittleEndian.Uint32(hdr[len(partMagic):]); v != partVersion {
		return nil, fmt.Errorf("unsupported part format version %d (this build reads %d)", v, partVersion)
	}
	var footer [partFooterSize]byte
	if _, err := f.ReadAt(footer[:], int64(size)-partFooterSize); err != nil {
		return nil, err
	}
	if string(footer[28:]) != partFooterTag {
		return nil, fmt.Errorf("%w: bad footer (truncated file?)", errCorrupt)
	}
	indexOff := binary.LittleEndian.Uint64(footer[0:])
	indexSize := binary.LittleEndian.Uint64(footer[8:])
	indexRaw := binary.LittleEndian.Uint64(footer[16:])
	if indexOff < uint64(partHeaderSize) || indexOff+indexSize != size-partFooterSize || indexRaw > maxDecodedSize {
		return nil, fmt.Errorf("%w: index location", errCorrupt)
	}
	index := make([]byte, indexSize)
	if _, err := f.ReadAt(index, int64(indexOff)); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if crc32.Checksum(index, crcTable) != binary.LittleEndian.Uint32(footer[24:]) {
		return nil, fmt.Errorf("%w: index checksum mismatch", errCorrupt)
	}
	raw, err := dec.DecodeAll(index, make([]byte, 0, indexRaw))
	if err != nil || uint64(len(raw)) != indexRaw {
		return nil, fmt.Errorf("%w: index does not decompress", errCorrupt)
	}
	meta := &partMeta{size: size}
	if err := meta.unmarshal(raw, indexOff); err != nil {
		return nil, err
	}
	return &part{f: f, meta: meta}, nil
}

func (p *part) incRef() { p.refs.Add(1) }

func (p *part) decRef() {
	if p.refs.Add(-1) == 0 {
		p.f.Close()
		if p.obsolete.Load() {
			os.Remove(p.path)
		}
	}
}

// readColumn reads, checks and decodes one column block of b into c. buf
// is reused for the file bytes and raw for the decompressed payload; the
// returned raw must stay unmodified while c is in use.
func (p *part) readColumn(c *columnValues, b *blockHeader, ch *columnHeader, dec *zstd.Decoder, buf, raw []byte) (bufOut, rawOut []byte, err error) {
	if buf, err = p.readRaw(buf, ch); err != nil {
		return buf, raw, err
	}
	payload := buf
	if ch.compressed {
		raw, err = dec.DecodeAll(buf, raw[:0])
		if err != nil || uint64(len(raw)) != ch.rawSize {
			return buf, raw, fmt.Errorf("part %s: %w: column block does not decompress", p.path, errCorrupt)
		}
		payload = raw
	}
	typ := p.meta.columns[ch.column].typ
	if err := decodeColumn(c, typ, ch.encoding, payload, b.rows); err != nil {
		return buf, raw, fmt.Errorf("part %s: %w", p.path, err)
	}
	return buf, raw, nil
}

// readRaw reads one column block's stored bytes into buf (grown as
// needed) and checks them against their checksum.
func (p *part) readRaw(buf []byte, ch *columnHeader) ([]byte, error) {
	buf = grow(buf, int(ch.size))
	if _, err := p.f.ReadAt(buf, int64(ch.offset)); err != nil {
		return buf, fmt.Errorf("read part %s: %w", p.path, err)
	}
	if crc32.Checksum(buf, crcTable) != ch.crc {
		return buf, fmt.Errorf("part %s: %w: column block checksum mismatch at offset %d", p.path, errCorrupt, ch.offset)
	}
	return buf, nil
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}
