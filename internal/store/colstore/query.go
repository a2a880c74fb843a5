package colstore

import (
	"bytes"
	"context"
	"errors"
	"math"
	"slices"

	"github.com/klauspost/compress/zstd"
)

// FilterOp is the comparison a Filter makes.
type FilterOp uint8

// The filter operations.
const (
	// OpEqual matches rows whose byte-like column (TypeString, TypeBytes
	// or TypeID) equals Value exactly. On TypeString and TypeID columns a
	// non-empty Value is checked against each block's bloom filter first.
	OpEqual FilterOp = iota + 1
	// OpRange matches rows whose TypeInt column lies in [Min, Max].
	OpRange
	// OpIn matches rows whose byte-like column equals one of Values; on
	// TypeString and TypeID columns a block is skipped when its bloom
	// filter holds none of them. It fetches many IDs in one pass.
	OpIn
	// OpContains matches rows whose byte-like column contains Value as a
	// substring. On TypeText columns a block is skipped when its bloom
	// filter lacks a word that every match must contain: a word of Value
	// that is bounded by non-word bytes inside Value, or one of Words.
	OpContains
)

// Filter is one condition on a column. A row lacking the column is
// compared by the column type's zero value.
type Filter struct {
	Column   string
	Type     ColumnType
	Op       FilterOp
	Value    []byte   // OpEqual, OpContains
	Values   [][]byte // OpIn
	Min, Max int64    // OpRange
	// Words, for OpContains on a TypeText column, are more whole words
	// every matching value contains, known to the caller (a search for
	// the word "timeout" rather than the substring); optional.
	Words [][]byte

	set map[string]struct{} // OpIn values, when there are many
}

// matchBytes applies an OpEqual or OpIn filter to a value.
func (f *Filter) matchBytes(v []byte) bool {
	switch f.Op {
	case OpEqual:
		return bytes.Equal(v, f.Value)
	case OpContains:
		return bytes.Contains(v, f.Value)
	}
	if f.set != nil {
		_, ok := f.set[unsafeString(v)]
		return ok
	}
	for _, w := range f.Values {
		if bytes.Equal(v, w) {
			return true
		}
	}
	return false
}

// prepare readies a filter for matching many rows.
func (f *Filter) prepare() {
	if f.Op == OpIn && len(f.Values) > 8 {
		f.set = make(map[string]struct{}, len(f.Values))
		for _, v := range f.Values {
			f.set[string(v)] = struct{}{}
		}
	}
}

// Query selects rows. Every condition must hold.
type Query struct {
	// MinTime and MaxTime bound the row time, inclusive. A zero MaxTime
	// means no upper bound.
	MinTime, MaxTime int64
	// Stream, when set, is called once per stream (per part) and selects
	// the streams whose rows are considered. It is called on the
	// goroutine that called Search, never at the same time as its fn.
	Stream  func(labels []Label) bool
	Filters []Filter
	// Columns lists the fields to return. nil returns every field; an
	// empty, non-nil slice returns none (only stream and time).
	Columns []string
}

func (q *Query) maxTime() int64 {
	if q.MaxTime == 0 {
		return math.MaxInt64
	}
	return q.MaxTime
}

func (q *Query) wants(column string) bool {
	return q.Columns == nil || slices.Contains(q.Columns, column)
}

// matchField applies f to a field value (nil: the row lacks the column).
func (f *Filter) matchField(fld *Field) bool {
	switch f.Op {
	case OpEqual, OpIn, OpContains:
		if fld == nil {
			return f.matchBytes(nil)
		}
		if fld.Type.isString() {
			return f.matchBytes(unsafeBytes(fld.Str))
		}
		return f.matchBytes(fld.Bytes)
	case OpRange:
		var v int64
		if fld != nil {
			v = fld.Int
		}
		return v >= f.Min && v <= f.Max
	}
	return false
}

