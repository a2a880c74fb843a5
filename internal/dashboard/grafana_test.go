package dashboard

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestFromGrafana converts a Grafana 11 export with every kind of panel,
// target and variable the converter knows or refuses, and compares the
// result with testdata/grafana-shop.golden.json; the checks below spell
// out what matters in it.
func TestFromGrafana(t *testing.T) {
	data, err := os.ReadFile("testdata/grafana-shop.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := FromGrafana(data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	const golden = "testdata/grafana-shop.golden.json"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("conversion differs from %s (go test -update rewrites it):\n%s", golden, got)
	}

	if d.ID != "import/shop-overview" || d.Title != "Shop overview" || d.Source != SourceImport || d.Refresh != "30s" ||
		d.Time != (Time{"now-3h", "now"}) || !slices.Equal(d.Tags, []string{"shop", "red"}) {
		t.Errorf("dashboard: %+v", d)
	}

	// Panels: kept in order, rows flattened, types mapped, the rest left out.
	var titles, types []string
	for _, p := range d.Panels {
		titles = append(titles, p.Title)
		types = append(types, p.Type)
	}
	wantTitles := []string{"Request rate", "Error ratio", "Inventory saturation", "Slowest routes", "Latency heatmap",
		"Inventory logs", "Errors, every signal", "Goroutines", "Log volume", "Targets up", "Uptime", "By cluster"}
	wantTypes := []string{"timeseries", "stat", "stat", "table", "heatmap", "logs", "timeseries", "timeseries", "timeseries",
		"timeseries", "stat", "table"}
	if !slices.Equal(titles, wantTitles) || !slices.Equal(types, wantTypes) {
		t.Errorf("panels:\n %q\n %q\nwant\n %q\n %q", titles, types, wantTitles, wantTypes)
	}
	panel := func(title string) Panel {
		i := slices.Index(titles, title)
		if i < 0 {
			t.Fatalf("no panel %q", title)
		}
		return d.Panels[i]
	}
	// The open row's line is taken back; the collapsed row's panels take
	// its place and push what follows down.
	for title, want := range map[string]GridPos{
		"Request rate":         {0, 0, 12, 8},
		"Errors, every signal": {0, 30, 24, 8},
		"Goroutines":           {0, 38, 12, 8},
		"Log volume":           {12, 38, 12, 8},
		"Targets up":           {0, 46, 8, 6},
	} {
		if got := panel(title).GridPos; got != want {
			t.Errorf("%s: gridPos %+v, want %+v", title, got, want)
		}
	}
	// Units: fieldConfig, legacy yaxes and format; "none" is none.
	for title, want := range map[string]string{"Request rate": "reqps", "Error ratio": "percentunit", "Goroutines": "short", "Uptime": "s", "Log volume": ""} {
		if got := panel(title).Unit; got != want {
			t.Errorf("%s: unit %q, want %q", title, got, want)
		}
	}
	// Targets: hidden and empty ones gone, legendFormat and instant kept,
	// __auto legends dropped, sources by data source or by the expression.
	if tg := panel("Request rate").Targets; len(tg) != 1 || tg[0].Legend != "{{route}}" || tg[0].Source != SourcePrometheus || tg[0].Instant {
		t.Errorf("Request rate targets: %+v", tg)
	}
	if tg := panel("Error ratio").Targets; len(tg) != 1 || !tg[0].Instant || tg[0].Legend != "" {
		t.Errorf("Error ratio targets: %+v", tg)
	}
	if tg := panel("Errors, every signal").Targets; len(tg) != 2 || tg[0].Source != SourcePrometheus || tg[1].Source != SourceLoki || tg[1].Legend != "{{level}} lines" {
		t.Errorf("mixed panel targets: %+v", tg)
	}
	if tg := panel("Log volume").Targets; tg[0].Source != SourceLoki {
		t.Errorf("a LogQL expression of the default data source: %+v", tg)
	}
	if tg := panel("Inventory logs").Targets; tg[0].Source != SourceLoki || !strings.HasPrefix(tg[0].Expr, `{service_name="inventory"}`) {
		t.Errorf("logs targets: %+v", tg)
	}
	if tg := panel("Targets up").Targets; tg[0].Source != SourcePrometheus {
		t.Errorf("a panel of the data source variable: %+v", tg)
	}

	// Variables: the datasource and adhoc ones dropped.
	vars := map[string]Variable{}
	var names []string
	for _, v := range d.Variables {
		vars[v.Name] = v
		names = append(names, v.Name)
	}
	if want := []string{"job", "route", "level", "busiest", "quantile", "product", "interval", "env", "search"}; !slices.Equal(names, want) {
		t.Errorf("variables %q, want %q", names, want)
	}
	for name, want := range map[string]Variable{
		"job": {Name: "job", Label: "Job", Type: VarQuery, Source: SourcePrometheus, Query: "label_values(up, job)",
			LabelName: "job", Match: "up", Default: AllValue, Multi: true, IncludeAll: true},
		"route": {Name: "route", Type: VarQuery, Source: SourcePrometheus, Query: `label_values(http_server_requests_total{job=~"$job"}, route)`,
			LabelName: "route", Match: `http_server_requests_total{job=~"$job"}`, Default: "/orders", Multi: true, IncludeAll: true},
		"level": {Name: "level", Label: "Level", Type: VarQuery, Source: SourceLoki, Query: `label_values({service_name="inventory"}, level)`,
			LabelName: "level", Match: `{service_name="inventory"}`, Default: "ERROR"},
		"busiest": {Name: "busiest", Type: VarQuery, Source: SourcePrometheus,
			Query: "query_result(topk(5, sum by (route) (rate(http_server_requests_total[1h]))))"},
		"quantile": {Name: "quantile", Type: VarCustom, Options: []string{"0.5", "0.9", "0.99"}, Default: "0.99"},
		"product":  {Name: "product", Type: VarCustom, Options: []string{"p-1", "p-2", "p,3"}, Default: "p-1", Multi: true, IncludeAll: true},
		"interval": {Name: "interval", Type: VarInterval, Options: []string{"1m", "5m", "10m", "30m", "1h", "6h", "12h", "1d"}, Default: "5m"},
		"env":      {Name: "env", Type: VarConstant, Options: []string{"prod"}, Default: "prod"},
		"search":   {Name: "search", Label: "Search", Type: VarTextbox, Default: "timeout"},
	} {
		got := vars[name]
		gotJSON, _ := json.Marshal(got)
		wantJSON, _ := json.Marshal(want)
		if !bytes.Equal(gotJSON, wantJSON) {
			t.Errorf("variable %s:\n got %s\nwant %s", name, gotJSON, wantJSON)
		}
	}

	wantWarnings := []string{
		`variable "job": regex /frontend|inventory/ not applied to its options`,
		`variable "busiest": query "query_result(topk(5, sum by (route) (rate(http_server_requests_total[1h]))))" is not label_values(...): Argus cannot list its options; type them in`,
		`variable "busiest": regex /route="([^"]+)"/ not applied to its options`,
		`variable "interval": the auto option is not supported`,
		`variable "filters": ad hoc filters are not supported; left out`,
		`panel "Request rate": target C: no expression; left out`,
		`panel "Inventory saturation": a gauge, drawn as a stat`,
		`panel "Slowest routes": 1 transformation(s) not applied`,
		`panel "Read me": panel type "text" is not supported; left out`,
		`panel "Orders by product": panel type "piechart" is not supported; left out`,
		`panel "Errors, every signal": target C: data source "tempo" is not Prometheus or Loki; left out`,
		`panel "Heap": panel type "bargauge" is not supported; left out`,
		`panel "SLO": a library panel, whose definition is not in the dashboard's JSON; left out`,
		`variable "datasource" chose the data source; it is left out: Argus queries its own Prometheus and Loki`,
		`panel "By cluster", target 1: expr refers to $cluster, which is not a variable of this dashboard`,
		`panel "By cluster", target 2: PromQL expr does not parse: 1:41: parse error: unclosed left parenthesis`,
	}
	if !slices.Equal(d.Warnings, wantWarnings) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(d.Warnings, "\n"), strings.Join(wantWarnings, "\n"))
	}
}

