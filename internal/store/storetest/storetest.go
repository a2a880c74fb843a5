package storetest

import (
	"testing"

	"github.com/argus-obs/argus/internal/store"
)

// TraceStore is the trace store under test: one value that both writes and
// reads spans, as every trace backend provides.
type TraceStore interface {
	store.TraceWriter
	store.TraceReader
}

// TraceHarness builds the trace stores the suite tests. It is named for
// traces so the package can hold the suites of other signals beside it.
type TraceHarness struct {
	// New returns a fresh, empty store. The suite calls it once per
	// subtest with that subtest's t, so New may use t.TempDir for data and
	// t.Cleanup to close the store. Required.
	New func(t *testing.T) TraceStore

	// Reopen closes s, which New or an earlier Reopen returned, and opens
	// a store over the same data (for a disk-backed store, the same data
	// directory). Everything written to s before the call must be readable
	// from the store it returns. The suite stops using s.
	//
	// Reopen is optional: when it is nil, the suite skips its durability
	// checks.
	Reopen func(t *testing.T, s TraceStore) TraceStore
}

// TestTraceStore runs the trace store conformance suite as subtests of t,
// each on a fresh store from h.New. The package documentation lists what
// the suite expects of a store beyond the store interfaces. The subtests:
//
//   - GetTrace: every field of every span as written; ErrTraceNotFound for
//     unknown IDs, including IDs sharing half their bytes with stored ones.
//   - Batches: traces written in many batches, out of order, one batch per
//     service, come back whole.
//   - ReadYourWrites: an empty store answers nothing; empty writes succeed;
//     each span is visible to every reader method as soon as it is written.
//   - Ownership: changing spans after writing them, or changing what a
//     reader returned, does not change the store.
//   - Services, Operations: sorted, distinct; Operations with and without
//     a kind.
//   - FindTraces: service, operation, span and resource attributes, derived
//     tags, durations and start windows (bounds inclusive), combinations
//     (all on one span), rank by latest matching span, limits.
//   - DefaultLimit: a query without a limit returns the most recent
//     store.DefaultTraceLimit traces.
//   - Dependencies: calls per caller and callee across services only, by
//     the child's start in the window (bounds inclusive).
//   - Values: 64 KiB values, a thousand attributes, any bytes, Unicode,
//     empty strings, nil and empty slices, every kind and status.
//   - AcrossDays: traces straddling UTC midnights, up to two days old.
//   - Concurrency: goroutines writing distinct traces while others read.
//   - Differential: generated traces and questions, answered as memstore
//     answers them.
//   - Reopen (only with h.Reopen): writes before and after reopening, and
//     reopening twice, lose nothing.
func TestTraceStore(t *testing.T, h TraceHarness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("storetest: TraceHarness.New is nil")
	}
	for _, sc := range traceScenarios {
		t.Run(sc.name, func(t *testing.T) {
			s := h.New(t)
			verify := sc.run(t, s)
			if verify == nil || h.Reopen == nil || t.Failed() {
				return
			}
			s = h.Reopen(t, s)
			t.Run("AfterReopen", func(t *testing.T) { verify(t, s) })
		})
	}
	t.Run("Reopen", func(t *testing.T) {
		if h.Reopen == nil {
			t.Skip("TraceHarness.Reopen is nil")
		}
		testReopen(t, h)
	})
}

// A scenario is one subtest of the suite. run writes the scenario's data to
// s, checking the store's answers as it goes, and returns the checks that
// must keep holding for the data written (the suite runs them again after
// reopening the store). A nil verify means there is nothing more to check.
type scenario struct {
	name string
	run  func(t *testing.T, s TraceStore) (verify func(t *testing.T, s TraceStore))
}

// traceScenarios lists the subtests in the order they run.
var traceScenarios = []scenario{
	{"GetTrace", testGetTrace},
	{"Batches", testBatches},
	{"ReadYourWrites", testReadYourWrites},
	{"Ownership", testOwnership},
	{"Services", testServices},
	{"Operations", testOperations},
	{"FindTraces", testFindTraces},
	{"DefaultLimit", testDefaultLimit},
	{"Dependencies", testDependencies},
	{"Values", testValues},
	{"AcrossDays", testAcrossDays},
	{"Concurrency", testConcurrency},
	{"Differential", testDifferential},
}
