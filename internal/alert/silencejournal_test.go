package alert

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/silence"
	"github.com/prometheus/alertmanager/silence/silencepb"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// openJournaled opens the silences of dir as NewNotifications does,
// without the maintenance loop.
func openJournaled(t *testing.T, dir string) (*silence.Silences, *silenceJournal) {
	t.Helper()
	snap := filepath.Join(dir, "silences")
	s, err := silence.New(silence.Options{SnapshotFile: snap, Retention: time.Hour, Metrics: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	j, err := openSilenceJournal(s, snap, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	s.SetBroadcast(j.record)
	return s, j
}

func addSilence(t *testing.T, s *silence.Silences, comment string) string {
	t.Helper()
	m := &silencepb.Matcher{Type: silencepb.Matcher_EQUAL, Name: "instance", Pattern: comment}
	sil := &silencepb.Silence{
		Matchers:    []*silencepb.Matcher{m},
		MatcherSets: []*silencepb.MatcherSet{{Matchers: []*silencepb.Matcher{m}}},
		StartsAt:    timestamppb.New(time.Now()),
		EndsAt:      timestamppb.New(time.Now().Add(time.Hour)),
		CreatedBy:   "test",
		Comment:     comment,
	}
	if err := s.Set(context.Background(), sil); err != nil {
		t.Fatal(err)
	}
	return sil.Id
}

// states returns the state of every silence by comment.
func states(t *testing.T, s *silence.Silences) map[string]string {
	t.Helper()
	all, _, err := s.Query(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, sil := range all {
		out[sil.Comment] = string(silence.CurrentState(sil.StartsAt.AsTime(), sil.EndsAt.AsTime()))
	}
	return out
}

// segments lists the journal's segment files in dir.
func segments(t *testing.T, dir string) []string {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, "silences.wal", "*.wal"))
	if err != nil {
		t.Fatal(err)
	}
	return segs
}

// TestSilenceJournalReplaysAfterACrash leaves the journal without a
// snapshot or a close, as SIGKILL would, and with a record cut short at
// its end: every whole change comes back.
func TestSilenceJournalReplaysAfterACrash(t *testing.T) {
	dir := t.TempDir()
	s, _ := openJournaled(t, dir)
	a := addSilence(t, s, "a")
	addSilence(t, s, "b")
	if err := s.Expire(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	segs := segments(t, dir)
	if len(segs) != 1 {
		t.Fatalf("segments: %v", segs)
	}
	// A crash in the middle of the next record.
	f, err := os.OpenFile(segs[0], os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte{200, 1, 0, 0, 7}); err != nil {
		t.Fatal(err)
	}
	f.Close()

	s2, j2 := openJournaled(t, dir)
	defer j2.close()
	if got := states(t, s2); len(got) != 2 || got["a"] != "expired" || got["b"] != "active" {
		t.Fatalf("after replay: %v, want a expired and b active", got)
	}
	// The replayed journal is in the snapshot now, and gone.
	if segs := segments(t, dir); len(segs) != 0 {
		t.Errorf("segments after the snapshot that covers them: %v", segs)
	}
	s3, j3 := openJournaled(t, dir)
	defer j3.close()
	if got := states(t, s3); len(got) != 2 || got["a"] != "expired" || got["b"] != "active" {
		t.Fatalf("from the snapshot alone: %v, want a expired and b active", got)
	}
}

// TestSilenceJournalSnapshotKeepsLaterChanges checks that a snapshot
// deletes only the journal it covers: a change made after it is replayed.
func TestSilenceJournalSnapshotKeepsLaterChanges(t *testing.T) {
	dir := t.TempDir()
	s, j := openJournaled(t, dir)
	addSilence(t, s, "before")
	if _, err := j.snapshot(s, filepath.Join(dir, "silences")); err != nil {
		t.Fatal(err)
	}
	addSilence(t, s, "after")
	if segs := segments(t, dir); len(segs) != 1 {
		t.Errorf("segments after a snapshot and a change: %v, want one", segs)
	}

	s2, j2 := openJournaled(t, dir)
	defer j2.close()
	if got := states(t, s2); len(got) != 2 || got["before"] != "active" || got["after"] != "active" {
		t.Fatalf("after replay: %v, want before and after, both active", got)
	}
}
