package dashboard

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
)

// Error is one problem of a dashboard file: the file as the config names
// it, the line (0 when unknown, as in a converted Grafana dashboard), and
// what is wrong. It reads "dashboards/shop.yml:12: panel "Latency": expr:
// 1:5: parse error: ...".
type Error struct {
	File string
	Line int
	Msg  string
}

// Error implements error: "file:line: msg", or "file: msg" without a line.
func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// problem is one thing wrong with a dashboard, at a line of its file (0
// when unknown).
type problem struct {
	line int
	msg  string
}

// positions locates the parts of a dashboard in its file. The zero value
// knows no lines; each lookup falls back to the enclosing part's line.
type positions struct {
	id        int
	variables []varPos
	panels    []panelPos
}

type varPos struct{ item, typ, source, query, match, options int }

type panelPos struct {
	item, typ, gridPos int
	targets            []targetPos
}

type targetPos struct{ item, expr, source int }

func at[T any](s []T, i int) T {
	var zero T
	if i < len(s) {
		return s[i]
	}
	return zero
}

var (
	// idPattern: segments that start with a letter or digit, so none is
	// "." or "..", which a URL path would resolve away.
	idPattern       = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$`)
	varNamePattern  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	panelTypesText  = strings.Join(panelTypes, ", ")
	varTypesText    = strings.Join(varTypes, ", ")
	validSourceText = SourcePrometheus + " or " + SourceLoki
)

// panelName names a panel in messages: by its title, or by its place.
func panelName(i int, p *Panel) string {
	if p.Title != "" {
		return fmt.Sprintf("panel %q", p.Title)
	}
	return fmt.Sprintf("panel %d", i+1)
}

// validate checks a dashboard, every problem with its line. Defaults have
// been applied; the id is the caller's to check.
func validate(d *Dashboard, pos *positions) []problem {
	var probs []problem
	add := func(line int, format string, args ...any) {
		probs = append(probs, problem{line, fmt.Sprintf(format, args...)})
	}
	defined := map[string]bool{}
	for i := range d.Variables {
		v := &d.Variables[i]
		vp := at(pos.variables, i)
		name := fmt.Sprintf("variable %q", v.Name)
		if v.Name == "" {
			name = fmt.Sprintf("variable %d", i+1)
		}
		switch {
		case v.Name == "":
			add(vp.item, "%s: name missing", name)
		case !varNamePattern.MatchString(v.Name) || isBuiltin(v.Name):
			add(vp.item, "%s: a name is a letter or '_' then letters, digits or '_', and does not start with __", name)
		case defined[v.Name]:
			add(vp.item, "%s: defined twice", name)
		}
		defined[v.Name] = true
		switch v.Type {
		case VarQuery:
			switch {
			case v.Source != SourcePrometheus && v.Source != SourceLoki:
				add(cmp.Or(vp.source, vp.item), "%s: source %q: want %s", name, v.Source, validSourceText)
			case v.LabelName == "":
				add(cmp.Or(vp.query, vp.item), "%s: query %q: want label_values(label) or label_values(selector, label)", name, v.Query)
			default:
				if !validLabelName(v.LabelName) {
					add(cmp.Or(vp.query, vp.item), "%s: %q is not a label name", name, v.LabelName)
				}
				if v.Match != "" {
					if err := checkSelector(v.Source, v.Match); err != nil {
						add(cmp.Or(vp.match, vp.query, vp.item), "%s: match: %v", name, err)
					}
				}
			}
		case VarCustom:
			if len(v.Options) == 0 {
				add(cmp.Or(vp.options, vp.item), "%s: a custom variable needs options", name)
			}
		case VarInterval:
			if len(v.Options) == 0 {
				add(cmp.Or(vp.options, vp.item), "%s: an interval variable needs options", name)
			}
			for _, o := range v.Options {
				if _, err := model.ParseDuration(o); err != nil {
					add(cmp.Or(vp.options, vp.item), "%s: option %q is not a duration such as 5m", name, o)
				}
			}
		case VarConstant:
			if len(v.Options) != 1 {
				add(cmp.Or(vp.options, vp.item), "%s: a constant has one value (options or default)", name)
			}
		case VarTextbox:
		case "":
			add(vp.item, "%s: type missing: want one of %s", name, varTypesText)
		default:
			add(cmp.Or(vp.typ, vp.item), "%s: type %q: want one of %s", name, v.Type, varTypesText)
		}
	}
	unknownVars := func(line int, what, expr string) {
		for _, r := range refs(expr) {
			if !isBuiltin(r) && !defined[r] {
				add(line, "%s: $%s is not a variable of this dashboard", what, r)
			}
		}
	}
	for i := range d.Variables {
		v := &d.Variables[i]
		if v.Type == VarQuery && v.Match != "" {
			vp := at(pos.variables, i)
			unknownVars(cmp.Or(vp.match, vp.query, vp.item), fmt.Sprintf("variable %q: match", v.Name), v.Match)
		}
	}
	for i := range d.Panels {
		p := &d.Panels[i]
		pp := at(pos.panels, i)
		name := panelName(i, p)
		if !slices.Contains(panelTypes, p.Type) {
			add(cmp.Or(pp.typ, pp.item), "%s: type %q: want one of %s", name, p.Type, panelTypesText)
		}
		if g := p.GridPos; g.X < 0 || g.Y < 0 || g.W < 1 || g.H < 1 || g.X+g.W > GridColumns {
			add(cmp.Or(pp.gridPos, pp.item), "%s: gridPos {x: %d, y: %d, w: %d, h: %d}: want x, y >= 0, w, h >= 1 and x+w <= %d",
				name, g.X, g.Y, g.W, g.H, GridColumns)
		}
		if len(p.Targets) == 0 {
			add(pp.item, "%s: no targets: a panel needs at least one query (expr)", name)
		}
		for j := range p.Targets {
			t := &p.Targets[j]
			tp := at(pp.targets, j)
			what := name
			if len(p.Targets) > 1 {
				what = fmt.Sprintf("%s, target %d", name, j+1)
			}
			exprLine := cmp.Or(tp.expr, tp.item, pp.item)
			if t.Source != SourcePrometheus && t.Source != SourceLoki {
				add(cmp.Or(tp.source, tp.item, pp.item), "%s: source %q: want %s", what, t.Source, validSourceText)
				continue
			}
			if strings.TrimSpace(t.Expr) == "" {
				add(exprLine, "%s: expr is empty", what)
				continue
			}
			if p.Type == PanelLogs && t.Source != SourceLoki {
				add(cmp.Or(tp.source, exprLine), "%s: a logs panel shows Loki queries, not %s", what, t.Source)
				continue
			}
			logQuery, err := checkExpr(t.Source, t.Expr)
			switch {
			case err != nil:
				add(exprLine, "%s: expr: %v", what, err)
			case logQuery && p.Type != PanelLogs:
				add(exprLine, "%s: expr %q is a log query: a %s panel needs a metric query such as rate(...[5m]), or type logs", what, t.Expr, p.Type)
			case !logQuery && t.Source == SourceLoki && p.Type == PanelLogs:
				add(exprLine, "%s: expr %q is a metric query: a logs panel needs a log query such as {service_name=\"api\"}", what, t.Expr)
			}
			unknownVars(exprLine, what+": expr", t.Expr)
		}
	}
	return probs
}

// exprWarnings checks the expressions of a converted dashboard, as
// validate does, but as warnings: a Grafana dashboard is taken as it is.
func exprWarnings(d *Dashboard) []string {
	defined := map[string]bool{}
	for _, v := range d.Variables {
		defined[v.Name] = true
	}
	var out []string
	undefined := map[string]bool{}
	for i := range d.Panels {
		p := &d.Panels[i]
		for j, t := range p.Targets {
			what := panelName(i, p)
			if len(p.Targets) > 1 {
				what = fmt.Sprintf("%s, target %d", what, j+1)
			}
			logQuery, err := checkExpr(t.Source, t.Expr)
			switch {
			case err != nil:
				out = append(out, fmt.Sprintf("%s: %s expr does not parse: %v", what, sourceName(t.Source), err))
			case logQuery && p.Type != PanelLogs:
				out = append(out, fmt.Sprintf("%s: expr %q is a log query; it draws nothing in a %s panel", what, t.Expr, p.Type))
			}
			for _, r := range refs(t.Expr) {
				if !isBuiltin(r) && !defined[r] && !undefined[r] {
					undefined[r] = true
					out = append(out, fmt.Sprintf("%s: expr refers to $%s, which is not a variable of this dashboard", what, r))
				}
			}
		}
	}
	return out
}

func sourceName(source string) string {
	if source == SourceLoki {
		return "LogQL"
	}
	return "PromQL"
}
