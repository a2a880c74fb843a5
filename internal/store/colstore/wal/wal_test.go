package wal

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// record returns a deterministic record for id, of a length that varies
// with id, so replayed bytes can be checked against what was appended.
func record(id uint64) []byte {
	n := 8 + int(id%97)
	rec := make([]byte, n)
	binary.LittleEndian.PutUint64(rec, id)
	for i := 8; i < n; i++ {
		rec[i] = byte(id) ^ byte(i)
	}
	return rec
}

// recordID checks rec against record and returns its id.
func recordID(t testing.TB, rec []byte) uint64 {
	t.Helper()
	if len(rec) < 8 {
		t.Fatalf("record of %d bytes", len(rec))
	}
	id := binary.LittleEndian.Uint64(rec)
	if !bytes.Equal(rec, record(id)) {
		t.Fatalf("record %d: contents differ", id)
	}
	return id
}

func mustOpen(t testing.TB, opts Options) *WAL {
	t.Helper()
	w, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func mustAppend(t testing.TB, w *WAL, rec []byte) uint64 {
	t.Helper()
	seg, err := w.Append(rec)
	if err != nil {
		t.Fatal(err)
	}
	return seg
}

// replayIDs opens dir, replays it and returns the ids in replay order.
func replayIDs(t testing.TB, dir string) ([]uint64, ReplayStats) {
	t.Helper()
	w := mustOpen(t, Options{Dir: dir, NoSync: true})
	var ids []uint64
	st, err := w.Replay(func(rec []byte) error {
		ids = append(ids, recordID(t, rec))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return ids, st
}

func seq(from, to uint64) []uint64 {
	var s []uint64
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func segPath(dir string, n uint64) string { return filepath.Join(dir, segmentName(n)) }

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, Options{Dir: dir})
	if _, err := w.Replay(func([]byte) error { t.Fatal("empty log replayed a record"); return nil }); err != nil {
		t.Fatal(err)
	}
	want := [][]byte{{}, []byte("a"), make([]byte, 1<<20), []byte("last")}
	for _, rec := range want {
		if seg := mustAppend(t, w, rec); seg != 1 {
			t.Fatalf("record in segment %d, want 1", seg)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	w = mustOpen(t, Options{Dir: dir})
	var got [][]byte
	st, err := w.Replay(func(rec []byte) error {
		got = append(got, bytes.Clone(rec))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(got, want, bytes.Equal) {
		t.Fatalf("replayed %d records, not the %d appended", len(got), len(want))
	}
	wantBytes := int64(0)
	for _, r := range want {
		wantBytes += int64(len(r))
	}
	if st.Segments != 1 || st.Records != len(want) || st.Bytes != wantBytes || len(st.Corrupt) != 0 {
		t.Fatalf("stats %+v", st)
	}
	// Appends after a replay go to a new segment, never after an old tail.
	if seg := mustAppend(t, w, []byte("new")); seg != 2 {
		t.Fatalf("append after replay in segment %d, want 2", seg)
	}
}

func TestConcurrentAppend(t *testing.T) {
	const writers, perWriter = 32, 300
	dir := t.TempDir()
	// Small segments, so size rotation happens inside batches.
	w := mustOpen(t, Options{Dir: dir, SegmentSize: 16 << 10, NoSync: true})
	segOf := make([]uint64, writers*perWriter)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range perWriter {
				id := uint64(g*perWriter + i)
				seg, err := w.Append(record(id))
				if err != nil {
					t.Error(err)
					return
				}
				segOf[id] = seg
			}
		})
	}
	wg.Wait()
	st := w.Stats()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if st.Records != writers*perWriter || st.Segments < 2 {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("%d records in %d commits over %d segments", st.Records, st.Commits, st.Segments)

	// Every record exactly once, each writer's in its order, and each in
	// the segment Append named.
	seen := make([]bool, writers*perWriter)
	last := make([]int, writers)
	for i := range last {
		last[i] = -1
	}
	entries, _ := os.ReadDir(dir)
	total := 0
	for _, e := range entries {
		num, ok := parseSegmentName(e.Name())
		if !ok {
			continue
		}
		info, _ := e.Info()
		if info.Size() > 16<<10 {
			t.Errorf("segment %d is %d bytes, over SegmentSize", num, info.Size())
		}
		for _, rec := range readSegment(t, dir, num) {
			id := recordID(t, rec)
			if seen[id] {
				t.Fatalf("record %d replayed twice", id)
			}
			seen[id] = true
			total++
			if segOf[id] != num {
				t.Fatalf("record %d is in segment %d, Append said %d", id, num, segOf[id])
			}
			g, i := int(id)/perWriter, int(id)%perWriter
			if i <= last[g] {
				t.Fatalf("writer %d: record %d after %d", g, i, last[g])
			}
			last[g] = i
		}
	}
	if total != writers*perWriter {
		t.Fatalf("found %d records, appended %d", total, writers*perWriter)
	}
	ids, _ := replayIDs(t, dir)
	if len(ids) != total {
		t.Fatalf("Replay yielded %d records, segments hold %d", len(ids), total)
	}
}

// readSegment returns the records of one segment, failing on damage.
func readSegment(t testing.TB, dir string, num uint64) [][]byte {
	t.Helper()
	f, err := os.Open(segPath(dir, num))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, _ := f.Stat()
	sc := scanner{br: bufio.NewReader(nil)}
	var recs [][]byte
	var st ReplayStats
	_, damage, err := sc.scan(f, info.Size(), func(rec []byte) error {
		recs = append(recs, bytes.Clone(rec))
		return nil
	}, &st)
	if err != nil || damage != nil {
		t.Fatalf("segment %d: %v %v", num, err, damage)
	}
	return recs
}

func TestRotateAndRemoveBefore(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, Options{Dir: dir, NoSync: true})
	if _, err := w.Replay(func([]byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	// Rotating an idle log creates nothing and keeps the number.
	s1, err := w.Rotate()
	if err != nil || s1 != 1 {
		t.Fatalf("Rotate = %d, %v; want 1", s1, err)
	}
	mustAppend(t, w, record(0))
	mustAppend(t, w, record(1))
	s2, err := w.Rotate()
	if err != nil || s2 != 2 {
		t.Fatalf("Rotate = %d, %v; want 2", s2, err)
	}
	if again, _ := w.Rotate(); again != s2 {
		t.Fatalf("second Rotate with nothing appended = %d, want %d", again, s2)
	}
	if seg := mustAppend(t, w, record(2)); seg != s2 {
		t.Fatalf("append after Rotate in segment %d, want %d", seg, s2)
	}
	if st := w.Stats(); st.Segments != 2 {
		t.Fatalf("%d segments on disk, want 2", st.Segments)
	}
	if err := w.RemoveBefore(s2); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(segPath(dir, 1)); !os.IsNotExist(err) {
		t.Fatalf("segment 1 still there: %v", err)
	}
	// The segment being written survives any bound.
	if err := w.RemoveBefore(1 << 62); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, w, record(3))
	st := w.Stats()
	if st.Segments != 1 || st.DiskBytes != headerSize+2*frameHeaderSize+int64(len(record(2))+len(record(3))) {
		t.Fatalf("stats %+v", st)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if ids, _ := replayIDs(t, dir); !slices.Equal(ids, []uint64{2, 3}) {
		t.Fatalf("replayed %v, want [2 3]", ids)
	}
}

// writeSegments makes a log of three segments holding records
// [0,10), [10,20) and [20,30) and returns the offsets of segment 2's
// records.
func writeSegments(t *testing.T, dir string) []int64 {
	t.Helper()
	w := mustOpen(t, Options{Dir: dir, NoSync: true})
	var offs []int64
	off := int64(headerSize)
	for i := range uint64(30) {
		if i > 0 && i%10 == 0 {
			if _, err := w.Rotate(); err != nil {
				t.Fatal(err)
			}
		}
		mustAppend(t, w, record(i))
		if i/10 == 1 {
			offs = append(offs, off)
			off += frameHeaderSize + int64(len(record(i)))
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return offs
}

// checkDamage replays a log damaged by writeSegments' caller and checks
// the outcome: segment 2 up to record 10+intact, damage reported with the
// wanted reason, later segments replayed, appends working, and a second
// replay finding the same records and no damage.
func checkDamage(t *testing.T, dir string, intact int, offset int64, reason error) {
	t.Helper()
	want := append(seq(0, uint64(10+intact)), seq(20, 30)...)
	w := mustOpen(t, Options{Dir: dir, NoSync: true})
	var ids []uint64
	st, err := w.Replay(func(rec []byte) error {
		ids = append(ids, recordID(t, rec))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("replayed %v\nwant %v", ids, want)
	}
	if len(st.Corrupt) != 1 {
		t.Fatalf("corrupt segments %+v, want one", st.Corrupt)
	}
	c := st.Corrupt[0]
	if c.Segment != 2 || c.Offset != offset || !errors.Is(c.Err, reason) || c.Quarantine == "" {
		t.Fatalf("damage reported as %+v (%v); want segment 2 offset %d reason %v", c, c.Err, offset, reason)
	}
	if _, err := os.Stat(c.Quarantine); err != nil {
		t.Fatalf("quarantined bytes: %v", err)
	}
	if seg := mustAppend(t, w, record(100)); seg != 4 {
		t.Fatalf("append after recovery in segment %d, want 4", seg)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ids, st = replayIDs(t, dir)
	if want := append(want, 100); !slices.Equal(ids, want) || len(st.Corrupt) != 0 {
		t.Fatalf("second replay: %v, damage %+v\nwant %v", ids, st.Corrupt, want)
	}
}

func TestTornTail(t *testing.T) {
	dir := t.TempDir()
	offs := writeSegments(t, dir)
	// Cut segment 2 in the middle of its record 15 (the sixth).
	if err := os.Truncate(segPath(dir, 2), offs[5]+frameHeaderSize+3); err != nil {
		t.Fatal(err)
	}
	checkDamage(t, dir, 5, offs[5], ErrTruncated)
	if info, err := os.Stat(segPath(dir, 2)); err != nil || info.Size() != offs[5] {
		t.Fatalf("segment 2 not truncated at the last intact record: %v %v", info.Size(), err)
	}
}

func TestTornFrameHeader(t *testing.T) {
	dir := t.TempDir()
	offs := writeSegments(t, dir)
	if err := os.Truncate(segPath(dir, 2), offs[7]+3); err != nil {
		t.Fatal(err)
	}
	checkDamage(t, dir, 7, offs[7], ErrTruncated)
}

func TestFlippedByte(t *testing.T) {
	dir := t.TempDir()
	offs := writeSegments(t, dir)
	flip(t, segPath(dir, 2), offs[4]+frameHeaderSize+2)
	checkDamage(t, dir, 4, offs[4], ErrCorrupt)
}

func TestFlippedLength(t *testing.T) {
	dir := t.TempDir()
	offs := writeSegments(t, dir)
	flip(t, segPath(dir, 2), offs[3]) // low byte of the length: still "fits"
	checkDamage(t, dir, 3, offs[3], ErrCorrupt)
}

func TestHugeLength(t *testing.T) {
	dir := t.TempDir()
	offs := writeSegments(t, dir)
	f, err := os.OpenFile(segPath(dir, 2), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xff, 0xff, 0xff, 0xff}, offs[6]); err != nil {
		t.Fatal(err)
	}
	f.Close()
	checkDamage(t, dir, 6, offs[6], ErrCorrupt)
}

func TestZeroFilledTail(t *testing.T) {
	// Some file systems leave zeros where a crash cut a write short; an
	// all-zero frame must not pass for an empty record.
	dir := t.TempDir()
	offs := writeSegments(t, dir)
	f, err := os.OpenFile(segPath(dir, 2), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := f.Stat()
	if _, err := f.WriteAt(make([]byte, info.Size()-offs[8]), offs[8]); err != nil {
		t.Fatal(err)
	}
	f.Close()
	checkDamage(t, dir, 8, offs[8], ErrCorrupt)
}

func flip(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0x01
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptHeader(t *testing.T) {
	dir := t.TempDir()
	writeSegments(t, dir)
	flip(t, segPath(dir, 2), 3)
	w := mustOpen(t, Options{Dir: dir, NoSync: true})
	var ids []uint64
	st, err := w.Replay(func(rec []byte) error {
		ids = append(ids, recordID(t, rec))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := append(seq(0, 10), seq(20, 30)...); !slices.Equal(ids, want) {
		t.Fatalf("replayed %v\nwant %v", ids, want)
	}
	if len(st.Corrupt) != 1 || st.Corrupt[0].Offset != 0 || !errors.Is(st.Corrupt[0].Err, ErrCorrupt) {
		t.Fatalf("damage %+v", st.Corrupt)
	}
	// Nothing in it was intact, so the whole segment was moved aside.
	if _, err := os.Stat(segPath(dir, 2)); !os.IsNotExist(err) {
		t.Fatalf("segment 2 still in place: %v", err)
	}
	if want := filepath.Join(dir, quarantineDir, segmentName(2)+".0"); st.Corrupt[0].Quarantine != want {
		t.Fatalf("quarantined to %q, want %q", st.Corrupt[0].Quarantine, want)
	}
	if st := w.Stats(); st.Segments != 2 {
		t.Fatalf("%d segments on disk, want 2", st.Segments)
	}
}

func TestShortHeader(t *testing.T) {
	dir := t.TempDir()
	writeSegments(t, dir)
	if err := os.Truncate(segPath(dir, 3), 5); err != nil {
		t.Fatal(err)
	}
	ids, st := replayIDs(t, dir)
	if !slices.Equal(ids, seq(0, 20)) || len(st.Corrupt) != 1 || !errors.Is(st.Corrupt[0].Err, ErrTruncated) {
		t.Fatalf("replayed %v, damage %+v", ids, st.Corrupt)
	}
}

func TestEmptySegmentIsNotDamage(t *testing.T) {
	// A crash between creating a segment and writing to it leaves an
	// empty file, which holds no acknowledged record.
	dir := t.TempDir()
	writeSegments(t, dir)
	if err := os.WriteFile(segPath(dir, 4), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ids, st := replayIDs(t, dir)
	if len(ids) != 30 || len(st.Corrupt) != 0 || st.Segments != 4 {
		t.Fatalf("replayed %d records from %d segments, damage %+v", len(ids), st.Segments, st.Corrupt)
	}
}

func TestUnsupportedVersion(t *testing.T) {
	dir := t.TempDir()
	writeSegments(t, dir)
	// An intact header of a future version: refuse, do not discard.
	hdr := appendSegmentHeader(nil)
	binary.LittleEndian.PutUint32(hdr[8:12], formatVersion+1)
	binary.LittleEndian.PutUint32(hdr[12:16], crcOf(hdr[:12]))
	f, err := os.OpenFile(segPath(dir, 2), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(hdr, 0)
	f.Close()
	w := mustOpen(t, Options{Dir: dir, NoSync: true})
	if _, err := w.Replay(func([]byte) error { return nil }); !errors.Is(err, ErrUnsupportedVersion) {
		t.Fatalf("Replay = %v, want ErrUnsupportedVersion", err)
	}
	if _, err := os.Stat(segPath(dir, 2)); err != nil {
		t.Fatalf("segment of a newer version was moved: %v", err)
	}
}

func TestReplayCallbackError(t *testing.T) {
	dir := t.TempDir()
	writeSegments(t, dir)
	w := mustOpen(t, Options{Dir: dir, NoSync: true})
	stop := errors.New("stop")
	n := 0
	_, err := w.Replay(func([]byte) error {
		if n++; n == 12 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("Replay = %v, want the callback's error", err)
	}
}

func TestReplayOrder(t *testing.T) {
	w := mustOpen(t, Options{Dir: t.TempDir(), NoSync: true})
	mustAppend(t, w, []byte("x"))
	if _, err := w.Replay(func([]byte) error { return nil }); !errors.Is(err, ErrReplayOrder) {
		t.Fatalf("Replay after Append = %v", err)
	}

	w = mustOpen(t, Options{Dir: t.TempDir(), NoSync: true})
	if _, err := w.Replay(func([]byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Replay(func([]byte) error { return nil }); !errors.Is(err, ErrReplayOrder) {
		t.Fatalf("second Replay = %v", err)
	}

	// Append from inside the replay callback: refused, not deadlocked.
	dir := t.TempDir()
	writeSegments(t, dir)
	w = mustOpen(t, Options{Dir: dir, NoSync: true})
	var appendErr error
	if _, err := w.Replay(func([]byte) error {
		_, appendErr = w.Append([]byte("x"))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(appendErr, ErrReplayOrder) {
		t.Fatalf("Append during Replay = %v", appendErr)
	}
}

func TestClose(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, Options{Dir: dir})
	mustAppend(t, w, record(1))
	for range 3 {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Append(record(2)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close = %v", err)
	}
	if _, err := w.Rotate(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Rotate after Close = %v", err)
	}
	if err := w.RemoveBefore(10); !errors.Is(err, ErrClosed) {
		t.Fatalf("RemoveBefore after Close = %v", err)
	}
	if _, err := w.Replay(func([]byte) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("Replay after Close = %v", err)
	}
	if st := w.Stats(); st.Records != 1 {
		t.Fatalf("stats after Close %+v", st)
	}
	if ids, _ := replayIDs(t, dir); !slices.Equal(ids, []uint64{1}) {
		t.Fatalf("replayed %v", ids)
	}
}

func TestCloseDuringAppends(t *testing.T) {
	dir := t.TempDir()
	w := mustOpen(t, Options{Dir: dir, NoSync: true})
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		acked []uint64
	)
	for g := range 8 {
		wg.Go(func() {
			for i := uint64(0); ; i++ {
				id := uint64(g)<<32 | i
				if _, err := w.Append(record(id)); err != nil {
					if !errors.Is(err, ErrClosed) {
						t.Error(err)
					}
					return
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		})
	}
	for w.Stats().Records < 1000 {
		runtime.Gosched()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	ids, _ := replayIDs(t, dir)
	slices.Sort(ids)
	for _, id := range acked {
		if _, ok := slices.BinarySearch(ids, id); !ok {
			t.Fatalf("acknowledged record %#x lost", id)
		}
	}
}

func TestRecordTooLarge(t *testing.T) {
	w := mustOpen(t, Options{Dir: t.TempDir(), NoSync: true})
	if _, err := w.Append(make([]byte, MaxRecordSize+1)); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("Append = %v", err)
	}
	mustAppend(t, w, []byte("still works"))
}

// faultyFile fails its Sync or Write with the error it is handed, and
// can hold a Sync until released.
type faultyFile struct {
	*os.File
	mu                  sync.Mutex
	failSync, failWrite error
	hold                chan struct{} // if set, Sync waits for it to close
}

func (f *faultyFile) set(sync, write error, hold chan struct{}) {
	f.mu.Lock()
	f.failSync, f.failWrite, f.hold = sync, write, hold
	f.mu.Unlock()
}

func (f *faultyFile) Sync() error {
	f.mu.Lock()
	hold := f.hold
	f.mu.Unlock()
	if hold != nil {
		<-hold
	}
	f.mu.Lock()
	err := f.failSync
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *faultyFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	err := f.failWrite
	f.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return f.File.Write(p)
}

func injectFaults(t *testing.T, w *WAL) **faultyFile {
	var ff *faultyFile
	w.create = func(path string) (segmentFile, error) {
		f, err := createSegmentFile(path)
		if err != nil {
			return nil, err
		}
		ff = &faultyFile{File: f.(*os.File)}
		return ff, nil
	}
	return &ff
}

func TestSyncFailure(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name        string
		sync, write error
	}{
		{"sync", boom, nil},
		{"write", nil, boom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := mustOpen(t, Options{Dir: t.TempDir()})
			ff := injectFaults(t, w)
			mustAppend(t, w, record(1))

			// The first writer leads and hangs in its fsync, the others
			// queue behind it; then the fsync (or the next write) fails.
			hold := make(chan struct{})
			(*ff).set(nil, nil, hold)
			const writers = 16
			var wg sync.WaitGroup
			errs := make([]error, writers)
			for i := range errs {
				wg.Go(func() { _, errs[i] = w.Append(record(uint64(i))) })
			}
			for {
				w.mu.Lock()
				queued := w.fill.records
				w.mu.Unlock()
				if queued == writers-1 {
					break
				}
				runtime.Gosched()
			}
			(*ff).set(tc.sync, tc.write, nil)
			close(hold)
			wg.Wait()

			// A failed fsync fails everyone; a failed write fails the
			// queued batch, while the held one's fsync succeeded.
			wantFailed := writers
			if tc.write != nil {
				wantFailed = writers - 1
			}
			failed := 0
			for i, err := range errs {
				if err == nil {
					continue
				}
				if !errors.Is(err, ErrFailed) || !errors.Is(err, boom) {
					t.Fatalf("writer %d: %v, want ErrFailed wrapping the cause", i, err)
				}
				failed++
			}
			if failed != wantFailed {
				t.Fatalf("%d writers failed, want %d", failed, wantFailed)
			}
			// No retry: the log stays failed even once the disk "recovers".
			(*ff).set(nil, nil, nil)
			if _, err := w.Append(record(2)); !errors.Is(err, ErrFailed) {
				t.Fatalf("Append after failure = %v", err)
			}
			if _, err := w.Rotate(); !errors.Is(err, ErrFailed) {
				t.Fatalf("Rotate after failure = %v", err)
			}
			if err := w.Close(); err != nil {
				t.Fatalf("Close after failure = %v", err)
			}
		})
	}
}

func TestCreateFailure(t *testing.T) {
	w := mustOpen(t, Options{Dir: t.TempDir(), NoSync: true})
	boom := errors.New("no space")
	w.create = func(string) (segmentFile, error) { return nil, boom }
	if _, err := w.Append(record(1)); !errors.Is(err, boom) {
		t.Fatalf("Append = %v", err)
	}
	if err := w.Close(); err != nil && !errors.Is(err, ErrFailed) {
		t.Fatalf("Close = %v", err)
	}
}

func TestStats(t *testing.T) {
	w := mustOpen(t, Options{Dir: t.TempDir()})
	for i := range uint64(5) {
		mustAppend(t, w, record(i))
	}
	st := w.Stats()
	var payload uint64
	for i := range uint64(5) {
		payload += uint64(len(record(i)))
	}
	wantBytes := headerSize + 5*frameHeaderSize + payload
	// Sequential appends: one commit and one file fsync each, plus one
	// directory fsync for the new segment.
	if st.Records != 5 || st.Commits != 5 || st.Syncs != 6 || st.Bytes != wantBytes ||
		st.Segments != 1 || st.DiskBytes != int64(wantBytes) {
		t.Fatalf("stats %+v, want %d bytes", st, wantBytes)
	}
}

func TestAppendAllocs(t *testing.T) {
	w := mustOpen(t, Options{Dir: t.TempDir(), NoSync: true})
	rec := make([]byte, 128)
	mustAppend(t, w, rec) // create the segment, grow the buffers
	mustAppend(t, w, rec)
	if n := testing.AllocsPerRun(1000, func() { w.Append(rec) }); n != 0 {
		t.Fatalf("Append allocates %v times per call, want 0", n)
	}
}

func TestSegmentNames(t *testing.T) {
	for _, n := range []uint64{0, 1, 42, 1<<64 - 1} {
		name := segmentName(n)
		if len(name) != segmentNameLen {
			t.Fatalf("%q: length %d", name, len(name))
		}
		if got, ok := parseSegmentName(name); !ok || got != n {
			t.Fatalf("parse %q = %d %v", name, got, ok)
		}
	}
	for _, name := range []string{"", "1.wal", "0000000000000000000a.wal", "00000000000000000001.wa_", "99999999999999999999.wal"} {
		if _, ok := parseSegmentName(name); ok {
			t.Fatalf("%q parsed as a segment", name)
		}
	}
}

func TestOpenIgnoresOtherFiles(t *testing.T) {
	dir := t.TempDir()
	writeSegments(t, dir)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644)
	os.Mkdir(filepath.Join(dir, "00000000000000000009.wal"), 0o755) // a directory, not a segment
	ids, st := replayIDs(t, dir)
	if len(ids) != 30 || st.Segments != 3 {
		t.Fatalf("replayed %d records from %d segments", len(ids), st.Segments)
	}
}

func crcOf(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

func ExampleWAL() {
	dir, _ := os.MkdirTemp("", "wal")
	defer os.RemoveAll(dir)

	w, _ := Open(Options{Dir: dir})
	w.Replay(func(rec []byte) error { return nil }) // nothing yet
	seg, _ := w.Append([]byte("hello"))
	w.Close()

	w, _ = Open(Options{Dir: dir})
	w.Replay(func(rec []byte) error {
		fmt.Printf("%s from a log whose last write was in segment %d\n", rec, seg)
		return nil
	})
	w.Close()
	// Output: hello from a log whose last write was in segment 1
}

func TestLengthCRC(t *testing.T) {
	for _, n := range []uint32{0, 1, 255, 256, 1 << 20, 1<<32 - 1} {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], n)
		if got, want := lengthCRC(n), crc32.Checksum(b[:], castagnoli); got != want {
			t.Fatalf("lengthCRC(%d) = %#x, want %#x", n, got, want)
		}
	}
}
