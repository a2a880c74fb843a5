package colstore

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/argus-obs/argus/internal/store/colstore/wal"
)

// ErrOverloaded is returned by Write when rows wait to be flushed faster
// than parts are written. Nothing of the rejected write was stored.
var ErrOverloaded = errors.New("column store overloaded: too much data waiting to be flushed")

// ErrClosed is returned by operations on a closed store.
var ErrClosed = errors.New("column store closed")

// Options configures a Store. The zero value of every field but Dir works.
type Options struct {
	// Dir holds the store: wal/, one directory per day partition, and
	// quarantine/ for damaged files found at start-up.
	Dir string
	// Name labels the store's metrics ("traces", "logs").
	Name string
	// Retention is how long rows are kept, by their time; whole day
	// partitions are removed once all their rows are older. Zero keeps
	// everything.
	Retention time.Duration
	// FlushInterval is how often the memtable is written out as a part.
	// Zero means 5s.
	FlushInterval time.Duration
	// MaxMemtableBytes triggers a flush when the memtable grows past it.
	// Zero means 64 MiB.
	MaxMemtableBytes int64
	// MaxPendingBytes bounds memtable plus data being flushed; past it,
	// Write returns ErrOverloaded. Zero means 4 × MaxMemtableBytes.
	MaxPendingBytes int64
	// BlockRows is the most rows a block holds, at most 8192 (the format's
	// limit). Smaller blocks make a search that finds a few rows in many
	// places (a rare word) decode less, for a little more index and disk.
	// Zero means 8192.
	BlockRows int
	// WALNoSync skips fsync in the write-ahead log: faster, but an
	// acknowledged write can be lost in a power failure (not in a process
	// crash). For tests and benchmarks.
	WALNoSync bool
	// Logger receives the store's events. Nil discards them.
	Logger *slog.Logger
	// Registerer receives the store's metrics. Nil registers nothing.
	Registerer prometheus.Registerer
	// Now is the clock for retention. Nil means time.Now.
	Now func() time.Time
}

const nanosPerDay = int64(24 * time.Hour)

// Store is a column store. It is safe for concurrent use.
type Store struct {
	opts    Options
	log     *slog.Logger
	wal     *wal.WAL
	zenc    *zstd.Encoder
	zdec    *zstd.Decoder
	metrics *metrics

	// writeMu orders writes against flushes: a write holds it shared from
	// WAL append to memtable insert, and a flush holds it exclusively while
	// it rotates the WAL and freezes memtables. So every row in a WAL
	// segment older than the rotation point is in a frozen memtable.
	writeMu sync.RWMutex

	mu         sync.RWMutex
	partitions map[int64]*partition // by day number; guarded by mu
	closed     bool                 // guarded by mu

	nextPartID   atomic.Uint64
	memBytes     atomic.Int64 // memtable bytes not yet frozen
	pendingBytes atomic.Int64 // memtable plus frozen bytes

	flushMu  sync.Mutex // serialises flushes
	mergeMu  sync.Mutex // serialises merges, so no two pick the same parts
	flushNow chan struct{}
	mergeNow chan struct{}
	stop     chan struct{}
	wg       sync.WaitGroup
	closeErr error
	once     sync.Once
}

// partition is one UTC day of rows.
type partition struct {
	day int64
	dir string

	mu     sync.RWMutex
	parts  []*part       // guarded by mu
	mem    []memBatch    // guarded by mu: rows not yet frozen
	frozen []frozenBatch // guarded by mu: rows being written to a part
	// dropped is set when retention removed the partition; a flush in
	// flight then discards its rows instead of writing a part.
	dropped bool // guarded by mu
}

// snapshot returns what a reader of p sees now: the memtable batches
// (not yet frozen and frozen) and the parts, each part with a reference
// the caller must drop with decRef. The batches are immutable.
func (p *partition) snapshot() (mem []memBatch, parts []*part) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	mem = slices.Clone(p.mem)
	for _, f := range p.frozen {
		mem = append(mem, f.memBatch)
	}
	parts = slices.Clone(p.parts)
	for _, pt := range parts {
		pt.incRef()
	}
	return mem, parts
}

// memBatch is an encoded batch of rows (see record.go) in a memtable.
type memBatch struct {
	data             []byte
	rows             int
	minTime, maxTime int64
}

