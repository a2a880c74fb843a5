package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// readBufferSize is the read-ahead of Replay: big enough that a segment
// is read in few system calls, small enough not to matter in memory.
const readBufferSize = 256 << 10

// ReplayStats describe what Replay found.
type ReplayStats struct {
	Segments int   // segment files read
	Records  int   // records passed to fn
	Bytes    int64 // their payload bytes
	// Corrupt lists the segments that were damaged, in order. Their
	// intact prefix was replayed.
	Corrupt []CorruptSegment
}

// CorruptSegment describes one damaged segment.
type CorruptSegment struct {
	Segment uint64 // segment number
	// Offset is where the damage starts: every record before it was
	// replayed, nothing from it on.
	Offset int64
	// Err says what was wrong; it wraps ErrTruncated or ErrCorrupt.
	Err error
	// Quarantine is the file the damaged bytes were moved to, or "" if
	// moving them failed (the error is logged; the segment was left as
	// it was and is replayed the same way next time).
	Quarantine string
}

// Replay calls fn with every intact record of every segment that existed
// at Open, oldest first. It must be called at most once, before the first
// Append or Rotate; skipping it leaves old segments untouched. fn must not
// retain rec after it returns: the buffer is reused. If fn returns an
// error, Replay stops and returns it.
//
// A segment that ends inside a record, or whose header or a record does
// not check out, yields its intact prefix. The damage is logged and
// reported in ReplayStats.Corrupt, and replay goes on with the next
// segment. The bytes from the damage on are copied into the quarantine/
// subdirectory and the segment is truncated at its last intact record, so
// the replayed prefix stays in the log (and survives another crash) until
// the caller's RemoveBefore retires it. A segment with no intact record is
// moved into quarantine/ whole.
//
// Replay fails, reading nothing further, on an I/O error other than a
// short file and on a segment of an unknown format version: both may be
// fixable, so discarding the data would be wrong.
func (w *WAL) Replay(fn func(rec []byte) error) (ReplayStats, error) {
	var st ReplayStats
	w.mu.Lock()
	switch {
	case w.closed:
		w.mu.Unlock()
		return st, ErrClosed
	case w.replay != replayNone || w.started:
		w.mu.Unlock()
		return st, ErrReplayOrder
	}
	w.replay = replayRunning
	segs := slices.Clone(w.segs)
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.replay = replayDone
		w.mu.Unlock()
	}()

	sc := scanner{br: bufio.NewReaderSize(nil, readBufferSize)}
	for _, s := range segs {
		if err := w.replaySegment(s.num, &sc, fn, &st); err != nil {
			return st, err
		}
	}
	return st, nil
}

// replaySegment replays one segment and deals with its damage, if any.
func (w *WAL) replaySegment(num uint64, sc *scanner, fn func([]byte) error, st *ReplayStats) error {
	name := segmentName(num)
	f, err := os.Open(filepath.Join(w.dir, name))
	if err != nil {
		return fmt.Errorf("wal: replay segment %s: %w", name, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("wal: replay segment %s: %w", name, err)
	}
	size := info.Size()
	st.Segments++
	good, damage, err := sc.scan(f, size, fn, st)
	f.Close()
	if err != nil {
		return fmt.Errorf("wal: replay segment %s: %w", name, err)
	}
	if damage != nil {
		st.Corrupt = append(st.Corrupt, w.moveAside(num, size, good, damage))
	}
	return nil
}

// scanner reads segments with reused buffers.
type scanner struct {
	br      *bufio.Reader
	payload []byte
	hdr     [headerSize]byte
	fh      [frameHeaderSize]byte
}

// scan reads one segment of size bytes from src and calls fn with each
// intact record. It returns the offset just past the last intact record
// and, if the segment is damaged from there on, why. err is for failures
// that are not damage: I/O errors, an unknown version, fn's error.
//
// Allocation is bounded: a record is read only if its length is at most
// MaxRecordSize and at most the bytes left in the segment.
func (sc *scanner) scan(src io.Reader, size int64, fn func([]byte) error, st *ReplayStats) (good int64, damage, err error) {
	if size == 0 {
		// Created but never written: the process died right after the
		// creation, before any record in it was acknowledged.
		return 0, nil, nil
	}
	if size < headerSize {
		return 0, fmt.Errorf("%w: %d-byte segment, shorter than its header", ErrTruncated, size), nil
	}
	sc.br.Reset(src)
	if _, err := io.ReadFull(sc.br, sc.hdr[:]); err != nil {
		return shortRead(0, err)
	}
	if err := checkSegmentHeader(sc.hdr[:]); err != nil {
		if errors.Is(err, ErrUnsupportedVersion) {
			return 0, nil, err
		}
		return 0, err, nil
	}
	off := int64(headerSize)
	fh := sc.fh[:]
	for {
		left := size - off
		switch {
		case left == 0:
			return off, nil, nil
		case left < frameHeaderSize:
			return off, fmt.Errorf("%w: %d bytes left at offset %d, less than a record header", ErrTruncated, left, off), nil
		}
		if _, err := io.ReadFull(sc.br, fh); err != nil {
			return shortRead(off, err)
		}
		n := binary.LittleEndian.Uint32(fh[0:4])
		switch {
		case n > MaxRecordSize:
			return off, fmt.Errorf("%w: record at offset %d claims %d bytes, over the %d limit", ErrCorrupt, off, n, MaxRecordSize), nil
		case int64(n) > left-frameHeaderSize:
			return off, fmt.Errorf("%w: record at offset %d claims %d bytes, %d left", ErrTruncated, off, n, left-frameHeaderSize), nil
		}
		if cap(sc.payload) < int(n) {
			sc.payload = make([]byte, n)
		}
		p := sc.payload[:n]
		if _, err := io.ReadFull(sc.br, p); err != nil {
			return shortRead(off, err)
		}
		want := binary.LittleEndian.Uint32(fh[4:8])
		if got := crc32.Update(lengthCRC(n), castagnoli, p); got != want {
			return off, fmt.Errorf("%w: record at offset %d: checksum %#08x, computed %#08x", ErrCorrupt, off, want, got), nil
		}
		if err := fn(p); err != nil {
			return off, nil, fmt.Errorf("record at offset %d: %w", off, err)
		}
		st.Records++
		st.Bytes += int64(n)
		off += frameHeaderSize + int64(n)
	}
}

// shortRead classifies a read error: hitting the end of a file that
// shrank since it was measured is damage at off; anything else is an I/O
// error.
func shortRead(off int64, err error) (int64, error, error) {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return off, fmt.Errorf("%w: file ends early at offset %d", ErrTruncated, off), nil
	}
	return off, nil, err
}

