// Package ingestmetricstest reads metrics back from a registry in the
// tests of the ingest paths, so a test can check what a request counted
// without holding the collectors:
//
//	got := ingestmetricstest.Value(t, reg, "argus_ingest_log_requests_total", "protocol=loki,outcome=success")
package ingestmetricstest

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// Value returns the sum of the series of the metric family name in g
// whose labels include every pair in labels, written "k=v,k=v" (empty
// labels match every series), or 0 when no series matches. With labels
// that name one series, it is that series' value. It reads counters and
// gauges, and fails t when g cannot be gathered.
func Value(t testing.TB, g prometheus.Gatherer, name, labels string) float64 {
	t.Helper()
	want := map[string]string{}
	for kv := range strings.SplitSeq(labels, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			want[k] = v
		}
	}
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			matched := 0
			for _, lp := range m.GetLabel() {
				if v, ok := want[lp.GetName()]; ok {
					if v != lp.GetValue() {
						break
					}
					matched++
				}
			}
			if matched != len(want) {
				continue
			}
			if gauge := m.GetGauge(); gauge != nil {
				sum += gauge.GetValue()
			} else {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