type frozenBatch struct {
	memBatch
	flush uint64 // the flush that froze it
}

// Open opens or creates the store in opts.Dir: it loads every part,
// quarantines damaged ones, replays the write-ahead log into the memtable,
// and starts background flushes, merges and retention.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("colstore: no directory")
	}
	if opts.BlockRows < 0 || opts.BlockRows > maxBlockRows {
		return nil, fmt.Errorf("colstore: %d rows per block: want 1 to %d", opts.BlockRows, maxBlockRows)
	}
	if opts.BlockRows == 0 {
		opts.BlockRows = maxBlockRows
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 5 * time.Second
	}
	if opts.MaxMemtableBytes <= 0 {
		opts.MaxMemtableBytes = 64 << 20
	}
	if opts.MaxPendingBytes <= 0 {
		opts.MaxPendingBytes = 4 * opts.MaxMemtableBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, err
	}
	// No zstd frame checksums: every stored block already carries a
	// CRC-32C of its stored bytes, checked on each read, and hashing every
	// decompressed byte again cost searches several percent.
	zenc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true), zstd.WithEncoderCRC(false))
	if err != nil {
		return nil, err
	}
	zdec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxDecodedSize), zstd.IgnoreChecksum(true))
	if err != nil {
		return nil, err
	}
	s := &Store{
		opts:       opts,
		log:        opts.Logger.With("store", opts.Name),
		zenc:       zenc,
		zdec:       zdec,
		partitions: map[int64]*partition{},
		flushNow:   make(chan struct{}, 1),
		mergeNow:   make(chan struct{}, 1),
		stop:       make(chan struct{}),
	}
	s.metrics = newMetrics(s, opts.Name, opts.Registerer)
	if err := s.loadPartitions(); err != nil {
		return nil, err
	}
	s.applyRetention()
	w, err := wal.Open(wal.Options{Dir: filepath.Join(opts.Dir, "wal"), NoSync: opts.WALNoSync, Logger: s.log})
	if err != nil {
		return nil, fmt.Errorf("open wal: %w", err)
	}
	s.wal = w
	stats, err := w.Replay(s.replayRecord)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("replay wal: %w", err)
	}
	if stats.Records > 0 || len(stats.Corrupt) > 0 {
		s.log.Info("replayed write-ahead log", "records", stats.Records, "bytes", stats.Bytes, "corrupt_segments", len(stats.Corrupt))
	}
	s.metrics.walCorrupt.Add(float64(len(stats.Corrupt)))

	s.wg.Add(3)
	go s.every(opts.FlushInterval, s.flushNow, s.flushPending)
	go s.every(time.Minute, s.mergeNow, s.mergeAll)
	go s.every(time.Minute, nil, s.applyRetention)
	return s, nil
}

// loadPartitions opens every part of every day directory.
func (s *Store) loadPartitions() error {
	entries, err := os.ReadDir(s.opts.Dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		t, err := time.Parse(time.DateOnly, e.Name())
		if err != nil {
			continue // wal/, quarantine/
		}
		p := &partition{day: t.Unix() / 86400, dir: filepath.Join(s.opts.Dir, e.Name())}
		if err := s.loadParts(p); err != nil {
			return err
		}
		s.partitions[p.day] = p
	}
	return nil
}

func (s *Store) loadParts(p *partition) error {
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		return err
	}
	replaced := map[uint64]bool{}
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(p.dir, name)
		if strings.HasSuffix(name, ".tmp") {
			// A flush or merge that did not finish: its rows are still in
			// the WAL or in the parts it was merging.
			os.Remove(path)
			continue
		}
		if !strings.HasSuffix(name, partExt) {
			continue
		}
		pt, err := openPart(path, s.zdec)
		if err != nil {
			s.quarantine(path, err)
			continue
		}
		p.parts = append(p.parts, pt)
		for _, src := range pt.meta.sources {
			replaced[src] = true
		}
		s.nextPartID.Store(max(s.nextPartID.Load(), pt.meta.id))
	}
	// A merge that crashed after writing its result but before removing
	// its sources leaves both: the result wins.
	p.parts = slices.DeleteFunc(p.parts, func(pt *part) bool {
		if replaced[pt.meta.id] {
			pt.obsolete.Store(true)
			pt.decRef()
			return true
		}
		return false
	})
	return nil
}

