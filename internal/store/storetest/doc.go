// Package storetest is the conformance suite for Argus stores: one set of
// tests that every backend runs against itself, so all backends agree with
// each other and with the in-memory reference implementation, package
// memstore. It plays the part that testing/slogtest plays for slog handlers
// and internal/storage/integration plays for Jaeger's backends.
//
// A trace backend calls TestTraceStore from its own tests with a
// TraceHarness that opens fresh stores (and, when the backend persists
// data, reopens them over the same data directory). For a backend in
// package mystore:
//
//	func TestConformance(t *testing.T) {
//		storetest.TestTraceStore(t, storetest.TraceHarness{
//			New: func(t *testing.T) storetest.TraceStore {
//				return open(t, t.TempDir())
//			},
//			Reopen: func(t *testing.T, s storetest.TraceStore) storetest.TraceStore {
//				old := s.(*mystore.Store)
//				if err := old.Close(); err != nil {
//					t.Fatal(err)
//				}
//				return open(t, old.Dir())
//			},
//		})
//	}
//
//	// open opens a store over dir and closes it when the test ends
//	// (again, for a store Reopen closed: Close is idempotent).
//	func open(t *testing.T, dir string) *mystore.Store {
//		s, err := mystore.Open(dir)
//		if err != nil {
//			t.Fatal(err)
//		}
//		t.Cleanup(func() { s.Close() })
//		return s
//	}
//
// A failure names the subtest and the field that differs, for example
// TestConformance/GetTrace/AfterReopen; run one subtest with
// go test -run 'TestConformance/FindTraces/Limit'.
//
// # What the suite holds a trace store to
//
// Beyond what the store interfaces say, the suite fixes these points so that
// every backend answers alike:
//
//   - A span comes back with every field exactly as written: IDs, trace
//     state, flags, times to the nanosecond, status, resource, scope,
//     dropped counts, and the attributes of the span, its resource, its
//     events and its links in the order they were written (a store must not
//     sort them). Attribute values are opaque strings: bytes values may hold
//     any bytes, including invalid UTF-8, and must round-trip unchanged, and
//     Unicode is not normalised.
//   - A nil slice and an empty one are equivalent: a store may return either
//     for attributes, events or links that were written as either.
//   - Spans of a trace come back ordered by start time; the order of spans
//     with equal start times is not specified. The suite compares spans
//     after sorting them by start time, then span ID.
//   - GetTrace's error for an unknown trace wraps store.ErrTraceNotFound
//     (the suite checks with errors.Is).
//   - A write is visible to every reader of the store as soon as
//     WriteSpans returns (read-your-writes), including to other goroutines.
//     Writing an empty batch succeeds and changes nothing.
//   - The store keeps no reference to the spans passed to WriteSpans, and
//     values it returns are the caller's to modify.
//   - FindTraces ranks a trace by the latest start time among its spans
//     that match the query (not among all its spans), most recent first,
//     and returns each trace with all its spans, not only those that match.
//     Time bounds are exact to the nanosecond. The suite gives every span a
//     distinct start time, so ties in rank do not arise. When nothing
//     matches, a nil and an empty result are both accepted.
//   - Services, Operations and Dependencies may return nil or empty when
//     there is nothing to report. Dependencies is compared as a set: its
//     order is not specified.
//   - Most spans start within the last hour; the AcrossDays subtest writes
//     spans that straddle the latest UTC midnight and the one before it (up
//     to 49 hours old), so a store that partitions by day is exercised
//     across partitions, and a query without a time window must find them.
//     A harness must accept such spans and keep at least three days.
//
// Every subtest runs on a fresh store from TraceHarness.New, writes its data
// and checks what the store answers. When TraceHarness.Reopen is set, each
// subtest then reopens the store and checks the same answers again in a
// nested AfterReopen subtest, and the Reopen subtest checks writes across
// several reopen cycles.
//
// The data is generated from fixed seeds, so a failure reproduces; times are
// relative to the moment the subtest runs.
//
// # Test doubles
//
// For the tests of code that writes to a store rather than of a store,
// LogSink is an in-memory store.LogWriter that keeps what it is given and
// can be told to fail writes, as an overloaded or broken store would.
package storetest
