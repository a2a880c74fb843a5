package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestDamagedFilesAtStartup tears the tail of the write-ahead log and
// truncates a part file while argus is down: it must start, say what it
// quarantined, and serve every intact row.
func TestDamagedFilesAtStartup(t *testing.T) {
	dir := t.TempDir()
	export := func(s *server, svc string) []string {
		spans, ids := batchOfTraces(svc, 10, time.Now().Add(-time.Minute))
		if err := grpcExporter(t, s).ExportSpans(ctxTimeout(t, 30*time.Second), spans); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	parts := func() []string {
		p, _ := filepath.Glob(filepath.Join(dir, "traces", "*", "*.part"))
		slices.Sort(p)
		return p
	}

	// A: flushed to a part by a clean stop. B: another part, which will be
	// damaged. C1, C2: only in the write-ahead log; C2's record is torn.
	s := startArgus(t, dir)
	idsA := export(s, "a")
	s.stop()
	s = startArgus(t, dir)
	idsB := export(s, "b")
	s.stop()
	if len(parts()) != 2 {
		t.Fatalf("parts: %v", parts())
	}
	s = startArgus(t, dir)
	idsC1 := export(s, "c")
	idsC2 := export(s, "c")
	s.kill()

	partB := parts()[1]
	st, err := os.Stat(partB)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(partB, st.Size()-10); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "traces", "wal", "*.wal"))
	slices.Sort(segs)
	last := segs[len(segs)-1]
	st, err = os.Stat(last)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(last, st.Size()-7); err != nil {
		t.Fatal(err)
	}

	s = startArgus(t, dir)
	assertTraces(t, s, idsA)
	assertTraces(t, s, idsC1)
	for _, id := range append(idsB, idsC2...) {
		s.getJSON("/jaeger/api/traces/"+id, 404, nil)
	}
	logs := s.logs()
	for _, want := range []string{"damaged part quarantined", filepath.Base(partB)} {
		if !strings.Contains(logs, want) {
			t.Errorf("log does not mention %q", want)
		}
	}
	q, _ := filepath.Glob(filepath.Join(dir, "traces", "quarantine", "*"))
	if len(q) == 0 {
		t.Error("nothing in quarantine/")
	}
	walQ, _ := filepath.Glob(filepath.Join(dir, "traces", "wal", "quarantine", "*"))
	if len(walQ) == 0 {
		t.Error("torn WAL tail not kept in wal/quarantine/")
	}
	// And it keeps working: new spans are taken and survive a restart.
	idsD := export(s, "d")
	s.stop()
	s = startArgus(t, dir)
	assertTraces(t, s, idsD)
	assertTraces(t, s, idsA)
}
