package logql

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Expr is a parsed LogQL expression: a log query (*LogExpr) or a metric
// one (*RangeAggregation, *VectorAggregation, *BinaryExpr,
// *NumberLiteral, *VectorExpr, *LabelReplaceExpr). String prints the
// canonical form, which parses back to an equal expression. The engine
// never modifies an Expr, so one may be shared between goroutines.
type Expr interface {
	String() string
	expr()
}

// LogExpr is a log query: a stream selector and a pipeline of stages.
type LogExpr struct {
	Matchers []*labels.Matcher
	Stages   []Stage
}

// Stage is one step of a log pipeline: *LineFilter, *ParserStage,
// *LabelFilterStage, *LineFormatStage, *LabelFormatStage, *DropStage,
// *KeepStage or *DecolorizeStage.
type Stage interface {
	String() string
	stage()
}

// LineFilterOp is a line filter operator: "|=", "!=", "|~", "!~", "|>"
// or "!>".
type LineFilterOp string

// The line filter operators.
const (
	LineContains       LineFilterOp = "|="
	LineNotContains    LineFilterOp = "!="
	LineMatches        LineFilterOp = "|~"
	LineNotMatches     LineFilterOp = "!~"
	LinePatternMatch   LineFilterOp = "|>"
	LinePatternNoMatch LineFilterOp = "!>"
)

// negative reports whether op keeps lines that do not match.
func (op LineFilterOp) negative() bool {
	return op == LineNotContains || op == LineNotMatches || op == LinePatternNoMatch
}

// LineFilter keeps lines that contain (or match) any of Values; a negative
// operator keeps lines that contain none of them.
type LineFilter struct {
	Op     LineFilterOp
	Values []LineFilterValue // alternatives joined by "or"; at least one
}

// LineFilterValue is one operand of a line filter: a string, or with IP
// set an ip("...") address, range or CIDR.
type LineFilterValue struct {
	Value string
	IP    bool
}

// String prints the expression in canonical LogQL.
func (v LineFilterValue) String() string {
	if v.IP {
		return "ip(" + strconv.Quote(v.Value) + ")"
	}
	return strconv.Quote(v.Value)
}

// String prints the expression in canonical LogQL.
func (f *LineFilter) String() string {
	var b strings.Builder
	b.WriteString(string(f.Op))
	for i, v := range f.Values {
		if i > 0 {
			b.WriteString(" or")
		}
		b.WriteByte(' ')
		b.WriteString(v.String())
	}
	return b.String()
}

// ParserKind names a parser stage.
type ParserKind string

// The parser stages.
const (
	ParserJSON    ParserKind = "json"
	ParserLogfmt  ParserKind = "logfmt"
	ParserRegexp  ParserKind = "regexp"
	ParserPattern ParserKind = "pattern"
	ParserUnpack  ParserKind = "unpack"
)

// ParserStage extracts labels from the line.
type ParserStage struct {
	Kind ParserKind
	// Expr is the regular expression (regexp) or pattern (pattern).
	Expr string
	// Strict and KeepEmpty are logfmt's --strict and --keep-empty flags.
	Strict, KeepEmpty bool
	// Extractions, for json and logfmt, name the only fields to extract.
	Extractions []Extraction
}

// Extraction is one label=expression parameter of json or logfmt: the
// label Label gets the field the expression (a JSON path such as
// `a.b[0]`, or a logfmt key) names.
type Extraction struct {
	Label string
	Expr  string
}

// String prints the expression in canonical LogQL.
func (p *ParserStage) String() string {
	var b strings.Builder
	b.WriteString("| ")
	b.WriteString(string(p.Kind))
	if p.Strict {
		b.WriteString(" --strict")
	}
	if p.KeepEmpty {
		b.WriteString(" --keep-empty")
	}
	if p.Kind == ParserRegexp || p.Kind == ParserPattern {
		b.WriteByte(' ')
		b.WriteString(strconv.Quote(p.Expr))
	}
	for i, x := range p.Extractions {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte(' ')
		b.WriteString(x.Label)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(x.Expr))
	}
	return b.String()
}

// LabelFilterStage keeps entries whose labels satisfy Filter.
type LabelFilterStage struct {
	Filter LabelFilter
}

