package logs

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/query/logql"
	"github.com/argus-obs/argus/internal/query/logql/logqltest"
	"github.com/argus-obs/argus/internal/store/colstore"
)

// TestLogQLScripts runs the LogQL engine's scripted tests against the
// column-store log store, with half of each script's entries flushed to a
// part and half in the memtable, so the store's hints, windows and
// stream mapping answer exactly as the reference querier does.
func TestLogQLScripts(t *testing.T) {
	logqltest.RunScripts(t, "../../query/logql/testdata", func(t *testing.T, entries []logql.Entry) logql.Querier {
		cs, err := colstore.Open(colstore.Options{Dir: t.TempDir(), WALNoSync: true, FlushInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cs.Close() })
		s := New(cs)
		recs := make([]model.LogRecord, len(entries))
		for i, e := range entries {
			recs[i] = recordOf(e)
		}
		half := len(recs) / 2
		if err := s.WriteLogs(context.Background(), recs[:half]); err != nil {
			t.Fatal(err)
		}
		if err := cs.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := s.WriteLogs(context.Background(), recs[half:]); err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// recordOf turns a script entry into the record a shipper would send:
// service_name is the service, other stream labels resource attributes,
// metadata the record's attributes, with trace and span IDs in their own
// fields when they are IDs.
func recordOf(e logql.Entry) model.LogRecord {
	r := model.LogRecord{TimeUnixNano: e.Time, Body: e.Line}
	e.Stream.Range(func(l labels.Label) {
		if l.Name == "service_name" {
			r.Resource.ServiceName = l.Value
			return
		}
		r.Resource.Attributes = append(r.Resource.Attributes, model.String(l.Name, l.Value))
	})
	e.Metadata.Range(func(l labels.Label) {
		switch l.Name {
		case "trace_id":
			if id, ok := parseTraceIDLabel(l.Value); ok && !id.IsZero() {
				r.TraceID = id
				return
			}
		case "span_id":
			if id, ok := parseSpanIDLabel(l.Value); ok && !id.IsZero() {
				r.SpanID = id
				return
			}
		case "correlation_id":
			r.CorrelationID = l.Value
			return
		}
		r.Attributes = append(r.Attributes, model.String(l.Name, l.Value))
	})
	return r
}

// countingQuerier passes selections through and counts the entries that
// stand for more than one.
type countingQuerier struct {
	logql.Querier
	merged int
}

func (c *countingQuerier) SelectLogs(ctx context.Context, p logql.SelectParams, fn func(*logql.Entry) bool) error {
	return c.Querier.SelectLogs(ctx, p, func(e *logql.Entry) bool {
		if e.Count > 1 {
			c.merged++
		}
		return fn(e)
	})
}

// TestCountingMatchesTheReference answers counting queries, which the
// store answers with merged counts, over random records in several parts
// and the memtable, and requires the reference querier's answers.
func TestCountingMatchesTheReference(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	cs, err := colstore.Open(colstore.Options{Dir: t.TempDir(), WALNoSync: true, FlushInterval: time.Hour, BlockRows: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	s := New(cs)
	base := int64(1_700_000_000) * int64(time.Second)
	var entries []logql.Entry
	levels := []model.Severity{model.SeverityInfo, model.SeverityWarn, model.SeverityError, 0}
	for part := range 4 {
		var recs []model.LogRecord
		for range 3000 {
			r := model.LogRecord{
				TimeUnixNano: base + rnd.Int64N(2*3600)*int64(time.Second), // whole seconds: many on window edges
				Severity:     levels[rnd.IntN(len(levels))],
				Body:         "request done",
				Resource:     model.Resource{ServiceName: []string{"api", "db"}[rnd.IntN(2)], Attributes: []model.Attribute{model.String("pod", fmt.Sprint("p", rnd.IntN(3)))}},
				Attributes:   []model.Attribute{model.String("route", []string{"/a", "/b", "/c\xff"}[rnd.IntN(3)])},
			}
			if rnd.IntN(3) == 0 {
				r.Attributes = append(r.Attributes, model.String("user", fmt.Sprint("u", rnd.IntN(50))))
			}
			recs = append(recs, r)
			entries = append(entries, entryOf(r))
		}
		if err := s.WriteLogs(context.Background(), recs); err != nil {
			t.Fatal(err)
		}
		if part < 3 {
			if err := cs.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	ref := logqltest.NewMemQuerier(entries)
	eng := logql.NewEngine(logql.EngineOptions{})
	counted := &countingQuerier{Querier: s}
	for _, q := range []string{
		`sum by (level) (count_over_time({service_name=~".+"}[1m]))`,
		`sum by (level) (count_over_time({service_name="api"}[5m]))`,
		`sum by (pod, route) (rate({service_name=~"api|db"}[90s]))`,
		`sum by (route) (count_over_time({service_name="api"} | drop __error__ [1m]))`,
		`sum(count_over_time({service_name="db"} | level="error" [2m]))`,
		`sum by (user) (count_over_time({service_name="api"} | user!="" [10m]))`,
		`sum by (route) (count_over_time({service_name="db"} | route="/b" [1m]))`,
		`sum(absent_over_time({service_name="db"} | user="u7" [1m]))`,
	} {
		// The store applies route="/b" and user="u7" itself: fewer entries
		// reach the engine.
		filtered := strings.Contains(q, `| route="`) || strings.Contains(q, `| user="`)
		for _, step := range []time.Duration{time.Minute, 7 * time.Minute} {
			p := logql.Params{Query: q, Start: time.Unix(0, base), End: time.Unix(0, base+int64(2*time.Hour)), Step: step}
			want, err := eng.Query(context.Background(), ref, p)
			if err != nil {
				t.Fatal(q, err)
			}
			got, err := eng.Query(context.Background(), counted, p)
			if err != nil {
				t.Fatal(q, err)
			}
			if !reflect.DeepEqual(got.Matrix, want.Matrix) || len(want.Matrix) == 0 {
				t.Errorf("%s step %s:\n got %v\nwant %v", q, step, got.Matrix, want.Matrix)
			}
			if !filtered && got.Stats.EntriesScanned != want.Stats.EntriesScanned {
				t.Errorf("%s: %d entries scanned, the reference %d", q, got.Stats.EntriesScanned, want.Stats.EntriesScanned)
			}
		}
	}
	if counted.merged == 0 {
		t.Error("no query was answered with merged counts")
	}
}

// entryOf is the entry LogQL sees for a record.
func entryOf(r model.LogRecord) logql.Entry {
	e := logql.Entry{Time: r.TimeUnixNano, Line: r.Body}
	e.Stream = labels.FromStrings(append([]string{"service_name", r.Resource.ServiceName}, r.Resource.Attributes[0].Key, r.Resource.Attributes[0].Value)...)
	var b labels.ScratchBuilder
	for _, a := range r.Attributes {
		b.Add(a.Key, a.Value)
	}
	if r.Severity != 0 {
		b.Add("level", r.Level())
		b.Add("detected_level", r.Level())
	}
	b.Sort()
	e.Metadata = b.Labels()
	return e
}
