package wal

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
)

// DefaultSegmentSize is the segment size used when Options.SegmentSize is
// zero: large enough that rotation and its directory fsync are rare, small
// enough that RemoveBefore frees space soon after a flush.
const DefaultSegmentSize = 64 << 20

// maxRetainedBuffer bounds the batch buffer kept for reuse, so one burst
// of huge records does not pin that much memory for the life of the WAL.
const maxRetainedBuffer = 8 << 20

// Errors returned by the WAL's methods.
var (
	// ErrClosed is returned by every method but Stats and Close after
	// Close.
	ErrClosed = errors.New("wal: closed")
	// ErrFailed is wrapped, together with the original error, by the
	// error of the Append whose write or fsync failed and of every later
	// Append and Rotate. See the package documentation for why the WAL
	// does not retry.
	ErrFailed = errors.New("wal: a write or fsync failed; the log refuses appends until reopened")
	// ErrRecordTooLarge is returned by Append for a record longer than
	// MaxRecordSize.
	ErrRecordTooLarge = errors.New("wal: record larger than MaxRecordSize")
	// ErrReplayOrder is returned by Replay when called twice or after the
	// first Append or Rotate, and by Append and Rotate while Replay runs.
	ErrReplayOrder = errors.New("wal: Replay must run at most once, before the first Append or Rotate")
)

// Options configure a WAL. The zero value of every field but Dir works.
type Options struct {
	// Dir holds the segment files and quarantine/. It is created if
	// missing and must not be shared with another WAL.
	Dir string
	// SegmentSize is the size past which a new segment is started; a
	// single record larger than it gets a segment of its own.
	// 0 means DefaultSegmentSize.
	SegmentSize int64
	// NoSync skips every fsync. Appended records still reach the
	// operating system before Append returns, so they survive the
	// process being killed, but not a machine crash. For tests and
	// benchmarks.
	NoSync bool
	// Logger receives damage found by Replay and write failures. nil
	// discards.
	Logger *slog.Logger
}

// Stats are counters for metrics. Counts are since Open.
type Stats struct {
	Records   uint64 // records appended
	Bytes     uint64 // bytes written: payloads, frame headers and segment headers
	Commits   uint64 // batches written; Records/Commits is the mean group size
	Syncs     uint64 // fsyncs of segment files and of the directory
	Segments  int    // segment files on disk
	DiskBytes int64  // their total size
}

// segmentFile is what the WAL needs of an open segment; tests substitute
// files whose Write or Sync fail.
type segmentFile interface {
	Write(p []byte) (int, error)
	Sync() error
	Close() error
}

// segInfo is one segment file on disk.
type segInfo struct {
	num  uint64
	size int64
}

// chunk marks the records of a batch that go to one segment: the batch
// buffer up to end, from the previous chunk's end.
type chunk struct {
	seg uint64
	end int
}

// batch is a group of framed records written with one write per segment
// and one fsync.
type batch struct {
	buf     []byte
	chunks  []chunk
	records uint64
}

type replayState uint8

const (
	replayNone replayState = iota
	replayRunning
	replayDone
)

// WAL is a segmented write-ahead log with group commit. All methods are
// safe for concurrent use. Record bytes passed to Append are copied before
// it returns; the caller keeps ownership.
type WAL struct {
	dir     string
	segSize int64
	noSync  bool
	log     *slog.Logger
	create  func(path string) (segmentFile, error) // tests inject failing files

	removeMu sync.Mutex // serialises RemoveBefore calls

	mu sync.Mutex
	// Fields from here to f are guarded by mu.
	fill      batch  // the batch appends are copied into
	spare     batch  // buffers of the previous batch, reused by the next one
	fillSeg   uint64 // the segment new records go to
	fillSize  int64  // bytes segment fillSeg holds once fill is written; 0 = no records yet, no file
	fillBatch uint64 // id of fill; ids count from 1
	doneBatch uint64 // id of the last batch written, or failed
	flushing  bool   // a leader is writing batch doneBatch+1 without mu
	// waiters[id%2] wakes the callers waiting for batch id. Only two
	// batches ever have callers waiting, the one being written and the
	// one being filled, and a finished batch should wake only its own
	// callers, not those queued for the next one.
	waiters     [2]sync.Cond
	err         error  // sticky; set by the first failed write or fsync, wraps ErrFailed
	failedBatch uint64 // id of the batch that set err
	closed      bool
	replay      replayState
	started     bool      // Append or Rotate has run: too late to Replay
	segs        []segInfo // segment files on disk, ascending
	diskBytes   int64     // sum of segs sizes
	// writable is the lowest segment that may still be written to.
	// RemoveBefore never removes it or anything above.
	writable uint64

	// Owned by the leader, the caller that set flushing, and passed from
	// leader to leader through mu. Close takes them over once no leader
	// can run.
	f      segmentFile
	fSeg   uint64
	fDirty bool // written since its last fsync

	records, bytes, commits, syncs atomic.Uint64

	closeOnce sync.Once
	closeErr  error
}

