package logql_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-obs/argus/internal/query/logql"
	"github.com/argus-obs/argus/internal/query/logql/logqltest"
)

func TestScripts(t *testing.T) {
	logqltest.RunScripts(t, "testdata", func(t *testing.T, entries []logql.Entry) logql.Querier {
		return logqltest.NewMemQuerier(entries)
	})
}

// TestScriptsWithHints runs the scripts against a store that uses every
// hint as aggressively as SelectParams allows, so a wrong hint shows up
// as a wrong answer.
func TestScriptsWithHints(t *testing.T) {
	logqltest.RunScripts(t, "testdata", func(t *testing.T, entries []logql.Entry) logql.Querier {
		return &hintQuerier{mem: logqltest.NewMemQuerier(entries)}
	})
}

type hintQuerier struct {
	mem *logqltest.MemQuerier
}

func (h *hintQuerier) SelectLogs(ctx context.Context, p logql.SelectParams, fn func(*logql.Entry) bool) error {
	if p.CountEdges == nil {
		return h.selectLogs(ctx, p, fn)
	}
	// Hand over one entry per stream, metadata and interval, at the
	// interval's end, with the number of entries it stands for.
	type group struct {
		e        logql.Entry
		interval int
	}
	var groups []*group
	byKey := map[string]*group{}
	err := h.selectLogs(ctx, p, func(e *logql.Entry) bool {
		i, _ := slices.BinarySearch(p.CountEdges, e.Time)
		key := fmt.Sprint(i, e.Stream, e.Metadata)
		g := byKey[key]
		if g == nil {
			g = &group{e: logql.Entry{Time: p.CountEdges[i], Stream: e.Stream, Metadata: e.Metadata}, interval: i}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.e.Count++
		return true
	})
	if err != nil {
		return err
	}
	slices.SortStableFunc(groups, func(a, b *group) int {
		if p.Direction == logql.Backward {
			return b.interval - a.interval
		}
		return a.interval - b.interval
	})
	for _, g := range groups {
		if !fn(&g.e) {
			return nil
		}
	}
	return nil
}

func (h *hintQuerier) selectLogs(ctx context.Context, p logql.SelectParams, fn func(*logql.Entry) bool) error {
	return h.mem.SelectLogs(ctx, p, func(e *logql.Entry) bool {
		for _, s := range p.LineContains {
			if !strings.Contains(e.Line, s) {
				return true
			}
		}
		for _, m := range p.MetadataEquals {
			if e.Stream.Has(m.Name) {
				continue
			}
			if e.Metadata.Get(m.Name) != m.Value {
				return true
			}
		}
		c := *e
		if p.NoLine {
			c.Line = ""
		}
		if !p.AllMetadata {
			var b labels.ScratchBuilder
			e.Metadata.Range(func(l labels.Label) {
				if slices.Contains(p.Metadata, l.Name) {
					b.Add(l.Name, l.Value)
				}
			})
			c.Metadata = b.Labels()
		}
		return fn(&c)
	})
}

// recorder records the SelectParams of every selection.
type recorder struct {
	logql.Querier
	got []logql.SelectParams
}

func (r *recorder) SelectLogs(ctx context.Context, p logql.SelectParams, fn func(*logql.Entry) bool) error {
	r.got = append(r.got, p)
	return r.Querier.SelectLogs(ctx, p, fn)
}

func TestSelectParams(t *testing.T) {
	at := func(s int64) time.Time { return time.Unix(s, 0) }
	for _, tc := range []struct {
		name, query string
		want        logql.SelectParams
	}{
		{
			name:  "log volume",
			query: `sum by (level) (count_over_time({service_name="x"}[1m]))`,
			want: logql.SelectParams{Start: int64(40*time.Second) + 1, End: int64(200*time.Second) + 1, Direction: logql.Forward, NoLine: true, Metadata: []string{"level"},
				CountEdges: edges(40, 200, 10)},
		},
		{
			name:  "counting with a metadata filter",
			query: `sum(rate({service_name="x"} | level="error" [30s]))`,
			want: logql.SelectParams{Start: int64(70*time.Second) + 1, End: int64(200*time.Second) + 1, Direction: logql.Forward, NoLine: true,
				MetadataEquals: []labels.Label{{Name: "level", Value: "error"}}, Metadata: []string{"level"}, CountEdges: edges(70, 200, 10)},
		},
		{
			name:  "filters",
			query: `sum by (level) (count_over_time({service_name="x"} |= "foo" | level="error" | trace_id=~"a.*" [1m] offset 10s))`,
			want: logql.SelectParams{Start: int64(30*time.Second) + 1, End: int64(190*time.Second) + 1, Direction: logql.Forward,
				LineContains: []string{"foo"}, MetadataEquals: []labels.Label{{Name: "level", Value: "error"}}, Metadata: []string{"level", "trace_id"}},
		},
		{
			name:  "bytes read lines",
			query: `bytes_over_time({service_name="x"}[1m])`,
			want:  logql.SelectParams{Start: int64(40*time.Second) + 1, End: int64(200*time.Second) + 1, Direction: logql.Forward, AllMetadata: true},
		},
		{
			name:  "templates read everything",
			query: `sum(count_over_time({service_name="x"} | label_format a="{{.b}}" [1m]))`,
			want:  logql.SelectParams{Start: int64(40*time.Second) + 1, End: int64(200*time.Second) + 1, Direction: logql.Forward, NoLine: true, AllMetadata: true},
		},
		{
			name:  "__line__ reads the line",
			query: `sum(count_over_time({service_name="x"} | label_format a="{{ __line__ }}" [1m]))`,
			want:  logql.SelectParams{Start: int64(40*time.Second) + 1, End: int64(200*time.Second) + 1, Direction: logql.Forward, AllMetadata: true},
		},
		{
			name:  "log query",
			query: `{service_name="x"} |= "a" | json |= "b"`,
			want:  logql.SelectParams{Start: int64(100 * time.Second), End: int64(200 * time.Second), LineContains: []string{"a"}, AllMetadata: true},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{Querier: logqltest.NewMemQuerier(nil)}
			p := logql.Params{Query: tc.query, Start: at(100), End: at(200), Step: 10 * time.Second}
			if !strings.HasPrefix(tc.query, "{") {
				p.Start = at(100)
			} else {
				p.Step = 0
			}
			if _, err := logql.NewEngine(logql.EngineOptions{}).Query(context.Background(), r, p); err != nil {
				t.Fatal(err)
			}
			if len(r.got) != 1 {
				t.Fatalf("%d selections", len(r.got))
			}
			got := r.got[0]
			got.Matchers = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// edges returns the times from, from+step, ... to (seconds) in
// nanoseconds.
func edges(from, to, step int64) []int64 {
	var out []int64
	for t := from; t <= to; t += step {
		out = append(out, t*int64(time.Second))
	}
	return out
}

func TestQueryCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	q := logqltest.NewMemQuerier([]logql.Entry{{Time: 1, Line: "x", Stream: labels.FromStrings("a", "b")}})
	_, err := logql.NewEngine(logql.EngineOptions{}).Query(ctx, q, logql.Params{Query: `count_over_time({a="b"}[1m])`, Start: time.Unix(60, 0), End: time.Unix(60, 0)})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if logql.IsBadData(err) {
		t.Error("a canceled query is not bad data")
	}
}

func TestErrorClasses(t *testing.T) {
	eng := logql.NewEngine(logql.EngineOptions{MaxSeries: 1})
	q := logqltest.NewMemQuerier([]logql.Entry{
		{Time: 1, Line: "x", Stream: labels.FromStrings("a", "b")},
		{Time: 2, Line: "y", Stream: labels.FromStrings("a", "c")},
	})
	at := time.Unix(10, 0)
	for _, tc := range []struct {
		query string
		is    error
	}{
		{`count_over_time({a=~"b|c"}[1m])`, logql.ErrLimit},
		{`count_over_time({a="b"} | json [1m])`, logql.ErrPipeline},
		{`{a="b"}`, logql.ErrUnsupported},
	} {
		_, err := eng.Query(context.Background(), q, logql.Params{Query: tc.query, Start: at, End: at})
		if !errors.Is(err, tc.is) || !logql.IsBadData(err) {
			t.Errorf("%s: got %v, want %v", tc.query, err, tc.is)
		}
	}
}
