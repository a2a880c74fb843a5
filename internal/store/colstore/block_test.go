package colstore

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"
)

// TestSearchBlocksMatchesSearch checks that SearchBlocks hands out the
// rows Search does, in the same order, from parts and the memtable, on
// one CPU and on two, and stops when fn says so.
func TestSearchBlocksMatchesSearch(t *testing.T) {
	s := openTest(t, t.TempDir(), func(o *Options) { o.BlockRows = 512 })
	ctx := context.Background()
	base := time.Now().Add(-time.Hour).UnixNano()
	for k := range 4 {
		if err := s.Write(ctx, testRows(3000, base+int64(k)*int64(time.Minute))); err != nil {
			t.Fatal(err)
		}
		if k < 3 {
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	queries := map[string]Query{
		"all":     {},
		"columns": {Columns: []string{"n", "msg"}},
		"none":    {Columns: []string{}},
		"filter":  {Filters: []Filter{{Column: "name", Type: TypeString, Op: OpEqual, Value: []byte("op-3")}}, Columns: []string{"id", "blob"}},
		"range":   {Filters: []Filter{{Column: "n", Type: TypeInt, Op: OpRange, Min: 100, Max: 2500}}, MinTime: base + int64(30*time.Second)},
		"stream":  {Stream: func(l []Label) bool { return l[0].Value != "svc-1" }, Columns: []string{"name"}},
		"nothing": {Filters: []Filter{{Column: "name", Type: TypeString, Op: OpEqual, Value: []byte("op-9")}}},
	}
	// One CPU searches part by part, more decode blocks in parallel.
	for _, procs := range []int{1, 2} {
		prev := runtime.GOMAXPROCS(procs)
		compareBlocksWithRows(t, s, queries)
		runtime.GOMAXPROCS(prev)
	}
}

func compareBlocksWithRows(t *testing.T, s *Store, queries map[string]Query) {
	t.Helper()
	ctx := context.Background()
	rowString := func(stream []Label, t int64, fields []Field) string {
		return fmt.Sprint(stream, t, fields)
	}
	for name, q := range queries {
		var want []string
		if err := s.Search(ctx, q, func(r *Row) bool {
			want = append(want, rowString(r.Stream, r.Time, r.Fields))
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if name != "nothing" && len(want) == 0 {
			t.Fatalf("%s: no rows to compare", name)
		}
		var got []string
		blocks := 0
		if err := s.SearchBlocks(ctx, q, func(b *Block) bool {
			blocks++
			for i, tm := range b.Times {
				if b.Selected != nil && !b.Selected[i] {
					continue
				}
				var fields []Field
				for _, c := range b.Columns {
					f := Field{Name: c.Name, Type: c.Type}
					switch {
					case c.Type == TypeInt:
						f.Int = c.Ints[i]
					case c.Type.isString():
						f.Str = string(c.Values[i])
					default:
						f.Bytes = c.Values[i]
					}
					fields = append(fields, f)
				}
				got = append(got, rowString(b.Stream, tm, fields))
			}
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %d rows in %d blocks, want Search's %d (same order)", name, len(got), blocks, len(want))
		}
		if blocks > 1 {
			calls := 0
			if err := s.SearchBlocks(ctx, q, func(*Block) bool { calls++; return false }); err != nil || calls != 1 {
				t.Errorf("%s: %d calls after fn said stop (err %v)", name, calls, err)
			}
		}
	}
}
