package dashboard

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func parseFile(t *testing.T, name string) *Dashboard {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	d, errs := Parse("dashboards/"+name, data)
	if len(errs) > 0 {
		t.Fatalf("%s: %v", name, errs)
	}
	return d
}

func TestParseYAML(t *testing.T) {
	d := parseFile(t, "shop.yml")
	if d.ID != "file/shop" || d.Title != "Shop" || d.Source != SourceFile || d.Path != "dashboards/shop.yml" ||
		d.Time != (Time{"now-6h", "now"}) || d.Refresh != "1m" || !slices.Equal(d.Tags, []string{"shop", "demo"}) {
		t.Errorf("dashboard: %+v", d)
	}
	// Variables: types and sources defaulted, label_values parsed, and
	// label_values written from labelName and match.
	want := []Variable{
		{Name: "route", Label: "Route", Type: VarQuery, Source: SourcePrometheus,
			Query: `label_values(http_server_requests_total{job="frontend"}, route)`, LabelName: "route",
			Match: `http_server_requests_total{job="frontend"}`, Default: AllValue, Multi: true, IncludeAll: true},
		{Name: "level", Type: VarQuery, Source: SourceLoki, Query: `label_values({service_name="inventory"}, level)`,
			LabelName: "level", Match: `{service_name="inventory"}`},
		{Name: "window", Type: VarInterval, Options: []string{"1m", "5m", "1h"}, Default: "5m"},
		{Name: "env", Type: VarCustom, Options: []string{"prod", "staging"}},
	}
	if len(d.Variables) != len(want) {
		t.Fatalf("variables: %+v", d.Variables)
	}
	for i := range want {
		if g, w := d.Variables[i], want[i]; g.Name != w.Name || g.Type != w.Type || g.Source != w.Source || g.Query != w.Query ||
			g.LabelName != w.LabelName || g.Match != w.Match || !slices.Equal(g.Options, w.Options) || g.Default != w.Default ||
			g.Multi != w.Multi || g.IncludeAll != w.IncludeAll || g.Label != w.Label {
			t.Errorf("variable %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	// Panels: the shorthand target, sources by panel type, and the flow
	// layout around a panel placed by hand.
	type pv struct {
		title, typ string
		grid       GridPos
		sources    string
	}
	var got []pv
	for _, p := range d.Panels {
		var sources []string
		for _, tg := range p.Targets {
			sources = append(sources, tg.Source)
		}
		got = append(got, pv{p.Title, p.Type, p.GridPos, strings.Join(sources, ",")})
	}
	wantPanels := []pv{
		{"Requests", "timeseries", GridPos{0, 0, 12, 8}, "prometheus"},
		{"Latency", "timeseries", GridPos{12, 0, 12, 8}, "prometheus,loki"},
		{"Orders today", "stat", GridPos{0, 8, 12, 8}, "prometheus"},
		{"Inventory logs", "logs", GridPos{0, 16, 24, 10}, "loki"},
		{"Stock", "table", GridPos{0, 30, 24, 6}, "prometheus"},
	}
	if !slices.Equal(got, wantPanels) {
		t.Errorf("panels:\n%+v\nwant\n%+v", got, wantPanels)
	}
	if tg := d.Panels[0].Targets[0]; tg.Legend != "{{route}}" || !strings.Contains(tg.Expr, `route=~"$route"`) {
		t.Errorf("shorthand target: %+v", tg)
	}
	if !d.Panels[2].Targets[0].Instant {
		t.Error("instant not kept")
	}
}

func TestParseJSON(t *testing.T) {
	d := parseFile(t, "orders.json")
	if d.ID != "file/orders" || d.Title != "Orders" || d.Time != DefaultTime || len(d.Panels) != 1 ||
		d.Variables[0].LabelName != "service_name" || d.Variables[0].Match != "traces_span_metrics_calls_total" {
		t.Errorf("%+v", d)
	}
}

func TestParseGrafanaFile(t *testing.T) {
	d := parseFile(t, "grafana-shop.json")
	if d.ID != "file/grafana-shop" || d.Source != SourceFile || d.Path != "dashboards/grafana-shop.json" ||
		d.Title != "Shop overview" || len(d.Panels) != 12 || len(d.Warnings) == 0 {
		t.Errorf("%s %s %s %q: %d panels, %d warnings", d.ID, d.Source, d.Path, d.Title, len(d.Panels), len(d.Warnings))
	}
	// The same, written as YAML.
	yml := "schemaVersion: 39\ntitle: From YAML\npanels:\n  - type: stat\n    title: Up\n    gridPos: {x: 0, y: 0, w: 6, h: 4}\n    targets:\n      - refId: A\n        expr: up\n"
	d, errs := Parse("g.yaml", []byte(yml))
	if len(errs) > 0 || d.ID != "file/g" || d.Title != "From YAML" || d.Panels[0].Type != PanelStat {
		t.Errorf("%+v %v", d, errs)
	}
}

// badYAML has a problem on nearly every line; each is reported with its
// line, all at once.
const badYAML = `title: Broken
tags: [a]
colour: red
variables:
  - name: job
    query: label_values(up, job)
  - name: job
    type: custom
    options: []
  - name: ts
    type: interval
    options: [5m, soon]
  - name: q
    type: query
    query: query_result(up)
  - name: bad-name
    type: textbox
  - name: m
    query: label_values(up{job=}, instance)
  - name: n
    query: label_values(up{job="a", instance)
panels:
  - title: Latency
    type: graph
    expr: histogram_quantile(0.9, sum by (le) (rate(x_bucket[$__rate_interval]))
  - title: Empty
    targets:
      - expr: ""
      - expr: up
        source: elastic
  - title: No targets
    type: stat
  - title: Log query in a graph
    expr: '{app="a"} |= "x"'
    source: loki
  - title: Metric query in logs
    type: logs
    expr: 'rate({app="a"}[5m])'
  - title: Prometheus in logs
    type: logs
    expr: up
    source: prometheus
  - title: Undefined variable
    expr: up{job="$jobb"}
    gridPos: {x: 20, y: 0, w: 8, h: 4}
  - title: Both
    expr: up
    targets: [{expr: up}]
    gridpos: {x: 0}
  - title: LogQL error
    source: loki
    expr: sum(count_over_time({app="a"} | json | [5m]))
`

func TestParseErrors(t *testing.T) {
	_, errs := Parse("dashboards/broken.yml", []byte(badYAML))
	var got []string
	for _, err := range errs {
		if _, ok := err.(*Error); !ok {
			t.Errorf("%T is not an *Error", err)
		}
		got = append(got, err.Error())
	}
	want := []string{
		`dashboards/broken.yml:3: dashboard: unknown key "colour"`,
		`dashboards/broken.yml:7: variable "job": defined twice`,
		`dashboards/broken.yml:9: variable "job": a custom variable needs options`,
		`dashboards/broken.yml:12: variable "ts": option "soon" is not a duration such as 5m`,
		`dashboards/broken.yml:15: variable "q": query "query_result(up)": want label_values(label) or label_values(selector, label)`,
		`dashboards/broken.yml:16: variable "bad-name": a name is a letter or '_' then letters, digits or '_', and does not start with __`,
		`dashboards/broken.yml:19: variable "m": match: 1:8: parse error: unexpected "}" in label matching, expected string`,
		`dashboards/broken.yml:21: variable "n": query "label_values(up{job=\"a\", instance)": want label_values(label) or label_values(selector, label)`,
		`dashboards/broken.yml:24: panel "Latency": type "graph": want one of timeseries, stat, table, heatmap, logs`,
		`dashboards/broken.yml:25: panel "Latency": expr: 1:71: parse error: unclosed left parenthesis`,
		`dashboards/broken.yml:28: panel "Empty", target 1: expr is empty`,
		`dashboards/broken.yml:30: panel "Empty", target 2: source "elastic": want prometheus or loki`,
		`dashboards/broken.yml:31: panel "No targets": no targets: a panel needs at least one query (expr)`,
		`dashboards/broken.yml:34: panel "Log query in a graph": expr "{app=\"a\"} |= \"x\"" is a log query: a timeseries panel needs a metric query such as rate(...[5m]), or type logs`,
		`dashboards/broken.yml:38: panel "Metric query in logs": expr "rate({app=\"a\"}[5m])" is a metric query: a logs panel needs a log query such as {service_name="api"}`,
		`dashboards/broken.yml:42: panel "Prometheus in logs": a logs panel shows Loki queries, not prometheus`,
		`dashboards/broken.yml:44: panel "Undefined variable": expr: $jobb is not a variable of this dashboard`,
		`dashboards/broken.yml:45: panel "Undefined variable": gridPos {x: 20, y: 0, w: 8, h: 4}: want x, y >= 0, w, h >= 1 and x+w <= 24`,
		`dashboards/broken.yml:46: panel "Both": give either expr or targets, not both`,
		`dashboards/broken.yml:49: panel: unknown key "gridpos" (did you mean "gridPos"?)`,
		`dashboards/broken.yml:52: panel "LogQL error": expr: parse error at line 1, col 40: syntax error: unexpected [, expecting IDENTIFIER`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestParseFileErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"a.yml", "title: [unclosed\n", "a.yml:1: did not find expected ',' or ']'"},
		{"a.json", "{\n  \"title\": \"x\",\n  \"panels\": [\n}\n", "a.json:4: not valid JSON: invalid character '}'"},
		{"a.yml", "", "a.yml: empty file: want a dashboard"},
		{"a.yml", "- title: x\n", "a.yml:1: want a dashboard (a mapping with title and panels), not a list"},
		{"a.yml", "title: x\ntags: 5\n", "a.yml:2: cannot unmarshal !!int `5` into []string"},
		{"a.yml", "id: a/../b\ntitle: x\n", `a.yml:1: id "a/../b": segments of letters, digits, '.', '_' and '-', each starting with a letter or digit, joined by '/'`},
		{"a.yml", "id: has space\ntitle: x\n", `a.yml:1: id "has space": segments of letters, digits, '.', '_' and '-', each starting with a letter or digit, joined by '/'`},
		{"g.json", `{"schemaVersion": 39, "panels": 5}`, "g.json: not a Grafana dashboard: it has no title, panels or rows"},
	} {
		_, errs := Parse(tc.name, []byte(tc.text))
		if len(errs) == 0 || !strings.HasPrefix(errs[0].Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.text, errs, tc.want)
		}
	}
}

func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) File {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return File{Path: filepath.Join(dir, name), Name: "dash/" + name}
	}
	a := write("a.yml", "title: A\npanels:\n  - expr: up\n")
	b := write("b.yml", "id: a\ntitle: B\npanels: []\n")
	c := write("my board.yml", "title: C\n")
	bad := write("bad.yml", "title: Bad\npanels:\n  - expr: 'up{'\n")
	ds, errs := LoadFiles([]File{a, b, c, bad, {Path: filepath.Join(dir, "missing.yml"), Name: "dash/missing.yml"}})
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	if !slices.Equal(ids, []string{"file/a", "file/my-board"}) {
		t.Errorf("ids %q", ids)
	}
	var msgs []string
	for _, err := range errs {
		msgs = append(msgs, err.Error())
	}
	want := []string{
		`dash/b.yml: id "file/a" is already the id of dash/a.yml: give one of them another id`,
		`dash/bad.yml:3: panel 1: expr: 1:4: parse error: unexpected end of input inside braces`,
		`dash/missing.yml: read: no such file or directory`,
	}
	if !slices.Equal(msgs, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(msgs, "\n"), strings.Join(want, "\n"))
	}
}

