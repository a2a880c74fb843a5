package logpush

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/argus-obs/argus/internal/ingest/ingestmetrics"
	"github.com/argus-obs/argus/internal/ingest/ingestmetrics/ingestmetricstest"
	"github.com/argus-obs/argus/internal/store/storetest"
)

// TestMetricsShared checks that every series exists, at zero, before the
// first request, and that a second New on the same registry (an app
// rebuilt on reload) shares the counters instead of failing.
func TestMetricsShared(t *testing.T) {
	reg := prometheus.NewRegistry()
	w := &storetest.LogSink{}
	h1, err := New(Options{Writer: w, Registerer: reg, Now: fixedClock})
	if err != nil {
		t.Fatal(err)
	}
	h2, err := New(Options{Writer: w, Registerer: reg, Now: fixedClock})
	if err != nil {
		t.Fatalf("second New on one registry: %v", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]int{}
	for _, mf := range mfs {
		series[mf.GetName()] = len(mf.GetMetric())
	}
	for name, want := range map[string]int{
		"argus_ingest_log_records_received_total": int(numProtocols),
		"argus_ingest_log_records_accepted_total": int(numProtocols),
		"argus_ingest_log_records_rejected_total": int(numProtocols) * int(numReasons),
		"argus_ingest_log_requests_total":         int(numProtocols) * int(ingestmetrics.NumOutcomes),
	} {
		if series[name] != want {
			t.Errorf("%s has %d series, want %d", name, series[name], want)
		}
	}

	for _, h := range []*Handlers{h1, h2} {
		request(h.JSONLines(), "POST", JSONLinesPath, []byte(`{"msg":"x"}`))
	}
	if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_records_accepted_total", "protocol=jsonlines"); got != 2 {
		t.Errorf("accepted = %v, want 2 from the two handlers together", got)
	}
}

func TestNewWithoutWriter(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without a writer succeeded")
	}
}
