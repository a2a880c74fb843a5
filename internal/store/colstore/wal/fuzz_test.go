package wal

import (
	"bytes"
	"errors"
	"os"
	"runtime"
	"slices"
	"testing"
)

// FuzzReplay replays an arbitrary first segment followed by an intact
// one. Replay must not panic, must not allocate much more than the input,
// must still replay the intact segment, and its repair must be final: a
// second replay yields the same records and finds no damage.
func FuzzReplay(f *testing.F) {
	valid := appendSegmentHeader(nil)
	for _, r := range [][]byte{[]byte("first"), {}, bytes.Repeat([]byte{0xab}, 300)} {
		h := frameHeader(r)
		valid = append(valid, h[:]...)
		valid = append(valid, r...)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)-1])
	f.Add(valid[:headerSize+3])
	f.Add(valid[:headerSize])
	f.Add(valid[:7])
	f.Add([]byte{})
	flipped := bytes.Clone(valid)
	flipped[headerSize+frameHeaderSize+2] ^= 0x80
	f.Add(flipped)
	huge := bytes.Clone(valid)
	copy(huge[headerSize:], []byte{0xff, 0xff, 0xff, 0x03}) // just under MaxRecordSize
	f.Add(huge)
	f.Add(append(bytes.Clone(valid), make([]byte, 64)...))

	sentinel := []byte("the intact segment after the fuzzed one")
	last := appendSegmentHeader(nil)
	h := frameHeader(sentinel)
	last = append(append(last, h[:]...), sentinel...)

	f.Fuzz(func(t *testing.T, data []byte) {
		// An odd first byte means "behind a valid header", so mutations
		// explore record framing instead of mostly breaking the header
		// checksum.
		if len(data) > 0 && data[0]&1 == 1 {
			data = append(appendSegmentHeader(nil), data[1:]...)
		}
		dir := t.TempDir()
		if err := os.WriteFile(segPath(dir, 1), data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(segPath(dir, 2), last, 0o644); err != nil {
			t.Fatal(err)
		}
		replay := func() ([][]byte, ReplayStats, error) {
			w, err := Open(Options{Dir: dir, NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			var recs [][]byte
			st, err := w.Replay(func(rec []byte) error {
				recs = append(recs, bytes.Clone(rec))
				return nil
			})
			return recs, st, err
		}

		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		recs, st, err := replay()
		runtime.ReadMemStats(&after)
		// The read buffer, the records, their copies, and small change.
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4*uint64(len(data))+readBufferSize+1<<20 {
			t.Fatalf("replaying %d bytes allocated %d", len(data), alloc)
		}
		if err != nil {
			if errors.Is(err, ErrUnsupportedVersion) {
				return
			}
			t.Fatal(err)
		}
		if len(recs) == 0 || !bytes.Equal(recs[len(recs)-1], sentinel) {
			t.Fatalf("the intact second segment was not replayed last (%d records)", len(recs))
		}
		for _, c := range st.Corrupt {
			if c.Segment != 1 || c.Quarantine == "" || !(errors.Is(c.Err, ErrCorrupt) || errors.Is(c.Err, ErrTruncated)) {
				t.Fatalf("damage reported as %+v", c)
			}
		}
		again, st2, err := replay()
		if err != nil {
			t.Fatal(err)
		}
		if len(st2.Corrupt) != 0 || !slices.EqualFunc(recs, again, bytes.Equal) {
			t.Fatalf("second replay differs: %d vs %d records, damage %+v", len(again), len(recs), st2.Corrupt)
		}
	})
}
