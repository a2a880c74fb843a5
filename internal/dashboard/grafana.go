package dashboard

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/argus-obs/argus/internal/yamlnode"
)

// FromGrafana converts a Grafana dashboard's JSON, bare or as Grafana's
// export and API wrap it ({"dashboard": {...}}), into a Dashboard with
// source "import". What cannot be carried over is left out and said in
// Warnings:
//
//   - panels: timeseries and graph become timeseries; stat, singlestat and
//     gauge become stat (a gauge is drawn as a stat); table and table-old
//     table; heatmap and logs stay. The panels of rows are flattened into
//     the dashboard, in order. Every other type (text, piechart, bargauge,
//     nodeGraph, ...) is left out.
//   - queries: Prometheus (expr, legendFormat, instant) and Loki (expr)
//     targets, by the data source of the target or its panel: its type,
//     an exported ${DS_...} input, a data source variable, or, when none
//     says, the expression itself (LogQL starts with a stream selector).
//     Targets of other data sources are left out; hidden ones silently.
//   - variables: query (label_values for Prometheus and Loki; any other
//     query is kept, with its options to be typed), custom, interval,
//     constant, textbox. Data source variables are dropped.
//   - units, grid positions, time range, refresh, tags and description.
//
// Unknown fields are ignored. It fails only when data is not JSON or not
// a dashboard at all (no panels, rows or title).
func FromGrafana(data []byte) (*Dashboard, error) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("not a Grafana dashboard: not valid JSON: %w", err)
	}
	root, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a Grafana dashboard: want a JSON object, got %s", jsonKind(v))
	}
	if inner, ok := root["dashboard"].(map[string]any); ok {
		// Grafana's API and "export for sharing" shapes; the exported
		// inputs may sit beside the dashboard.
		if _, ok := inner["__inputs"]; !ok && root["__inputs"] != nil {
			inner["__inputs"] = root["__inputs"]
		}
		root = inner
	}
	_, hasPanels := root["panels"].([]any)
	_, hasRows := root["rows"].([]any)
	title := str(root, "title")
	if !hasPanels && !hasRows && title == "" {
		return nil, errors.New("not a Grafana dashboard: it has no title, panels or rows")
	}
	c := &converter{inputs: map[string]string{}, dsVars: map[string]string{}, dsVarUsed: map[string]bool{}}
	for _, in := range list(root, "__inputs") {
		if m, ok := in.(map[string]any); ok && str(m, "type") == "datasource" {
			c.inputs[str(m, "name")] = str(m, "pluginId")
		}
	}
	templating, _ := root["templating"].(map[string]any)
	for _, raw := range list(templating, "list") {
		if m, ok := raw.(map[string]any); ok && str(m, "type") == "datasource" {
			c.dsVars[str(m, "name")] = str(m, "query")
		}
	}
	d := &Dashboard{
		ID:          importID(str(root, "uid"), title),
		Title:       cmp.Or(title, "Imported dashboard"),
		Description: str(root, "description"),
		Source:      SourceImport,
		Time:        DefaultTime,
		Variables:   []Variable{},
		Panels:      []Panel{},
	}
	for _, t := range list(root, "tags") {
		if s, ok := t.(string); ok && s != "" {
			d.Tags = append(d.Tags, s)
		}
	}
	if tm, ok := root["time"].(map[string]any); ok {
		d.Time.From, d.Time.To = cmp.Or(str(tm, "from"), d.Time.From), cmp.Or(str(tm, "to"), d.Time.To)
	}
	d.Refresh = str(root, "refresh") // false when off: not a string
	for _, raw := range list(templating, "list") {
		if m, ok := raw.(map[string]any); ok {
			if v, ok := c.variable(m); ok {
				d.Variables = append(d.Variables, v)
			}
		}
	}
	if hasPanels {
		c.panels(list(root, "panels"))
	} else {
		c.legacyRows(list(root, "rows"))
	}
	if c.out != nil {
		d.Panels = c.out
	}
	for _, name := range slices.Sorted(maps.Keys(c.dsVars)) {
		if c.dsVarUsed[name] {
			c.warn("variable %q chose the data source; it is left out: Argus queries its own Prometheus and Loki", name)
		}
	}
	d.Warnings = dedupe(append(c.warnings, exprWarnings(d)...))
	return d, nil
}

