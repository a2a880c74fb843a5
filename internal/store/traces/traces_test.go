package traces_test

import (
	"context"
	"testing"
	"time"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store/colstore"
	"github.com/argus-obs/argus/internal/store/storetest"
	"github.com/argus-obs/argus/internal/store/traces"
)

// testStore is a trace store with the column store it owns.
type testStore struct {
	*traces.Store
	cs  *colstore.Store
	dir string
}

func open(t *testing.T, dir string, flushInterval time.Duration) *testStore {
	t.Helper()
	cs, err := colstore.Open(colstore.Options{Dir: dir, WALNoSync: true, FlushInterval: flushInterval})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return &testStore{Store: traces.New(cs), cs: cs, dir: dir}
}

func harness(flushInterval time.Duration) storetest.TraceHarness {
	return storetest.TraceHarness{
		New: func(t *testing.T) storetest.TraceStore { return open(t, t.TempDir(), flushInterval) },
		Reopen: func(t *testing.T, s storetest.TraceStore) storetest.TraceStore {
			old := s.(*testStore)
			if err := old.cs.Close(); err != nil {
				t.Fatal(err)
			}
			return open(t, old.dir, flushInterval)
		},
	}
}

// TestConformance runs the store conformance suite with data served from
// the memtable (no flush happens during a subtest).
func TestConformance(t *testing.T) {
	storetest.TestTraceStore(t, harness(time.Hour))
}

// TestConformanceFlushing runs it again while parts are written and
// merged every few milliseconds, so reads cross memtable, flushing data,
// parts and merges.
func TestConformanceFlushing(t *testing.T) {
	storetest.TestTraceStore(t, harness(5*time.Millisecond))
}

func TestByID(t *testing.T) {
	cs, err := colstore.Open(colstore.Options{Dir: t.TempDir(), WALNoSync: true, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	s := traces.New(cs)
	ctx := context.Background()
	now := time.Now().UnixNano()
	span := func(trace, span byte, corr string) model.Span {
		sp := model.Span{Name: "op", StartUnixNano: now + int64(span), EndUnixNano: now + int64(span) + 10, Resource: model.Resource{ServiceName: "shop"}}
		sp.TraceID[15], sp.SpanID[7] = trace, span
		if corr != "" {
			sp.Attributes = []model.Attribute{model.String("correlation_id", corr)}
		}
		return sp
	}
	// Request req-1 spans two traces (a retry); trace 3 is another request.
	if err := s.WriteSpans(ctx, []model.Span{span(1, 1, "req-1"), span(1, 2, ""), span(2, 3, "req-1"), span(3, 4, "req-2")}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ByID(ctx, "req-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].SpanID[7] != 1 || got[1].SpanID[7] != 3 {
		t.Errorf("ByID(req-1) = %d spans, want spans 1 and 3 in start order", len(got))
	}
	var tid model.TraceID
	tid[15] = 1
	got, err = s.ByID(ctx, tid.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].SpanID[7] != 1 || got[1].SpanID[7] != 2 {
		t.Errorf("ByID(trace 1) = %d spans, want spans 1 and 2", len(got))
	}
	if got, err := s.ByID(ctx, "nobody"); err != nil || len(got) != 0 {
		t.Errorf("ByID(nobody) = %d spans, %v", len(got), err)
	}
}
