package alert

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/argus-obs/argus/internal/store/colstore"
)

// TestHistoryReadsBackWhatItWrote writes events across several parts and
// reads them back: every string must survive the store's reuse of its
// decoding buffers.
func TestHistoryReadsBackWhatItWrote(t *testing.T) {
	dir := t.TempDir()
	cs, err := colstore.Open(colstore.Options{Dir: dir, WALNoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	h, err := NewHistory(context.Background(), cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	kinds := []string{EventPending, EventFiring, EventResolved, EventInactive, EventAcknowledged}
	start := time.Now().Add(-time.Hour).UTC()
	var want []Event
	for part := range 3 {
		var batch []Event
		for i := range 400 {
			n := part*400 + i
			v := float64(n)
			batch = append(batch, Event{
				Time: start.Add(time.Duration(n) * time.Second), Event: kinds[n%len(kinds)],
				AlertName: fmt.Sprintf("Alert%d", n%7), Fingerprint: fmt.Sprintf("%016x", n%13), Group: "g",
				Labels: map[string]string{"instance": fmt.Sprint(n)}, Value: &v, By: fmt.Sprintf("user-%d", n%3),
			})
		}
		if err := h.write(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
		if err := cs.Flush(); err != nil {
			t.Fatal(err)
		}
		want = append(want, batch...)
	}
	got, err := h.Events(context.Background(), Query{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d events, want %d", len(got), len(want))
	}
	for i, e := range got {
		w := want[i]
		if e.Event != w.Event || e.AlertName != w.AlertName || e.Fingerprint != w.Fingerprint || e.By != w.By ||
			e.Labels["instance"] != w.Labels["instance"] || *e.Value != *w.Value || !e.Time.Equal(w.Time) {
			t.Fatalf("event %d: got %+v, want %+v", i, e, w)
		}
	}
	// Filters by name, fingerprint and event.
	sel, err := h.Events(context.Background(), Query{AlertName: "Alert3", Event: EventFiring, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range sel {
		if e.AlertName != "Alert3" || e.Event != EventFiring {
			t.Fatalf("filtered: %+v", e)
		}
	}
	if len(sel) == 0 {
		t.Fatal("filter matched nothing")
	}
}
