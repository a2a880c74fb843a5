package dashboard

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/argus-obs/argus/internal/yamlnode"
)

// File names one dashboard file: Path is where to read it, Name how
// errors and Dashboard.Path show it (the path as the config gives it).
type File struct {
	Path string
	Name string
}

// FileIDPrefix starts the id of every dashboard loaded from a file.
const FileIDPrefix = "file/"

// LoadFiles reads and validates dashboard files. It returns the
// dashboards of the files without problems, and every problem of every
// file (each an *Error), duplicate ids across files among them.
func LoadFiles(files []File) ([]*Dashboard, []error) {
	var out []*Dashboard
	var errs []error
	byID := map[string]string{} // id -> file
	for _, f := range files {
		data, err := os.ReadFile(f.Path)
		if err != nil {
			errs = append(errs, &Error{File: f.Name, Msg: "read: " + unwrapPathError(err).Error()})
			continue
		}
		d, ferrs := Parse(f.Name, data)
		if len(ferrs) > 0 {
			errs = append(errs, ferrs...)
			continue
		}
		if other, dup := byID[d.ID]; dup {
			errs = append(errs, &Error{File: f.Name, Msg: fmt.Sprintf("id %q is already the id of %s: give one of them another id", d.ID, other)})
			continue
		}
		byID[d.ID] = f.Name
		out = append(out, d)
	}
	return out, errs
}

func unwrapPathError(err error) error {
	if pe, ok := errors.AsType[*os.PathError](err); ok {
		return pe.Err
	}
	return err
}

// Parse reads one dashboard file's content, named name: a dashboard in
// this package's model, in YAML or JSON, or a Grafana dashboard (JSON,
// converted as FromGrafana does). It returns the dashboard, or every
// problem found (each an *Error).
//
// The model's YAML form is its JSON form, with defaults that keep a file
// short: the id is the file's name without extension, the title the id,
// the time range the last hour, a panel's type timeseries, a target's
// source prometheus (loki in a logs panel), and panels without a gridPos
// flow left to right, two to a row (logs and tables take a whole row). A
// panel with one query may give its expr, legend, source and instant
// itself instead of a list of targets. A query variable's options come
// from query: label_values(selector, label), or labelName and match.
//
//	title: Shop
//	variables:
//	  - name: route
//	    query: label_values(http_server_requests_total{job="frontend"}, route)
//	    multi: true
//	panels:
//	  - title: Requests
//	    unit: reqps
//	    expr: sum by (route) (rate(http_server_requests_total{route=~"$route"}[$__rate_interval]))
//	    legend: "{{route}}"
//	  - title: Errors
//	    type: logs
//	    expr: '{service_name="frontend"} | level="error"'
//
// Unknown keys are errors, so a misspelt one is not silently ignored.
func Parse(name string, data []byte) (*Dashboard, []error) {
	fail := func(line int, format string, args ...any) (*Dashboard, []error) {
		return nil, []error{&Error{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}}
	}
	isJSON := strings.EqualFold(filepath.Ext(name), ".json")
	var v any
	if isJSON {
		if err := json.Unmarshal(data, &v); err != nil {
			line := 0
			if se, ok := errors.AsType[*json.SyntaxError](err); ok {
				line = 1 + bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))
			}
			return fail(line, "not valid JSON: %v", err)
		}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		if !isJSON {
			line, msg := yamlErrorLine(err)
			return fail(line, "%s", msg)
		}
		// Valid JSON that YAML refuses: escapes YAML lacks ("\/", UTF-16
		// surrogate pairs) or a repeated key. Read it again as Go writes
		// it; errors then have no lines to name.
		normal, _ := json.Marshal(v)
		doc = yaml.Node{}
		if err := yaml.Unmarshal(normal, &doc); err != nil {
			return fail(0, "%v", err)
		}
		data = normal
	}
	if len(doc.Content) == 0 {
		return fail(0, "empty file: want a dashboard")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fail(root.Line, "want a dashboard (a mapping with title and panels), not a %s", kindName(root))
	}
	id := cmp.Or(slug(strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))), "dashboard")
	if isGrafana(root) {
		return parseGrafanaFile(name, id, data, isJSON, root)
	}
	var probs []problem
	checkKeys(root, dashboardKeys, "dashboard", &probs)
	var fd fileDashboard
	if err := root.Decode(&fd); err != nil {
		probs = append(probs, typeErrors(err, root.Line)...)
	}
	pos := filePositions(root)
	d := fd.dashboard(id, name, &probs, pos)
	probs = append(probs, validate(d, pos)...)
	if len(probs) > 0 {
		slices.SortStableFunc(probs, func(a, b problem) int { return cmp.Compare(a.line, b.line) })
		errs := make([]error, len(probs))
		for i, p := range probs {
			errs[i] = &Error{File: name, Line: p.line, Msg: p.msg}
		}
		return nil, errs
	}
	return d, nil
}