// findField returns the field of r matching the filter's column and type.
func findField(r *Row, name string, typ ColumnType) *Field {
	for i := range r.Fields {
		if r.Fields[i].Name == name && r.Fields[i].Type == typ {
			return &r.Fields[i]
		}
	}
	return nil
}

// searcher runs one query. It owns the buffers reused across blocks, so a
// query allocates per query, not per block or row.
type searcher struct {
	q  *Query
	fn func(*Row) bool
	// blockFn, when set instead of fn, gets the matching rows a block at
	// a time (SearchBlocks).
	blockFn func(*Block) bool
	dec     *zstd.Decoder
	// onCorrupt is told of a block that fails its checksum or decoding;
	// the search goes on without it.
	onCorrupt func(p *part, block int, err error)
	row       Row
	sel       []bool
	cols      []decodedColumn
	// filterCol maps each filter to its column in the current block
	// (-1: absent).
	filterCol []int
	// bloomKeys holds each filter's bloom keys, computed once per query.
	bloomKeys [][]uint64
	// block and the one* buffers are what blockFn is handed.
	block   Block
	oneTime [1]int64
	oneInts []int64
	oneVals [][]byte
}

type decodedColumn struct {
	key      colKey
	vals     columnValues
	buf, raw []byte
}

// searchMem applies the query to memtable batches.
func (s *searcher) searchMem(ctx context.Context, batches []memBatch) (bool, error) {
	q := s.q
	maxT := q.maxTime()
	br := &batchReader{}
	for i := range batches {
		b := &batches[i]
		if b.maxTime < q.MinTime || b.minTime > maxT {
			continue
		}
		if err := ctx.Err(); err != nil {
			return false, err
		}
		br.reset(b.data)
		streamOK := true
		for {
			ok, newStream := br.next()
			if !ok {
				break
			}
			if newStream {
				streamOK = q.Stream == nil || q.Stream(br.row.Stream)
			}
			r := &br.row
			if !streamOK || r.Time < q.MinTime || r.Time > maxT {
				continue
			}
			match := true
			for fi := range q.Filters {
				f := &q.Filters[fi]
				if !f.matchField(findField(r, f.Column, f.Type)) {
					match = false
					break
				}
			}
			if !match {
				continue
			}
			s.row.Stream, s.row.Time = r.Stream, r.Time
			s.row.Fields = s.row.Fields[:0]
			for _, fld := range r.Fields {
				if q.wants(fld.Name) {
					s.row.Fields = append(s.row.Fields, fld)
				}
			}
			if s.blockFn != nil {
				if !s.emitRowBlock() {
					return false, nil
				}
				continue
			}
			if !s.fn(&s.row) {
				return false, nil
			}
		}
		if err := br.err(); err != nil {
			return false, err
		}
	}
	return true, nil
}

// searchPart applies the query to one part.
func (s *searcher) searchPart(ctx context.Context, p *part) (bool, error) {
	more := true
	err := s.eachCandidate(ctx, p, s.selectStreams(p), func(bi int) (bool, error) {
		var err error
		more, err = s.searchBlock(p, &p.meta.blocks[bi])
		if errors.Is(err, errCorrupt) && s.onCorrupt != nil {
			// One damaged block must not fail every query that touches
			// its part: report it and answer from the rest.
			s.onCorrupt(p, bi, err)
			more = true
			return true, nil
		}
		return more, err
	})
	return more, err
}

// selectStreams asks q.Stream about each stream of p with a block in the
// query's time range, and returns which were selected; nil selects all
// (and is returned, unasked, for a part outside the range, which
// eachCandidate skips whole). It runs on the search's own goroutine, like
// fn: callers' Stream and fn may share state.
func (s *searcher) selectStreams(p *part) []bool {
	q := s.q
	m := p.meta
	maxT := q.maxTime()
	if q.Stream == nil || m.maxTime < q.MinTime || m.minTime > maxT {
		return nil
	}
	asked := make([]bool, len(m.streams))
	selected := make([]bool, len(m.streams))
	for bi := range m.blocks {
		b := &m.blocks[bi]
		if b.maxTime < q.MinTime || b.minTime > maxT || asked[b.stream] {
			continue
		}
		asked[b.stream] = true
		selected[b.stream] = q.Stream(m.streams[b.stream].labels)
	}
	return selected
}