// converter carries the state of one conversion.
type converter struct {
	inputs    map[string]string // exported ${DS_...} inputs: name -> plugin id
	dsVars    map[string]string // data source variables: name -> plugin id
	dsVarUsed map[string]bool
	out       []Panel
	warnings  []string
}

func (c *converter) warn(format string, args ...any) {
	c.warnings = append(c.warnings, fmt.Sprintf(format, args...))
}

// dsKind is what a data source reference resolves to.
type dsKind int

const (
	dsUnknown     dsKind = iota // not said: infer from the expression
	dsPrometheus                // a Prometheus data source
	dsLoki                      // a Loki data source
	dsMixed                     // "-- Mixed --": each target says
	dsUnsupported               // anything else
)

// datasource resolves a panel's or target's datasource field; for an
// unsupported one, name says which.
func (c *converter) datasource(ds any) (kind dsKind, name string) {
	switch ds := ds.(type) {
	case nil:
		return dsUnknown, ""
	case string:
		return c.datasourceName(ds)
	case map[string]any:
		typ, uid := str(ds, "type"), str(ds, "uid")
		switch {
		case typ == "datasource" && uid == "-- Mixed --":
			return dsMixed, ""
		case typ == "datasource" && uid == "-- Dashboard --":
			return dsUnsupported, "-- Dashboard --"
		case typ == "" || strings.HasPrefix(typ, "$"):
			if uid == "" {
				return dsUnknown, ""
			}
			return c.datasourceName(uid)
		}
		return pluginKind(typ), typ
	}
	return dsUnknown, ""
}

func (c *converter) datasourceName(s string) (dsKind, string) {
	switch s {
	case "":
		return dsUnknown, ""
	case "-- Mixed --":
		return dsMixed, ""
	case "-- Grafana --", "-- Dashboard --", "grafana":
		return dsUnsupported, s
	}
	if name, n := varRef(s); n == len(s) {
		if plugin, ok := c.inputs[name]; ok {
			return pluginKind(plugin), plugin
		}
		if plugin, ok := c.dsVars[name]; ok {
			c.dsVarUsed[name] = true
			return pluginKind(plugin), plugin
		}
		return dsUnknown, ""
	}
	// A data source named, not typed: its name may say.
	switch l := strings.ToLower(s); {
	case strings.Contains(l, "loki"):
		return dsLoki, s
	case strings.Contains(l, "prom"), strings.Contains(l, "mimir"), strings.Contains(l, "cortex"),
		strings.Contains(l, "thanos"), strings.Contains(l, "victoria"):
		return dsPrometheus, s
	}
	return dsUnknown, ""
}

func pluginKind(plugin string) dsKind {
	switch plugin {
	case "prometheus":
		return dsPrometheus
	case "loki":
		return dsLoki
	case "":
		return dsUnknown
	}
	return dsUnsupported
}

// panelTypeMap maps Grafana panel types to Argus's.
var panelTypeMap = map[string]string{
	"timeseries": PanelTimeseries, "graph": PanelTimeseries,
	"stat": PanelStat, "singlestat": PanelStat, "gauge": PanelStat,
	"table": PanelTable, "table-old": PanelTable,
	"heatmap": PanelHeatmap,
	"logs":    PanelLogs,
}

// panels converts the panels of a dashboard (schema 16 and later),
// flattening rows. A collapsed row keeps its panels inside it, placed as
// when it was open; they are moved to the row's place, and the panels
// below moved down to make room.
func (c *converter) panels(panels []any) {
	shift := 0
	for _, raw := range panels {
		m, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		if str(m, "type") != "row" {
			c.panel(m, shift)
			continue
		}
		inner := list(m, "panels")
		if len(inner) == 0 {
			shift-- // an open row: its panels follow it, and take its place
			continue
		}
		rowY := num(obj(m, "gridPos"), "y") + shift
		minY, maxEnd := math.MaxInt, 0
		for _, p := range inner {
			if g := obj(p, "gridPos"); g != nil {
				minY = min(minY, num(g, "y"))
			}
		}
		if minY == math.MaxInt {
			minY = 0
		}
		for _, p := range inner {
			if pm, ok := p.(map[string]any); ok {
				if pl, ok := c.panel(pm, rowY-minY); ok {
					maxEnd = max(maxEnd, pl.GridPos.Y+pl.GridPos.H)
				}
			}
		}
		// The row took one grid row; its panels take what they span.
		shift += max(maxEnd-rowY, 0) - 1
	}
}

