package storetest

import (
	"context"
	"slices"
	"sync"

	"github.com/argus-obs/argus/internal/model"
)

// LogSink is an in-memory store.LogWriter for the tests of code that
// writes log records, such as the log receivers: it keeps what it is
// given, and can stand in for a store that is overloaded or failing.
//
// It copies each record's attribute slices as it keeps the record, since
// store.LogWriter lets the caller reuse the records once WriteLogs
// returns. The zero value is an empty sink that takes every write. A
// LogSink is safe for concurrent use.
type LogSink struct {
	mu      sync.Mutex
	records []model.LogRecord    // guarded by mu
	calls   int                  // guarded by mu
	fail    func(call int) error // guarded by mu
}

// WriteLogs implements store.LogWriter. When FailWith has set a failure
// function and it returns an error, WriteLogs returns that error and
// keeps nothing of the call.
func (s *LogSink) WriteLogs(_ context.Context, records []model.LogRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fail != nil {
		if err := s.fail(s.calls); err != nil {
			return err
		}
	}
	for _, r := range records {
		r.Attributes = slices.Clone(r.Attributes)
		r.Resource.Attributes = slices.Clone(r.Resource.Attributes)
		s.records = append(s.records, r)
	}
	return nil
}

// FailWith has every later WriteLogs call fail first, with the number of
// the call, counting the sink's calls from 1; when fail returns an error,
// so does the write. To stand in for an overloaded store, return an error
// that wraps store.ErrOverloaded. A nil fail makes writes succeed again.
// fail is called with the sink locked, so it must not call the sink.
func (s *LogSink) FailWith(fail func(call int) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = fail
}

// Records returns the records kept so far, in the order they were
// written. The slice is the caller's.
func (s *LogSink) Records() []model.LogRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.records)
}

// Calls returns how many times WriteLogs has been called, failed calls
// included.
func (s *LogSink) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}
