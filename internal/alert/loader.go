package alert

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/parser/posrange"
	"go.yaml.in/yaml/v3"

	"github.com/argus-obs/argus/internal/query/logql"
	"github.com/argus-obs/argus/internal/yamlnode"
)

// Rule files are Prometheus's format. A group marked `source: logs` holds
// rules over logs instead, as Loki's ruler has them: the same fields,
// with a LogQL metric query as expr:
//
//	groups:
//	  - name: inventory-logs
//	    source: logs
//	    rules:
//	      - alert: InventoryLogsErrors
//	        expr: sum by (service_name) (rate({service_name="inventory"} |= "error" [5m])) > 1
//
// The loader hands Prometheus's rules engine such a rule with an
// expression that prints as its LogQL text, and the engine's query
// function sends those texts to the LogQL engine.

// sourceLogs marks a group of LogQL rules.
const sourceLogs = "logs"

// loader is the rules engine's GroupLoader. It remembers the LogQL
// expressions of the files it loaded, so the query function knows which
// rule texts are LogQL.
type loader struct {
	promql parser.Parser

	mu   sync.RWMutex
	logs map[string]bool // LogQL rule expressions; guarded by mu
}

func newLoader() *loader {
	return &loader{promql: parser.NewParser(parser.Options{}), logs: map[string]bool{}}
}

// isLogQL reports whether a rule expression came from a logs group.
func (l *loader) isLogQL(expr string) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.logs[expr]
}

// Load implements rules.GroupLoader: it parses and validates a file,
// every error with its line.
func (l *loader) Load(file string, ignoreUnknownFields bool, scheme model.ValidationScheme) (*rulefmt.RuleGroups, []error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, []error{fmt.Errorf("%s: %w", file, err)}
	}
	groups, logExprs, errs := l.parse(data, ignoreUnknownFields, scheme)
	for i := range errs {
		errs[i] = fmt.Errorf("%s: %w", file, errs[i])
	}
	if len(errs) > 0 {
		return nil, errs
	}
	l.mu.Lock()
	for _, e := range logExprs {
		l.logs[e] = true
	}
	l.mu.Unlock()
	return groups, nil
}

// parse validates a rule file. For Prometheus's validation it rewrites
// the logs groups in place (same lines): their `source` line blanked,
// each expr replaced by a PromQL placeholder; the LogQL expressions are
// checked by the LogQL parser and put back.
func (l *loader) parse(data []byte, ignoreUnknownFields bool, scheme model.ValidationScheme) (*rulefmt.RuleGroups, []string, []error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, []error{err}
	}
	lines := strings.Split(string(data), "\n")
	type logRule struct {
		group, rule int
		expr        string
	}
	var logRules []logRule
	var errs []error
	for gi, g := range groupNodes(&doc) {
		key, source := yamlnode.Entry(g, "source")
		if source == nil {
			continue
		}
		// The source key is Argus's, not Prometheus's: it is cut from its
		// line (what precedes it, such as a list's "- ", stays).
		lines[key.Line-1] = lines[key.Line-1][:key.Column-1]
		switch source.Value {
		case sourceLogs:
		case "metrics":
			continue
		default:
			errs = append(errs, fmt.Errorf("%d:%d: group %d: source %q: want logs or metrics", source.Line, source.Column, gi+1, source.Value))
			continue
		}
		rulesNode := yamlnode.Value(g, "rules")
		if rulesNode == nil || rulesNode.Kind != yaml.SequenceNode {
			continue // Prometheus's validation reports it
		}
		for ri, r := range rulesNode.Content {
			expr := yamlnode.Value(r, "expr")
			if expr == nil || expr.Kind != yaml.ScalarNode {
				continue
			}
			e, err := logql.ParseExpr(expr.Value)
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("%d:%d: group %d, rule %d: LogQL: %w", expr.Line, expr.Column, gi+1, ri+1, err))
			case !isMetricQuery(e):
				errs = append(errs, fmt.Errorf("%d:%d: group %d, rule %d: %q is a log query; a rule needs a metric query such as count_over_time or rate", expr.Line, expr.Column, gi+1, ri+1, expr.Value))
			}
			logRules = append(logRules, logRule{gi, ri, expr.Value})
			// The placeholder goes on the expr's own line; a block
			// scalar's further lines are blanked.
			end := expr.Line
			if expr.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
				end = expr.Line + strings.Count(strings.TrimRight(expr.Value, "\n"), "\n") + 1
			}
			lines[expr.Line-1] = lines[expr.Line-1][:expr.Column-1] + "vector(0)"
			for n := expr.Line; n < end && n < len(lines); n++ {
				lines[n] = ""
			}
		}
	}
	rgs, perrs := rulefmt.Parse([]byte(strings.Join(lines, "\n")), ignoreUnknownFields, scheme, l.promql, slog.New(slog.DiscardHandler))
	errs = append(errs, perrs...)
	if len(errs) > 0 {
		return nil, nil, errs
	}
	var exprs []string
	for _, lr := range logRules {
		if lr.group < len(rgs.Groups) && lr.rule < len(rgs.Groups[lr.group].Rules) {
			rgs.Groups[lr.group].Rules[lr.rule].Expr = lr.expr
			exprs = append(exprs, lr.expr)
		}
	}
	return rgs, exprs, nil
}

// Parse implements rules.GroupLoader: LogQL expressions of logs groups
// become a logExpr, everything else is PromQL.
func (l *loader) Parse(query string) (parser.Expr, error) {
	if l.isLogQL(query) {
		return logExpr(query), nil
	}
	return l.promql.ParseExpr(query)
}

// logExpr is a LogQL rule expression as the rules engine holds it: it
// prints as its LogQL text, which is what the engine's query function
// receives, and the API's rule listing shows.
type logExpr string

func (e logExpr) String() string    { return string(e) }
func (e logExpr) Pretty(int) string { return string(e) }
func (e logExpr) PositionRange() posrange.PositionRange {
	return posrange.PositionRange{End: posrange.Pos(len(e))}
}
func (e logExpr) Type() parser.ValueType { return parser.ValueTypeVector }
func (e logExpr) PromQLExpr()            {}

func isMetricQuery(e logql.Expr) bool {
	_, isLog := e.(*logql.LogExpr)
	return !isLog
}

// groupNodes returns the mapping nodes of a rule file's groups.
func groupNodes(doc *yaml.Node) []*yaml.Node {
	if len(doc.Content) == 0 {
		return nil
	}
	groups := yamlnode.Value(doc.Content[0], "groups")
	if groups == nil || groups.Kind != yaml.SequenceNode {
		return nil
	}
	return groups.Content
}
