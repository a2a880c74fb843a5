package dashboard

import (
	"errors"
	"fmt"
	"strings"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/parser/posrange"

	"github.com/argus-obs/argus/internal/query/logql"
)

// Expressions hold template variables ($job, ${job:regex}, [[job]],
// $__rate_interval), which neither PromQL's nor LogQL's parser accepts. To
// check an expression, each reference is replaced by a placeholder that
// fits where it stands: "x" inside a string or a by (...) list, "5m"
// inside [...] or after offset, "1" for Grafana's numeric built-ins
// ($__interval_ms, $__range_s), and elsewhere "x" (a series selector,
// which is what a bare variable most often is), then "1" (a number) if
// "x" does not parse. Error positions are mapped back to the text as
// written.

// promParser parses PromQL as the query engine does. It holds no state
// between calls.
var promParser = parser.NewParser(parser.Options{})

// substituted is an expression with its variable references replaced.
type substituted struct {
	text string
	// offs[i] is the offset in the original text of text[i];
	// offs[len(text)] is the original's length.
	offs []int
	// refs are the names referred to, in order, with repeats.
	refs []string
	// bare reports whether a placeholder was chosen for want of context,
	// so another choice may parse where this one does not.
	bare bool
}

// orig maps an offset in the substituted text back to the original.
func (s *substituted) orig(pos int) int {
	if pos < 0 {
		return 0
	}
	if pos >= len(s.offs) {
		return s.offs[len(s.offs)-1]
	}
	return s.offs[pos]
}

// groupingWords open a parenthesised list of label names.
var groupingWords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// substitute replaces the variable references of q; bare is the
// placeholder used where the context does not decide.
func substitute(q, bare string) *substituted {
	s := &substituted{offs: make([]int, 0, len(q)+1)}
	var b strings.Builder
	b.Grow(len(q))
	emit := func(text string, at int) {
		b.WriteString(text)
		for range len(text) {
			s.offs = append(s.offs, at)
		}
	}
	copyByte := func(i int) {
		b.WriteByte(q[i])
		s.offs = append(s.offs, i)
	}
	bracket := 0
	var parens []bool  // per open parenthesis: whether it lists label names
	lastWord := ""     // the identifier just before, across spaces
	numberArg := false // just after "topk(" and the like: a number comes
	for i := 0; i < len(q); {
		c := q[i]
		if name, n := varRef(q[i:]); n > 0 {
			s.refs = append(s.refs, name)
			var ph string
			switch {
			case bracket > 0 || lastWord == "offset":
				ph = "5m"
			case len(parens) > 0 && parens[len(parens)-1]:
				ph = "x"
			case numericBuiltin(name), numberArg:
				ph = "1"
			default:
				ph, s.bare = bare, true
			}
			emit(ph, i)
			i += n
			lastWord, numberArg = "", false
			continue
		}
		switch {
		case c == '"' || c == '\'' || c == '`':
			copyByte(i)
			j := i + 1
			for j < len(q) && q[j] != c {
				if q[j] == '\\' && c != '`' && j+1 < len(q) {
					copyByte(j)
					copyByte(j + 1)
					j += 2
					continue
				}
				if name, n := varRef(q[j:]); n > 0 {
					s.refs = append(s.refs, name)
					emit("x", j)
					j += n
					continue
				}
				copyByte(j)
				j++
			}
			if j < len(q) {
				copyByte(j)
				j++
			}
			i, lastWord = j, ""
			continue
		case c == '#': // a comment, to the end of the line
			for i < len(q) && q[i] != '\n' {
				copyByte(i)
				i++
			}
			continue
		case isWordByte(c):
			j := i
			for j < len(q) && isWordByte(q[j]) {
				copyByte(j)
				j++
			}
			i, lastWord = j, q[i:j]
			continue
		case c == '[':
			bracket++
		case c == ']':
			if bracket > 0 {
				bracket--
			}
		case c == '(':
			parens = append(parens, groupingWords[strings.ToLower(lastWord)])
			if numberFirst[strings.ToLower(lastWord)] {
				copyByte(i)
				i, lastWord, numberArg = i+1, "", true
				continue
			}
		case c == ')':
			if len(parens) > 0 {
				parens = parens[:len(parens)-1]
			}
		}
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			lastWord, numberArg = "", false
		}
		copyByte(i)
		i++
	}
	s.offs = append(s.offs, len(q))
	s.text = b.String()
	return s
}