// String prints the expression in canonical LogQL.
func (s *LabelFilterStage) String() string { return "| " + s.Filter.String() }

// LabelFilter is a predicate on an entry's labels: *StringLabelFilter,
// *NumericLabelFilter, *IPLabelFilter or *BinaryLabelFilter.
type LabelFilter interface {
	String() string
	labelFilter()
}

// BinaryLabelFilter joins two filters with "and" (And true) or "or".
type BinaryLabelFilter struct {
	And      bool
	LHS, RHS LabelFilter
}

// String prints the expression in canonical LogQL.
func (f *BinaryLabelFilter) String() string {
	op := " or "
	if f.And {
		op = " and "
	}
	return f.operand(f.LHS) + op + f.operand(f.RHS)
}

// operand parenthesises an "or" inside an "and", so the printed form
// parses back to the same tree ("and" binds tighter).
func (f *BinaryLabelFilter) operand(x LabelFilter) string {
	if b, ok := x.(*BinaryLabelFilter); ok && f.And && !b.And {
		return "(" + b.String() + ")"
	}
	return x.String()
}

// StringLabelFilter compares a label's value with =, !=, =~ or !~ (regular
// expressions are fully anchored). A missing label reads as "".
type StringLabelFilter struct {
	Matcher *labels.Matcher
}

// String prints the expression in canonical LogQL.
func (f *StringLabelFilter) String() string {
	return f.Matcher.Name + f.Matcher.Type.String() + strconv.Quote(f.Matcher.Value)
}

// NumericKind says how a NumericLabelFilter reads label values.
type NumericKind uint8

// The kinds of numeric label filter.
const (
	NumberFilter   NumericKind = iota // float64, as 400 or 1.5
	DurationFilter                    // Go duration, as 10ms
	BytesFilter                       // byte size, as 20KB
)

// NumericLabelFilter compares a label's value, read as a number,
// duration or byte size, with ==, !=, >, >=, < or <=. Value is in the
// kind's unit: seconds for durations, bytes for sizes.
type NumericLabelFilter struct {
	Name    string
	Op      string
	Kind    NumericKind
	Value   float64
	Literal string // the literal as written, for printing
}

// String prints the expression in canonical LogQL.
func (f *NumericLabelFilter) String() string {
	return f.Name + f.Op + f.Literal
}

// IPLabelFilter keeps entries whose label is (or with Neg, is not) an IP
// address within Pattern: an address, a range "a-b" or a CIDR.
type IPLabelFilter struct {
	Name    string
	Neg     bool
	Pattern string
}

// String prints the expression in canonical LogQL.
func (f *IPLabelFilter) String() string {
	op := "="
	if f.Neg {
		op = "!="
	}
	return f.Name + op + "ip(" + strconv.Quote(f.Pattern) + ")"
}

// LineFormatStage replaces the line with a Go text/template rendered over
// the entry's labels.
type LineFormatStage struct {
	Template string
}

// String prints the expression in canonical LogQL.
func (s *LineFormatStage) String() string { return "| line_format " + strconv.Quote(s.Template) }

// LabelFormatStage sets labels from templates or renames them.
type LabelFormatStage struct {
	Items []LabelFormatItem
}

// LabelFormatItem sets label Name: with Rename, to the value of label
// Value (which is then removed); otherwise to the template Value rendered
// over the entry's labels.
type LabelFormatItem struct {
	Name   string
	Rename bool
	Value  string
}

// String prints the expression in canonical LogQL.
func (s *LabelFormatStage) String() string {
	var b strings.Builder
	b.WriteString("| label_format ")
	for i, it := range s.Items {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(it.Name)
		b.WriteByte('=')
		if it.Rename {
			b.WriteString(it.Value)
		} else {
			b.WriteString(strconv.Quote(it.Value))
		}
	}
	return b.String()
}

// LabelSelector names a label for drop and keep; with Matcher set, only
// when its value matches.
type LabelSelector struct {
	Name    string
	Matcher *labels.Matcher // nil: any value
}

// String prints the expression in canonical LogQL.
func (s LabelSelector) String() string {
	if s.Matcher == nil {
		return s.Name
	}
	return s.Matcher.Name + s.Matcher.Type.String() + strconv.Quote(s.Matcher.Value)
}

