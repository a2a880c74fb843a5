package logql

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// ParseExpr parses a LogQL query: a log query or a metric query. Errors
// are *ParseError.
func ParseExpr(q string) (Expr, error) {
	p, err := newParser(q)
	if err != nil {
		return nil, err
	}
	e, perr := p.parseTop()
	if perr != nil {
		return nil, perr
	}
	return e, nil
}

// ParseSelector parses a bare stream selector such as {app="api"}, as the
// series API's match[] parameter carries. Like Loki it refuses selectors
// whose every matcher matches the empty string. Errors are *ParseError.
func ParseSelector(q string) ([]*labels.Matcher, error) {
	p, err := newParser(q)
	if err != nil {
		return nil, err
	}
	ms, perr := p.parseSelector()
	if perr != nil {
		return nil, perr
	}
	if perr := p.expect(tEOF); perr != nil {
		return nil, perr
	}
	return ms, nil
}

type parser struct {
	q    string
	toks []token
	i    int
	// depth is how deeply the expression being parsed nests; see enter.
	depth int
}

// maxDepth bounds how deeply a query nests (parentheses, unary signs,
// label filter groups). The parser recurses once a level, and a query is
// untrusted input that must not exhaust the goroutine's stack, which
// would take the whole process down.
const maxDepth = 256

