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
	s.mergeMu.Lock()
	defer s.mergeMu.Unlock()
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
	copied := 0 // rows in blocks copied as stored
	merged, err := s.writePart(p, ids, func(pw *partWriter) error {
		its := make([]*partIterator, 0, len(srcs))
		for _, pt := range srcs {
			if len(pt.meta.blocks) > 0 {
				its = append(its, &partIterator{p: pt, dec: s.zdec})
			}
		}
		var buf []byte
		for len(its) > 0 {
			// Few sources: a linear scan for the smallest beats a heap.
			mi := 0
			for i := 1; i < len(its); i++ {
				if its[i].less(its[mi]) {
					mi = i
				}
			}
			it := its[mi]
			var more bool
			if !it.loaded && it.blockAlone(its, s.opts.BlockRows/2) {
				var err error
				if buf, err = pw.copyBlock(it.p, it.current(), buf); err != nil {
					return err
				}
				copied += it.current().rows
				more = it.skipBlock()
			} else {
				if !it.loaded && !it.load() {
					return it.err
				}
				if err := pw.add(&it.row, it.hash()); err != nil {
					return err
				}
				more = it.next()
			}
			if !more {
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
	s.metrics.mergeCopiedRows.Add(float64(copied))
	s.metrics.mergeSeconds.Observe(time.Since(start).Seconds())
	return nil
}

// partIterator yields a part's rows in stored (stream, time) order, one
// block decoded at a time. Row values alias the decoded block. A block is
// decoded only when its rows are needed (load): a merge copies a block
// that needs no interleaving without decoding it.
type partIterator struct {
	p      *part
	dec    *zstd.Decoder
	block  int
	i      int
	loaded bool // whether block is decoded and row is its row i
	cols   []decodedColumn
	row    Row
	err    error
}

func (it *partIterator) current() *blockHeader { return &it.p.meta.blocks[it.block] }

func (it *partIterator) hash() uint64 { return it.p.meta.streams[it.current().stream].hash }

// time is the time of the next row: before its block is loaded, the
// block's earliest.
func (it *partIterator) time() int64 {
	if it.loaded {
		return it.row.Time
	}
	return it.current().minTime
}

func (it *partIterator) less(o *partIterator) bool {
	a, b := it.hash(), o.hash()
	if a != b {
		return a < b
	}
	return it.time() < o.time()
}

// A block with fewer rows than half the store's block size and less than
// minCopyBytes is rewritten by a merge even when it could be copied, so the
// small blocks flushes leave at the end of each stream are combined with
// their neighbours.
const minCopyBytes = maxBlockBytes / 2

// blockAlone reports whether the iterator's next block, not yet loaded,
// can go into a merged part as it is: it holds at least minCopyRows rows
// (or minCopyBytes), and no other source has a row of its stream within
// its time range. its is every source, it among them, with it the
// smallest.
func (it *partIterator) blockAlone(its []*partIterator, minCopyRows int) bool {
	b := it.current()
	var size uint64
	for i := range b.columns {
		size += b.columns[i].rawSize
	}
	if b.rows < minCopyRows && size < minCopyBytes {
		return false
	}
	h := it.hash()
	for _, o := range its {
		if o != it && o.hash() == h && o.time() <= b.maxTime {
			return false
		}
	}
	return true
}

// load decodes the current block and makes row its first row; false on
// error (it.err).
func (it *partIterator) load() bool {
	b := it.current()
	if cap(it.cols) < len(b.columns) {
		it.cols = make([]decodedColumn, len(b.columns))
	}
	it.cols = it.cols[:len(b.columns)]
	for ci := range b.columns {
		dc := &it.cols[ci]
		dc.key = it.p.meta.columns[b.columns[ci].column]
		dc.buf, dc.raw, it.err = it.p.readColumn(&dc.vals, b, &b.columns[ci], it.dec, dc.buf, dc.raw)
		if it.err != nil {
			return false
		}
	}
	it.i = 0
	it.loaded = true
	it.fill()
	return true
}

// next moves past the current row of a loaded block; false at the end of
// the part. The next block is left unloaded.
func (it *partIterator) next() bool {
	if it.i+1 < it.current().rows {
		it.i++
		it.fill()
		return true
	}
	return it.skipBlock()
}

// skipBlock moves to the next block, unloaded; false at the end.
func (it *partIterator) skipBlock() bool {
	it.loaded = false
	it.block++
	return it.block < len(it.p.meta.blocks)
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