// quarantine moves a damaged file out of the way so the store can start
// without it, keeping it for inspection.
func (s *Store) quarantine(path string, cause error) {
	s.metrics.quarantined.Inc()
	dir := filepath.Join(s.opts.Dir, "quarantine")
	dst := filepath.Join(dir, filepath.Base(filepath.Dir(path))+"-"+filepath.Base(path))
	err := os.MkdirAll(dir, 0o755)
	if err == nil {
		err = os.Rename(path, dst)
	}
	s.log.Error("damaged part quarantined; its rows are not served", "part", path, "moved_to", dst, "cause", cause, "move_error", err)
}

// reportCorruptBlock logs a damaged block met by a search, which skips it.
func (s *Store) reportCorruptBlock(p *part, block int, err error) {
	s.metrics.corruptBlocks.Inc()
	s.log.Error("damaged block skipped; its rows are not served", "part", p.path, "block", block, "error", err)
}

// replayRecord puts one WAL record back into the memtable.
func (s *Store) replayRecord(rec []byte) error {
	batches, err := decodeRecord(rec)
	if err != nil {
		// The WAL checksummed the record, so this is a bug or a format
		// change, not disk damage; skip it rather than refuse to start.
		s.log.Error("skipping undecodable WAL record", "error", err)
		return nil
	}
	data := slices.Clone(rec) // the WAL reuses rec
	cutoff := int64(-1 << 63)
	if s.opts.Retention > 0 {
		cutoff = s.opts.Now().Add(-s.opts.Retention).UnixNano()
	}
	for _, b := range batches {
		if (b.day+1)*nanosPerDay <= cutoff {
			continue // expired while the store was down
		}
		b.batch.data = data[b.off : b.off+b.n : b.off+b.n]
		s.addToMemtable(b.day, b.batch)
	}
	return nil
}

type dayBatch struct {
	day   int64
	off   int // offset of the batch data in the record
	n     int // its length
	batch memBatch
}

// decodeRecord splits a WAL record into its day batches.
func decodeRecord(rec []byte) ([]dayBatch, error) {
	d := decoder{b: rec}
	if v := d.byte(); v != recordVersion {
		return nil, fmt.Errorf("record version %d", v)
	}
	n := d.count(2)
	out := make([]dayBatch, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		day := d.varint()
		data := d.lenBytes()
		if d.err != nil {
			break
		}
		b := memBatch{data: data, minTime: 1<<63 - 1, maxTime: -1 << 63}
		br := newBatchReader(data)
		for {
			ok, _ := br.next()
			if !ok {
				break
			}
			b.rows++
			b.minTime = min(b.minTime, br.row.Time)
			b.maxTime = max(b.maxTime, br.row.Time)
		}
		if err := br.err(); err != nil {
			return nil, err
		}
		out = append(out, dayBatch{day: day, off: len(rec) - len(d.b) - len(data), n: len(data), batch: b})
	}
	return out, d.err
}

// Write stores rows. When it returns nil they are durable (in the fsynced
// write-ahead log) and visible to Search. The store does not retain rows
// or anything they reference.
func (s *Store) Write(ctx context.Context, rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	if s.pendingBytes.Load() > s.opts.MaxPendingBytes {
		s.metrics.overloaded.Inc()
		return ErrOverloaded
	}
	// Group rows by day partition; most writes touch one day.
	byDay := map[int64][]*Row{}
	var days []int64
	for i := range rows {
		d := dayOf(rows[i].Time)
		if _, ok := byDay[d]; !ok {
			days = append(days, d)
		}
		byDay[d] = append(byDay[d], &rows[i])
	}
	rec := []byte{recordVersion}
	rec = binary.AppendUvarint(rec, uint64(len(days)))
	batches := make([]dayBatch, 0, len(days))
	var scratch []byte
	for _, d := range days {
		var err error
		scratch, err = appendBatch(scratch[:0], byDay[d])
		if err != nil {
			return err
		}
		rec = binary.AppendVarint(rec, d)
		rec = binary.AppendUvarint(rec, uint64(len(scratch)))
		b := memBatch{rows: len(byDay[d]), minTime: 1<<63 - 1, maxTime: -1 << 63}
		for _, r := range byDay[d] {
			b.minTime = min(b.minTime, r.Time)
			b.maxTime = max(b.maxTime, r.Time)
		}
		batches = append(batches, dayBatch{day: d, off: len(rec), n: len(scratch), batch: b})
		rec = append(rec, scratch...)
	}
	// rec is final now; the memtable keeps slices of it.
	for i := range batches {
		b := &batches[i]
		b.batch.data = rec[b.off : b.off+b.n : b.off+b.n]
	}

	s.writeMu.RLock()
	defer s.writeMu.RUnlock()
	if _, err := s.wal.Append(rec); err != nil {
		return fmt.Errorf("write-ahead log: %w", err)
	}
	for _, b := range batches {
		s.addToMemtable(b.day, b.batch)
	}
	s.metrics.rowsWritten.Add(float64(len(rows)))
	s.metrics.walBytes.Add(float64(len(rec)))
	if s.memBytes.Load() > s.opts.MaxMemtableBytes {
		select {
		case s.flushNow <- struct{}{}:
		default:
		}
	}
	return nil
}