// legacyRows converts the rows of a dashboard from before schema 16,
// whose panels have a span (of 12) and a row height in pixels instead of
// grid positions.
func (c *converter) legacyRows(rows []any) {
	y := 0
	for _, raw := range rows {
		row, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		h := 7 // Grafana's migration of the default 250px
		switch px := row["height"].(type) {
		case float64:
			h = int(math.Ceil(px / 38))
		case string:
			if v, err := strconv.ParseFloat(strings.TrimSuffix(px, "px"), 64); err == nil {
				h = int(math.Ceil(v / 38))
			}
		}
		h = max(h, 1)
		x, rowH := 0, 0
		panels := list(row, "panels")
		for _, p := range panels {
			pm, ok := p.(map[string]any)
			if !ok {
				continue
			}
			w := int(2 * numf(pm, "span"))
			if w <= 0 {
				w = GridColumns / max(len(panels), 1)
			}
			w = min(max(w, 1), GridColumns)
			if x+w > GridColumns {
				x, y = 0, y+rowH
			}
			pm["gridPos"] = map[string]any{"x": float64(x), "y": float64(y), "w": float64(w), "h": float64(h)}
			c.panel(pm, 0)
			x += w
			rowH = h
		}
		y += rowH
	}
}

// panel converts one panel, moved down by shift rows, and appends it.
func (c *converter) panel(m map[string]any, shift int) (Panel, bool) {
	gtype := str(m, "type")
	p := Panel{Title: str(m, "title"), Description: str(m, "description"), Targets: []Target{}}
	name := fmt.Sprintf("panel %q", p.Title)
	if p.Title == "" {
		name = fmt.Sprintf("panel %d (untitled)", len(c.out)+1)
	}
	if gtype == "" && m["libraryPanel"] != nil {
		c.warn("%s: a library panel, whose definition is not in the dashboard's JSON; left out", name)
		return p, false
	}
	typ, ok := panelTypeMap[gtype]
	if !ok {
		c.warn("%s: panel type %q is not supported; left out", name, gtype)
		return p, false
	}
	p.Type = typ
	if gtype == "gauge" {
		c.warn("%s: a gauge, drawn as a stat", name)
	}
	g := obj(m, "gridPos")
	p.GridPos = GridPos{X: num(g, "x"), Y: num(g, "y") + shift, W: num(g, "w"), H: num(g, "h")}
	if g == nil || p.GridPos.W < 1 {
		p.GridPos.W = GridColumns / 2
	}
	p.GridPos.X = min(max(p.GridPos.X, 0), GridColumns-1)
	p.GridPos.Y = max(p.GridPos.Y, 0)
	p.GridPos.W = min(max(p.GridPos.W, 1), GridColumns-p.GridPos.X)
	if p.GridPos.H < 1 {
		p.GridPos.H = 8
	}
	p.Unit = unitOf(m)
	if r := str(m, "repeat"); r != "" {
		c.warn("%s: repeated for each value of $%s in Grafana; shown once", name, r)
	}
	if n := len(list(m, "transformations")); n > 0 {
		c.warn("%s: %d transformation(s) not applied", name, n)
	}
	panelDS, panelDSName := c.datasource(m["datasource"])
	for i, raw := range list(m, "targets") {
		t, ok := raw.(map[string]any)
		if !ok || boolean(t, "hide") {
			continue
		}
		ref := str(t, "refId")
		if ref == "" {
			ref = strconv.Itoa(i + 1)
		}
		what := fmt.Sprintf("%s: target %s", name, ref)
		kind, dsName := panelDS, panelDSName
		if td, ok := t["datasource"]; ok && td != nil {
			if k, n := c.datasource(td); k != dsUnknown || kind == dsMixed {
				kind, dsName = k, n
			}
		}
		expr := strings.TrimSpace(str(t, "expr"))
		if kind == dsUnsupported {
			c.warn("%s: data source %q is not Prometheus or Loki; left out", what, dsName)
			continue
		}
		if expr == "" {
			c.warn("%s: no expression; left out", what)
			continue
		}
		if len(expr) > MaxExprBytes {
			c.warn("%s: expression of %d bytes, over the %d Argus takes; left out", what, len(expr), MaxExprBytes)
			continue
		}
		source := SourcePrometheus
		switch kind {
		case dsLoki:
			source = SourceLoki
		case dsUnknown, dsMixed:
			if looksLikeLogQL(expr) {
				source = SourceLoki
			}
		}
		if typ == PanelLogs && source != SourceLoki {
			c.warn("%s: a Prometheus query in a logs panel; left out", what)
			continue
		}
		legend := str(t, "legendFormat")
		if legend == "__auto" {
			legend = ""
		}
		instant := boolean(t, "instant") && !boolean(t, "range")
		if qt := str(t, "queryType"); qt == "instant" {
			instant = true
		}
		p.Targets = append(p.Targets, Target{Expr: expr, Legend: legend, Source: source, Instant: instant})
	}
	if len(p.Targets) == 0 {
		c.warn("%s: no Prometheus or Loki query; left out", name)
		return p, false
	}
	c.out = append(c.out, p)
	return p, true
}

