package dashboard

import "errors"

// Dashboard is one dashboard as the API serves it and the web UI draws it.
// Its JSON form is the contract with the UI; every dashboard, whatever it
// came from (a built-in, a file, a Grafana import), is in this shape.
//
// A Dashboard handed out by a Catalog is shared: callers must not modify
// it.
type Dashboard struct {
	// ID names the dashboard in the API: "argus", "service/<name>",
	// "file/<name>", "import/<uid>".
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	// Source is where it came from: SourceBuiltin, SourceFile or
	// SourceImport.
	Source string `json:"source"`
	// Path is the file it came from, as the config names it (relative to
	// the config file's directory); empty unless Source is SourceFile.
	Path string   `json:"path,omitempty"`
	Tags []string `json:"tags,omitempty"`
	// Time is the default time range, in Grafana's relative syntax.
	Time Time `json:"time"`
	// Refresh is the auto-refresh interval ("30s"); empty means none.
	Refresh   string     `json:"refresh,omitempty"`
	Variables []Variable `json:"variables"`
	Panels    []Panel    `json:"panels"`
	// Warnings say what a Grafana conversion could not carry over.
	Warnings []string `json:"warnings,omitempty"`
}

// Sources of a dashboard.
const (
	SourceBuiltin = "builtin"
	SourceFile    = "file"
	SourceImport  = "import"
)

// Time is a time range, in Grafana's syntax: "now-1h", "now", or an
// absolute RFC 3339 time.
type Time struct {
	From string `json:"from" yaml:"from"`
	To   string `json:"to" yaml:"to"`
}

// DefaultTime is the time range of a dashboard that names none.
var DefaultTime = Time{From: "now-1h", To: "now"}

// Variable is a template variable: expressions refer to it as $name,
// ${name}, ${name:format} or [[name]], as in Grafana.
type Variable struct {
	Name  string `json:"name" yaml:"name"`
	Label string `json:"label,omitempty" yaml:"label"`
	// Type is one of VarQuery, VarCustom, VarInterval, VarConstant,
	// VarTextbox.
	Type string `json:"type" yaml:"type"`
	// Source is the data source a query variable asks: SourcePrometheus
	// or SourceLoki. Empty for the other types.
	Source string `json:"source,omitempty" yaml:"source"`
	// Query is a query variable's text as written, such as
	// label_values(up{job="api"}, instance).
	Query string `json:"query,omitempty" yaml:"query"`
	// LabelName and Match are parsed from label_values(match, label) or
	// label_values(label): the options are the values of LabelName in
	// the series (or streams) Match selects, or in all of them when
	// Match is empty. Both are empty when Query is something else, whose
	// options the UI cannot compute (Options may then hold some).
	LabelName string `json:"labelName,omitempty" yaml:"labelName"`
	Match     string `json:"match,omitempty" yaml:"match"`
	// Options are the choices of a custom or interval variable, and the
	// value of a constant.
	Options []string `json:"options,omitempty" yaml:"options"`
	// Default is the value selected when the dashboard opens; "$__all"
	// selects all (with IncludeAll). Empty means the first option.
	Default    string `json:"default,omitempty" yaml:"default"`
	Multi      bool   `json:"multi,omitempty" yaml:"multi"`
	IncludeAll bool   `json:"includeAll,omitempty" yaml:"includeAll"`
}

// Variable types.
const (
	VarQuery    = "query"
	VarCustom   = "custom"
	VarInterval = "interval"
	VarConstant = "constant"
	VarTextbox  = "textbox"
)

// AllValue is the Default that selects every option of a variable with
// IncludeAll, as Grafana writes it.
const AllValue = "$__all"

// Panel is one graph, number, table or log view.
type Panel struct {
	Title string `json:"title" yaml:"title"`
	// Type is one of PanelTimeseries, PanelStat, PanelTable,
	// PanelHeatmap, PanelLogs.
	Type        string `json:"type" yaml:"type"`
	Description string `json:"description,omitempty" yaml:"description"`
	// Unit is a Grafana unit id: "s", "ms", "reqps", "percentunit",
	// "bytes", "short", ...
	Unit    string   `json:"unit,omitempty" yaml:"unit"`
	GridPos GridPos  `json:"gridPos" yaml:"gridPos"`
	Targets []Target `json:"targets" yaml:"targets"`
}

// Panel types.
const (
	PanelTimeseries = "timeseries"
	PanelStat       = "stat"
	PanelTable      = "table"
	PanelHeatmap    = "heatmap"
	PanelLogs       = "logs"
)

// GridPos places a panel on Grafana's grid: 24 columns, rows of 30 pixels,
// y growing downwards.
type GridPos struct {
	X int `json:"x" yaml:"x"`
	Y int `json:"y" yaml:"y"`
	W int `json:"w" yaml:"w"`
	H int `json:"h" yaml:"h"`
}

// GridColumns is the width of the grid.
const GridColumns = 24

// Target is one query of a panel.
type Target struct {
	Expr string `json:"expr" yaml:"expr"`
	// Legend names each series, with {{label}} templates (Grafana's
	// legendFormat).
	Legend string `json:"legend,omitempty" yaml:"legend"`
	// Source is SourcePrometheus (PromQL) or SourceLoki (LogQL).
	Source string `json:"source" yaml:"source"`
	// Instant asks for the value at the end of the range only.
	Instant bool `json:"instant,omitempty" yaml:"instant"`
}

// Data sources of targets and query variables.
const (
	SourcePrometheus = "prometheus"
	SourceLoki       = "loki"
)

// Summary is a dashboard as the list of dashboards shows it.
type Summary struct {
	ID     string   `json:"id"`
	Title  string   `json:"title"`
	Source string   `json:"source"`
	Path   string   `json:"path,omitempty"`
	Tags   []string `json:"tags,omitempty"`
}

// Summary returns the dashboard's entry in a listing.
func (d *Dashboard) Summary() Summary {
	return Summary{ID: d.ID, Title: d.Title, Source: d.Source, Path: d.Path, Tags: d.Tags}
}

// ErrNotFound is returned by Catalog.Get for an id that names no
// dashboard.
var ErrNotFound = errors.New("dashboard not found")

var (
	panelTypes = []string{PanelTimeseries, PanelStat, PanelTable, PanelHeatmap, PanelLogs}
	varTypes   = []string{VarQuery, VarCustom, VarInterval, VarConstant, VarTextbox}
)