func dayOf(t int64) int64 {
	d := t / nanosPerDay
	if t < 0 && t%nanosPerDay != 0 {
		d--
	}
	return d
}

func (s *Store) partition(day int64, create bool) *partition {
	s.mu.RLock()
	p := s.partitions[day]
	s.mu.RUnlock()
	if p != nil || !create {
		return p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p = s.partitions[day]; p == nil {
		p = &partition{day: day, dir: filepath.Join(s.opts.Dir, partitionName(day))}
		s.partitions[day] = p
	}
	return p
}

func (s *Store) addToMemtable(day int64, b memBatch) {
	p := s.partition(day, true)
	p.mu.Lock()
	p.mem = append(p.mem, b)
	p.mu.Unlock()
	s.memBytes.Add(int64(len(b.data)))
	s.pendingBytes.Add(int64(len(b.data)))
}

// Search calls fn for every row matching q, until fn returns false. The
// row and everything it references are valid only during the call; copy
// what must outlive it. Rows come partition by partition, and within a
// partition part by part, so they are not globally ordered.
func (s *Store) Search(ctx context.Context, q Query, fn func(*Row) bool) error {
	return s.search(ctx, q, &searcher{fn: fn})
}

// search runs q with sr, whose fn or blockFn is set.
func (s *Store) search(ctx context.Context, q Query, sr *searcher) error {
	// Newest partitions first: searches usually want recent data.
	parts, closed := s.partitionsIn(q.MinTime, q.maxTime())
	if closed {
		return ErrClosed
	}

	start := time.Now()
	defer func() { s.metrics.searchSeconds.Observe(time.Since(start).Seconds()) }()
	q.Filters = slices.Clone(q.Filters) // prepare must not touch the caller's
	for i := range q.Filters {
		q.Filters[i].prepare()
	}
	sr.q, sr.dec, sr.onCorrupt = &q, s.zdec, s.reportCorruptBlock
	for _, p := range parts {
		mem, pts := p.snapshot()
		more, err := sr.searchMem(ctx, mem)
		if err == nil && more {
			more, err = sr.searchParts(ctx, pts)
		}
		for _, pt := range pts {
			pt.decRef()
		}
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
	return nil
}

// Flush writes the memtable out as parts and trims the write-ahead log.
// It runs on its own every FlushInterval; tests and shutdown call it.
func (s *Store) Flush() error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()

	s.writeMu.Lock()
	seg, err := s.wal.Rotate()
	if err != nil {
		s.writeMu.Unlock()
		return fmt.Errorf("rotate wal: %w", err)
	}
	parts, _ := s.partitionsIn(math.MinInt64, math.MaxInt64)
	for _, p := range parts {
		p.mu.Lock()
		for _, b := range p.mem {
			p.frozen = append(p.frozen, frozenBatch{memBatch: b, flush: seg})
			s.memBytes.Add(-int64(len(b.data)))
		}
		p.mem = nil
		p.mu.Unlock()
	}
	s.writeMu.Unlock()

	var errs []error
	for _, p := range parts {
		if err := s.flushPartition(p); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		// Keep the WAL: the frozen rows are retried at the next flush.
		return errors.Join(errs...)
	}
	if err := s.wal.RemoveBefore(seg); err != nil {
		return fmt.Errorf("trim wal: %w", err)
	}
	select {
	case s.mergeNow <- struct{}{}:
	default:
	}
	return nil
}

// flushPartition writes p's frozen batches as one part.
func (s *Store) flushPartition(p *partition) error {
	p.mu.RLock()
	frozen := slices.Clone(p.frozen)
	dropped := p.dropped
	p.mu.RUnlock()
	if len(frozen) == 0 {
		return nil
	}
	if dropped {
		p.mu.Lock()
		s.releaseFrozenLocked(p, frozen)
		p.mu.Unlock()
		return nil
	}
	start := time.Now()
	pt, err := s.writePart(p, nil, func(pw *partWriter) error {
		return writeSorted(frozen, pw.add)
	})
	if err != nil {
		return fmt.Errorf("flush partition %s: %w", filepath.Base(p.dir), err)
	}
	// One critical section: a reader must see the rows either as frozen
	// batches or in the part, never both.
	p.mu.Lock()
	if pt != nil {
		p.parts = append(p.parts, pt)
	}
	s.releaseFrozenLocked(p, frozen)
	p.mu.Unlock()
	s.metrics.flushes.Inc()
	s.metrics.flushSeconds.Observe(time.Since(start).Seconds())
	return nil
}

// releaseFrozenLocked forgets frozen batches that are now in a part (or
// expired): the first len(frozen) of p.frozen. p.mu must be held.
func (s *Store) releaseFrozenLocked(p *partition, frozen []frozenBatch) {
	p.frozen = p.frozen[len(frozen):]
	var n int64
	for _, f := range frozen {
		n += int64(len(f.data))
	}
	s.pendingBytes.Add(-n)
}

// rowRef locates one memtable row for a flush: the flush sorts these
// small references instead of decoded rows, so its memory stays a few
// dozen bytes per row whatever the rows hold.
type rowRef struct {
	hash   uint64
	time   int64
	batch  int32 // index into the flushed batches
	off    int32 // offset of the row's time in the batch
	stream int32 // index into the flush's stream table
}

// writeSorted gives add every row of batches in (stream, time) order.
func writeSorted(batches []frozenBatch, add func(*Row, uint64) error) error {
	n := 0
	for _, b := range batches {
		n += b.rows
	}
	refs := make([]rowRef, 0, n)
	var streams [][]Label
	br := &batchReader{}
	for bi, b := range batches {
		br.reset(b.data)
		var h uint64
		for {
			ok, newStream := br.next()
			if !ok {
				break
			}
			if newStream {
				h = streamHash(br.row.Stream)
				streams = append(streams, br.row.Stream)
			}
			refs = append(refs, rowRef{hash: h, time: br.row.Time, batch: int32(bi), off: int32(br.rowOff), stream: int32(len(streams) - 1)})
		}
		if err := br.err(); err != nil {
			return err
		}
	}
	slices.SortStableFunc(refs, func(a, b rowRef) int {
		return cmp.Or(cmp.Compare(a.hash, b.hash), cmp.Compare(a.time, b.time))
	})
	for _, r := range refs {
		if err := br.decodeAt(batches[r.batch].data, int(r.off)); err != nil {
			return err
		}
		br.row.Stream = streams[r.stream]
		if err := add(&br.row, r.hash); err != nil {
			return err
		}
	}
	return nil
}

// writePart writes a new part into p, which produce fills through the
// writer in (stream, time) order, and opens it. It returns nil if there
// were no rows.
func (s *Store) writePart(p *partition, sources []uint64, produce func(pw *partWriter) error) (*part, error) {
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return nil, err
	}
	id := s.nextPartID.Add(1)
	final := filepath.Join(p.dir, fmt.Sprintf("%016x%s", id, partExt))
	tmp := final + ".tmp"
	pw, err := newPartWriter(tmp, id, sources, s.zenc, s.opts.BlockRows)
	if err != nil {
		return nil, err
	}
	if err := produce(pw); err != nil {
		pw.abort()
		return nil, err
	}
	meta, err := pw.finish()
	if err != nil {
		os.Remove(tmp)
		return nil, err
	}
	if meta.rows == 0 {
		os.Remove(tmp)
		return nil, nil
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return nil, err
	}
	if err := wal.SyncDir(p.dir); err != nil {
		return nil, err
	}
	return openPart(final, s.zdec)
}

