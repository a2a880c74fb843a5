package storetest

import (
	"testing"
	"time"

	"github.com/argus-obs/argus/internal/model"
)

// TestGeneratorCoverage checks that generated data has everything the
// suite promises to exercise, and the properties the suite relies on.
func TestGeneratorCoverage(t *testing.T) {
	now := time.Now()
	from, to := lastHour(now)
	// The smallest data set a subtest generates from one seed.
	for _, seed := range []uint64{1, 2, 4, 6, 7, 8} {
		spans := newGenerator(seed).traces(10, from, to)
		types := map[model.ValueType]bool{}
		kinds := map[model.SpanKind]bool{}
		statuses := map[model.StatusCode]bool{}
		services := map[string]bool{}
		var eventAttrs, eventNoAttrs, links, crossLinks, linkAttrs, traceState, dropped, resAttrs, scopes, crossService int
		starts := map[int64]bool{}
		traces := byTrace(spans)
		for i := range spans {
			s := &spans[i]
			for _, a := range s.Attributes {
				types[a.Type] = true
			}
			kinds[s.Kind] = true
			statuses[s.StatusCode] = true
			services[s.Resource.ServiceName] = true
			for _, e := range s.Events {
				if len(e.Attributes) > 0 {
					eventAttrs++
				} else {
					eventNoAttrs++
				}
			}
			for _, l := range s.Links {
				links++
				if l.TraceID != s.TraceID {
					crossLinks++
				}
				if len(l.Attributes) > 0 {
					linkAttrs++
				}
			}
			if s.TraceState != "" {
				traceState++
			}
			if s.DroppedAttributes > 0 {
				dropped++
			}
			if len(s.Resource.Attributes) > 0 {
				resAttrs++
			}
			if s.Scope.Name != "" && s.Scope.Version != "" {
				scopes++
			}
			if starts[s.StartUnixNano] {
				t.Errorf("seed %d: two spans start at %d", seed, s.StartUnixNano)
			}
			starts[s.StartUnixNano] = true
			if s.StartUnixNano < from.UnixNano() || s.EndUnixNano > now.UnixNano() {
				t.Errorf("seed %d: span %s is outside the last hour", seed, s.SpanID)
			}
			if !s.ParentSpanID.IsZero() {
				found := false
				for _, p := range traces[s.TraceID] {
					if p.SpanID == s.ParentSpanID {
						found = true
						if p.Resource.ServiceName != s.Resource.ServiceName {
							crossService++
						}
					}
				}
				if !found {
					t.Errorf("seed %d: span %s has no parent in its trace", seed, s.SpanID)
				}
			}
		}
		for vt := model.ValueString; vt <= model.ValueMap; vt++ {
			if !types[vt] {
				t.Errorf("seed %d: no attribute of value type %d", seed, vt)
			}
		}
		for _, k := range []model.SpanKind{model.SpanKindServer, model.SpanKindClient, model.SpanKindInternal} {
			if !kinds[k] {
				t.Errorf("seed %d: no span of kind %s", seed, k)
			}
		}
		if !statuses[model.StatusError] || !statuses[model.StatusUnset] {
			t.Errorf("seed %d: statuses %v; want error and unset at least", seed, statuses)
		}
		if len(services) < 3 {
			t.Errorf("seed %d: %d services; want at least 3", seed, len(services))
		}
		for name, n := range map[string]int{
			"events with attributes": eventAttrs, "resources with attributes": resAttrs,
			"scopes with versions": scopes, "cross-service calls": crossService, "trace states": traceState,
		} {
			if n == 0 {
				t.Errorf("seed %d: no %s", seed, name)
			}
		}
		t.Logf("seed %d: %d spans, %d traces, services %d, kinds %v, events %d+%d, links %d (%d cross-trace, %d with attributes), dropped %d",
			seed, len(spans), len(traces), len(services), kinds, eventAttrs, eventNoAttrs, links, crossLinks, linkAttrs, dropped)
	}

	// Over a larger data set, the rarer features appear too.
	spans := newGenerator(7).traces(60, from, to)
	kinds := map[model.SpanKind]bool{}
	var crossLinks, dropped, ok int
	for i := range spans {
		kinds[spans[i].Kind] = true
		for _, l := range spans[i].Links {
			if l.TraceID != spans[i].TraceID {
				crossLinks++
			}
		}
		if spans[i].DroppedAttributes > 0 {
			dropped++
		}
		if spans[i].StatusCode == model.StatusOK {
			ok++
		}
	}
	if !kinds[model.SpanKindProducer] || !kinds[model.SpanKindConsumer] || crossLinks == 0 || dropped == 0 || ok == 0 {
		t.Errorf("60 traces: kinds %v, %d cross-trace links, %d spans with dropped attributes, %d with status ok; want every kind and some of each", kinds, crossLinks, dropped, ok)
	}
}
