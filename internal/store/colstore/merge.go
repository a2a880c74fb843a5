package colstore

import (
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"path/filepath"
	"slices"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Merge policy: size-tiered. Parts are grouped into tiers by the base-4
// logarithm of their row count; when a tier holds mergeFanIn parts they
// are merged into one part of the next tier. Each row is so rewritten
// about log4(total rows / flush size) times, and a partition holds at most
// a few parts per tier, which keeps both write amplification and the
// number of parts a query opens low.
const (
	mergeFanIn    = 4
	maxMergeParts = 16
)

func tierOf(rows uint64) int { return bits.Len64(rows) / 2 }

// pickMerge returns the parts of p to merge next, or nil.
func pickMerge(parts []*part) []*part {
	tiers := map[int][]*part{}
	for _, pt := range parts {
		t := tierOf(pt.meta.rows)
		tiers[t] = append(tiers[t], pt)
	}
	best := -1
	for t, ps := range tiers {
		if len(ps) >= mergeFanIn && (best < 0 || t < best) {
			best = t
		}
	}
	if best < 0 {
		return nil
	}
	ps := tiers[best]
	slices.SortFunc(ps, func(a, b *part) int { return cmp.Compare(a.meta.id, b.meta.id) })
	return ps[:min(len(ps), maxMergeParts)]
}

// mergeAll merges until no partition has a tier to merge, or the store
// stops.
func (s *Store) mergeAll() {
	for s.mergeOnce() {
		select {
		case <-s.stop:
			return
		default:
		}
	}
}

// mergeOnce merges one set of parts in some partition. It reports whether
// it did anything (so the caller loops until nothing is left to merge).
func (s *Store) mergeOnce() bool {
	parts, _ := s.partitionsIn(math.MinInt64, math.MaxInt64)
	for _, p := range parts {
		p.mu.RLock()
		srcs := pickMerge(p.parts)
		for _, pt := range srcs {
			pt.incRef()
		}
		p.mu.RUnlock()
		if len(srcs) == 0 {
			continue
		}
		err := s.mergeParts(p, srcs)
		for _, pt := range srcs {
			pt.decRef()
		}
		if err != nil {
			s.metrics.mergeErrors.Inc()
			s.log.Error("merge failed", "partition", filepath.Base(p.dir), "error", err)
			return false
		}
		return true
	}
	return false
}

// mergeParts replaces srcs with one part holding all their rows.
func (s *Store) mergeParts(p *partition, srcs []*part) error {
	start := time.Now()
	ids := make([]uint64, len(srcs))
	var rows uint64
	for i, pt := range srcs {
		ids[i] = pt.meta.id
		rows += pt.meta.rows
	}
	merged, err := s.writePart(p, ids, func(add func(*Row, uint64) error) error {
		its := make([]*partIterator, 0, len(srcs))
		for _, pt := range srcs {
			it := &partIterator{p: pt, dec: s.zdec}
			if it.next() {
				its = append(its, it)
			} else if it.err != nil {
				return it.err
			}
		}
		for len(its) > 0 {
			// Few sources: a linear scan for the smallest beats a heap.
			mi := 0
			for i := 1; i < len(its); i++ {
				if its[i].less(its[mi]) {
					mi = i
				}
			}
			it := its[mi]
			if err := add(&it.row, it.hash()); err != nil {
				return err
			}
			if !it.next() {
				if it.err != nil {
					return it.err
				}
				its = slices.Delete(its, mi, mi+1)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if merged != nil && merged.meta.rows != rows {
		merged.obsolete.Store(true)
		merged.decRef()
		return fmt.Errorf("merge of %d parts wrote %d rows, expected %d", len(srcs), merged.meta.rows, rows)
	}
	p.mu.Lock()
	p.parts = slices.DeleteFunc(p.parts, func(pt *part) bool { return slices.Contains(srcs, pt) })
	if merged != nil {
		p.parts = append(p.parts, merged)
	}
	p.mu.Unlock()
	for _, pt := range srcs {
		// The store's reference; readers may still hold theirs, and the
		// file goes when the last one is dropped.
		pt.obsolete.Store(true)
		pt.decRef()
	}
	s.metrics.merges.Inc()
	s.metrics.mergedRows.Add(float64(rows))
	s.metrics.mergeSeconds.Observe(time.Since(start).Seconds())
	return nil
}

// partIterator yields a part's rows in stored (stream, time) order, one
// block decoded at a time. Row values alias the decoded block.
type partIterator struct {
	p     *part
	dec   *zstd.Decoder
	block int
	i     int
	cols  []decodedColumn
	row   Row
	err   error
}

func (it *partIterator) hash() uint64 {
	return it.p.meta.streams[it.p.meta.blocks[it.block].stream].hash
}

func (it *partIterator) less(o *partIterator) bool {
	a, b := it.hash(), o.hash()
	if a != b {
		return a < b
	}
	return it.row.Time < o.row.Time
}

// next advances to the next row; false at the end or on error (it.err).
func (it *partIterator) next() bool {
	m := it.p.meta
	if it.cols != nil {
		it.i++
		if it.i < m.blocks[it.block].rows {
			it.fill()
			return true
		}
		it.block++
	}
	if it.block >= len(m.blocks) {
		return false
	}
	b := &m.blocks[it.block]
	if cap(it.cols) < len(b.columns) {
		it.cols = make([]decodedColumn, len(b.columns))
	}
	it.cols = it.cols[:len(b.columns)]
	for ci := range b.columns {
		dc := &it.cols[ci]
		dc.key = m.columns[b.columns[ci].column]
		dc.buf, dc.raw, it.err = it.p.readColumn(&dc.vals, b, &b.columns[ci], it.dec, dc.buf, dc.raw)
		if it.err != nil {
			return false
		}
	}
	it.i = 0
	it.fill()
	return true
}

// fill sets it.row to row it.i of the current block, leaving out zero
// values (a missing field reads back as zero anyway).
func (it *partIterator) fill() {
	i := it.i
	m := it.p.meta
	it.row.Stream = m.streams[m.blocks[it.block].stream].labels
	it.row.Time = it.cols[0].vals.ints[i]
	it.row.Fields = it.row.Fields[:0]
	for ci := 1; ci < len(it.cols); ci++ {
		dc := &it.cols[ci]
		f := Field{Name: dc.key.name, Type: dc.key.typ}
		switch dc.key.typ {
		case TypeInt:
			if f.Int = dc.vals.ints[i]; f.Int == 0 {
				continue
			}
		case TypeString, TypeText:
			if f.Str = unsafeString(dc.vals.vals[i]); f.Str == "" {
				continue
			}
		default:
			if f.Bytes = dc.vals.vals[i]; len(f.Bytes) == 0 {
				continue
			}
		}
		it.row.Fields = append(it.row.Fields, f)
	}
}