// parseGrafanaFile converts a Grafana dashboard read from a file.
func parseGrafanaFile(name, id string, data []byte, isJSON bool, root *yaml.Node) (*Dashboard, []error) {
	if !isJSON { // Grafana's JSON, written as YAML
		var v any
		if err := root.Decode(&v); err != nil {
			return nil, []error{&Error{File: name, Line: root.Line, Msg: err.Error()}}
		}
		var err error
		if data, err = json.Marshal(v); err != nil {
			return nil, []error{&Error{File: name, Line: root.Line, Msg: "Grafana dashboard: " + err.Error()}}
		}
	}
	d, err := FromGrafana(data)
	if err != nil {
		return nil, []error{&Error{File: name, Msg: err.Error()}}
	}
	d.ID, d.Source, d.Path = FileIDPrefix+id, SourceFile, name
	return d, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlErrorLine splits a YAML syntax error into its line and message.
func yamlErrorLine(err error) (int, string) {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return line, m[2]
	}
	return 0, err.Error()
}

var lineRE = regexp.MustCompile(`^line (\d+): (.*)$`)

// typeErrors turns a YAML decoding error into problems with lines.
func typeErrors(err error, line int) []problem {
	te, ok := errors.AsType[*yaml.TypeError](err)
	if !ok {
		return []problem{{line, err.Error()}}
	}
	var out []problem
	for _, e := range te.Errors {
		if m := lineRE.FindStringSubmatch(e); m != nil {
			l, _ := strconv.Atoi(m[1])
			out = append(out, problem{l, m[2]})
		} else {
			out = append(out, problem{line, e})
		}
	}
	return out
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	}
	return "document"
}

// fileDashboard is a dashboard file in the model's YAML form.
type fileDashboard struct {
	ID          string      `yaml:"id"`
	Title       string      `yaml:"title"`
	Description string      `yaml:"description"`
	Tags        []string    `yaml:"tags"`
	Time        Time        `yaml:"time"`
	Refresh     string      `yaml:"refresh"`
	Variables   []Variable  `yaml:"variables"`
	Panels      []filePanel `yaml:"panels"`
}

// filePanel is a panel, with the shorthand of a single target.
type filePanel struct {
	Panel   `yaml:",inline"`
	Expr    string `yaml:"expr"`
	Legend  string `yaml:"legend"`
	Source  string `yaml:"source"`
	Instant bool   `yaml:"instant"`
}

// The keys of each part of a dashboard file.
var (
	dashboardKeys = []string{"id", "title", "description", "tags", "time", "refresh", "variables", "panels"}
	timeKeys      = []string{"from", "to"}
	variableKeys  = []string{"name", "label", "type", "source", "query", "labelName", "match", "options", "default", "multi", "includeAll"}
	panelKeys     = []string{"title", "type", "description", "unit", "gridPos", "targets", "expr", "legend", "source", "instant"}
	gridPosKeys   = []string{"x", "y", "w", "h"}
	targetKeys    = []string{"expr", "legend", "source", "instant"}
)