// TestParseDocExample loads the example of Parse's documentation.
func TestParseDocExample(t *testing.T) {
	const doc = `title: Shop
variables:
  - name: route
    query: label_values(http_server_requests_total{job="frontend"}, route)
    multi: true
panels:
  - title: Requests
    unit: reqps
    expr: sum by (route) (rate(http_server_requests_total{route=~"$route"}[$__rate_interval]))
    legend: "{{route}}"
  - title: Errors
    type: logs
    expr: '{service_name="frontend"} | level="error"'
`
	d, errs := Parse("shop.yml", []byte(doc))
	if len(errs) > 0 || len(d.Panels) != 2 || d.Panels[1].Targets[0].Source != SourceLoki {
		t.Errorf("%+v %v", d, errs)
	}
}

// A key a user may add to the model by mistake (uid, a panel's id or
// options) is an unknown key, not a sign of a Grafana file: taken for one,
// the file would convert to nothing without an error.
func TestParseModelWithGrafanaLikeKeys(t *testing.T) {
	_, errs := Parse("dashboards/shop.yml", []byte("title: Shop\nuid: shop\npanels:\n  - title: Req\n    id: 3\n    expr: up\n"))
	var got []string
	for _, err := range errs {
		got = append(got, err.Error())
	}
	want := []string{
		`dashboards/shop.yml:2: dashboard: unknown key "uid"`,
		`dashboards/shop.yml:5: panel: unknown key "id"`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// JSON that YAML cannot read (an escaped slash, a surrogate pair, a
// repeated key) is still a dashboard.
func TestParseJSONBeyondYAML(t *testing.T) {
	data := []byte(`{"title": "A\/B \ud83d\ude00", "title": "Shop \/ orders \ud83d\ude00", "panels": [{"title": "Req", "expr": "up"}]}`)
	d, errs := Parse("dashboards/shop.json", data)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if d.Title != "Shop / orders 😀" || len(d.Panels) != 1 {
		t.Errorf("title %q, %d panels", d.Title, len(d.Panels))
	}
	grafana := []byte(`{"schemaVersion": 39, "title": "G\/H", "panels": [{"type": "timeseries", "title": "Up", "datasource": {"type": "prometheus"}, "targets": [{"refId": "A", "expr": "up"}]}]}`)
	if d, errs := Parse("dashboards/g.json", grafana); len(errs) > 0 || d.Title != "G/H" || len(d.Panels) != 1 {
		t.Errorf("Grafana file: %v, %+v", errs, d)
	}
}
