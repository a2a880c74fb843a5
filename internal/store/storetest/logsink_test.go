package storetest

import (
	"errors"
	"sync"
	"testing"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
)

var _ store.LogWriter = (*LogSink)(nil)

func TestLogSink(t *testing.T) {
	var s LogSink
	rec := model.LogRecord{Body: "a", Attributes: []model.Attribute{model.String("k", "v")}}
	if err := s.WriteLogs(t.Context(), []model.LogRecord{rec}); err != nil {
		t.Fatal(err)
	}
	rec.Attributes[0].Value = "changed by the caller"
	if got := s.Records(); len(got) != 1 || got[0].Attributes[0].Value != "v" {
		t.Errorf("kept %+v, want the record as written", got)
	}

	boom := errors.New("boom")
	s.FailWith(func(call int) error {
		if call == 2 {
			return boom
		}
		return nil
	})
	if err := s.WriteLogs(t.Context(), []model.LogRecord{{Body: "b"}}); !errors.Is(err, boom) {
		t.Errorf("second write: %v, want the failure", err)
	}
	if err := s.WriteLogs(t.Context(), []model.LogRecord{{Body: "c"}}); err != nil {
		t.Errorf("third write: %v", err)
	}
	if got := s.Records(); len(got) != 2 || got[1].Body != "c" {
		t.Errorf("kept %+v, want a and c", got)
	}
	if s.Calls() != 3 {
		t.Errorf("Calls() = %d, want 3", s.Calls())
	}
}

func TestLogSinkConcurrent(t *testing.T) {
	var s LogSink
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				if err := s.WriteLogs(t.Context(), []model.LogRecord{{Body: "x"}}); err != nil {
					t.Error(err)
				}
				_ = s.Records()
			}
		})
	}
	wg.Wait()
	if n := len(s.Records()); n != 200 {
		t.Errorf("%d records, want 200", n)
	}
}