// checkKeys reports the keys of a mapping that are not in known, and
// walks into the parts it knows.
func checkKeys(m *yaml.Node, known []string, what string, probs *[]problem) {
	if m == nil || m.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if !slices.Contains(known, k.Value) {
			msg := fmt.Sprintf("%s: unknown key %q", what, k.Value)
			if s := suggest(k.Value, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			*probs = append(*probs, problem{k.Line, msg})
			continue
		}
		switch {
		case what == "dashboard" && k.Value == "time":
			checkKeys(v, timeKeys, "time", probs)
		case what == "dashboard" && k.Value == "variables" && v.Kind == yaml.SequenceNode:
			for _, item := range v.Content {
				checkKeys(item, variableKeys, "variable", probs)
			}
		case what == "dashboard" && k.Value == "panels" && v.Kind == yaml.SequenceNode:
			for _, item := range v.Content {
				checkKeys(item, panelKeys, "panel", probs)
			}
		case what == "panel" && k.Value == "gridPos":
			checkKeys(v, gridPosKeys, "gridPos", probs)
		case what == "panel" && k.Value == "targets" && v.Kind == yaml.SequenceNode:
			for _, item := range v.Content {
				checkKeys(item, targetKeys, "target", probs)
			}
		}
	}
}

// suggest returns the known key that differs from key only in case or
// underscores, such as gridpos or grid_pos for gridPos.
func suggest(key string, known []string) string {
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }
	for _, k := range known {
		if norm(k) == norm(key) {
			return k
		}
	}
	return ""
}

// lineOf returns the line of a key's value in a mapping, or 0.
func lineOf(m *yaml.Node, key string) int {
	if _, v := yamlnode.Entry(m, key); v != nil {
		return v.Line
	}
	return 0
}

func items(m *yaml.Node, key string) []*yaml.Node {
	if _, v := yamlnode.Entry(m, key); v != nil && v.Kind == yaml.SequenceNode {
		return v.Content
	}
	return nil
}

// filePositions finds the lines of a dashboard file's parts.
func filePositions(root *yaml.Node) *positions {
	pos := &positions{id: lineOf(root, "id")}
	for _, v := range items(root, "variables") {
		pos.variables = append(pos.variables, varPos{
			item: v.Line, typ: lineOf(v, "type"), source: lineOf(v, "source"),
			query: cmp.Or(lineOf(v, "query"), lineOf(v, "labelName")), match: lineOf(v, "match"), options: cmp.Or(lineOf(v, "options"), lineOf(v, "default")),
		})
	}
	for _, p := range items(root, "panels") {
		pp := panelPos{item: p.Line, typ: lineOf(p, "type"), gridPos: lineOf(p, "gridPos")}
		if _, e := yamlnode.Entry(p, "expr"); e != nil {
			pp.targets = []targetPos{{item: p.Line, expr: e.Line, source: lineOf(p, "source")}}
		}
		for _, t := range items(p, "targets") {
			pp.targets = append(pp.targets, targetPos{item: t.Line, expr: lineOf(t, "expr"), source: lineOf(t, "source")})
		}
		pos.panels = append(pos.panels, pp)
	}
	return pos
}

