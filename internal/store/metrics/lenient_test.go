package metrics

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// TestRejectionsDataPoints checks that the samples of one classic
// histogram or summary point count as one data point, and that distinct
// series or times stay distinct.
func TestRejectionsDataPoints(t *testing.T) {
	var r Rejections
	for _, le := range []string{"0.1", "1", "+Inf"} {
		r.addPoint(labels.FromStrings("__name__", "rpc_seconds_bucket", "job", "a", "le", le), 1000)
	}
	r.addPoint(labels.FromStrings("__name__", "rpc_seconds_sum", "job", "a"), 1000)
	r.addPoint(labels.FromStrings("__name__", "rpc_seconds_count", "job", "a"), 1000)
	if got := r.DataPoints(); got != 1 {
		t.Fatalf("one histogram point: %d data points", got)
	}
	r.addPoint(labels.FromStrings("__name__", "rpc_seconds_count", "job", "a"), 2000) // another time
	r.addPoint(labels.FromStrings("__name__", "rpc_seconds_count", "job", "b"), 1000) // another series
	r.addPoint(labels.FromStrings("__name__", "lag", "quantile", "0.5", "job", "a"), 1000)
	r.addPoint(labels.FromStrings("__name__", "lag", "quantile", "0.9", "job", "a"), 1000)
	r.addPoint(labels.FromStrings("__name__", "lag_sum", "job", "a"), 1000)
	if got := r.DataPoints(); got != 4 {
		t.Errorf("data points = %d, want 4", got)
	}
}
