package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
)

// testAcrossDays writes a trace whose spans straddle the latest UTC
// midnight and one that straddles the midnight a day earlier, so a store
// that partitions by day must join partitions to answer.
func testAcrossDays(t *testing.T, s TraceStore) func(*testing.T, TraceStore) {
	now := testNow()
	midnight := now.UTC().Truncate(24 * time.Hour)
	if now.Sub(midnight) < time.Minute {
		midnight = midnight.Add(-24 * time.Hour) // keep every span in the past
	}
	day := midnight.Add(-24 * time.Hour)
	m, y := midnight.UnixNano(), day.UnixNano()
	ms := int64(time.Millisecond)
	const (
		server   = model.SpanKindServer
		client   = model.SpanKindClient
		internal = model.SpanKindInternal
	)
	tx := model.TraceID{0xda, 0x75, 15: 1}
	ty := model.TraceID{0xda, 0x75, 15: 2}
	x := []model.Span{
		plainSpan(tx, 1, 0, "frontend", server, "GET /", m-300*ms, time.Second),
		plainSpan(tx, 2, 1, "frontend", internal, "render", m-100*ms, 50*time.Millisecond),
		plainSpan(tx, 3, 1, "frontend", client, "GET", m+100*ms, 200*time.Millisecond),
		plainSpan(tx, 4, 3, "inventory", server, "GET /items/{id}", m+150*ms, 100*time.Millisecond),
	}
	yesterday := []model.Span{
		plainSpan(ty, 1, 0, "frontend", server, "GET /product/{id}", y-time.Second.Nanoseconds(), 2*time.Second),
		plainSpan(ty, 2, 1, "frontend", client, "Quote", y-500*ms, 1500*time.Millisecond),
		plainSpan(ty, 3, 2, "pricing", server, "Quote", y+ms, time.Second),
	}
	writeSpans(t, s, yesterday)
	rev := slices.Clone(x)
	slices.Reverse(rev)
	writeSpans(t, s, rev)
	traces := byTrace(append(x, yesterday...))

	at := func(ns int64) time.Time { return time.Unix(0, ns) }
	type q = store.TraceQuery
	finds := []struct {
		name string
		q    store.TraceQuery
		want []model.TraceID
	}{
		{"All", q{StartMin: day.Add(-time.Hour), StartMax: now}, []model.TraceID{tx, ty}},
		{"NoWindow", q{Service: "pricing"}, []model.TraceID{ty}},
		{"AroundMidnight", q{Service: "frontend", StartMin: at(m - 1e9), StartMax: at(m + 1e9)}, []model.TraceID{tx}},
		{"BeforeMidnight", q{StartMax: at(m - 1)}, []model.TraceID{tx, ty}},
		{"AfterMidnight", q{StartMin: at(m)}, []model.TraceID{tx}},
		{"Yesterday", q{Operation: "Quote", StartMin: at(y), StartMax: at(y + 1e9)}, []model.TraceID{ty}},
	}
	deps := []struct {
		name       string
		start, end time.Time
		want       []store.DependencyLink
	}{
		{"All", day.Add(-time.Hour), now, []store.DependencyLink{edge("frontend", "inventory", 1), edge("frontend", "pricing", 1)}},
		{"AfterMidnight", at(m), at(m + 1e9), []store.DependencyLink{edge("frontend", "inventory", 1)}},
		{"AfterYesterday", at(y), at(y + 1e9), []store.DependencyLink{edge("frontend", "pricing", 1)}},
		{"BeforeMidnight", at(m - 1e9), at(m - 1), nil},
	}
	check := func(t *testing.T, s TraceStore) {
		wantTraces(t, s, traces)
		for _, c := range finds {
			t.Run("FindTraces/"+c.name, func(t *testing.T) { wantFind(t, s, c.q, traces, c.want...) })
		}
		for _, c := range deps {
			t.Run("Dependencies/"+c.name, func(t *testing.T) {
				if got := dependencies(t, s, c.start, c.end); !slices.Equal(got, c.want) {
					t.Errorf("Dependencies(%s, %s) = %v; want %v", c.start.UTC().Format(time.RFC3339Nano), c.end.UTC().Format(time.RFC3339Nano), got, c.want)
				}
			})
		}
		want := []string{"frontend", "inventory", "pricing"}
		if got := services(t, s); !slices.Equal(got, want) {
			t.Errorf("Services = %q; want %q", got, want)
		}
	}
	check(t, s)
	return check
}