// dashboard applies the defaults to a file's dashboard; problems of the
// shorthand go to probs.
func (fd *fileDashboard) dashboard(id, name string, probs *[]problem, pos *positions) *Dashboard {
	if fd.ID != "" {
		id = fd.ID
	}
	d := &Dashboard{
		ID: FileIDPrefix + strings.TrimPrefix(id, FileIDPrefix), Title: cmp.Or(fd.Title, id), Description: fd.Description,
		Source: SourceFile, Path: name, Tags: fd.Tags, Time: fd.Time, Refresh: fd.Refresh,
		Variables: fd.Variables, Panels: make([]Panel, 0, len(fd.Panels)),
	}
	if fd.ID != "" && !idPattern.MatchString(fd.ID) {
		*probs = append(*probs, problem{pos.id, fmt.Sprintf("id %q: segments of letters, digits, '.', '_' and '-', each starting with a letter or digit, joined by '/'", fd.ID)})
	}
	d.Time.From, d.Time.To = cmp.Or(d.Time.From, DefaultTime.From), cmp.Or(d.Time.To, DefaultTime.To)
	if d.Variables == nil {
		d.Variables = []Variable{}
	}
	for i := range d.Variables {
		v := &d.Variables[i]
		if v.Type == "" {
			switch {
			case v.Query != "" || v.LabelName != "":
				v.Type = VarQuery
			case len(v.Options) > 0:
				v.Type = VarCustom
			}
		}
		if v.Type != VarQuery {
			v.Source = "" // only a query asks a data source
		}
		switch v.Type {
		case VarQuery:
			v.Source = cmp.Or(v.Source, SourcePrometheus)
			if v.Query == "" && v.LabelName != "" {
				v.Query = labelValuesQuery(v.Match, v.LabelName)
			} else if m, l, ok := parseLabelValues(v.Query); ok {
				v.Match, v.LabelName = m, l
			} else {
				v.Match, v.LabelName = "", ""
			}
		case VarConstant:
			if len(v.Options) == 0 && v.Default != "" {
				v.Options = []string{v.Default}
			}
			if len(v.Options) == 1 {
				v.Default = v.Options[0]
			}
		}
	}
	var auto []bool
	for i := range fd.Panels {
		fp := &fd.Panels[i]
		p := fp.Panel
		p.Type = cmp.Or(p.Type, PanelTimeseries)
		if fp.Expr != "" || fp.Legend != "" || fp.Source != "" || fp.Instant {
			if len(p.Targets) > 0 {
				pp := at(pos.panels, i)
				*probs = append(*probs, problem{pp.item, fmt.Sprintf("%s: give either expr or targets, not both", panelName(i, &p))})
			}
			p.Targets = []Target{{Expr: fp.Expr, Legend: fp.Legend, Source: fp.Source, Instant: fp.Instant}}
		} else if p.Targets == nil {
			p.Targets = []Target{}
		}
		for j := range p.Targets {
			if p.Targets[j].Source == "" {
				p.Targets[j].Source = SourcePrometheus
				if p.Type == PanelLogs {
					p.Targets[j].Source = SourceLoki
				}
			}
		}
		auto = append(auto, p.GridPos == GridPos{})
		d.Panels = append(d.Panels, p)
	}
	layout(d.Panels, auto)
	return d
}

// labelValuesQuery writes the query text of a label values variable.
func labelValuesQuery(match, label string) string {
	if match == "" {
		return "label_values(" + label + ")"
	}
	return "label_values(" + match + ", " + label + ")"
}

// layout places the panels marked auto: left to right after the panel
// before, two to a row (logs and tables a whole row), 8 rows high (logs
// 10), wrapping at the grid's edge.
func layout(panels []Panel, auto []bool) {
	x, y, rowEnd := 0, 0, 0
	for i := range panels {
		p := &panels[i]
		if i < len(auto) && auto[i] {
			w, h := GridColumns/2, 8
			switch p.Type {
			case PanelLogs:
				w, h = GridColumns, 10
			case PanelTable:
				w = GridColumns
			}
			if x+w > GridColumns {
				x, y = 0, rowEnd
			}
			p.GridPos = GridPos{X: x, Y: y, W: w, H: h}
		}
		g := p.GridPos
		x, y, rowEnd = g.X+g.W, g.Y, max(rowEnd, g.Y+g.H)
		if x >= GridColumns {
			x, y = 0, rowEnd
		}
	}
}
