package dashboard

import (
	"fmt"
	"strings"
	"sync"
)

// The built-in dashboards are generated, not loaded: one of Argus itself
// and one per service that sends spans.

// ArgusID is the id of the dashboard of Argus itself.
const ArgusID = "argus"

// ServiceIDPrefix starts the id of a service's dashboard:
// "service/frontend".
const ServiceIDPrefix = "service/"

// SelfJob is the job under which Argus scrapes its own /metrics (the
// config's self-scrape job); the Argus dashboard selects it.
const SelfJob = "argus"

// rateInterval is the range of every rate in the built-ins.
const rateInterval = "[$__rate_interval]"

// promTarget is a PromQL target with its legend.
func promTarget(expr, legend string) Target {
	return Target{Expr: expr, Legend: legend, Source: SourcePrometheus}
}

// Argus returns the dashboard of Argus itself, from the metrics of its
// own /metrics, which it scrapes as job "argus": what it ingests, how its
// HTTP APIs answer, its storage, and its Go runtime. It is built once and
// shared: callers must not modify it.
func Argus() *Dashboard { return argusDashboard() }

var argusDashboard = sync.OnceValue(buildArgus)

func buildArgus() *Dashboard {
	sel := fmt.Sprintf(`{job=%s}`, quote(SelfJob))
	m := func(name string) string { return name + sel }
	with := func(name, matchers string) string {
		return name + "{job=" + quote(SelfJob) + "," + matchers + "}"
	}
	grid := newGrid()
	d := &Dashboard{
		ID:          ArgusID,
		Title:       "Argus",
		Description: "Argus itself: what it ingests, how its APIs answer, its storage and its Go runtime (from its own /metrics, scraped as job \"argus\").",
		Source:      SourceBuiltin,
		Tags:        []string{"argus"},
		Time:        DefaultTime,
		Refresh:     "30s",
		Variables:   []Variable{},
		Panels: []Panel{
			grid.panel(8, 8, Panel{Title: "Spans received per second", Type: PanelTimeseries, Unit: "short",
				Description: "Spans accepted over OTLP and stored, and spans refused as invalid.",
				Targets: []Target{
					promTarget(fmt.Sprintf("sum(rate(%s%s))", m("argus_ingest_spans_accepted_total"), rateInterval), "accepted"),
					promTarget(fmt.Sprintf("sum(rate(%s%s))", m("argus_ingest_spans_rejected_total"), rateInterval), "rejected"),
				}}),
			grid.panel(8, 8, Panel{Title: "Log lines received per second", Type: PanelTimeseries, Unit: "short",
				Description: "Log records accepted, by protocol, and refused.",
				Targets: []Target{
					promTarget(fmt.Sprintf("sum by (protocol) (rate(%s%s))", m("argus_ingest_log_records_accepted_total"), rateInterval), "{{protocol}}"),
					promTarget(fmt.Sprintf("sum(rate(%s%s))", m("argus_ingest_log_records_rejected_total"), rateInterval), "rejected"),
				}}),
			grid.panel(8, 8, Panel{Title: "Samples appended per second", Type: PanelTimeseries, Unit: "short",
				Description: "Samples written into the metrics store (scrapes, remote write, OTLP, span metrics), by type.",
				Targets: []Target{
					promTarget(fmt.Sprintf("sum by (type) (rate(%s%s))", m("prometheus_tsdb_head_samples_appended_total"), rateInterval), "{{type}}"),
				}}),

			grid.panel(8, 8, Panel{Title: "API requests per second", Type: PanelTimeseries, Unit: "reqps",
				Description: "HTTP requests by handler (API surface).",
				Targets: []Target{
					promTarget(fmt.Sprintf("sum by (handler) (rate(%s%s))", m("argus_http_requests_total"), rateInterval), "{{handler}}"),
				}}),
			grid.panel(8, 8, Panel{Title: "API errors per second", Type: PanelTimeseries, Unit: "reqps",
				Description: "HTTP requests answered with a 5xx status, by handler.",
				Targets: []Target{
					promTarget(fmt.Sprintf("sum by (handler) (rate(%s%s))", with("argus_http_requests_total", `code=~"5.."`), rateInterval), "{{handler}}"),
				}}),
			grid.panel(8, 8, Panel{Title: "API latency p95", Type: PanelTimeseries, Unit: "s",
				Description: "95th percentile of HTTP request latency, by handler.",
				Targets: []Target{
					promTarget(fmt.Sprintf("histogram_quantile(0.95, sum by (handler, le) (rate(%s%s)))", m("argus_http_request_duration_seconds_bucket"), rateInterval), "{{handler}}"),
				}}),

			grid.panel(6, 8, Panel{Title: "TSDB head series", Type: PanelTimeseries, Unit: "short",
				Description: "Series in the metrics store's in-memory head.",
				Targets:     []Target{promTarget(m("prometheus_tsdb_head_series"), "series")}}),
			grid.panel(6, 8, Panel{Title: "Stored rows", Type: PanelTimeseries, Unit: "short",
				Description: "Rows in the column stores' parts, by store (traces, logs, exemplars, alerts, actions).",
				Targets:     []Target{promTarget(fmt.Sprintf("sum by (store) (%s)", m("argus_colstore_rows")), "{{store}}")}}),
			grid.panel(6, 8, Panel{Title: "Storage size", Type: PanelTimeseries, Unit: "bytes",
				Description: "Bytes on disk: the column stores' parts by store, the TSDB's blocks and write-ahead log.",
				Targets: []Target{
					promTarget(fmt.Sprintf("sum by (store) (%s)", m("argus_colstore_part_bytes")), "{{store}}"),
					promTarget(m("prometheus_tsdb_storage_blocks_bytes"), "metrics blocks"),
					promTarget(m("prometheus_tsdb_wal_storage_size_bytes"), "metrics WAL"),
				}}),
			grid.panel(6, 8, Panel{Title: "Waiting to be flushed", Type: PanelTimeseries, Unit: "bytes",
				Description: "Bytes of rows in the column stores' memtables, by store.",
				Targets:     []Target{promTarget(fmt.Sprintf("sum by (store) (%s)", m("argus_colstore_memtable_bytes")), "{{store}}")}}),
		},
	}
	d.Panels = append(d.Panels, runtimePanels(grid, sel)...)
	return d
}

