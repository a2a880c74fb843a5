package colstore

import (
	"context"
	"errors"
	"runtime"
	"sync"
)

// searchParts applies the query to parts, in order, calling s.fn with
// the matching rows in the order a one-by-one search would. With more than
// one CPU, blocks are decoded and filtered by a goroutine per CPU while
// this goroutine hands out the rows: decompressing and scanning blocks is
// most of a search's work, so a search that reads many blocks (a rare word
// over a day of logs) finishes in about 1/CPUs of the time.
func (s *searcher) searchParts(ctx context.Context, parts []*part) (bool, error) {
	workers := runtime.GOMAXPROCS(0)
	if workers == 1 {
		for _, p := range parts {
			if more, err := s.searchPart(ctx, p); err != nil || !more {
				return more, err
			}
		}
		return true, nil
	}
	return s.searchPartsParallel(ctx, parts, workers)
}

// blockJob is one candidate block on its way through searchPartsParallel.
type blockJob struct {
	sr         *searcher // owns the buffers the block is decoded into
	p          *part
	bi         int
	first, end int
	any        bool
	err        error
	done       chan struct{} // closed once matchBlock has run
}

// searchPartsParallel runs matchBlock on workers goroutines and emits
// each block's rows here, in block order. At most 2×workers blocks are in
// flight, each with a searcher of its own, so memory stays bounded by a
// few decoded blocks whatever the parts hold.
func (s *searcher) searchPartsParallel(parent context.Context, parts []*part, workers int) (bool, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	window := 2 * workers
	free := make(chan *searcher, window)
	for range window {
		free <- s.fork()
	}
	work := make(chan *blockJob)
	// ordered holds every job given to a worker, in block order. It never
	// fills: a job needs one of window searchers.
	ordered := make(chan *blockJob, window)

	selected := make([][]bool, len(parts))
	for i, p := range parts {
		selected[i] = s.selectStreams(p)
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				j.first, j.end, j.any, j.err = j.sr.matchBlock(j.p, &j.p.meta.blocks[j.bi])
				close(j.done)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(ordered)
		defer close(work)
		for i, p := range parts {
			err := s.eachCandidate(ctx, p, selected[i], func(bi int) (bool, error) {
				var sr *searcher
				select {
				case sr = <-free:
				case <-ctx.Done():
					return false, nil
				}
				copy(sr.filterCol, s.filterCol) // set by eachCandidate for this block
				j := &blockJob{sr: sr, p: p, bi: bi, done: make(chan struct{})}
				select {
				case work <- j:
				case <-ctx.Done():
					return false, nil
				}
				ordered <- j
				return true, nil
			})
			if err != nil {
				return // the context ended; reported below
			}
		}
	}()

	more := true
	var err error
	for j := range ordered {
		<-j.done
		if more && err == nil {
			switch {
			case errors.Is(j.err, errCorrupt) && s.onCorrupt != nil:
				// As in searchPart: report the block, answer from the rest.
				s.onCorrupt(j.p, j.bi, j.err)
			case j.err != nil:
				err = j.err
				cancel()
			case j.any:
				if !j.sr.emit(j.p, &j.p.meta.blocks[j.bi], j.first, j.end) {
					more = false
					cancel()
				}
			}
		}
		free <- j.sr
	}
	wg.Wait()
	if err == nil && more {
		err = parent.Err()
	}
	return more, err
}

// fork returns a searcher for the same query with buffers of its own.
func (s *searcher) fork() *searcher {
	s.prepareFilters()
	return &searcher{
		q:         s.q,
		fn:        s.fn,
		blockFn:   s.blockFn,
		dec:       s.dec,
		onCorrupt: s.onCorrupt,
		filterCol: make([]int, len(s.filterCol)),
		bloomKeys: s.bloomKeys,
	}
}