// DropStage removes the labels it names.
type DropStage struct {
	Labels []LabelSelector
}

// String prints the expression in canonical LogQL.
func (s *DropStage) String() string { return "| drop " + joinSelectors(s.Labels) }

// KeepStage removes every label it does not name (except __error__ and
// __error_details__).
type KeepStage struct {
	Labels []LabelSelector
}

// String prints the expression in canonical LogQL.
func (s *KeepStage) String() string { return "| keep " + joinSelectors(s.Labels) }

func joinSelectors(ls []LabelSelector) string {
	parts := make([]string, len(ls))
	for i, l := range ls {
		parts[i] = l.String()
	}
	return strings.Join(parts, ", ")
}

// DecolorizeStage strips ANSI color escape sequences from the line.
type DecolorizeStage struct{}

// String prints the expression in canonical LogQL.
func (*DecolorizeStage) String() string { return "| decolorize" }

func (*LineFilter) stage()       {}
func (*ParserStage) stage()      {}
func (*LabelFilterStage) stage() {}
func (*LineFormatStage) stage()  {}
func (*LabelFormatStage) stage() {}
func (*DropStage) stage()        {}
func (*KeepStage) stage()        {}
func (*DecolorizeStage) stage()  {}

func (*BinaryLabelFilter) labelFilter()  {}
func (*StringLabelFilter) labelFilter()  {}
func (*NumericLabelFilter) labelFilter() {}
func (*IPLabelFilter) labelFilter()      {}

// String prints the expression in canonical LogQL.
func (e *LogExpr) String() string {
	var b strings.Builder
	writeSelector(&b, e.Matchers)
	for _, s := range e.Stages {
		b.WriteByte(' ')
		b.WriteString(s.String())
	}
	return b.String()
}

func writeSelector(b *strings.Builder, ms []*labels.Matcher) {
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(m.Name)
		b.WriteString(m.Type.String())
		b.WriteString(strconv.Quote(m.Value))
	}
	b.WriteByte('}')
}

// Unwrap turns a label into the sample value of an unwrapped range
// aggregation.
type Unwrap struct {
	Label string
	// Conv is "" (a float), "duration" or "duration_seconds" (a Go
	// duration, in seconds) or "bytes" (a byte size).
	Conv string
	// PostFilters are the label filters written after the unwrap; they
	// can test the __error__ the conversion sets.
	PostFilters []LabelFilter
}

// String prints the expression in canonical LogQL.
func (u *Unwrap) String() string {
	s := "| unwrap "
	if u.Conv != "" {
		s += u.Conv + "(" + u.Label + ")"
	} else {
		s += u.Label
	}
	for _, f := range u.PostFilters {
		s += " | " + f.String()
	}
	return s
}

// Grouping is a by (...) or without (...) clause.
type Grouping struct {
	Without bool
	Labels  []string
}

// String prints the expression in canonical LogQL.
func (g *Grouping) String() string {
	kw := "by"
	if g.Without {
		kw = "without"
	}
	return kw + " (" + strings.Join(g.Labels, ", ") + ")"
}

// RangeAggregation is a function over a range of log entries, evaluated
// at each step t over the entries in (t-Range-Offset, t-Offset].
type RangeAggregation struct {
	Op       string   // count_over_time, rate, sum_over_time, ...
	Param    *float64 // quantile_over_time's quantile
	Log      *LogExpr
	Unwrap   *Unwrap // nil unless the op unwraps a label
	Range    time.Duration
	Offset   time.Duration
	Grouping *Grouping // only for unwrapped ops
}

// String prints the expression in canonical LogQL.
func (e *RangeAggregation) String() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteByte('(')
	if e.Param != nil {
		b.WriteString(formatFloat(*e.Param))
		b.WriteString(", ")
	}
	b.WriteString(e.Log.String())
	if e.Unwrap != nil {
		b.WriteByte(' ')
		b.WriteString(e.Unwrap.String())
	}
	b.WriteString(" [")
	b.WriteString(formatDuration(e.Range))
	b.WriteByte(']')
	if e.Offset != 0 {
		b.WriteString(" offset ")
		b.WriteString(formatDuration(e.Offset))
	}
	b.WriteByte(')')
	if e.Grouping != nil {
		b.WriteByte(' ')
		b.WriteString(e.Grouping.String())
	}
	return b.String()
}