// Service returns the dashboard of one service: its requests, errors and
// latency from the span metrics Argus derives from its spans, its Go
// runtime from the metrics it exposes (scraped, or pushed over OTLP, under
// the job of its service name, as "argus demo" scrapes the shop), and its
// logs.
func Service(name string) *Dashboard {
	svc := "service_name=" + quote(name)
	server := svc + `,span_kind=~"SPAN_KIND_SERVER|SPAN_KIND_CONSUMER"`
	calls := func(matchers string) string {
		return fmt.Sprintf("traces_span_metrics_calls_total{%s}%s", matchers, rateInterval)
	}
	buckets := fmt.Sprintf("traces_span_metrics_duration_seconds_bucket{%s}%s", server, rateInterval)
	errors := server + `,status_code="STATUS_CODE_ERROR"`
	quantile := func(q, by string) string {
		return fmt.Sprintf("histogram_quantile(%s, sum by (%sle) (rate(%s)))", q, by, buckets)
	}
	grid := newGrid()
	sum := serviceSummary(name)
	d := &Dashboard{
		ID:          sum.ID,
		Title:       sum.Title,
		Description: fmt.Sprintf("Requests, errors and latency of %s's server spans (span metrics), its Go runtime (metrics of job %q) and its logs.", name, name),
		Source:      sum.Source,
		Tags:        sum.Tags,
		Time:        DefaultTime,
		Refresh:     "30s",
		Variables:   []Variable{},
		Panels: []Panel{
			grid.panel(8, 8, Panel{Title: "Requests per second", Type: PanelTimeseries, Unit: "reqps",
				Description: "Server and consumer spans per second, by operation.",
				Targets:     []Target{promTarget(fmt.Sprintf("sum by (span_name) (rate(%s))", calls(server)), "{{span_name}}")}}),
			grid.panel(8, 8, Panel{Title: "Error ratio", Type: PanelTimeseries, Unit: "percentunit",
				Description: "Share of server and consumer spans with status error, by operation.",
				Targets: []Target{promTarget(fmt.Sprintf("sum by (span_name) (rate(%s)) / sum by (span_name) (rate(%s))",
					calls(errors), calls(server)), "{{span_name}}")}}),
			grid.panel(8, 8, Panel{Title: "Latency", Type: PanelTimeseries, Unit: "s",
				Description: "Percentiles of server and consumer span duration, all operations together.",
				Targets: []Target{
					promTarget(quantile("0.5", ""), "p50"),
					promTarget(quantile("0.95", ""), "p95"),
					promTarget(quantile("0.99", ""), "p99"),
				}}),

			grid.panel(12, 8, Panel{Title: "Latency p95 by operation", Type: PanelTimeseries, Unit: "s",
				Targets: []Target{promTarget(quantile("0.95", "span_name, "), "{{span_name}}")}}),
			grid.panel(12, 8, Panel{Title: "Outgoing calls per second", Type: PanelTimeseries, Unit: "reqps",
				Description: "Client and producer spans per second, by operation: what the service calls.",
				Targets: []Target{promTarget(fmt.Sprintf("sum by (span_name) (rate(%s))",
					calls(svc+`,span_kind=~"SPAN_KIND_CLIENT|SPAN_KIND_PRODUCER"`)), "{{span_name}}")}}),
		},
	}
	d.Panels = append(d.Panels, runtimePanels(grid, fmt.Sprintf(`{job=%s}`, quote(name)))...)
	d.Panels = append(d.Panels, grid.panel(24, 10, Panel{Title: "Logs", Type: PanelLogs,
		Targets: []Target{{Expr: fmt.Sprintf("{%s}", svc), Source: SourceLoki}}}))
	return d
}