// Open opens the log in opts.Dir, creating the directory if needed. It
// lists the segments there but reads none: Replay does. New records go to
// a new segment numbered after every existing one, never after the tail of
// an old segment, whose last write may have been cut short.
func Open(opts Options) (*WAL, error) {
	if opts.Dir == "" {
		return nil, errors.New("wal: Options.Dir is empty")
	}
	w := &WAL{
		dir:     opts.Dir,
		segSize: opts.SegmentSize,
		noSync:  opts.NoSync,
		log:     opts.Logger,
		create:  createSegmentFile,
	}
	if w.segSize <= 0 {
		w.segSize = DefaultSegmentSize
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	for i := range w.waiters {
		w.waiters[i].L = &w.mu
	}
	if err := w.ensureDir(w.dir); err != nil {
		return nil, fmt.Errorf("wal: create %s: %w", w.dir, err)
	}
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	for _, e := range entries {
		n, ok := parseSegmentName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("wal: %w", err)
		}
		w.segs = append(w.segs, segInfo{num: n, size: info.Size()})
		w.diskBytes += info.Size()
	}
	slices.SortFunc(w.segs, func(a, b segInfo) int { return cmp.Compare(a.num, b.num) })
	w.fillSeg = 1
	if len(w.segs) > 0 {
		w.fillSeg = w.segs[len(w.segs)-1].num + 1
	}
	w.writable = w.fillSeg
	w.fillBatch = 1
	return w, nil
}

func createSegmentFile(path string) (segmentFile, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
}

// Append writes rec as one record and returns once it is durable: written
// and, unless Options.NoSync, fsynced. It returns the number of the
// segment the record is in. Concurrent calls share writes and fsyncs.
//
// If the write or fsync of the record's batch fails, Append returns an
// error wrapping ErrFailed and the cause; the record may or may not be on
// disk, and the WAL accepts no more appends. Append does not retain rec.
func (w *WAL) Append(rec []byte) (uint64, error) {
	if len(rec) > MaxRecordSize {
		return 0, fmt.Errorf("%w: %d bytes", ErrRecordTooLarge, len(rec))
	}
	// The checksum is computed before taking the lock, so concurrent
	// writers compute theirs in parallel.
	h := frameHeader(rec)
	w.mu.Lock()
	if err := w.checkWritableLocked(); err != nil {
		w.mu.Unlock()
		return 0, err
	}
	seg := w.enqueueLocked(h[:], rec)
	err := w.waitLocked(w.fillBatch)
	w.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return seg, nil
}

// checkWritableLocked reports why nothing can be appended, if so, and
// otherwise records that appending has started (so Replay is too late).
func (w *WAL) checkWritableLocked() error {
	switch {
	case w.closed:
		return ErrClosed
	case w.err != nil:
		return w.err
	case w.replay == replayRunning:
		return ErrReplayOrder
	}
	w.started = true
	return nil
}

// enqueueLocked copies one framed record into the batch being filled and
// returns the segment it will be written to. Segments are assigned here,
// in queue order, so the number is known without waiting for the write.
func (w *WAL) enqueueLocked(h, rec []byte) uint64 {
	frame := int64(len(h) + len(rec))
	if w.fillSize > 0 && w.fillSize+frame > w.segSize {
		w.fillSeg++
		w.fillSize = 0
	}
	if w.fillSize == 0 {
		w.fillSize = headerSize
	}
	w.fillSize += frame
	b := &w.fill
	b.buf = append(b.buf, h...)
	b.buf = append(b.buf, rec...)
	if n := len(b.chunks); n > 0 && b.chunks[n-1].seg == w.fillSeg {
		b.chunks[n-1].end = len(b.buf)
	} else {
		b.chunks = append(b.chunks, chunk{seg: w.fillSeg, end: len(b.buf)})
	}
	b.records++
	return w.fillSeg
}

