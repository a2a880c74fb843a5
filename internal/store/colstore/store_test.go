package colstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func openTest(t *testing.T, dir string, mod ...func(*Options)) *Store {
	t.Helper()
	opts := Options{Dir: dir, WALNoSync: true, FlushInterval: time.Hour}
	for _, m := range mod {
		m(&opts)
	}
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testRows(n int, base int64) []Row {
	rows := make([]Row, n)
	for i := range rows {
		svc := fmt.Sprintf("svc-%d", i%3)
		rows[i] = Row{
			Stream: []Label{{"service.name", svc}},
			Time:   base + int64(i)*int64(time.Millisecond),
			Fields: []Field{
				{Name: "id", Type: TypeID, Bytes: []byte(fmt.Sprintf("id-%06d", i))},
				{Name: "name", Type: TypeString, Str: fmt.Sprintf("op-%d", i%5)},
				{Name: "n", Type: TypeInt, Int: int64(i)},
				{Name: "blob", Type: TypeBytes, Bytes: []byte{byte(i), byte(i >> 8)}},
				{Name: "msg", Type: TypeText, Str: fmt.Sprintf("GET /orders/%d took %dms", i, i%100)},
			},
		}
		if i%7 == 0 {
			rows[i].Fields = append(rows[i].Fields, Field{Name: "rare", Type: TypeString, Str: "seven"})
		}
	}
	return rows
}

type gotRow struct {
	stream string
	time   int64
	fields string
}

func collect(t *testing.T, s *Store, q Query) []gotRow {
	t.Helper()
	var out []gotRow
	err := s.Search(context.Background(), q, func(r *Row) bool {
		g := gotRow{stream: fmt.Sprint(r.Stream), time: r.Time}
		fs := slices.Clone(r.Fields)
		slices.SortFunc(fs, func(a, b Field) int {
			if a.Name < b.Name {
				return -1
			}
			return 1
		})
		for _, f := range fs {
			switch f.Type {
			case TypeInt:
				if f.Int != 0 {
					g.fields += fmt.Sprintf("%s=%d ", f.Name, f.Int)
				}
			case TypeString, TypeText:
				if f.Str != "" {
					g.fields += fmt.Sprintf("%s=%s ", f.Name, f.Str)
				}
			default:
				if len(f.Bytes) > 0 {
					g.fields += fmt.Sprintf("%s=%x ", f.Name, f.Bytes)
				}
			}
		}
		out = append(out, g)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(out, func(a, b gotRow) int {
		if a.time != b.time {
			if a.time < b.time {
				return -1
			}
			return 1
		}
		if a.stream < b.stream {
			return -1
		}
		return 1
	})
	return out
}

// TestSearchSameBeforeAndAfterFlushAndMerge checks that a query answers
// the same from the memtable, from parts, and from merged parts.
func TestSearchSameBeforeAndAfterFlushAndMerge(t *testing.T) {
	s := openTest(t, t.TempDir())
	base := time.Now().Add(-time.Hour).UnixNano()
	ctx := context.Background()
	for i := 0; i < 8; i++ {
		if err := s.Write(ctx, testRows(1000, base+int64(i)*int64(time.Second))); err != nil {
			t.Fatal(err)
		}
	}
	queries := map[string]Query{
		"all":      {},
		"id":       {Filters: []Filter{{Column: "id", Type: TypeID, Op: OpEqual, Value: []byte("id-000123")}}},
		"name":     {Filters: []Filter{{Column: "name", Type: TypeString, Op: OpEqual, Value: []byte("op-3")}}},
		"rare":     {Filters: []Filter{{Column: "rare", Type: TypeString, Op: OpEqual, Value: []byte("seven")}}},
		"missing":  {Filters: []Filter{{Column: "nope", Type: TypeString, Op: OpEqual, Value: []byte("x")}}},
		"range":    {Filters: []Filter{{Column: "n", Type: TypeInt, Op: OpRange, Min: 100, Max: 120}}},
		"time":     {MinTime: base + 500*int64(time.Millisecond), MaxTime: base + 600*int64(time.Millisecond)},
		"stream":   {Stream: func(l []Label) bool { return l[0].Value == "svc-1" }},
		"project":  {Columns: []string{"name"}},
		"contains": {Filters: []Filter{{Column: "msg", Type: TypeText, Op: OpContains, Value: []byte("/orders/12 took")}}},
		"words":    {Filters: []Filter{{Column: "msg", Type: TypeText, Op: OpContains, Value: []byte("took 7ms"), Words: [][]byte{[]byte("took")}}}},
		"combined": {Stream: func(l []Label) bool { return l[0].Value == "svc-2" }, Filters: []Filter{{Column: "name", Type: TypeString, Op: OpEqual, Value: []byte("op-0")}}},
	}
	before := map[string][]gotRow{}
	for name, q := range queries {
		before[name] = collect(t, s, q)
	}
	if n := len(before["all"]); n != 8000 {
		t.Fatalf("all rows: %d", n)
	}
	if n := len(before["id"]); n != 8 {
		t.Fatalf("id rows: %d", n)
	}
	if n := len(before["contains"]); n != 8 { // not /orders/120 and up
		t.Fatalf("contains rows: %d", n)
	}
	if n := len(before["missing"]); n != 0 {
		t.Fatalf("missing rows: %d", n)
	}
	check := func(stage string) {
		t.Helper()
		for name, q := range queries {
			if got := collect(t, s, q); !slices.Equal(got, before[name]) {
				t.Errorf("%s: query %s: %d rows, want %d", stage, name, len(got), len(before[name]))
			}
		}
	}
	for i := 0; i < mergeFanIn; i++ {
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := s.Write(ctx, testRows(10, base+int64(100+i)*int64(time.Second))); err != nil {
			t.Fatal(err)
		}
		for name := range queries {
			before[name] = collect(t, s, queries[name])
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	check("after flush")
	for s.mergeOnce() {
	}
	check("after merge")
	// Five flushes wrote one large part and four small ones of one tier;
	// the small ones must have been merged into one.
	if st := s.Stats(); st.Parts != 2 || st.PartRows != 8040 {
		t.Fatalf("after merge: %d parts, %d rows; want 2 parts, 8040 rows", st.Parts, st.PartRows)
	}
}

func TestReopenKeepsRows(t *testing.T) {
	dir := t.TempDir()
	base := time.Now().Add(-time.Hour).UnixNano()
	s := openTest(t, dir)
	ctx := context.Background()
	if err := s.Write(ctx, testRows(500, base)); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, testRows(300, base+int64(time.Minute))); err != nil {
		t.Fatal(err)
	}
	want := collect(t, s, Query{})
	// Simulate a crash: drop the store without Close, so the last write
	// is only in the WAL.
	s.wal.Close()
	s2 := openTest(t, dir)
	if got := collect(t, s2, Query{}); !slices.Equal(got, want) {
		t.Fatalf("after reopen %d rows, want %d", len(got), len(want))
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	s3 := openTest(t, dir)
	if got := collect(t, s3, Query{}); !slices.Equal(got, want) {
		t.Fatalf("after clean close %d rows, want %d", len(got), len(want))
	}
}

func TestRetentionDropsOldPartitions(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	clock := now
	s := openTest(t, dir, func(o *Options) {
		o.Retention = 48 * time.Hour
		o.Now = func() time.Time { return clock }
	})
	ctx := context.Background()
	for d := 0; d < 5; d++ {
		if err := s.Write(ctx, testRows(10, now.Add(-time.Duration(d)*24*time.Hour).UnixNano())); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats().Partitions; got != 5 {
		t.Fatalf("partitions: %d", got)
	}
	s.applyRetention()
	// The cutoff is May 8 12:00: May 8 still has rows newer than that and
	// stays; May 7 and May 6 end before it and go.
	if got := s.Stats().Partitions; got != 3 {
		t.Fatalf("partitions after retention: %d", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "2026-05-07")); !os.IsNotExist(err) {
		t.Fatalf("expired partition directory still there: %v", err)
	}
	if n := len(collect(t, s, Query{})); n != 30 {
		t.Fatalf("rows after retention: %d", n)
	}
}

func TestCorruptPartIsQuarantined(t *testing.T) {
	dir := t.TempDir()
	base := time.Now().Add(-time.Hour).UnixNano()
	s := openTest(t, dir)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := s.Write(ctx, testRows(100, base+int64(i)*int64(time.Minute))); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	parts, _ := filepath.Glob(filepath.Join(dir, "*", "*"+partExt))
	if len(parts) != 2 {
		t.Fatalf("parts: %v", parts)
	}
	slices.Sort(parts)
	// Truncate the second part: its footer is gone.
	st, _ := os.Stat(parts[1])
	if err := os.Truncate(parts[1], st.Size()/2); err != nil {
		t.Fatal(err)
	}
	s2 := openTest(t, dir)
	if n := len(collect(t, s2, Query{})); n != 100 {
		t.Fatalf("rows after quarantine: %d, want 100", n)
	}
	q, _ := filepath.Glob(filepath.Join(dir, "quarantine", "*"))
	if len(q) != 1 {
		t.Fatalf("quarantine holds %v", q)
	}
}

func TestOverloadRefusesWrites(t *testing.T) {
	s := openTest(t, t.TempDir(), func(o *Options) { o.MaxMemtableBytes = 1 << 10; o.MaxPendingBytes = 4 << 10 })
	ctx := context.Background()
	base := time.Now().UnixNano()
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		err = s.Write(ctx, testRows(50, base))
	}
	if err != ErrOverloaded {
		t.Fatalf("err = %v, want ErrOverloaded", err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, testRows(1, base)); err != nil {
		t.Fatalf("after flush: %v", err)
	}
}

func TestOpenRefusesBadBlockRows(t *testing.T) {
	for _, n := range []int{-1, maxBlockRows + 1} {
		if s, err := Open(Options{Dir: t.TempDir(), BlockRows: n}); err == nil {
			s.Close()
			t.Errorf("BlockRows %d: opened", n)
		}
	}
}

func TestWriteRejectsReservedNames(t *testing.T) {
	s := openTest(t, t.TempDir())
	err := s.Write(context.Background(), []Row{{Time: 1, Fields: []Field{{Name: "_time", Type: TypeInt}}}})
	if err == nil {
		t.Fatal("reserved field name accepted")
	}
}

func TestCorruptBlockIsSkipped(t *testing.T) {
	dir := t.TempDir()
	base := time.Now().Add(-time.Hour).UnixNano()
	s := openTest(t, dir)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		rows := testRows(100, base+int64(i)*int64(time.Minute))
		for j := range rows {
			rows[j].Stream = []Label{{"service.name", fmt.Sprint("part-", i)}}
		}
		if err := s.Write(ctx, rows); err != nil {
			t.Fatal(err)
		}
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	// Damage the first column block of the middle part (so the search
	// must go on past it whichever way it orders parts), inside the
	// data, where only the block checksum can notice.
	s.mu.RLock()
	var pt *part
	for _, p := range s.partitions {
		pt = p.parts[1]
	}
	s.mu.RUnlock()
	off := int64(pt.meta.blocks[0].columns[1].offset)
	f, err := os.OpenFile(pt.path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := []byte{0}
	f.ReadAt(b, off)
	b[0] ^= 0xff
	f.WriteAt(b, off)
	f.Close()
	if n := len(collect(t, s, Query{})); n != 200 {
		t.Fatalf("rows with one damaged block: %d, want the other parts' 200", n)
	}
}

func TestDistinctSameFromMemtableAndParts(t *testing.T) {
	s := openTest(t, t.TempDir())
	ctx := context.Background()
	if err := s.Write(ctx, testRows(300, time.Now().Add(-time.Hour).UnixNano())); err != nil {
		t.Fatal(err)
	}
	distinct := func(stream func([]Label) bool) []string {
		var out []string
		err := s.Distinct(ctx, Query{Stream: stream}, []string{"name", "rare"}, func(l []Label, v []Field) {
			out = append(out, fmt.Sprintf("%s %s %s", l[0].Value, v[0].Str, v[1].Str))
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(out)
		return out
	}
	svc1 := func(l []Label) bool { return l[0].Value == "svc-1" }
	mem, mem1 := distinct(nil), distinct(svc1)
	// 3 services × 5 names, and rows with i%7==0 add "seven" for some pairs.
	if len(mem) < 15 || len(mem1) < 5 || len(mem1) >= len(mem) {
		t.Fatalf("from the memtable: %d combinations, %d for svc-1", len(mem), len(mem1))
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := distinct(nil); !slices.Equal(got, mem) {
		t.Fatalf("from parts: %v, want %v", got, mem)
	}
	if got := distinct(svc1); !slices.Equal(got, mem1) { // and again, from the cache
		t.Fatalf("svc-1 from parts: %v, want %v", got, mem1)
	}
}