func TestFromGrafanaShapes(t *testing.T) {
	data, err := os.ReadFile("testdata/grafana-shop.json")
	if err != nil {
		t.Fatal(err)
	}
	bare, err := FromGrafana(data)
	if err != nil {
		t.Fatal(err)
	}
	// Grafana's API shape: {"dashboard": ..., "meta": ...}, with the
	// inputs beside the dashboard.
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	inputs := m["__inputs"]
	delete(m, "__inputs")
	wrapped, _ := json.Marshal(map[string]any{"dashboard": m, "meta": map[string]any{"slug": "shop"}, "__inputs": inputs})
	d, err := FromGrafana(wrapped)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(bare)
	b, _ := json.Marshal(d)
	if !bytes.Equal(a, b) {
		t.Errorf("wrapped:\n%s\nbare:\n%s", b, a)
	}

	// Minimal dashboards, and what is not one.
	d, err = FromGrafana([]byte(`{"title": "Empty"}`))
	if err != nil || d.Title != "Empty" || d.ID != "import/Empty" || len(d.Panels) != 0 || d.Panels == nil || d.Time != DefaultTime {
		t.Errorf("title only: %+v, %v", d, err)
	}
	d, err = FromGrafana([]byte(`{"panels": [{"type": "stat", "targets": [{"expr": "up"}], "gridPos": {"x": 0, "y": 0, "w": 4, "h": 3}}], "refresh": false, "unknown": {"x": [1]}}`))
	if err != nil || d.Title != "Imported dashboard" || d.Refresh != "" || len(d.Panels) != 1 || d.Panels[0].Targets[0].Source != SourcePrometheus {
		t.Errorf("untitled: %+v, %v", d, err)
	}
	d, err = FromGrafana([]byte(`{"title": "No grid", "panels": [{"type": "timeseries", "title": "p", "targets": [{"expr": "up"}]}]}`))
	if err != nil || d.Panels[0].GridPos != (GridPos{0, 0, 12, 8}) {
		t.Errorf("a panel without gridPos: %+v, %v", d.Panels, err)
	}
	for in, want := range map[string]string{
		`not json`:             "not valid JSON",
		`[1, 2]`:               "want a JSON object, got an array",
		`{"foo": "bar"}`:       "no title, panels or rows",
		`{"dashboard": {}}`:    "no title, panels or rows",
		`"a dashboard string"`: "got a string",
	} {
		if _, err := FromGrafana([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", in, err, want)
		}
	}
}

// TestFromGrafanaLegacyRows converts a dashboard from before schema 16:
// rows of panels with spans and a height in pixels.
func TestFromGrafanaLegacyRows(t *testing.T) {
	d, err := FromGrafana([]byte(`{
  "title": "Old", "schemaVersion": 14,
  "rows": [
    {"title": "A", "height": "250px", "panels": [
      {"type": "graph", "title": "one", "span": 6, "datasource": "prometheus", "targets": [{"expr": "up", "refId": "A"}]},
      {"type": "singlestat", "title": "two", "span": 6, "targets": [{"expr": "up", "refId": "A"}]}
    ]},
    {"title": "B", "height": 300, "panels": [
      {"type": "table", "title": "three", "targets": [{"expr": "up", "refId": "A"}]}
    ]}
  ]
}`))
	if err != nil {
		t.Fatal(err)
	}
	var got []GridPos
	for _, p := range d.Panels {
		got = append(got, p.GridPos)
	}
	if want := []GridPos{{0, 0, 12, 7}, {12, 0, 12, 7}, {0, 7, 24, 8}}; !slices.Equal(got, want) {
		t.Errorf("grid %+v, want %+v", got, want)
	}
}

func TestSplitOptions(t *testing.T) {
	for in, want := range map[string][]string{
		"a,b, c":             {"a", "b", "c"},
		`x\,y,z`:             {"x,y", "z"},
		"One : 1, Two : 2,3": {"1", "2", "3"},
		"":                   nil,
	} {
		if got := splitOptions(in); !slices.Equal(got, want) {
			t.Errorf("splitOptions(%q) = %q, want %q", in, got, want)
		}
	}
}

// Hostile imports: a huge or deeply nested expression is refused with a
// warning or an error, never by exhausting the stack.
func TestFromGrafanaHostileExpressions(t *testing.T) {
	nested := strings.Repeat("(", 5_000_000) + `{a="b"}` + strings.Repeat(")", 5_000_000)
	body := `{"title":"t","panels":[{"type":"logs","title":"p","datasource":{"type":"loki"},"targets":[{"refId":"A","expr":"` + strings.ReplaceAll(nested, `"`, `\"`) + `"}]}]}`
	d, err := FromGrafana([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Panels) != 0 || !strings.Contains(strings.Join(d.Warnings, "\n"), "over the 16384 Argus takes") {
		t.Errorf("panels %d, warnings %q: want the expression refused for its size", len(d.Panels), d.Warnings)
	}

	// Within the size cap, nesting is bounded by the LogQL parser.
	nested = strings.Repeat("(", 5000) + `count_over_time({a="b"}[1m])` + strings.Repeat(")", 5000)
	body = `{"title":"t","panels":[{"type":"timeseries","title":"p","datasource":{"type":"loki"},"targets":[{"refId":"A","expr":"` + strings.ReplaceAll(nested, `"`, `\"`) + `"}]}]}`
	if _, err := FromGrafana([]byte(body)); err != nil {
		t.Fatal(err)
	}

	// varRef looks for a closing bracket within maxVarRef bytes only, so a
	// long run of unclosed references costs linear time (it was quadratic:
	// minutes for a 10 MiB body).
	refs := strings.Repeat("${", 1_000_000)
	if _, n := varRef(refs); n != 0 {
		t.Errorf("varRef found a reference in %q...", refs[:10])
	}
	if got := substitute(refs, "x").text; got != refs {
		t.Errorf("substitute changed unclosed references")
	}
}

// FromGrafana and Parse take bytes from HTTP requests and files: whatever
// they are given, they return a dashboard or an error, never panic.
func FuzzFromGrafana(f *testing.F) {
	seed, err := os.ReadFile("testdata/grafana-shop.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"title":"t","panels":[{"type":"row","collapsed":true,"panels":[{"type":"stat","targets":[{"expr":"${a:regex} [[b]]"}]}]}]}`))
	f.Add([]byte(`{"dashboard":{"templating":{"list":[{"type":"query","query":"label_values(up{job=~\"$job\"}, instance)"}]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if d, err := FromGrafana(data); err == nil && d == nil {
			t.Fatal("no dashboard and no error")
		}
		Parse("fuzz.json", data)
		Parse("fuzz.yml", data)
	})
}