// waitLocked returns once batch id has been written, or can never be.
// While no leader is writing, the caller becomes the leader and writes
// the batch itself. Called and returns with mu held.
func (w *WAL) waitLocked(id uint64) error {
	for w.doneBatch < id {
		if w.err != nil {
			return w.err // an earlier batch failed: this one is never written
		}
		if !w.flushing {
			// No leader: doneBatch == fillBatch-1, so id is the batch
			// being filled.
			w.commitLocked()
			continue
		}
		w.waiters[id%2].Wait()
	}
	if w.failedBatch != 0 && id >= w.failedBatch {
		return w.err
	}
	return nil
}

// commitLocked writes the batch being filled, as leader. It releases mu
// for the write and fsync, so new appends fill the next batch meanwhile.
func (w *WAL) commitLocked() {
	w.flushing = true
	id := w.fillBatch
	w.fillBatch++
	b := w.fill
	w.fill, w.spare = w.spare, batch{}
	target := w.fillSeg
	w.mu.Unlock()

	err := w.writeBatch(&b, target)

	w.mu.Lock()
	if err == nil {
		w.accountLocked(&b)
	} else if w.err == nil {
		// Do not retry, not even the fsync: after a failed fsync the
		// kernel may have dropped the dirty pages and cleared the error,
		// so a second fsync can report success for data that is gone.
		// Only a restart and a replay of what is really on disk is safe.
		w.err = fmt.Errorf("%w: %w", ErrFailed, err)
		w.failedBatch = id
		w.log.Error("write-ahead log failed; refusing further appends", "error", err)
	}
	if w.f != nil {
		w.writable = w.fSeg
	} else {
		w.writable = target
	}
	if cap(b.buf) <= maxRetainedBuffer {
		w.spare = batch{buf: b.buf[:0], chunks: b.chunks[:0]}
	}
	w.doneBatch = id
	w.flushing = false
	w.waiters[id%2].Broadcast()
	if w.err != nil {
		// The next batch will never be written: wake all its callers to
		// return the error.
		w.waiters[(id+1)%2].Broadcast()
		return
	}
	// Hand over: one caller of the next batch, if any, becomes leader.
	w.waiters[(id+1)%2].Signal()
}

// writeBatch writes b, whose chunks go to segments >= the open one, and
// syncs. target is the segment new records go to after b; if the open
// segment is older (Rotate ran), it is synced and closed. Leader only.
func (w *WAL) writeBatch(b *batch, target uint64) error {
	start := 0
	for _, c := range b.chunks {
		if w.f == nil || w.fSeg != c.seg {
			if err := w.closeSegment(); err != nil {
				return err
			}
			if err := w.openSegment(c.seg); err != nil {
				return err
			}
		}
		if _, err := w.f.Write(b.buf[start:c.end]); err != nil {
			return fmt.Errorf("write segment %s: %w", segmentName(w.fSeg), err)
		}
		w.fDirty = true
		w.bytes.Add(uint64(c.end - start))
		start = c.end
	}
	if len(b.chunks) > 0 {
		w.commits.Add(1)
	}
	if w.f != nil && w.fSeg != target {
		return w.closeSegment()
	}
	return w.syncSegment()
}

// openSegment creates segment n, writes its header and makes its
// directory entry durable. Leader only.
func (w *WAL) openSegment(n uint64) error {
	path := filepath.Join(w.dir, segmentName(n))
	f, err := w.create(path)
	if err != nil {
		return fmt.Errorf("create segment: %w", err)
	}
	var hdr [headerSize]byte
	if _, err := f.Write(appendSegmentHeader(hdr[:0])); err != nil {
		f.Close()
		return fmt.Errorf("write segment %s header: %w", segmentName(n), err)
	}
	w.bytes.Add(headerSize)
	w.f, w.fSeg, w.fDirty = f, n, true
	if err := w.syncDir(w.dir); err != nil {
		return fmt.Errorf("sync %s after creating segment %s: %w", w.dir, segmentName(n), err)
	}
	return nil
}

// syncSegment fsyncs the open segment if it has unsynced writes.
func (w *WAL) syncSegment() error {
	if w.f == nil || !w.fDirty {
		return nil
	}
	w.fDirty = false
	if w.noSync {
		return nil
	}
	w.syncs.Add(1)
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("sync segment %s: %w", segmentName(w.fSeg), err)
	}
	return nil
}

// closeSegment syncs and closes the open segment, if any.
func (w *WAL) closeSegment() error {
	if w.f == nil {
		return nil
	}
	err := w.syncSegment()
	if cerr := w.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close segment %s: %w", segmentName(w.fSeg), cerr)
	}
	w.f = nil
	return err
}