// unitOf reads a panel's unit: fieldConfig.defaults.unit, or the legacy
// yaxes[0].format (graph) or format (singlestat).
func unitOf(m map[string]any) string {
	unit := str(obj(obj(m, "fieldConfig"), "defaults"), "unit")
	if unit == "" {
		if axes := list(m, "yaxes"); len(axes) > 0 {
			unit = str(obj(axes[0], ""), "format")
		}
	}
	if unit == "" {
		unit = str(m, "format")
	}
	if unit == "none" {
		return ""
	}
	return unit
}

// variable converts a template variable; false drops it.
func (c *converter) variable(m map[string]any) (Variable, bool) {
	typ, name := str(m, "type"), str(m, "name")
	v := Variable{
		Name: name, Label: str(m, "label"), Type: typ,
		Multi: boolean(m, "multi"), IncludeAll: boolean(m, "includeAll"),
		Default: currentValue(m),
	}
	what := fmt.Sprintf("variable %q", name)
	switch typ {
	case "query":
		kind, dsName := c.datasource(m["datasource"])
		if kind == dsUnsupported {
			c.warn("%s: a query of data source %q, not Prometheus or Loki; left out", what, dsName)
			return v, false
		}
		v.Source = SourcePrometheus
		if kind == dsLoki {
			v.Source = SourceLoki
		}
		v.Query = queryText(m)
		if match, label, ok := parseLabelValues(v.Query); ok {
			v.Match, v.LabelName = match, label
		} else if q, ok := m["query"].(map[string]any); ok && str(q, "label") != "" && numf(q, "type") == 1 {
			// Loki's variable editor: label values of a stream selector.
			v.Match, v.LabelName = str(q, "stream"), str(q, "label")
			v.Query = labelValuesQuery(v.Match, v.LabelName)
		} else {
			v.Options = optionValues(m)
			c.warn("%s: query %q is not label_values(...): Argus cannot list its options; type them in", what, v.Query)
		}
		if v.Source == SourcePrometheus && v.Match != "" && kind == dsUnknown && looksLikeLogQL(v.Match) && checkSelector(SourcePrometheus, v.Match) != nil {
			v.Source = SourceLoki
		}
		if re := str(m, "regex"); re != "" {
			c.warn("%s: regex %s not applied to its options", what, re)
		}
	case "custom":
		v.Options = splitOptions(queryText(m))
		if len(v.Options) == 0 {
			v.Options = optionValues(m)
		}
	case "interval":
		for _, o := range splitOptions(queryText(m)) {
			if _, err := model.ParseDuration(o); err != nil {
				c.warn("%s: option %q is not a duration; left out", what, o)
				continue
			}
			v.Options = append(v.Options, o)
		}
		if len(v.Options) == 0 {
			c.warn("%s: no interval options; left out", what)
			return v, false
		}
		if boolean(m, "auto") {
			c.warn("%s: the auto option is not supported", what)
		}
		if _, err := model.ParseDuration(v.Default); err != nil {
			v.Default = ""
		}
	case "constant":
		v.Default = queryText(m)
		v.Options = []string{v.Default}
	case "textbox":
		v.Default = cmp.Or(v.Default, queryText(m))
	case "datasource":
		return v, false // a note follows if a panel used it
	case "adhoc":
		c.warn("%s: ad hoc filters are not supported; left out", what)
		return v, false
	default:
		c.warn("%s: variable type %q is not supported; left out", what, typ)
		return v, false
	}
	if v.Type != VarQuery && v.Type != VarCustom {
		v.Multi, v.IncludeAll = false, false
	}
	if v.Default == AllValue && !v.IncludeAll {
		v.Default = ""
	}
	return v, true
}