// numberFirst are the PromQL and LogQL functions and aggregations whose
// first argument is a number: a variable there stands for one.
var numberFirst = map[string]bool{
	"topk": true, "bottomk": true, "limitk": true, "limit_ratio": true, "quantile": true,
	"quantile_over_time": true, "histogram_quantile": true, "histogram_fraction": true,
}

func isWordByte(c byte) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// maxVarRef is the longest variable reference, brackets and format
// included, that varRef recognises.
const maxVarRef = 256

// varRef reports whether s starts with a variable reference: $name,
// ${name}, ${name:format}, [[name]] or [[name:format]]. It returns the
// name and the reference's length, or 0 when there is none. A name of
// digits alone ($1, a regexp group in label_replace) is no reference.
func varRef(s string) (name string, n int) {
	var inner string
	// The closing bracket is looked for within maxVarRef bytes only: the
	// callers try every position of an expression, and an unbounded search
	// would make a long expression of "${" quadratic.
	window := s[:min(len(s), maxVarRef)]
	switch {
	case strings.HasPrefix(s, "${"):
		end := strings.IndexByte(window, '}')
		if end < 0 {
			return "", 0
		}
		inner, n = s[2:end], end+1
	case strings.HasPrefix(s, "[["):
		end := strings.Index(window, "]]")
		if end < 0 {
			return "", 0
		}
		inner, n = s[2:end], end+2
	case strings.HasPrefix(s, "$"):
		j := 1
		for j < len(s) && isNameByte(s[j]) {
			j++
		}
		inner, n = s[1:j], j
	default:
		return "", 0
	}
	name, _, _ = strings.Cut(inner, ":")
	if name == "" || strings.Trim(name, "0123456789") == "" {
		return "", 0
	}
	for i := 0; i < len(name); i++ {
		if !isNameByte(name[i]) && name[i] != '.' {
			return "", 0
		}
	}
	return name, n
}

// numericBuiltin reports whether a Grafana built-in variable is a number
// rather than a duration.
func numericBuiltin(name string) bool {
	switch name {
	case "__from", "__to", "__interval_ms", "__rate_interval_ms", "__range_s", "__range_ms":
		return true
	}
	return false
}

// isBuiltin reports whether a variable is one of Grafana's own
// ($__rate_interval, $__range, $__from, $__user.login, ...).
func isBuiltin(name string) bool { return strings.HasPrefix(name, "__") }