// enter counts one more level of nesting, refusing more than maxDepth;
// the caller undoes it with leave.
func (p *parser) enter() *ParseError {
	p.depth++
	if p.depth > maxDepth {
		return p.errAt(p.peek(), fmt.Sprintf("syntax error: expression nested more than %d levels deep", maxDepth))
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func newParser(q string) (*parser, error) {
	toks, err := lex(q)
	if err != nil {
		return nil, err
	}
	return &parser{q: q, toks: toks}, nil
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) peekAt(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}
func (p *parser) next() token {
	t := p.toks[p.i]
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

func (p *parser) isIdent(text string) bool {
	t := p.peek()
	return t.kind == tIdent && t.text == text
}

// unexpected reports the current token, and what was wanted.
func (p *parser) unexpected(expecting ...string) *ParseError {
	t := p.peek()
	msg := "syntax error: unexpected " + t.describe()
	if len(expecting) > 0 {
		msg += ", expecting " + strings.Join(expecting, " or ")
	}
	return posError(p.q, t.pos, msg)
}

func (p *parser) errAt(t token, msg string) *ParseError {
	return posError(p.q, t.pos, msg)
}

func (p *parser) expect(k tokKind) *ParseError {
	if p.peek().kind != k {
		return p.unexpected(token{kind: k, text: kindText(k)}.describe())
	}
	p.next()
	return nil
}

func kindText(k tokKind) string {
	switch k {
	case tLBrace:
		return "{"
	case tRBrace:
		return "}"
	case tLParen:
		return "("
	case tRParen:
		return ")"
	case tLBracket:
		return "["
	case tRBracket:
		return "]"
	case tComma:
		return ","
	case tEq:
		return "="
	}
	return ""
}

func (p *parser) parseTop() (Expr, *ParseError) {
	e, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tEOF {
		return nil, p.unexpected()
	}
	return e, nil
}

// Binary operator precedences, lowest first, as in PromQL.
func binaryPrec(t token) (op string, prec int, ok bool) {
	switch t.kind {
	case tIdent:
		switch t.text {
		case "or":
			return "or", 1, true
		case "and", "unless":
			return t.text, 2, true
		}
	case tCmpEq, tNeq, tGt, tGte, tLt, tLte:
		return t.text, 3, true
	case tAdd, tSub:
		return t.text, 4, true
	case tMul, tDiv, tMod:
		return t.text, 5, true
	case tPow:
		return t.text, 6, true
	}
	return "", 0, false
}

func isComparison(op string) bool {
	switch op {
	case "==", "!=", ">", ">=", "<", "<=":
		return true
	}
	return false
}

func isSetOp(op string) bool { return op == "and" || op == "or" || op == "unless" }

func (p *parser) parseExpr(minPrec int) (Expr, *ParseError) {
	lhs, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for {
		opTok := p.peek()
		op, prec, ok := binaryPrec(opTok)
		if !ok || prec < minPrec {
			return lhs, nil
		}
		p.next()
		be := &BinaryExpr{Op: op}
		if p.isIdent("bool") {
			if !isComparison(op) {
				return nil, p.errAt(p.peek(), "syntax error: bool modifier can only be used on comparison operators")
			}
			p.next()
			be.Bool = true
		}
		if p.isIdent("on") || p.isIdent("ignoring") {
			m := &VectorMatching{On: p.next().text == "on"}
			if m.Labels, err = p.parseLabelList(); err != nil {
				return nil, err
			}
			if p.isIdent("group_left") || p.isIdent("group_right") {
				if isSetOp(op) {
					return nil, p.errAt(p.peek(), "syntax error: no grouping allowed for \""+op+"\" operation")
				}
				m.Card = p.next().text
				m.Include = []string{}
				if p.peek().kind == tLParen {
					if m.Include, err = p.parseLabelList(); err != nil {
						return nil, err
					}
				}
			}
			be.Matching = m
		}
		next := prec + 1
		if op == "^" {
			next = prec // right-associative
		}
		rhs, err := p.parseExpr(next)
		if err != nil {
			return nil, err
		}
		be.LHS, be.RHS = lhs, rhs
		if err := p.checkBinary(be, opTok); err != nil {
			return nil, err
		}
		lhs = be
	}
}

func isScalar(e Expr) bool {
	switch e := e.(type) {
	case *NumberLiteral:
		return true
	case *BinaryExpr:
		return isScalar(e.LHS) && isScalar(e.RHS)
	}
	return false
}

func (p *parser) checkBinary(be *BinaryExpr, opTok token) *ParseError {
	for _, side := range []Expr{be.LHS, be.RHS} {
		if _, ok := side.(*LogExpr); ok {
			return p.errAt(opTok, "unexpected log query in binary operation: only metric queries and numbers can be combined")
		}
	}
	ls, rs := isScalar(be.LHS), isScalar(be.RHS)
	if isSetOp(be.Op) && (ls || rs) {
		return p.errAt(opTok, "set operator \""+be.Op+"\" not allowed in binary scalar expression")
	}
	if be.Matching != nil && (ls || rs) {
		return p.errAt(opTok, "vector matching only allowed between vectors")
	}
	return nil
}

func (p *parser) parseUnary() (Expr, *ParseError) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	if t := p.peek(); t.kind == tSub || t.kind == tAdd {
		p.next()
		e, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		n, ok := e.(*NumberLiteral)
		if !ok {
			return nil, p.errAt(t, "syntax error: unary "+t.text+" is only supported before a number")
		}
		if t.kind == tSub {
			n.Val = -n.Val
		}
		return n, nil
	}
	return p.parsePrimary()
}

func (p *parser) parsePrimary() (Expr, *ParseError) {
	t := p.peek()
	switch t.kind {
	case tNumber:
		p.next()
		v, _ := strconv.ParseFloat(t.text, 64)
		return &NumberLiteral{Val: v}, nil
	case tLParen:
		p.next()
		e, err := p.parseExpr(0)
		if err != nil {
			return nil, err
		}
		if err := p.expect(tRParen); err != nil {
			return nil, err
		}
		return e, nil
	case tLBrace:
		return p.parseLogExpr()
	case tIdent:
		if p.peekAt(1).kind == tLParen || p.peekAt(1).kind == tIdent {
			switch {
			case isRangeOp(t.text):
				return p.parseRangeAgg()
			case isVectorOp(t.text):
				return p.parseVectorAgg()
			case t.text == "label_replace":
				return p.parseLabelReplace()
			case t.text == "vector":
				return p.parseVector()
			}
		}
	}
	return nil, p.unexpected()
}

func isRangeOp(s string) bool {
	switch s {
	case "count_over_time", "rate", "bytes_over_time", "bytes_rate", "absent_over_time",
		"sum_over_time", "avg_over_time", "min_over_time", "max_over_time",
		"first_over_time", "last_over_time", "stdvar_over_time", "stddev_over_time",
		"quantile_over_time":
		return true
	}
	return false
}

// needsUnwrap reports whether a range op reads unwrapped values (true),
// counts entries (false), or may do either (rate).
func unwrapRule(op string) (needs, allowed bool) {
	switch op {
	case "count_over_time", "bytes_over_time", "bytes_rate":
		return false, false
	case "rate", "absent_over_time":
		return false, true
	}
	return true, true
}

// groupingAllowed reports whether a range op takes by/without: only
// unwrapped ones other than sum_over_time, rate and absent_over_time, as
// Loki documents.
func groupingAllowed(op string, unwrap bool) bool {
	switch op {
	case "sum_over_time", "rate", "absent_over_time":
		return false
	}
	return unwrap
}

func isVectorOp(s string) bool {
	switch s {
	case "sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk", "bottomk", "sort", "sort_desc":
		return true
	}
	return false
}

// parseSelector reads {name op "value", ...}.
func (p *parser) parseSelector() ([]*labels.Matcher, *ParseError) {
	open := p.peek()
	if err := p.expect(tLBrace); err != nil {
		return nil, err
	}
	var ms []*labels.Matcher
	for {
		if p.peek().kind == tRBrace && len(ms) > 0 {
			p.next()
			break
		}
		name := p.peek()
		if name.kind != tIdent {
			return nil, p.unexpected("IDENTIFIER")
		}
		p.next()
		opTok := p.peek()
		var mt labels.MatchType
		switch opTok.kind {
		case tEq:
			mt = labels.MatchEqual
		case tNeq:
			mt = labels.MatchNotEqual
		case tRe:
			mt = labels.MatchRegexp
		case tNre:
			mt = labels.MatchNotRegexp
		default:
			return nil, p.unexpected("=", "=~", "!~", "!=")
		}
		p.next()
		val := p.peek()
		if val.kind != tString {
			return nil, p.unexpected("STRING")
		}
		p.next()
		m, err := labels.NewMatcher(mt, name.text, val.text)
		if err != nil {
			return nil, p.errAt(val, "invalid regular expression: "+err.Error())
		}
		ms = append(ms, m)
		switch p.peek().kind {
		case tComma:
			p.next()
		case tRBrace:
		default:
			return nil, p.unexpected(",", "}")
		}
	}
	for _, m := range ms {
		if !m.Matches("") {
			return ms, nil
		}
	}
	return nil, &ParseError{Pos: open.pos, Msg: "queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will"}
}

func (p *parser) parseLogExpr() (*LogExpr, *ParseError) {
	ms, err := p.parseSelector()
	if err != nil {
		return nil, err
	}
	e := &LogExpr{Matchers: ms}
	unwrap, err := p.parsePipeline(e, false)
	if err != nil {
		return nil, err
	}
	_ = unwrap
	return e, nil
}

// parsePipeline appends stages to e until the next token does not start
// one. With allowUnwrap it also reads "| unwrap ..." (and the label
// filters after it), which ends the pipeline.
func (p *parser) parsePipeline(e *LogExpr, allowUnwrap bool) (*Unwrap, *ParseError) {
	for {
		t := p.peek()
		switch t.kind {
		case tPipeExact, tNeq, tPipeMatch, tNre, tPipePattern, tNpa:
			f, err := p.parseLineFilter()
			if err != nil {
				return nil, err
			}
			e.Stages = append(e.Stages, f)
			continue
		case tPipe:
		default:
			return nil, nil
		}
		p.next()
		kw := p.peek()
		if kw.kind == tIdent && !isFilterOp(p.peekAt(1).kind) {
			switch kw.text {
			case "json", "logfmt", "regexp", "pattern", "unpack":
				s, err := p.parseParser()
				if err != nil {
					return nil, err
				}
				e.Stages = append(e.Stages, s)
				continue
			case "line_format":
				p.next()
				v := p.peek()
				if v.kind != tString {
					return nil, p.unexpected("STRING")
				}
				p.next()
				if _, err := template.New("").Option("missingkey=zero").Funcs(templateFuncStubs()).Parse(v.text); err != nil {
					return nil, p.errAt(v, "invalid line template: "+err.Error())
				}
				e.Stages = append(e.Stages, &LineFormatStage{Template: v.text})
				continue
			case "label_format":
				s, err := p.parseLabelFormat()
				if err != nil {
					return nil, err
				}
				e.Stages = append(e.Stages, s)
				continue
			case "drop", "keep":
				p.next()
				sels, err := p.parseLabelSelectors()
				if err != nil {
					return nil, err
				}
				if kw.text == "drop" {
					e.Stages = append(e.Stages, &DropStage{Labels: sels})
				} else {
					e.Stages = append(e.Stages, &KeepStage{Labels: sels})
				}
				continue
			case "decolorize":
				p.next()
				e.Stages = append(e.Stages, &DecolorizeStage{})
				continue
			case "unwrap":
				if !allowUnwrap {
					return nil, p.errAt(kw, "syntax error: unexpected unwrap: unwrap is only allowed in a range aggregation")
				}
				return p.parseUnwrap()
			}
		}
		f, err := p.parseLabelFilterOr()
		if err != nil {
			return nil, err
		}
		e.Stages = append(e.Stages, &LabelFilterStage{Filter: f})
	}
}

func isFilterOp(k tokKind) bool {
	switch k {
	case tEq, tNeq, tRe, tNre, tCmpEq, tGt, tGte, tLt, tLte:
		return true
	}
	return false
}

func (p *parser) parseLineFilterValue() (LineFilterValue, *ParseError) {
	t := p.peek()
	if t.kind == tString {
		p.next()
		return LineFilterValue{Value: t.text}, nil
	}
	if t.kind == tIdent && t.text == "ip" && p.peekAt(1).kind == tLParen {
		p.next()
		p.next()
		v := p.peek()
		if v.kind != tString {
			return LineFilterValue{}, p.unexpected("STRING")
		}
		p.next()
		if err := p.expect(tRParen); err != nil {
			return LineFilterValue{}, err
		}
		if _, err := parseIPMatcher(v.text); err != nil {
			return LineFilterValue{}, p.errAt(v, err.Error())
		}
		return LineFilterValue{Value: v.text, IP: true}, nil
	}
	return LineFilterValue{}, p.unexpected("STRING")
}

func (p *parser) parseLineFilter() (*LineFilter, *ParseError) {
	opTok := p.next()
	f := &LineFilter{Op: LineFilterOp(opTok.text)}
	for {
		vt := p.peek()
		v, err := p.parseLineFilterValue()
		if err != nil {
			return nil, err
		}
		switch {
		case v.IP && f.Op != LineContains && f.Op != LineNotContains:
			return nil, p.errAt(vt, "syntax error: ip() line filters only support |= and !=")
		case !v.IP && (f.Op == LineMatches || f.Op == LineNotMatches):
			if _, err := regexp.Compile(v.Value); err != nil {
				return nil, p.errAt(vt, "invalid regular expression: "+err.Error())
			}
		case f.Op == LinePatternMatch || f.Op == LinePatternNoMatch:
			if _, err := compilePattern(v.Value, true); err != nil {
				return nil, p.errAt(vt, err.Error())
			}
		}
		f.Values = append(f.Values, v)
		if p.isIdent("or") && (p.peekAt(1).kind == tString || p.peekAt(1).kind == tIdent && p.peekAt(1).text == "ip") {
			p.next()
			continue
		}
		return f, nil
	}
}

func (p *parser) parseParser() (*ParserStage, *ParseError) {
	kw := p.next()
	s := &ParserStage{Kind: ParserKind(kw.text)}
	switch s.Kind {
	case ParserRegexp, ParserPattern:
		v := p.peek()
		if v.kind != tString {
			return nil, p.unexpected("STRING")
		}
		p.next()
		s.Expr = v.text
		if s.Kind == ParserRegexp {
			if _, err := compileRegexpParser(v.text); err != nil {
				return nil, p.errAt(v, err.Error())
			}
		} else if _, err := compilePattern(v.text, false); err != nil {
			return nil, p.errAt(v, err.Error())
		}
		return s, nil
	case ParserUnpack:
		return s, nil
	}
	if s.Kind == ParserLogfmt {
		for p.peek().kind == tFlag {
			f := p.next()
			switch f.text {
			case "--strict":
				s.Strict = true
			case "--keep-empty":
				s.KeepEmpty = true
			default:
				return nil, p.errAt(f, "syntax error: unknown logfmt flag "+f.text)
			}
		}
	}
	// Optional extractions: name [= "expr"], ...
	if p.peek().kind != tIdent || isFilterOp(p.peekAt(1).kind) && p.peekAt(1).kind != tEq {
		return s, nil
	}
	for {
		name := p.peek()
		if name.kind != tIdent {
			return nil, p.unexpected("IDENTIFIER")
		}
		p.next()
		x := Extraction{Label: name.text, Expr: name.text}
		if p.peek().kind == tEq {
			p.next()
			v := p.peek()
			if v.kind != tString {
				return nil, p.unexpected("STRING")
			}
			p.next()
			x.Expr = v.text
		}
		if s.Kind == ParserJSON {
			if _, err := parseJSONPath(x.Expr); err != nil {
				return nil, p.errAt(name, err.Error())
			}
		}
		s.Extractions = append(s.Extractions, x)
		if p.peek().kind != tComma {
			return s, nil
		}
		p.next()
	}
}

func (p *parser) parseLabelFormat() (*LabelFormatStage, *ParseError) {
	p.next()
	s := &LabelFormatStage{}
	seen := map[string]bool{}
	for {
		name := p.peek()
		if name.kind != tIdent {
			return nil, p.unexpected("IDENTIFIER")
		}
		p.next()
		if err := p.expect(tEq); err != nil {
			return nil, err
		}
		v := p.peek()
		it := LabelFormatItem{Name: name.text}
		switch v.kind {
		case tIdent:
			it.Rename, it.Value = true, v.text
		case tString:
			it.Value = v.text
			if _, err := template.New("").Option("missingkey=zero").Funcs(templateFuncStubs()).Parse(v.text); err != nil {
				return nil, p.errAt(v, "invalid label template: "+err.Error())
			}
		default:
			return nil, p.unexpected("IDENTIFIER", "STRING")
		}
		p.next()
		if name.text == errorLabel || name.text == errorDetailsLabel {
			return nil, p.errAt(name, "label_format cannot set "+name.text)
		}
		if seen[name.text] {
			return nil, p.errAt(name, "multiple label name '"+name.text+"' not allowed in a single format operation")
		}
		seen[name.text] = true
		s.Items = append(s.Items, it)
		if p.peek().kind != tComma {
			return s, nil
		}
		p.next()
	}
}

func (p *parser) parseLabelSelectors() ([]LabelSelector, *ParseError) {
	var out []LabelSelector
	for {
		name := p.peek()
		if name.kind != tIdent {
			return nil, p.unexpected("IDENTIFIER")
		}
		p.next()
		sel := LabelSelector{Name: name.text}
		var mt labels.MatchType
		hasOp := true
		switch p.peek().kind {
		case tEq:
			mt = labels.MatchEqual
		case tNeq:
			mt = labels.MatchNotEqual
		case tRe:
			mt = labels.MatchRegexp
		case tNre:
			mt = labels.MatchNotRegexp
		default:
			hasOp = false
		}
		if hasOp {
			p.next()
			v := p.peek()
			if v.kind != tString {
				return nil, p.unexpected("STRING")
			}
			p.next()
			m, err := labels.NewMatcher(mt, name.text, v.text)
			if err != nil {
				return nil, p.errAt(v, "invalid regular expression: "+err.Error())
			}
			sel.Matcher = m
		}
		out = append(out, sel)
		if p.peek().kind != tComma {
			return out, nil
		}
		p.next()
	}
}

func (p *parser) parseUnwrap() (*Unwrap, *ParseError) {
	p.next() // unwrap
	u := &Unwrap{}
	t := p.peek()
	if t.kind != tIdent {
		return nil, p.unexpected("IDENTIFIER")
	}
	p.next()
	if p.peek().kind == tLParen {
		switch t.text {
		case "duration", "duration_seconds", "bytes":
		default:
			return nil, p.errAt(t, "syntax error: unknown unwrap conversion "+strconv.Quote(t.text))
		}
		p.next()
		l := p.peek()
		if l.kind != tIdent {
			return nil, p.unexpected("IDENTIFIER")
		}
		p.next()
		if err := p.expect(tRParen); err != nil {
			return nil, err
		}
		u.Conv, u.Label = t.text, l.text
	} else {
		u.Label = t.text
	}
	for p.peek().kind == tPipe {
		p.next()
		f, err := p.parseLabelFilterOr()
		if err != nil {
			return nil, err
		}
		u.PostFilters = append(u.PostFilters, f)
	}
	return u, nil
}

func (p *parser) parseLabelFilterOr() (LabelFilter, *ParseError) {
	lhs, err := p.parseLabelFilterAnd()
	if err != nil {
		return nil, err
	}
	for p.isIdent("or") && p.startsLabelFilter(1) {
		p.next()
		rhs, err := p.parseLabelFilterAnd()
		if err != nil {
			return nil, err
		}
		lhs = &BinaryLabelFilter{LHS: lhs, RHS: rhs}
	}
	return lhs, nil
}

// startsLabelFilter reports whether the token n ahead begins a label
// filter predicate: a '(' or a name followed by a comparison.
func (p *parser) startsLabelFilter(n int) bool {
	t := p.peekAt(n)
	return t.kind == tLParen || t.kind == tIdent && isFilterOp(p.peekAt(n+1).kind)
}

func (p *parser) parseLabelFilterAnd() (LabelFilter, *ParseError) {
	lhs, err := p.parseLabelFilterPrimary()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.peek().kind == tComma:
			p.next()
		case p.isIdent("and") && p.startsLabelFilter(1):
			p.next()
		case p.peek().kind == tIdent && !p.isIdent("or") && isFilterOp(p.peekAt(1).kind):
			// Implicit "and": predicates separated by white space.
		default:
			return lhs, nil
		}
		rhs, err := p.parseLabelFilterPrimary()
		if err != nil {
			return nil, err
		}
		lhs = &BinaryLabelFilter{And: true, LHS: lhs, RHS: rhs}
	}
}

