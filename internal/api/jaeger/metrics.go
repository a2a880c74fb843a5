package jaeger

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/argus-obs/argus/internal/store"
)

// MetricsQuerier evaluates PromQL over the metrics store. Both methods
// are safe for concurrent use and return results the caller owns.
type MetricsQuerier interface {
	RangeQuery(ctx context.Context, query string, start, end time.Time, step time.Duration) (promql.Matrix, error)
	// InstantQuery returns a promql.Vector, a promql.Scalar, or for a
	// range selector a promql.Matrix of raw samples.
	InstantQuery(ctx context.Context, query string, ts time.Time) (parser.Value, error)
}

// addVirtualDependencies adds to links the service graph's edges whose
// callee sent no spans (a database, a service named by peer.service):
// the span store cannot see those calls, the derived service graph
// metrics can. Edges between traced services are counted from the spans
// themselves, which is exact, so only edges missing from links are
// added; the edges from the "user" node (root spans) are left out, as
// Jaeger leaves them out.
func (h *Handler) addVirtualDependencies(ctx context.Context, links []store.DependencyLink, start, end time.Time) ([]store.DependencyLink, error) {
	if h.metrics == nil {
		return links, nil
	}
	window := max(end.Sub(start), time.Second)
	// The raw samples, not increase(): increase extrapolates to the
	// window's edges, and a call count must be exact. Each series starts
	// with a zero sample, so its first calls are counted too.
	q := fmt.Sprintf(`traces_service_graph_request_total{client!="user"}[%dms]`, window.Milliseconds())
	v, err := h.metrics.InstantQuery(ctx, q, end)
	if err != nil {
		return nil, fmt.Errorf("service graph: %w", err)
	}
	m, _ := v.(promql.Matrix)
	known := map[[2]string]bool{}
	for _, l := range links {
		known[[2]string{l.Parent, l.Child}] = true
	}
	calls := map[[2]string]float64{}
	for _, s := range m {
		client, server := s.Metric.Get("client"), s.Metric.Get("server")
		if client == "" || server == "" || client == server || known[[2]string{client, server}] {
			continue
		}
		calls[[2]string{client, server}] += counterIncrease(s.Floats)
	}
	for k, n := range calls {
		if n = math.Round(n); n >= 1 {
			links = append(links, store.DependencyLink{Parent: k[0], Child: k[1], CallCount: uint64(n)})
		}
	}
	slices.SortFunc(links, func(a, b store.DependencyLink) int {
		return cmp.Or(cmp.Compare(a.Parent, b.Parent), cmp.Compare(a.Child, b.Child))
	})
	return links, nil
}

// counterIncrease is how much a counter grew over its samples, counting a
// drop as a reset to zero, without extrapolation.
func counterIncrease(points []promql.FPoint) float64 {
	var inc float64
	for i := 1; i < len(points); i++ {
		if d := points[i].F - points[i-1].F; d >= 0 {
			inc += d
		} else {
			inc += points[i].F
		}
	}
	return inc
}