// every runs fn every interval and whenever wake fires (a nil wake never
// does), until the store stops.
func (s *Store) every(interval time.Duration, wake <-chan struct{}, fn func()) {
	defer s.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-wake:
		}
		fn()
	}
}

// flushPending flushes when anything waits to be flushed.
func (s *Store) flushPending() {
	if s.memBytes.Load() == 0 && s.pendingBytes.Load() == 0 {
		return
	}
	if err := s.Flush(); err != nil {
		s.metrics.flushErrors.Inc()
		s.log.Error("flush failed; will retry", "error", err)
	}
}

// partitionsIn returns the partitions that may hold rows in [minTime,
// maxTime], newest first, and whether the store is closed.
func (s *Store) partitionsIn(minTime, maxTime int64) (parts []*partition, closed bool) {
	s.mu.RLock()
	for _, p := range s.partitions {
		if (p.day+1)*nanosPerDay > minTime && p.day*nanosPerDay <= maxTime {
			parts = append(parts, p)
		}
	}
	closed = s.closed
	s.mu.RUnlock()
	slices.SortFunc(parts, func(a, b *partition) int { return cmp.Compare(b.day, a.day) })
	return parts, closed
}

// Close flushes the memtable, stops background work and closes every
// file. It is idempotent; later calls return the first call's result.
func (s *Store) Close() error {
	s.once.Do(func() {
		close(s.stop)
		s.wg.Wait()
		ferr := s.Flush()
		s.mu.Lock()
		s.closed = true
		for _, p := range s.partitions {
			p.mu.Lock()
			for _, pt := range p.parts {
				pt.decRef()
			}
			p.parts = nil
			p.mu.Unlock()
		}
		s.mu.Unlock()
		s.closeErr = errors.Join(ferr, s.wal.Close())
		s.metrics.unregister()
	})
	return s.closeErr
}

