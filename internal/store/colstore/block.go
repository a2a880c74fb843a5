package colstore

import (
	"context"
	"slices"
)

// Block is a run of rows of one stream that matched a query, column by
// column, as SearchBlocks hands them out: row i is at index i of Times
// and of each column's values, and it matched when Selected is nil or
// Selected[i]. A Block and everything it holds are valid only during the
// call that receives it.
type Block struct {
	Stream   []Label
	Times    []int64
	Selected []bool
	// Columns are the requested columns the rows have (a row without a
	// column's value has its type's zero value there).
	Columns []BlockColumn
}

// BlockColumn is one column of a Block: Ints for TypeInt, Values for the
// other types.
type BlockColumn struct {
	Name   string
	Type   ColumnType
	Ints   []int64
	Values [][]byte
}

// SearchBlocks is Search for callers that read columns rather than rows,
// such as a count: fn gets each block's matching rows at once, in the
// order Search would hand the rows out, without a Row built for each.
// Rows still in the memtable come as blocks of one row.
func (s *Store) SearchBlocks(ctx context.Context, q Query, fn func(*Block) bool) error {
	return s.search(ctx, q, &searcher{blockFn: fn})
}

// emitBlock calls s.blockFn with the rows matchBlock selected in block b
// of p and the columns in s.cols[first:end].
func (s *searcher) emitBlock(p *part, b *blockHeader, first, end int) bool {
	blk := &s.block
	blk.Stream = p.meta.streams[b.stream].labels
	blk.Times = s.cols[0].vals.ints
	blk.Selected = s.sel
	blk.Columns = blk.Columns[:0]
	for j := first; j < end; j++ {
		dc := &s.cols[j]
		c := BlockColumn{Name: dc.key.name, Type: dc.key.typ}
		if dc.key.typ == TypeInt {
			c.Ints = dc.vals.ints
		} else {
			c.Values = dc.vals.vals
		}
		blk.Columns = append(blk.Columns, c)
	}
	return s.blockFn(blk)
}

// emitRowBlock calls s.blockFn with s.row as a block of one row.
func (s *searcher) emitRowBlock() bool {
	blk := &s.block
	blk.Stream = s.row.Stream
	s.oneTime[0] = s.row.Time
	blk.Times = s.oneTime[:]
	blk.Selected = nil
	blk.Columns = blk.Columns[:0]
	// Field k's value is at index k of one of the buffers, sized first
	// so that the columns' one-element slices are not moved by growth.
	n := len(s.row.Fields)
	s.oneInts = slices.Grow(s.oneInts[:0], n)[:n]
	s.oneVals = slices.Grow(s.oneVals[:0], n)[:n]
	for k, f := range s.row.Fields {
		c := BlockColumn{Name: f.Name, Type: f.Type}
		switch {
		case f.Type == TypeInt:
			s.oneInts[k] = f.Int
			c.Ints = s.oneInts[k : k+1 : k+1]
		case f.Type.isString():
			s.oneVals[k] = unsafeBytes(f.Str)
			c.Values = s.oneVals[k : k+1 : k+1]
		default:
			s.oneVals[k] = f.Bytes
			c.Values = s.oneVals[k : k+1 : k+1]
		}
		blk.Columns = append(blk.Columns, c)
	}
	return s.blockFn(blk)
}