// refs returns the variables an expression refers to, each once, in
// order.
func refs(expr string) []string {
	var out []string
	seen := map[string]bool{}
	for _, name := range substitute(expr, "x").refs {
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}

// MaxExprBytes is the longest panel expression Argus takes. Dashboards
// come from files and HTTP requests; the query parsers' cost grows with
// nesting, and no real panel query comes near this.
const MaxExprBytes = 16 << 10

// checkExpr parses expr as a query of source, with variables in it.
// For LogQL it reports whether expr is a log query (as opposed to a
// metric query).
func checkExpr(source, expr string) (logQuery bool, err error) {
	if len(expr) > MaxExprBytes {
		return false, fmt.Errorf("%d bytes, over the %d Argus takes", len(expr), MaxExprBytes)
	}
	switch source {
	case SourcePrometheus:
		return false, checkPromQL(expr)
	case SourceLoki:
		return checkLogQL(expr)
	}
	return false, fmt.Errorf("unknown source %q", source)
}

func checkPromQL(expr string) error {
	var first error
	for _, bare := range []string{"x", "1"} {
		s := substitute(expr, bare)
		_, err := promParser.ParseExpr(s.text)
		if err == nil {
			return nil
		}
		if first == nil {
			first = s.promError(expr, err)
		}
		if !s.bare {
			break
		}
	}
	return first
}

func checkLogQL(expr string) (logQuery bool, err error) {
	var first error
	for _, bare := range []string{"x", "1"} {
		s := substitute(expr, bare)
		e, err := logql.ParseExpr(s.text)
		if err == nil {
			_, isLog := e.(*logql.LogExpr)
			return isLog, nil
		}
		if first == nil {
			first = s.logqlError(expr, err)
		}
		if !s.bare {
			break
		}
	}
	return false, first
}

// checkSelector parses the match of label_values: a series selector for
// Prometheus, a stream selector for Loki.
func checkSelector(source, match string) error {
	s := substitute(match, "x")
	if source == SourceLoki {
		_, err := logql.ParseSelector(s.text)
		return s.logqlError(match, err)
	}
	_, err := promParser.ParseMetricSelector(s.text)
	return s.promError(match, err)
}

// promError rewrites a PromQL parse error of the substituted text to
// point into the original.
func (s *substituted) promError(orig string, err error) error {
	if err == nil {
		return nil
	}
	var pe *parser.ParseErr
	if errs, ok := errors.AsType[parser.ParseErrors](err); ok && len(errs) > 0 {
		pe = &errs[0]
	} else if e, ok := errors.AsType[*parser.ParseErr](err); ok {
		pe = e
	} else {
		return err
	}
	out := *pe
	out.Query = orig
	out.PositionRange = posrange.PositionRange{
		Start: posrange.Pos(s.orig(int(pe.PositionRange.Start))),
		End:   posrange.Pos(s.orig(int(pe.PositionRange.End))),
	}
	return &out
}

// logqlError rewrites a LogQL parse error of the substituted text to
// point into the original.
func (s *substituted) logqlError(orig string, err error) error {
	if err == nil {
		return nil
	}
	pe, ok := errors.AsType[*logql.ParseError](err)
	if !ok || pe.Line == 0 {
		return err
	}
	pos := s.orig(pe.Pos)
	line, col := 1, 1
	for i := 0; i < pos && i < len(orig); i++ {
		if orig[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return &logql.ParseError{Pos: pos, Line: line, Col: col, Msg: pe.Msg}
}

// parseLabelValues splits a variable query label_values(match, label) or
// label_values(label).
func parseLabelValues(q string) (match, label string, ok bool) {
	q = strings.TrimSpace(q)
	rest, found := strings.CutPrefix(q, "label_values")
	if !found {
		return "", "", false
	}
	rest = strings.TrimSpace(rest)
	if !strings.HasPrefix(rest, "(") || !strings.HasSuffix(rest, ")") {
		return "", "", false
	}
	inner := rest[1 : len(rest)-1]
	// The label follows the last comma outside quotes and brackets.
	comma, depth := -1, 0
	var quote byte
	for i := 0; i < len(inner); i++ {
		c := inner[i]
		switch {
		case quote != 0:
			if c == '\\' && quote != '`' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '{' || c == '(' || c == '[':
			depth++
		case c == '}' || c == ')' || c == ']':
			depth--
		case c == ',' && depth == 0:
			comma = i
		}
	}
	if comma < 0 {
		label = strings.TrimSpace(inner)
	} else {
		match, label = strings.TrimSpace(inner[:comma]), strings.TrimSpace(inner[comma+1:])
	}
	if !validLabelName(label) {
		return "", "", false
	}
	return match, label, true
}

// validLabelName reports whether s is a label name, or a variable that
// stands for one.
func validLabelName(s string) bool {
	if _, n := varRef(s); n == len(s) && n > 0 {
		return true
	}
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}

// looksLikeLogQL reports whether an expression of unknown source starts,
// past any functions and groupings wrapped around it, with a stream
// selector {...}: a LogQL query, where PromQL would name a metric first.
// An expression both parsers accept that way ({__name__="up"}) counts as
// PromQL only if LogQL refuses it.
func looksLikeLogQL(expr string) bool {
	if !startsWithSelector(expr) {
		return false
	}
	if checkPromQL(expr) == nil {
		if _, err := checkLogQL(expr); err != nil {
			return false
		}
	}
	return true
}

func startsWithSelector(s string) bool {
	i := 0
	skipSpace := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
	}
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(' || c == ',':
			i++
		case c == '{':
			return true
		case isWordByte(c) || c == '.':
			j := i
			for j < len(s) && (isWordByte(s[j]) || s[j] == '.') {
				j++
			}
			word := s[i:j]
			i = j
			skipSpace()
			switch w := strings.ToLower(word); {
			case w == "by" || w == "without":
				if i < len(s) && s[i] == '(' {
					if end := strings.IndexByte(s[i:], ')'); end >= 0 {
						i += end + 1
					}
				}
			case word[0] >= '0' && word[0] <= '9': // topk(5, ...)
			case i < len(s) && s[i] == '(': // a function
			case startsWord(s[i:], "by") || startsWord(s[i:], "without"): // sum by (...) (...)
			default: // a metric name, or an operand
				return false
			}
		default:
			return false
		}
	}
	return false
}

// startsWord reports whether s starts with the keyword w, not followed by
// more of a word.
func startsWord(s, w string) bool {
	return len(s) >= len(w) && strings.EqualFold(s[:len(w)], w) && (len(s) == len(w) || !isWordByte(s[len(w)]))
}
