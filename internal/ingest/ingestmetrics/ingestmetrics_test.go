package ingestmetrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestNewLogRecordsShared checks that two paths building the families on
// one registry count into the same series, and that a family without
// series is not exposed.
func TestNewLogRecordsShared(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := NewLogRecords(reg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewLogRecords(reg)
	if err != nil {
		t.Fatalf("second NewLogRecords on one registry: %v", err)
	}
	if a.Received != b.Received || a.Accepted != b.Accepted || a.Rejected != b.Rejected || a.Requests != b.Requests {
		t.Error("the second NewLogRecords made new collectors instead of sharing the registered ones")
	}
	a.Received.WithLabelValues("one").Inc()
	b.Received.WithLabelValues("two").Add(2)
	b.Rejected.WithLabelValues("one", "invalid").Inc()

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, mf := range mfs {
		got[mf.GetName()] = len(mf.GetMetric())
	}
	want := map[string]int{
		"argus_ingest_log_records_received_total": 2,
		"argus_ingest_log_records_rejected_total": 1,
	}
	if len(got) != len(want) {
		t.Errorf("exposed families %v, want %v", got, want)
	}
	for name, n := range want {
		if got[name] != n {
			t.Errorf("%s has %d series, want %d", name, got[name], n)
		}
	}
}

func TestNewLogRecordsUnregistered(t *testing.T) {
	l, err := NewLogRecords(nil)
	if err != nil {
		t.Fatal(err)
	}
	l.Requests.WithLabelValues("p", "success").Inc() // usable without a registry
}

// TestRegisterConflict checks that a collector that clashes with a
// registered one, rather than repeating it, is an error.
func TestRegisterConflict(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := NewLogRecords(reg); err != nil {
		t.Fatal(err)
	}
	clash := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "argus_ingest_log_records_received_total",
		Help: "Another help text.",
	}, []string{"protocol"})
	if _, err := Register(reg, clash); err == nil {
		t.Error("registering a family under a taken name with another help text succeeded")
	}
	// Register shares any kind of collector, not only counter vectors.
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "g", Help: "h"})
	if _, err := Register(reg, g); err != nil {
		t.Fatal(err)
	}
	if got, err := Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: "g", Help: "h"})); err != nil || got != g {
		t.Errorf("Register of an equal gauge = %v, %v; want the registered one", got, err)
	}
}

// TestOutcomeNames checks that every outcome has its own label value.
func TestOutcomeNames(t *testing.T) {
	seen := map[string]Outcome{}
	for o := range NumOutcomes {
		name := o.String()
		if prev, dup := seen[name]; dup || name == "" {
			t.Errorf("outcome %d is named %q, as is %d", o, name, prev)
		}
		seen[name] = o
	}
	if got := OutcomeTooLarge.String(); got != "too_large" {
		t.Errorf("OutcomeTooLarge = %q", got)
	}
	if got := NumOutcomes.String(); got != "Outcome(9)" {
		t.Errorf("NumOutcomes = %q", got)
	}
}
