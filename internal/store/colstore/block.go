package colstore

import "context"

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
	s.oneInts = s.oneInts[:0]
	s.oneVals = s.oneVals[:0]
	for _, f := range s.row.Fields {
		switch {
		case f.Type == TypeInt:
			s.oneInts = append(s.oneInts, f.Int)
		case f.Type.isString():
			s.oneVals = append(s.oneVals, unsafeBytes(f.Str))
		default:
			s.oneVals = append(s.oneVals, f.Bytes)
		}
	}
	ni, nv := 0, 0
	for _, f := range s.row.Fields {
		c := BlockColumn{Name: f.Name, Type: f.Type}
		if f.Type == TypeInt {
			c.Ints = s.oneInts[ni : ni+1 : ni+1]
			ni++
		} else {
			c.Values = s.oneVals[nv : nv+1 : nv+1]
			nv++
		}
		blk.Columns = append(blk.Columns, c)
	}
	return s.blockFn(blk)
}