func (p *parser) parseLabelFilterPrimary() (LabelFilter, *ParseError) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	if p.peek().kind == tLParen {
		p.next()
		f, err := p.parseLabelFilterOr()
		if err != nil {
			return nil, err
		}
		if err := p.expect(tRParen); err != nil {
			return nil, err
		}
		return f, nil
	}
	name := p.peek()
	if name.kind != tIdent {
		return nil, p.unexpected("IDENTIFIER")
	}
	p.next()
	opTok := p.peek()
	if !isFilterOp(opTok.kind) {
		return nil, p.unexpected("=", "!=", "=~", "!~", "==", ">", ">=", "<", "<=")
	}
	p.next()
	v := p.peek()
	neg := false
	if v.kind == tSub && (p.peekAt(1).kind == tNumber || p.peekAt(1).kind == tDuration) {
		neg = true
		p.next()
		v = p.peek()
	}
	switch v.kind {
	case tString:
		var mt labels.MatchType
		switch opTok.kind {
		case tEq:
			mt = labels.MatchEqual
		case tNeq:
			mt = labels.MatchNotEqual
		case tRe:
			mt = labels.MatchRegexp
		case tNre:
			mt = labels.MatchNotRegexp
		default:
			return nil, p.unexpected("NUMBER", "DURATION", "BYTES")
		}
		p.next()
		m, err := labels.NewMatcher(mt, name.text, v.text)
		if err != nil {
			return nil, p.errAt(v, "invalid regular expression: "+err.Error())
		}
		return &StringLabelFilter{Matcher: m}, nil
	case tNumber, tDuration, tBytes:
		if opTok.kind == tRe || opTok.kind == tNre {
			return nil, p.unexpected("STRING")
		}
		p.next()
		op := opTok.text
		if op == "=" {
			op = "=="
		}
		f := &NumericLabelFilter{Name: name.text, Op: op, Literal: v.text}
		switch v.kind {
		case tNumber:
			f.Kind = NumberFilter
			f.Value, _ = strconv.ParseFloat(v.text, 64)
		case tDuration:
			f.Kind = DurationFilter
			d, _ := parseDuration(v.text)
			f.Value = d.Seconds()
		case tBytes:
			f.Kind = BytesFilter
			b, _ := ParseBytes(v.text)
			f.Value = float64(b)
		}
		if neg {
			f.Value = -f.Value
			f.Literal = "-" + f.Literal
		}
		return f, nil
	case tIdent:
		if v.text == "ip" && p.peekAt(1).kind == tLParen && (opTok.kind == tEq || opTok.kind == tNeq) {
			p.next()
			p.next()
			s := p.peek()
			if s.kind != tString {
				return nil, p.unexpected("STRING")
			}
			p.next()
			if err := p.expect(tRParen); err != nil {
				return nil, err
			}
			if _, err := parseIPMatcher(s.text); err != nil {
				return nil, p.errAt(s, err.Error())
			}
			return &IPLabelFilter{Name: name.text, Neg: opTok.kind == tNeq, Pattern: s.text}, nil
		}
	}
	return nil, p.unexpected("STRING", "NUMBER", "DURATION", "BYTES")
}

