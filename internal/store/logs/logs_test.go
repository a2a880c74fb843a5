package logs

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/query/logql"
	"github.com/argus-obs/argus/internal/store/colstore"
)

func openStore(t *testing.T) (*Store, *colstore.Store) {
	t.Helper()
	cs, err := colstore.Open(colstore.Options{Dir: t.TempDir(), Name: "logs", WALNoSync: true, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return New(cs), cs
}

// shopLogs returns n records of two services, one per millisecond from
// base; every tenth is an error of request i/10 with its own trace and
// correlation ID.
func shopLogs(n int, base time.Time) []model.LogRecord {
	recs := make([]model.LogRecord, n)
	for i := range recs {
		svc := []string{"frontend", "inventory"}[i%2]
		r := model.LogRecord{
			TimeUnixNano:     base.Add(time.Duration(i) * time.Millisecond).UnixNano(),
			ObservedUnixNano: base.Add(time.Duration(i)*time.Millisecond + time.Second).UnixNano(),
			Severity:         model.SeverityInfo,
			SeverityText:     "INFO",
			Body:             fmt.Sprintf("GET /orders/%d served in %dms", i, i%97),
			Attributes:       []model.Attribute{model.String("http.route", "/orders/{id}"), model.Int("status", 200)},
			CorrelationID:    fmt.Sprintf("req-%d", i/10),
			Resource: model.Resource{ServiceName: svc, Attributes: []model.Attribute{
				model.String("service.instance.id", svc+"-1"), model.String("deployment.environment", "test"),
			}},
			Scope: model.Scope{Name: "shop", Version: "1.0"},
		}
		r.TraceID[0], r.TraceID[15] = 0xab, byte(i/10)
		r.SpanID[7] = byte(i)
		if i%10 == 9 {
			r.Severity, r.SeverityText = model.SeverityError, "ERROR"
			r.Body = fmt.Sprintf("order %d failed: ECONNRESET from upstream", i/10)
			r.Attributes = []model.Attribute{model.String("error_kind", "network")}
		}
		recs[i] = r
	}
	return recs
}

func TestRecordRoundTrip(t *testing.T) {
	for _, tc := range []struct{ flush, sharedObserved bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		flush := tc.flush
		t.Run(fmt.Sprintf("flush=%v,shared_observed=%v", tc.flush, tc.sharedObserved), func(t *testing.T) {
			s, cs := openStore(t)
			ctx := context.Background()
			recs := shopLogs(40, time.Now().Add(-time.Minute))
			if tc.sharedObserved { // as a push request's records arrive
				for i := range recs {
					recs[i].ObservedUnixNano = recs[0].ObservedUnixNano
				}
			}
			if err := s.WriteLogs(ctx, recs); err != nil {
				t.Fatal(err)
			}
			if flush {
				if err := cs.Flush(); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.ByID(ctx, "req-3", 0, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 10 {
				t.Fatalf("ByID(req-3): %d records, want 10", len(got))
			}
			for i, g := range got {
				if want := recs[30+i]; !reflect.DeepEqual(g, want) {
					t.Errorf("record %d:\n got %+v\nwant %+v", i, g, want)
				}
			}
			byTrace, err := s.ByID(ctx, recs[21].TraceID.String(), 0, 0, 5)
			if err != nil {
				t.Fatal(err)
			}
			if len(byTrace) != 5 || byTrace[0].TraceID != recs[21].TraceID {
				t.Errorf("ByID(trace) with limit 5: %d records", len(byTrace))
			}
		})
	}
}

func collect(t *testing.T, s *Store, p logql.SelectParams) []logql.Entry {
	t.Helper()
	var out []logql.Entry
	err := s.SelectLogs(context.Background(), p, func(e *logql.Entry) bool {
		c := *e
		c.Line = string([]byte(e.Line))
		c.Metadata = e.Metadata.Copy()
		out = append(out, c)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSelectLogs(t *testing.T) {
	s, cs := openStore(t)
	ctx := context.Background()
	base := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	recs := shopLogs(5000, base)
	if err := s.WriteLogs(ctx, recs[:3000]); err != nil {
		t.Fatal(err)
	}
	if err := cs.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteLogs(ctx, recs[3000:]); err != nil { // the rest in the memtable
		t.Fatal(err)
	}
	inventory := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "service_name", "inventory")}
	all := logql.SelectParams{Start: base.UnixNano(), End: base.Add(time.Hour).UnixNano(), Matchers: inventory, AllMetadata: true}

	back := collect(t, s, all)
	if len(back) != 2500 {
		t.Fatalf("backward: %d entries, want 2500", len(back))
	}
	if !slices.IsSortedFunc(back, func(a, b logql.Entry) int { return int(b.Time - a.Time) }) {
		t.Error("backward entries are not newest first")
	}
	last := recs[4999]
	if back[0].Time != last.TimeUnixNano || back[0].Line != last.Body {
		t.Errorf("newest entry = %v %q, want %v %q", back[0].Time, back[0].Line, last.TimeUnixNano, last.Body)
	}
	wantStream := labels.FromStrings("deployment_environment", "test", "service_instance_id", "inventory-1", "service_name", "inventory")
	if !labels.Equal(back[0].Stream, wantStream) {
		t.Errorf("stream labels = %s, want %s", back[0].Stream, wantStream)
	}
	wantMeta := labels.FromStrings("correlation_id", "req-499", "detected_level", "error", "error_kind", "network",
		"level", "error", "span_id", fmt.Sprintf("%016x", 4999%256), "trace_id", last.TraceID.String())
	if !labels.Equal(back[0].Metadata, wantMeta) {
		t.Errorf("metadata = %s, want %s", back[0].Metadata, wantMeta)
	}

	fwd := all
	fwd.Direction = logql.Forward
	f := collect(t, s, fwd)
	if len(f) != 2500 || f[0].Time != recs[1].TimeUnixNano {
		t.Fatalf("forward: %d entries starting at %d", len(f), f[0].Time)
	}
	if !slices.IsSortedFunc(f, func(a, b logql.Entry) int { return int(a.Time - b.Time) }) {
		t.Error("forward entries are not oldest first")
	}

	// End is exclusive, Start inclusive.
	win := logql.SelectParams{Start: recs[10].TimeUnixNano, End: recs[20].TimeUnixNano, Direction: logql.Forward,
		Matchers: []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "service_name", ".+")}}
	if got := collect(t, s, win); len(got) != 10 || got[0].Time != recs[10].TimeUnixNano {
		t.Errorf("window [10, 20): %d entries", len(got))
	}

	// Hints narrow the search but never change the answer's correctness:
	// every entry they let through still needs the engine's check, and no
	// matching entry is dropped.
	hinted := all
	hinted.LineContains = []string{" ECONNRESET "}
	hinted.MetadataEquals = []labels.Label{{Name: "correlation_id", Value: "req-123"}}
	got := collect(t, s, hinted)
	if len(got) != 1 || got[0].Line != recs[1239].Body {
		t.Errorf("hinted: %d entries %v, want the one error line of req-123", len(got), got)
	}
	byTrace := all
	byTrace.MetadataEquals = []labels.Label{{Name: "trace_id", Value: recs[1239].TraceID.String()}, {Name: "error_kind", Value: "network"}}
	if got := collect(t, s, byTrace); len(got) == 0 {
		t.Error("trace_id and attribute hints dropped the matching entries")
	}
	// A hint on a name that is a stream label must not be applied to the
	// metadata (which lacks it).
	streamHint := all
	streamHint.MetadataEquals = []labels.Label{{Name: "deployment_environment", Value: "test"}}
	if got := collect(t, s, streamHint); len(got) != 2500 {
		t.Errorf("hint on a stream label: %d entries, want 2500", len(got))
	}

	// Without the line or metadata, entries carry only what was asked.
	slim := all
	slim.AllMetadata, slim.NoLine, slim.Metadata = false, true, []string{"level"}
	sl := collect(t, s, slim)
	if len(sl) != 2500 || sl[0].Line != "" || !labels.Equal(sl[0].Metadata, labels.FromStrings("detected_level", "error", "level", "error")) {
		t.Errorf("slim entry: %q %s", sl[0].Line, sl[0].Metadata)
	}
	// Entries share built metadata while it repeats; each keeps its own.
	levels := map[string]int{}
	for _, e := range sl {
		levels[e.Metadata.Get("level")]++
	}
	if levels["error"] != 500 || levels["info"] != 2000 {
		t.Errorf("levels of the slim entries: %v, want 500 error and 2000 info", levels)
	}

	// Stopping early stops.
	n := 0
	if err := s.SelectLogs(ctx, all, func(*logql.Entry) bool { n++; return n < 7 }); err != nil || n != 7 {
		t.Errorf("early stop: %d calls, %v", n, err)
	}
}

func TestLabelsAndSeries(t *testing.T) {
	s, _ := openStore(t)
	ctx := context.Background()
	base := time.Now().Add(-time.Hour)
	if err := s.WriteLogs(ctx, shopLogs(10, base)); err != nil {
		t.Fatal(err)
	}
	names, err := s.LabelNames(ctx, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"deployment_environment", "service_instance_id", "service_name"}; !slices.Equal(names, want) {
		t.Errorf("label names = %q, want %q", names, want)
	}
	vals, err := s.LabelValues(ctx, "service_name", 0, 0, nil)
	if err != nil || !slices.Equal(vals, []string{"frontend", "inventory"}) {
		t.Errorf("service_name values = %q, %v", vals, err)
	}
	m := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "service_name", "frontend")}
	vals, err = s.LabelValues(ctx, "service_instance_id", 0, 0, m)
	if err != nil || !slices.Equal(vals, []string{"frontend-1"}) {
		t.Errorf("instance values for frontend = %q, %v", vals, err)
	}
	series, err := s.Series(ctx, 0, 0, [][]*labels.Matcher{m})
	if err != nil || len(series) != 1 || series[0].Get("service_name") != "frontend" {
		t.Errorf("series = %v, %v", series, err)
	}
	svcs, err := s.Services(ctx)
	if err != nil || !slices.Equal(svcs, []string{"frontend", "inventory"}) {
		t.Errorf("services = %q, %v", svcs, err)
	}
}

func TestLabelName(t *testing.T) {
	for in, want := range map[string]string{
		"service.name": "service_name", "ok_name": "ok_name", "k8s.pod-name": "k8s_pod_name", "1st": "_1st", "": "_", "ümlaut": "__mlaut",
	} {
		if got := LabelName(in); got != want {
			t.Errorf("LabelName(%q) = %q, want %q", in, got, want)
		}
	}
}
