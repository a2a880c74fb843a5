package dashboard

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/argus-obs/argus/internal/derive"
)

// builtins are the generated dashboards, with service names that need
// quoting among them.
func builtins() []*Dashboard {
	return []*Dashboard{Argus(), Service("frontend"), Service("inventory"), Service(`odd "name" \ here`)}
}

func TestBuiltinsAreValid(t *testing.T) {
	for _, d := range builtins() {
		if probs := validate(d, &positions{}); len(probs) > 0 {
			t.Errorf("%s: %v", d.ID, probs)
		}
		if d.Source != SourceBuiltin || d.Title == "" || d.Time != DefaultTime || d.Variables == nil {
			t.Errorf("%s: %+v", d.ID, d)
		}
		// Every expression parses, and no panel overlaps another.
		for i, p := range d.Panels {
			for _, tg := range p.Targets {
				if _, err := checkExpr(tg.Source, tg.Expr); err != nil {
					t.Errorf("%s: panel %q: %q: %v", d.ID, p.Title, tg.Expr, err)
				}
			}
			for _, q := range d.Panels[:i] {
				a, b := p.GridPos, q.GridPos
				if a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H {
					t.Errorf("%s: panels %q and %q overlap", d.ID, p.Title, q.Title)
				}
			}
		}
	}
}

// metricNames returns the metric names a built-in's PromQL selects, and
// the matchers of each selector.
func metricNames(t *testing.T, d *Dashboard) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			if tg.Source != SourcePrometheus {
				continue
			}
			e, err := promParser.ParseExpr(substitute(tg.Expr, "x").text)
			if err != nil {
				t.Fatal(err)
			}
			parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
				if vs, ok := n.(*parser.VectorSelector); ok {
					for _, m := range vs.LabelMatchers {
						if m.Name != "__name__" {
							out[vs.Name] = append(out[vs.Name], m.String())
						}
					}
				}
				return nil
			})
		}
	}
	return out
}

func TestArgusDashboard(t *testing.T) {
	names := metricNames(t, Argus())
	// The metrics of Argus's own /metrics the dashboard is made of (the
	// end-to-end test checks each is served).
	for _, want := range []string{
		"argus_ingest_spans_accepted_total", "argus_ingest_log_records_accepted_total",
		"prometheus_tsdb_head_samples_appended_total", "argus_http_requests_total",
		"argus_http_request_duration_seconds_bucket", "prometheus_tsdb_head_series",
		"go_goroutines", "go_memstats_heap_alloc_bytes", "go_gc_duration_seconds_count", "process_cpu_seconds_total",
	} {
		if _, ok := names[want]; !ok {
			t.Errorf("the argus dashboard does not use %s", want)
		}
	}
	// Every selector is of the self-scrape job.
	for name, matchers := range names {
		for _, m := range matchers {
			if m == `job="argus"` {
				goto ok
			}
		}
		t.Errorf("%s: not selected by job: %v", name, matchers)
	ok:
	}
}

func TestServiceDashboard(t *testing.T) {
	d := Service("inventory")
	if d.ID != "service/inventory" || d.Title != "Service inventory" {
		t.Errorf("id %q, title %q", d.ID, d.Title)
	}
	names := metricNames(t, d)
	for _, m := range names[derive.SpanCallsMetric] {
		if !strings.HasPrefix(m, derive.LabelServiceName) && !strings.HasPrefix(m, derive.LabelSpanKind) && !strings.HasPrefix(m, derive.LabelStatusCode) {
			t.Errorf("span metrics selected by %s", m)
		}
	}
	if !strings.Contains(strings.Join(names[derive.SpanCallsMetric], " "), `service_name="inventory"`) ||
		len(names[derive.SpanDurationMetric+"_bucket"]) == 0 {
		t.Errorf("RED panels: %v", names)
	}
	for _, runtime := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "go_gc_duration_seconds_count", "process_cpu_seconds_total"} {
		if got := names[runtime]; len(got) != 1 || got[0] != `job="inventory"` {
			t.Errorf("%s selected by %v, want job=\"inventory\" (the demo's scrape job)", runtime, got)
		}
	}
	last := d.Panels[len(d.Panels)-1]
	if last.Type != PanelLogs || last.Targets[0].Expr != `{service_name="inventory"}` || last.Targets[0].Source != SourceLoki {
		t.Errorf("logs panel: %+v", last)
	}
	// The JSON is the UI's contract: empty lists are [], not null.
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"id":"service/inventory"`, `"source":"builtin"`, `"variables":[]`, `"gridPos":{"x":0,"y":0,"w":8,"h":8}`, `"time":{"from":"now-1h","to":"now"}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s: %s", want, b)
		}
	}
	if strings.Contains(string(b), `"path"`) || strings.Contains(string(b), `"warnings"`) {
		t.Errorf("JSON has empty optional fields: %s", b)
	}
}

func TestServiceSummaryMatchesDashboard(t *testing.T) {
	if got, want := serviceSummary("inventory"), Service("inventory").Summary(); !reflect.DeepEqual(got, want) {
		t.Errorf("serviceSummary = %+v, Service().Summary() = %+v", got, want)
	}
}