func (p *parser) parseLabelList() ([]string, *ParseError) {
	if err := p.expect(tLParen); err != nil {
		return nil, err
	}
	out := []string{}
	for {
		t := p.peek()
		if t.kind == tRParen {
			p.next()
			return out, nil
		}
		if t.kind != tIdent {
			return nil, p.unexpected("IDENTIFIER", ")")
		}
		p.next()
		out = append(out, t.text)
		switch p.peek().kind {
		case tComma:
			p.next()
		case tRParen:
		default:
			return nil, p.unexpected(",", ")")
		}
	}
}

func (p *parser) parseGrouping() (*Grouping, *ParseError) {
	g := &Grouping{Without: p.next().text == "without"}
	var err *ParseError
	g.Labels, err = p.parseLabelList()
	return g, err
}

func (p *parser) parseDurationTok() (tokenDur, *ParseError) {
	t := p.peek()
	if t.kind != tDuration && !(t.kind == tNumber && t.text == "0") {
		return tokenDur{}, p.unexpected("DURATION")
	}
	p.next()
	d, err := parseDuration(t.text)
	if err != nil {
		return tokenDur{}, p.errAt(t, "invalid duration "+t.text)
	}
	return tokenDur{d: d, tok: t}, nil
}

func (p *parser) parseRangeAgg() (Expr, *ParseError) {
	opTok := p.next()
	e := &RangeAggregation{Op: opTok.text}
	if err := p.expect(tLParen); err != nil {
		return nil, err
	}
	if e.Op == "quantile_over_time" {
		t := p.peek()
		neg := false
		if t.kind == tSub {
			neg = true
			p.next()
			t = p.peek()
		}
		if t.kind != tNumber {
			return nil, p.unexpected("NUMBER")
		}
		p.next()
		v, _ := strconv.ParseFloat(t.text, 64)
		if neg {
			v = -v
		}
		e.Param = &v
		if err := p.expect(tComma); err != nil {
			return nil, err
		}
	}
	log := &LogExpr{}
	switch p.peek().kind {
	case tLParen:
		p.next()
		ms, err := p.parseSelector()
		if err != nil {
			return nil, err
		}
		log.Matchers = ms
		if e.Unwrap, err = p.parsePipeline(log, true); err != nil {
			return nil, err
		}
		if err := p.expect(tRParen); err != nil {
			return nil, err
		}
		if err := p.parseRange(e); err != nil {
			return nil, err
		}
	case tLBrace:
		ms, err := p.parseSelector()
		if err != nil {
			return nil, err
		}
		log.Matchers = ms
		if p.peek().kind == tLBracket {
			if err := p.parseRange(e); err != nil {
				return nil, err
			}
			if e.Unwrap, err = p.parsePipeline(log, true); err != nil {
				return nil, err
			}
		} else {
			if e.Unwrap, err = p.parsePipeline(log, true); err != nil {
				return nil, err
			}
			if p.peek().kind != tLBracket {
				return nil, p.unexpected("|", "[")
			}
			if err := p.parseRange(e); err != nil {
				return nil, err
			}
		}
	default:
		return nil, p.unexpected("{")
	}
	e.Log = log
	if err := p.expect(tRParen); err != nil {
		return nil, err
	}
	if p.isIdent("by") || p.isIdent("without") {
		g, err := p.parseGrouping()
		if err != nil {
			return nil, err
		}
		e.Grouping = g
	}
	needs, allowed := unwrapRule(e.Op)
	switch {
	case needs && e.Unwrap == nil:
		return nil, p.errAt(opTok, "invalid aggregation "+e.Op+" without unwrap")
	case !allowed && e.Unwrap != nil:
		return nil, p.errAt(opTok, "invalid aggregation "+e.Op+" with unwrap")
	case e.Grouping != nil && !groupingAllowed(e.Op, e.Unwrap != nil):
		return nil, p.errAt(opTok, "grouping not allowed for "+e.Op+" aggregation")
	case e.Param != nil && (*e.Param < 0 || *e.Param > 1):
		return nil, p.errAt(opTok, "invalid parameter for quantile_over_time: must be between 0 and 1")
	}
	return e, nil
}