// eachCandidate calls fn with the index of each block of p that may hold
// matching rows, judged by the index alone (times, streams as selected,
// bloom filters, int ranges), with s.filterCol set for that block, until
// fn returns false or an error.
func (s *searcher) eachCandidate(ctx context.Context, p *part, selected []bool, fn func(bi int) (bool, error)) error {
	q := s.q
	m := p.meta
	maxT := q.maxTime()
	if m.maxTime < q.MinTime || m.minTime > maxT {
		return nil
	}
	s.prepareFilters()
	for bi := range m.blocks {
		b := &m.blocks[bi]
		if b.maxTime < q.MinTime || b.minTime > maxT {
			continue
		}
		if selected != nil && !selected[b.stream] {
			continue
		}
		if !s.blockMayMatch(m, b) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if more, err := fn(bi); err != nil || !more {
			return err
		}
	}
	return nil
}

// prepareFilters computes, once per query, each filter's bloom keys.
func (s *searcher) prepareFilters() {
	q := s.q
	if s.bloomKeys == nil {
		s.bloomKeys = make([][]uint64, len(q.Filters))
		for i, f := range q.Filters {
			switch f.Op {
			case OpEqual:
				s.bloomKeys[i] = []uint64{bloomKey(f.Column, f.Value)}
			case OpIn:
				for _, v := range f.Values {
					s.bloomKeys[i] = append(s.bloomKeys[i], bloomKey(f.Column, v))
				}
			case OpContains:
				if f.Type == TypeText {
					s.bloomKeys[i] = requiredWordKeys(&q.Filters[i])
				}
			}
		}
	}
	if len(s.filterCol) < len(q.Filters) {
		s.filterCol = make([]int, len(q.Filters))
	}
}

// blockMayMatch decides from the block header alone whether any row of b
// can match, and records where each filter's column is.
func (s *searcher) blockMayMatch(m *partMeta, b *blockHeader) bool {
	for fi := range s.q.Filters {
		f := &s.q.Filters[fi]
		s.filterCol[fi] = -1
		for ci := range b.columns {
			k := m.columns[b.columns[ci].column]
			if k.name == f.Column && k.typ == f.Type {
				s.filterCol[fi] = ci
				break
			}
		}
		ci := s.filterCol[fi]
		switch f.Op {
		case OpEqual, OpIn:
			if ci < 0 {
				if !f.matchBytes(nil) {
					return false
				}
				continue
			}
			if (f.Type == TypeString || f.Type == TypeID) && !f.matchBytes(nil) && !s.bloomMayContainAny(b, fi) {
				return false
			}
		case OpContains:
			if ci < 0 {
				if !f.matchBytes(nil) {
					return false
				}
				continue
			}
			for _, k := range s.bloomKeys[fi] {
				if !b.bloom.mayContain(k) {
					return false
				}
			}
		case OpRange:
			lo, hi := int64(0), int64(0)
			if ci >= 0 {
				lo, hi = b.columns[ci].min, b.columns[ci].max
			}
			if hi < f.Min || lo > f.Max {
				return false
			}
		}
	}
	return true
}

func (s *searcher) bloomMayContainAny(b *blockHeader, fi int) bool {
	for _, k := range s.bloomKeys[fi] {
		if b.bloom.mayContain(k) {
			return true
		}
	}
	return false
}