// VectorAggregation aggregates the series of Expr at each step.
type VectorAggregation struct {
	Op       string // sum, avg, min, max, count, stddev, stdvar, topk, bottomk, sort, sort_desc
	Param    int    // topk and bottomk's k
	Grouping *Grouping
	Expr     Expr
}

// String prints the expression in canonical LogQL.
func (e *VectorAggregation) String() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Grouping != nil {
		b.WriteByte(' ')
		b.WriteString(e.Grouping.String())
		b.WriteByte(' ')
	}
	b.WriteByte('(')
	if e.Op == "topk" || e.Op == "bottomk" {
		b.WriteString(strconv.Itoa(e.Param))
		b.WriteString(", ")
	}
	b.WriteString(e.Expr.String())
	b.WriteByte(')')
	return b.String()
}

// VectorMatching is the on/ignoring and group_left/group_right clause of
// a binary operation between vectors.
type VectorMatching struct {
	On      bool     // on (...) rather than ignoring (...)
	Labels  []string // the on or ignoring labels
	Card    string   // "", "group_left" or "group_right"
	Include []string // labels the group_ modifier copies from the "one" side
}

// String prints the expression in canonical LogQL.
func (m *VectorMatching) String() string {
	var b strings.Builder
	if m.On {
		b.WriteString("on (")
	} else {
		b.WriteString("ignoring (")
	}
	b.WriteString(strings.Join(m.Labels, ", "))
	b.WriteByte(')')
	if m.Card != "" {
		b.WriteByte(' ')
		b.WriteString(m.Card)
		b.WriteString(" (")
		b.WriteString(strings.Join(m.Include, ", "))
		b.WriteByte(')')
	}
	return b.String()
}

// BinaryExpr is an arithmetic (+ - * / % ^), comparison (== != > >= < <=)
// or set (and or unless) operation.
type BinaryExpr struct {
	Op       string
	LHS, RHS Expr
	Bool     bool            // comparisons return 0/1 instead of filtering
	Matching *VectorMatching // nil: match on all labels, one-to-one
}

// String prints the expression in canonical LogQL.
func (e *BinaryExpr) String() string {
	var b strings.Builder
	b.WriteString(binaryOperand(e.LHS))
	b.WriteByte(' ')
	b.WriteString(e.Op)
	if e.Bool {
		b.WriteString(" bool")
	}
	if e.Matching != nil {
		b.WriteByte(' ')
		b.WriteString(e.Matching.String())
	}
	b.WriteByte(' ')
	b.WriteString(binaryOperand(e.RHS))
	return b.String()
}

func binaryOperand(e Expr) string {
	if _, ok := e.(*BinaryExpr); ok {
		return "(" + e.String() + ")"
	}
	return e.String()
}

// NumberLiteral is a scalar constant.
type NumberLiteral struct {
	Val float64
}

// String prints the expression in canonical LogQL.
func (e *NumberLiteral) String() string { return formatFloat(e.Val) }

// VectorExpr is vector(x): one series without labels of constant value.
type VectorExpr struct {
	Val float64
}

// String prints the expression in canonical LogQL.
func (e *VectorExpr) String() string { return "vector(" + formatFloat(e.Val) + ")" }

// LabelReplaceExpr is label_replace(expr, dst, replacement, src, regex),
// as in PromQL.
type LabelReplaceExpr struct {
	Expr                  Expr
	Dst, Replacement, Src string
	Regex                 string
}

// String prints the expression in canonical LogQL.
func (e *LabelReplaceExpr) String() string {
	return "label_replace(" + e.Expr.String() + ", " + strconv.Quote(e.Dst) + ", " +
		strconv.Quote(e.Replacement) + ", " + strconv.Quote(e.Src) + ", " + strconv.Quote(e.Regex) + ")"
}

func (*LogExpr) expr()           {}
func (*RangeAggregation) expr()  {}
func (*VectorAggregation) expr() {}
func (*BinaryExpr) expr()        {}
func (*NumberLiteral) expr()     {}
func (*VectorExpr) expr()        {}
func (*LabelReplaceExpr) expr()  {}

func formatFloat(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}
