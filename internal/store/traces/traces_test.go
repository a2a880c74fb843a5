package traces_test

import (
	"testing"
	"time"

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