// moveAside moves the damaged bytes of segment num, from offset good on,
// into quarantine/, and reports it.
//
// The segment is truncated at the last intact record, with the cut-off
// bytes copied aside first, rather than moved aside whole. Moving it
// whole would keep the evidence just as well, but the records of the
// intact prefix, which were acknowledged to clients, would then live only
// in the caller's memory until its next flush: a second crash before that
// would lose them. Truncated, the segment replays the same prefix again
// after any number of crashes, and the next Rotate and RemoveBefore
// retire it as usual. A segment with no intact record at all is simply
// moved. Both steps are idempotent, so a crash in the middle is repaired
// by the next replay finding the same damage.
func (w *WAL) moveAside(num uint64, size, good int64, damage error) CorruptSegment {
	cs := CorruptSegment{Segment: num, Offset: good, Err: damage}
	name := segmentName(num)
	lost := size - good
	var q string
	var err error
	if good <= headerSize {
		q, err = w.quarantineWhole(num)
	} else {
		q, err = w.quarantineTail(num, good)
	}
	if err != nil {
		w.log.Error("write-ahead log segment damaged, and moving the damage aside failed; leaving it in place",
			"segment", name, "offset", good, "reason", damage, "lost_bytes", lost, "error", err)
		return cs
	}
	cs.Quarantine = q
	w.log.Warn("write-ahead log segment damaged; replayed its intact prefix and moved the rest aside",
		"segment", name, "offset", good, "reason", damage, "lost_bytes", lost, "quarantine", q)
	return cs
}

// quarantineWhole moves segment num into quarantine/.
func (w *WAL) quarantineWhole(num uint64) (string, error) {
	qdir := filepath.Join(w.dir, quarantineDir)
	if err := w.ensureDir(qdir); err != nil {
		return "", err
	}
	q, err := freeName(filepath.Join(qdir, segmentName(num)+".0"))
	if err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(w.dir, segmentName(num)), q); err != nil {
		return "", err
	}
	if err := errors.Join(w.syncDir(qdir), w.syncDir(w.dir)); err != nil {
		return "", err
	}
	w.mu.Lock()
	w.segs = slices.DeleteFunc(w.segs, func(s segInfo) bool {
		if s.num == num {
			w.diskBytes -= s.size
			return true
		}
		return false
	})
	w.mu.Unlock()
	return q, nil
}

// quarantineTail copies segment num from offset good on into quarantine/
// and then truncates the segment there.
func (w *WAL) quarantineTail(num uint64, good int64) (string, error) {
	qdir := filepath.Join(w.dir, quarantineDir)
	if err := w.ensureDir(qdir); err != nil {
		return "", err
	}
	q, err := freeName(filepath.Join(qdir, segmentName(num)+"."+strconv.FormatInt(good, 10)))
	if err != nil {
		return "", err
	}
	path := filepath.Join(w.dir, segmentName(num))
	if err := w.copyTail(path, good, q); err != nil {
		return "", err
	}
	if err := w.syncDir(qdir); err != nil {
		return "", err
	}
	// Only now, with the copy durable, cut the segment.
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return "", err
	}
	err = f.Truncate(good)
	if err == nil && !w.noSync {
		w.syncs.Add(1)
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		return "", err
	}
	w.mu.Lock()
	for i := range w.segs {
		if w.segs[i].num == num {
			w.diskBytes -= w.segs[i].size - good
			w.segs[i].size = good
		}
	}
	w.mu.Unlock()
	return q, nil
}

// copyTail copies src from offset off on into a new file dst, durably.
func (w *WAL) copyTail(src string, off int64, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if _, err := in.Seek(off, io.SeekStart); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil && !w.noSync {
		w.syncs.Add(1)
		err = out.Sync()
	}
	return errors.Join(err, out.Close())
}

// freeName returns path, or path with a ".N" suffix if path exists:
// segment numbers start again at 1 when every segment has been removed,
// so an old quarantined file may carry the same name.
func freeName(path string) (string, error) {
	for i := 0; ; i++ {
		p := path
		if i > 0 {
			p = path + "." + strconv.Itoa(i)
		}
		_, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return p, nil
		}
		if err != nil {
			return "", err
		}
	}
}
