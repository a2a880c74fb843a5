package colstore

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// validPart writes a small part and returns its bytes, as a fuzz seed.
func validPart(t testing.TB) []byte {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, WALNoSync: true, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), testRows(50, time.Now().UnixNano())); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	parts, _ := filepath.Glob(filepath.Join(dir, "*", "*"+partExt))
	b, err := os.ReadFile(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzReadPart opens arbitrary bytes as a part file and reads every row:
// a damaged part must give an error, never a panic or a huge allocation.
func FuzzReadPart(f *testing.F) {
	valid := validPart(f)
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(maxDecodedSize))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "0000000000000001"+partExt)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := openPart(path, dec)
		if err != nil {
			return
		}
		defer p.decRef()
		it := &partIterator{p: p, dec: dec}
		for more := len(p.meta.blocks) > 0; more; more = it.next() {
			if !it.loaded && !it.load() {
				break
			}
		}
	})
}

// FuzzDecodeRecord decodes arbitrary bytes as a write-ahead log record.
func FuzzDecodeRecord(f *testing.F) {
	rows := testRows(5, 1)
	ptrs := make([]*Row, len(rows))
	for i := range rows {
		ptrs[i] = &rows[i]
	}
	batch, err := appendBatch(nil, ptrs)
	if err != nil {
		f.Fatal(err)
	}
	rec := binary.AppendUvarint([]byte{recordVersion}, 1)
	rec = binary.AppendVarint(rec, 0)
	rec = binary.AppendUvarint(rec, uint64(len(batch)))
	rec = append(rec, batch...)
	if _, err := decodeRecord(rec); err != nil {
		f.Fatal(err)
	}
	f.Add(rec)
	f.Add(rec[:len(rec)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		batches, err := decodeRecord(data)
		if err != nil {
			return
		}
		br := &batchReader{}
		for _, b := range batches {
			br.reset(b.batch.data)
			for {
				if ok, _ := br.next(); !ok {
					break
				}
			}
		}
	})
}