// queryText reads a variable's query: a string, or the query (or
// definition) of a variable query editor's object.
func queryText(m map[string]any) string {
	switch q := m["query"].(type) {
	case string:
		return strings.TrimSpace(q)
	case map[string]any:
		if s := str(q, "query"); s != "" {
			return strings.TrimSpace(s)
		}
	case float64:
		return strconv.FormatFloat(q, 'f', -1, 64)
	}
	return strings.TrimSpace(str(m, "definition"))
}

// currentValue reads the selected value of a variable; of several, the
// first.
func currentValue(m map[string]any) string {
	switch v := obj(m, "current")["value"].(type) {
	case string:
		return v
	case []any:
		if len(v) > 0 {
			s, _ := v[0].(string)
			return s
		}
	}
	return ""
}

// optionValues reads the values of a variable's saved options.
func optionValues(m map[string]any) []string {
	var out []string
	for _, o := range list(m, "options") {
		if s := str(obj(o, ""), "value"); s != "" && s != AllValue && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// splitOptions splits a custom variable's query: values separated by
// commas (\, escapes one), each "value" or "text : value".
func splitOptions(q string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		s := strings.TrimSpace(cur.String())
		cur.Reset()
		if text, value, ok := strings.Cut(s, " : "); ok && text != "" {
			s = strings.TrimSpace(value)
		}
		if s != "" {
			out = append(out, s)
		}
	}
	for i := 0; i < len(q); i++ {
		switch {
		case q[i] == '\\' && i+1 < len(q) && q[i+1] == ',':
			cur.WriteByte(',')
			i++
		case q[i] == ',':
			flush()
		default:
			cur.WriteByte(q[i])
		}
	}
	flush()
	return out
}

// importID names an imported dashboard: by its uid, else by its title.
func importID(uid, title string) string {
	if uid != "" && idPattern.MatchString(uid) {
		return SourceImport + "/" + uid
	}
	if s := slug(title); s != "" {
		return SourceImport + "/" + s
	}
	return SourceImport + "/dashboard"
}

// slug turns a title or file name into an id: letters, digits, '.', '_'
// and '-' kept, runs of anything else made one '-'.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		default:
			dash = true
		}
	}
	return strings.TrimLeft(b.String(), "._-")
}

func dedupe(ss []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// Accessors of decoded JSON that accept any shape: a field of the wrong
// type reads as absent.

func obj(v any, key string) map[string]any {
	m, _ := v.(map[string]any)
	if key == "" || m == nil {
		return m
	}
	o, _ := m[key].(map[string]any)
	return o
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func list(m map[string]any, key string) []any {
	l, _ := m[key].([]any)
	return l
}

func boolean(m map[string]any, key string) bool {
	b, _ := m[key].(bool)
	return b
}

func numf(m map[string]any, key string) float64 {
	switch v := m[key].(type) {
	case float64:
		return v
	case string:
		f, _ := strconv.ParseFloat(v, 64)
		return f
	}
	return 0
}

func num(m map[string]any, key string) int {
	f := numf(m, key)
	if math.IsNaN(f) || f > 1e6 || f < -1e6 {
		return 0
	}
	return int(f)
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a value"
}

// grafanaKeys are keys only a Grafana dashboard has at its top. Keys a
// user might add to a file of this package's model by mistake (uid, a
// panel's id or options) do not count: such a file must get the model's
// unknown-key errors, not a silent conversion that finds nothing.
var grafanaKeys = []string{"schemaVersion", "templating", "__inputs", "__requires", "rows", "graphTooltip", "fiscalYearStartMonth"}

// isGrafana reports whether a dashboard file holds a Grafana dashboard
// rather than this package's model: it is wrapped in "dashboard", has a
// key only Grafana writes, or panels or targets in Grafana's shape.
func isGrafana(root *yaml.Node) bool {
	if _, v := yamlnode.Entry(root, "dashboard"); v != nil && v.Kind == yaml.MappingNode {
		return true
	}
	for _, k := range grafanaKeys {
		if _, v := yamlnode.Entry(root, k); v != nil {
			return true
		}
	}
	for _, p := range items(root, "panels") {
		for _, k := range []string{"fieldConfig", "collapsed"} {
			if _, v := yamlnode.Entry(p, k); v != nil {
				return true
			}
		}
		for _, t := range items(p, "targets") {
			for _, k := range []string{"refId", "legendFormat"} {
				if _, v := yamlnode.Entry(t, k); v != nil {
					return true
				}
			}
		}
	}
	return false
}