// column decodes column ci of block b into slot i of s.cols.
func (s *searcher) column(i int, p *part, b *blockHeader, ci int) (*decodedColumn, error) {
	for len(s.cols) <= i {
		s.cols = append(s.cols, decodedColumn{})
	}
	dc := &s.cols[i]
	ch := &b.columns[ci]
	dc.key = p.meta.columns[ch.column]
	var err error
	dc.buf, dc.raw, err = p.readColumn(&dc.vals, b, ch, s.dec, dc.buf, dc.raw)
	return dc, err
}

// searchBlock applies the query to block b of p, whose s.filterCol
// blockMayMatch has set, and calls s.fn with each matching row.
func (s *searcher) searchBlock(p *part, b *blockHeader) (bool, error) {
	first, end, any, err := s.matchBlock(p, b)
	if err != nil || !any {
		return true, err
	}
	return s.emit(p, b, first, end), nil
}

// matchBlock decodes what the filters of the query need from block b of
// p, marks the matching rows in s.sel, and decodes the requested columns
// into s.cols[first:end] (s.cols[0] holds the times). any reports whether
// a row matched; if none did, the requested columns are not decoded.
func (s *searcher) matchBlock(p *part, b *blockHeader) (first, end int, any bool, err error) {
	q := s.q
	maxT := q.maxTime()
	times, err := s.column(0, p, b, 0)
	if err != nil {
		return 0, 0, false, err
	}
	s.sel = slices.Grow(s.sel[:0], b.rows)[:b.rows]
	for i, t := range times.vals.ints {
		s.sel[i] = t >= q.MinTime && t <= maxT
		any = any || s.sel[i]
	}
	slot := 1
	for fi := range q.Filters {
		if !any {
			return 0, 0, false, nil
		}
		f := &q.Filters[fi]
		ci := s.filterCol[fi]
		if ci < 0 {
			continue // absent column, and blockMayMatch found zero acceptable
		}
		if f.Op == OpRange && b.columns[ci].min >= f.Min && b.columns[ci].max <= f.Max {
			continue // every row passes
		}
		dc, err := s.column(slot, p, b, ci)
		if err != nil {
			return 0, 0, false, err
		}
		any = false
		for i := range s.sel {
			if !s.sel[i] {
				continue
			}
			if f.Op != OpRange {
				s.sel[i] = f.matchBytes(dc.vals.vals[i])
			} else {
				v := dc.vals.ints[i]
				s.sel[i] = v >= f.Min && v <= f.Max
			}
			any = any || s.sel[i]
		}
	}
	if !any {
		return 0, 0, false, nil
	}

	// Materialise the requested columns for the selected rows, in the
	// slots after the time column (filter columns there are done with).
	first = slot
	for ci := 1; ci < len(b.columns); ci++ {
		if !q.wants(p.meta.columns[b.columns[ci].column].name) {
			continue
		}
		if _, err := s.column(slot, p, b, ci); err != nil {
			return 0, 0, false, err
		}
		slot++
	}
	return first, slot, true, nil
}

// emit calls s.fn with each row matchBlock selected in block b of p,
// built from the columns in s.cols[first:end]; false if fn asked to stop.
func (s *searcher) emit(p *part, b *blockHeader, first, end int) bool {
	if s.blockFn != nil {
		return s.emitBlock(p, b, first, end)
	}
	times := &s.cols[0]
	out := s.cols[first:end]
	labels := p.meta.streams[b.stream].labels
	for i, ok := range s.sel {
		if !ok {
			continue
		}
		s.row.Stream = labels
		s.row.Time = times.vals.ints[i]
		s.row.Fields = s.row.Fields[:0]
		for j := range out {
			dc := &out[j]
			f := Field{Name: dc.key.name, Type: dc.key.typ}
			switch dc.key.typ {
			case TypeInt:
				f.Int = dc.vals.ints[i]
			case TypeString, TypeText:
				f.Str = unsafeString(dc.vals.vals[i])
			default:
				f.Bytes = dc.vals.vals[i]
			}
			s.row.Fields = append(s.row.Fields, f)
		}
		if !s.fn(&s.row) {
			return false
		}
	}
	return true
}
