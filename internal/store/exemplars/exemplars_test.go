package exemplars

import (
	"context"
	"fmt"
	"testing"

	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/argus-obs/argus/internal/store/colstore"
)

// open returns a TSDB whose exemplar ring holds ring exemplars, and an
// exemplar store over a column store in dir.
func open(t *testing.T, dir string, ring int64) (*tsdb.DB, *Store, *colstore.Store) {
	t.Helper()
	o := tsdb.DefaultOptions()
	o.EnableExemplarStorage = true
	o.MaxExemplars = ring
	db, err := tsdb.Open(t.TempDir(), nil, nil, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cs, err := colstore.Open(colstore.Options{Dir: dir, WALNoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return db, New(cs, nil), cs
}

const traceA = "4bf92f3577b34da6a3ce929d0e0e4736"

func ex(trace string, v float64, ts int64) exemplar.Exemplar {
	return exemplar.Exemplar{Labels: labels.FromStrings("trace_id", trace), Value: v, Ts: ts, HasTs: true}
}

// appendOne appends one sample of series ls with exemplars and commits.
func appendOne(t *testing.T, app storage.AppendableV2, ls labels.Labels, ts int64, es ...exemplar.Exemplar) {
	t.Helper()
	a := app.AppenderV2(context.Background())
	if _, err := a.Append(0, ls, 0, ts, 1, nil, nil, storage.AOptions{Exemplars: es}); err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
}

func selectAll(t *testing.T, q storage.ExemplarQueryable, start, end int64, sets ...[]*labels.Matcher) []exemplar.QueryResult {
	t.Helper()
	eq, err := q.ExemplarQuerier(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	res, err := eq.Select(start, end, sets...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func count(res []exemplar.QueryResult) int {
	n := 0
	for _, r := range res {
		n += len(r.Exemplars)
	}
	return n
}

func TestSelectAndByID(t *testing.T) {
	dir := t.TempDir()
	db, s, _ := open(t, dir, 100)
	app := s.Appendable(db)
	lat := labels.FromStrings("__name__", "latency_seconds_bucket", "job", "shop", "le", "0.1")
	other := labels.FromStrings("__name__", "requests_total", "job", "shop")
	appendOne(t, app, lat, 1000, ex(traceA, 0.05, 1000))
	// A scrape repeats the same exemplar until a new one replaces it.
	appendOne(t, app, lat, 2000, ex(traceA, 0.05, 1000))
	appendOne(t, app, lat, 3000, ex("0af7651916cd43dd8448eb211c80319c", 0.07, 2500))
	appendOne(t, app, other, 3000, exemplar.Exemplar{
		Labels: labels.FromStrings("trace_id", traceA, "correlation_id", "order-42"), Value: 1, Ts: 3000, HasTs: true})
	// Rolled back: nothing kept.
	a := app.AppenderV2(context.Background())
	a.Append(0, other, 0, 4000, 2, nil, nil, storage.AOptions{Exemplars: []exemplar.Exemplar{ex(traceA, 2, 4000)}})
	a.Rollback()

	res := selectAll(t, s, 0, 10000, []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "job", "shop")})
	if len(res) != 2 || count(res) != 3 {
		t.Fatalf("select: %+v", res)
	}
	if res[0].SeriesLabels.Get("__name__") != "latency_seconds_bucket" || res[0].Exemplars[0].Ts != 1000 || res[0].Exemplars[1].Value != 0.07 {
		t.Errorf("first series: %+v", res[0])
	}
	// By name, regex, and a union of matcher sets; bounds are inclusive.
	byName := selectAll(t, s, 2500, 2500, []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "__name__", "latency.*")})
	if count(byName) != 1 || byName[0].Exemplars[0].Ts != 2500 {
		t.Errorf("by name at 2500: %+v", byName)
	}
	union := selectAll(t, s, 0, 10000,
		[]*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "__name__", "requests_total")},
		[]*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "le", "0.1")})
	if len(union) != 2 {
		t.Errorf("union: %+v", union)
	}
	if none := selectAll(t, s, 0, 10000, []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "job", "nope")}); len(none) != 0 {
		t.Errorf("no match: %+v", none)
	}

	for id, want := range map[string]int{traceA: 2, "order-42": 1, "nothing-here": 0} {
		got, err := s.ByID(context.Background(), id, 0, 0)
		if err != nil || count(got) != want {
			t.Errorf("ByID(%s) = %d exemplars (%v), want %d", id, count(got), err, want)
		}
	}
}

// TestOutlivesTheRing shows the point of the store: the TSDB keeps only
// its newest exemplars, the store keeps them all, across a reopen.
func TestOutlivesTheRing(t *testing.T) {
	dir := t.TempDir()
	db, s, cs := open(t, dir, 10)
	app := s.Appendable(db)
	for i := range 50 {
		ls := labels.FromStrings("__name__", "latency_seconds", "instance", fmt.Sprint(i))
		appendOne(t, app, ls, int64(1000+i), ex(fmt.Sprintf("%032x", i+1), float64(i), int64(1000+i)))
	}
	all := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "__name__", "latency_seconds")}
	if n := count(selectAll(t, db, 0, 10000, all)); n != 10 {
		t.Fatalf("the TSDB's ring holds %d exemplars, want 10", n)
	}
	if n := count(selectAll(t, s, 0, 10000, all)); n != 50 {
		t.Fatalf("the store holds %d exemplars, want 50", n)
	}
	if err := cs.Close(); err != nil {
		t.Fatal(err)
	}
	cs2, err := colstore.Open(colstore.Options{Dir: dir, WALNoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cs2.Close()
	if n := count(selectAll(t, New(cs2, nil), 0, 10000, all)); n != 50 {
		t.Fatalf("after reopening, the store holds %d exemplars, want 50", n)
	}
}