type tokenDur struct {
	d   time.Duration
	tok token
}

// parseRange reads [range] and an optional offset.
func (p *parser) parseRange(e *RangeAggregation) *ParseError {
	if err := p.expect(tLBracket); err != nil {
		return err
	}
	d, err := p.parseDurationTok()
	if err != nil {
		return err
	}
	if d.d <= 0 {
		return p.errAt(d.tok, "invalid range: must be positive")
	}
	e.Range = d.d
	if err := p.expect(tRBracket); err != nil {
		return err
	}
	if p.isIdent("offset") {
		p.next()
		neg := false
		if p.peek().kind == tSub {
			neg = true
			p.next()
		}
		o, err := p.parseDurationTok()
		if err != nil {
			return err
		}
		e.Offset = o.d
		if neg {
			e.Offset = -o.d
		}
	}
	return nil
}

func (p *parser) parseVectorAgg() (Expr, *ParseError) {
	opTok := p.next()
	e := &VectorAggregation{Op: opTok.text}
	if p.isIdent("by") || p.isIdent("without") {
		g, err := p.parseGrouping()
		if err != nil {
			return nil, err
		}
		e.Grouping = g
	}
	if err := p.expect(tLParen); err != nil {
		return nil, err
	}
	if e.Op == "topk" || e.Op == "bottomk" {
		t := p.peek()
		if t.kind != tNumber {
			return nil, p.unexpected("NUMBER")
		}
		p.next()
		k, err := strconv.Atoi(t.text)
		if err != nil || k <= 0 {
			return nil, p.errAt(t, "invalid parameter for "+e.Op+": must be a positive integer")
		}
		e.Param = k
		if err := p.expect(tComma); err != nil {
			return nil, err
		}
	}
	inner := p.peek()
	x, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	if _, ok := x.(*LogExpr); ok || isScalar(x) {
		return nil, p.errAt(inner, "syntax error: unexpected "+map[bool]string{true: "log query", false: "number"}[ok]+" in "+e.Op+": vector aggregations need a metric query")
	}
	e.Expr = x
	if err := p.expect(tRParen); err != nil {
		return nil, err
	}
	if e.Grouping == nil && (p.isIdent("by") || p.isIdent("without")) {
		g, err := p.parseGrouping()
		if err != nil {
			return nil, err
		}
		e.Grouping = g
	}
	if e.Grouping != nil && (e.Op == "sort" || e.Op == "sort_desc") {
		return nil, p.errAt(opTok, "grouping not allowed for "+e.Op)
	}
	return e, nil
}

