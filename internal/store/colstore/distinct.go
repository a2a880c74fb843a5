package colstore

import (
	"context"
	"encoding/binary"
	"math"
	"slices"
	"strings"
)

// Distinct calls fn once for each distinct combination of the values of
// columns, per stream, among the streams q.Stream selects and the rows in
// [q.MinTime, q.MaxTime]. Filters in q are ignored. Values are reported
// in the order of columns (a zero Field where a row lacks one); labels and
// values are valid only during the call.
//
// It answers "which span names does this service have": parts compute
// their combinations once and keep them, since parts never change, so a
// repeated call reads no column blocks. A part contributes all its
// combinations when its time range overlaps the query's.
func (s *Store) Distinct(ctx context.Context, q Query, columns []string, fn func(labels []Label, values []Field)) error {
	parts, closed := s.partitionsIn(q.MinTime, q.maxTime())
	if closed {
		return ErrClosed
	}
	seen := map[string]bool{}
	emit := func(labels []Label, hash uint64, values []Field) {
		k := distinctKey(hash, values)
		if !seen[k] {
			seen[k] = true
			fn(labels, values)
		}
	}
	key := strings.Join(columns, "\x00")
	values := make([]Field, len(columns))
	br := &batchReader{}
	for _, p := range parts {
		if err := ctx.Err(); err != nil {
			return err
		}
		mem, pts := p.snapshot()
		var err error
		for _, pt := range pts {
			if err == nil && pt.meta.maxTime >= q.MinTime && pt.meta.minTime <= q.maxTime() {
				var combos []distinctCombo
				if combos, err = s.partDistinct(ctx, pt, key, columns); err == nil {
					for _, c := range combos {
						st := pt.meta.streams[c.stream]
						if q.Stream == nil || q.Stream(st.labels) {
							emit(st.labels, st.hash, c.values)
						}
					}
				}
			}
			pt.decRef()
		}
		if err != nil {
			return err
		}
		for _, b := range mem {
			if b.maxTime < q.MinTime || b.minTime > q.maxTime() {
				continue
			}
			br.reset(b.data)
			var hash uint64
			selected := false
			for {
				ok, newStream := br.next()
				if !ok {
					break
				}
				if newStream {
					hash = streamHash(br.row.Stream)
					selected = q.Stream == nil || q.Stream(br.row.Stream)
				}
				if !selected || br.row.Time < q.MinTime || br.row.Time > q.maxTime() {
					continue
				}
				for i, c := range columns {
					values[i] = Field{Name: c}
					if f := br.row.Field(c); f != nil {
						values[i] = *f
					}
				}
				emit(br.row.Stream, hash, values)
			}
		}
	}
	return nil
}

// distinctCombo is one combination of column values in one stream of a
// part. Values are copies: the cache outlives every decoded block.
type distinctCombo struct {
	stream int
	values []Field
}

// partDistinct returns the part's combinations of columns, computing them
// on first use and caching them on the part.
func (s *Store) partDistinct(ctx context.Context, pt *part, key string, columns []string) ([]distinctCombo, error) {
	if v, ok := pt.distinct.Load(key); ok {
		return v.([]distinctCombo), nil
	}
	var combos []distinctCombo
	seen := map[string]bool{}
	values := make([]Field, len(columns))
	sr := &searcher{q: &Query{MinTime: math.MinInt64, Columns: columns}, dec: s.zdec, onCorrupt: s.reportCorruptBlock}
	var stream int
	sr.fn = func(r *Row) bool {
		for i, c := range columns {
			values[i] = Field{Name: c}
			if f := r.Field(c); f != nil {
				values[i] = *f
			}
		}
		k := distinctKey(uint64(stream), values)
		if !seen[k] {
			seen[k] = true
			vs := make([]Field, len(values))
			for i, f := range values {
				vs[i] = Field{Name: f.Name, Type: f.Type, Str: cloneString(f.Str), Int: f.Int, Bytes: slices.Clone(f.Bytes)}
			}
			combos = append(combos, distinctCombo{stream: stream, values: vs})
		}
		return true
	}
	for bi := range pt.meta.blocks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b := &pt.meta.blocks[bi]
		stream = b.stream
		if _, err := sr.searchBlock(pt, b); err != nil {
			return nil, err
		}
	}
	pt.distinct.Store(key, combos)
	return combos, nil
}

// distinctKey identifies a stream's combination of values.
func distinctKey(stream uint64, values []Field) string {
	b := binary.LittleEndian.AppendUint64(nil, stream)
	for _, f := range values {
		b = append(b, byte(f.Type))
		b = binary.AppendVarint(b, f.Int)
		b = appendString(b, f.Str)
		b = appendLenBytes(b, f.Bytes)
	}
	return string(b)
}