// serviceSummary is Service(name)'s entry in a listing, without building
// its panels.
func serviceSummary(name string) Summary {
	return Summary{ID: ServiceIDPrefix + name, Title: "Service " + name, Source: SourceBuiltin, Tags: []string{"service"}}
}

// runtimePanels are the Go runtime panels of the process whose
// client_golang metrics sel selects.
func runtimePanels(grid *grid, sel string) []Panel {
	return []Panel{
		grid.panel(6, 8, Panel{Title: "Goroutines", Type: PanelTimeseries, Unit: "short",
			Targets: []Target{promTarget("go_goroutines"+sel, "{{instance}}")}}),
		grid.panel(6, 8, Panel{Title: "Memory", Type: PanelTimeseries, Unit: "bytes",
			Description: "Heap in use by live objects, and the resident set of the process.",
			Targets: []Target{
				promTarget("go_memstats_heap_alloc_bytes"+sel, "heap {{instance}}"),
				promTarget("process_resident_memory_bytes"+sel, "resident {{instance}}"),
			}}),
		grid.panel(6, 8, Panel{Title: "GC", Type: PanelTimeseries, Unit: "short",
			Description: "Garbage collections per second.",
			Targets: []Target{
				promTarget(fmt.Sprintf("rate(go_gc_duration_seconds_count%s%s)", sel, rateInterval), "collections/s {{instance}}"),
			}}),
		grid.panel(6, 8, Panel{Title: "CPU", Type: PanelTimeseries, Unit: "short",
			Description: "CPU seconds used per second (cores busy).",
			Targets: []Target{
				promTarget(fmt.Sprintf("rate(process_cpu_seconds_total%s%s)", sel, rateInterval), "{{instance}}"),
			}}),
	}
}

// grid places the built-ins' panels left to right, row after row.
type grid struct{ x, y, rowH int }

func newGrid() *grid { return &grid{} }

func (g *grid) panel(w, h int, p Panel) Panel {
	if g.x+w > GridColumns {
		g.x, g.y, g.rowH = 0, g.y+g.rowH, 0
	}
	p.GridPos = GridPos{X: g.x, Y: g.y, W: w, H: h}
	g.x += w
	g.rowH = max(g.rowH, h)
	return p
}

// quote writes a label value as a PromQL and LogQL string literal.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