func (p *parser) parseLabelReplace() (Expr, *ParseError) {
	p.next()
	if err := p.expect(tLParen); err != nil {
		return nil, err
	}
	inner := p.peek()
	x, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	if _, ok := x.(*LogExpr); ok || isScalar(x) {
		return nil, p.errAt(inner, "label_replace needs a metric query")
	}
	var args [4]string
	for i := range args {
		if err := p.expect(tComma); err != nil {
			return nil, err
		}
		t := p.peek()
		if t.kind != tString {
			return nil, p.unexpected("STRING")
		}
		p.next()
		args[i] = t.text
	}
	if err := p.expect(tRParen); err != nil {
		return nil, err
	}
	if _, err := regexp.Compile("^(?s:" + args[3] + ")$"); err != nil {
		return nil, p.errAt(inner, "invalid regular expression in label_replace(): "+args[3])
	}
	if !validLabelName(args[0]) {
		return nil, p.errAt(inner, "invalid destination label name in label_replace(): "+args[0])
	}
	return &LabelReplaceExpr{Expr: x, Dst: args[0], Replacement: args[1], Src: args[2], Regex: args[3]}, nil
}

func (p *parser) parseVector() (Expr, *ParseError) {
	p.next()
	if err := p.expect(tLParen); err != nil {
		return nil, err
	}
	neg := false
	if p.peek().kind == tSub {
		neg = true
		p.next()
	}
	t := p.peek()
	if t.kind != tNumber {
		return nil, p.unexpected("NUMBER")
	}
	p.next()
	v, _ := strconv.ParseFloat(t.text, 64)
	if neg {
		v = -v
	}
	if err := p.expect(tRParen); err != nil {
		return nil, err
	}
	return &VectorExpr{Val: v}, nil
}

func validLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isLetter(c) || i > 0 && isDigit(c)) {
			return false
		}
	}
	return true
}