// accountLocked adds what b wrote to the on-disk bookkeeping.
func (w *WAL) accountLocked(b *batch) {
	start := 0
	for _, c := range b.chunks {
		if n := len(w.segs); n == 0 || w.segs[n-1].num != c.seg {
			// writeBatch created it: chunks only move to a new segment.
			w.segs = append(w.segs, segInfo{num: c.seg, size: headerSize})
			w.diskBytes += headerSize
		}
		n := int64(c.end - start)
		w.segs[len(w.segs)-1].size += n
		w.diskBytes += n
		start = c.end
	}
	w.records.Add(b.records)
}

// Rotate ends the current segment: it waits until every record appended
// before it is durable, closes the segment, and returns the number that
// records appended after it returns will be in (or above). If nothing was
// appended since the last rotation, it starts no new segment and returns
// the same number, so an idle WAL does not churn out empty files.
func (w *WAL) Rotate() (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.checkWritableLocked(); err != nil {
		return 0, err
	}
	if w.fillSize > 0 {
		w.fillSeg++
		w.fillSize = 0
	}
	seg := w.fillSeg
	if err := w.waitLocked(w.fillBatch); err != nil {
		return 0, err
	}
	return seg, nil
}

// RemoveBefore deletes every segment numbered below seg, typically a
// number from Rotate once the records before it are in durable parts. The
// segment still being written is never removed, whatever seg says.
func (w *WAL) RemoveBefore(seg uint64) error {
	w.removeMu.Lock()
	defer w.removeMu.Unlock()
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	limit := min(seg, w.writable)
	i, _ := slices.BinarySearchFunc(w.segs, limit, func(s segInfo, n uint64) int { return cmp.Compare(s.num, n) })
	victims := slices.Clone(w.segs[:i])
	w.mu.Unlock()
	if len(victims) == 0 {
		return nil
	}

	var errs []error
	removed := victims[:0]
	for _, s := range victims {
		err := os.Remove(filepath.Join(w.dir, segmentName(s.num)))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, s)
	}
	if len(removed) > 0 {
		if err := w.syncDir(w.dir); err != nil {
			errs = append(errs, fmt.Errorf("sync %s: %w", w.dir, err))
		}
	}
	w.mu.Lock()
	w.segs = slices.DeleteFunc(w.segs, func(s segInfo) bool {
		_, found := slices.BinarySearchFunc(removed, s.num, func(r segInfo, n uint64) int { return cmp.Compare(r.num, n) })
		if found {
			w.diskBytes -= s.size
		}
		return found
	})
	w.mu.Unlock()
	if len(errs) > 0 {
		return fmt.Errorf("wal: remove segments: %w", errors.Join(errs...))
	}
	return nil
}

// Close waits for appends in progress, syncs and closes the open segment.
// It is idempotent: later calls return the first call's result. After
// Close every method but Stats returns ErrClosed.
func (w *WAL) Close() error {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closed = true // no more appends or rotations can queue
		var err error
		if w.err == nil {
			// Everything queued belongs to callers still waiting; make
			// sure it is written even if none of them is leader yet.
			err = w.waitLocked(w.fillBatch)
		}
		w.flushing = true // no leader can run again; the file is ours
		failed := w.err != nil
		w.mu.Unlock()
		if w.f != nil {
			if failed {
				// Syncing now could report a false success; see commitLocked.
				w.fDirty = false
			}
			err = errors.Join(err, w.closeSegment())
		}
		if err != nil && !errors.Is(err, ErrFailed) {
			err = fmt.Errorf("wal: close: %w", err)
		}
		w.closeErr = err
	})
	return w.closeErr
}

// Stats returns the counters. Safe to call at any time, also after Close.
func (w *WAL) Stats() Stats {
	w.mu.Lock()
	segments, disk := len(w.segs), w.diskBytes
	w.mu.Unlock()
	return Stats{
		Records:   w.records.Load(),
		Bytes:     w.bytes.Load(),
		Commits:   w.commits.Load(),
		Syncs:     w.syncs.Load(),
		Segments:  segments,
		DiskBytes: disk,
	}
}

// ensureDir creates dir if it is missing and makes its entry durable in
// the parent, so a segment synced inside it cannot vanish with it.
func (w *WAL) ensureDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return w.syncDir(filepath.Dir(dir))
}

// syncDir fsyncs a directory, which makes file creations, renames and
// removals in it durable.
func (w *WAL) syncDir(dir string) error {
	if w.noSync {
		return nil
	}
	w.syncs.Add(1)
	return SyncDir(dir)
}

// SyncDir fsyncs a directory, so that files created, renamed or removed
// in it stay so after a crash. The column store and the alert journal use
// it for their own files too.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}