// partitionName returns the directory name of a day partition.
func partitionName(day int64) string {
	return time.Unix(day*86400, 0).UTC().Format(time.DateOnly)
}

// Streams calls fn once per distinct stream that has rows in
// [minTime, maxTime] (a zero maxTime means no upper bound), as far as part
// and memtable summaries tell: a stream may be reported for a part that
// overlaps the range without a row of that stream inside it. The labels
// are valid only during the call.
func (s *Store) Streams(ctx context.Context, minTime, maxTime int64, fn func(labels []Label)) error {
	q := Query{MinTime: minTime, MaxTime: maxTime}
	maxT := q.maxTime()
	parts, closed := s.partitionsIn(minTime, maxT)
	if closed {
		return ErrClosed
	}
	seen := map[uint64]bool{}
	br := &batchReader{}
	for _, p := range parts {
		if err := ctx.Err(); err != nil {
			return err
		}
		mem, pts := p.snapshot()
		for _, pt := range pts {
			if pt.meta.maxTime >= minTime && pt.meta.minTime <= maxT {
				for _, st := range pt.meta.streams {
					if !seen[st.hash] {
						seen[st.hash] = true
						fn(st.labels)
					}
				}
			}
			pt.decRef()
		}
		for _, b := range mem {
			if b.maxTime < minTime || b.minTime > maxT {
				continue
			}
			br.reset(b.data)
			for {
				ok, newStream := br.next()
				if !ok {
					break
				}
				if newStream {
					if h := streamHash(br.row.Stream); !seen[h] {
						seen[h] = true
						fn(br.row.Stream)
					}
				}
			}
		}
	}
	return nil
}

// TimeRange returns the smallest and largest row time the store holds, as
// far as part and memtable summaries tell. ok is false when it is empty.
func (s *Store) TimeRange() (minTime, maxTime int64, ok bool) {
	minTime, maxTime = math.MaxInt64, math.MinInt64
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, p := range s.partitions {
		p.mu.RLock()
		for _, pt := range p.parts {
			minTime, maxTime = min(minTime, pt.meta.minTime), max(maxTime, pt.meta.maxTime)
		}
		for _, b := range p.mem {
			minTime, maxTime = min(minTime, b.minTime), max(maxTime, b.maxTime)
		}
		for _, b := range p.frozen {
			minTime, maxTime = min(minTime, b.minTime), max(maxTime, b.maxTime)
		}
		p.mu.RUnlock()
	}
	return minTime, maxTime, minTime <= maxTime
}
