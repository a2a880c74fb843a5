package logql

import (
	"bytes"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// pipeline is a compiled log pipeline. It is built once per query and
// used by one goroutine: stages keep scratch buffers.
type pipeline struct {
	stages []stageFunc
	// usesLabels is false when no stage reads or writes labels, so the
	// engine can skip building the label set.
	usesLabels bool
	// readsLine is false when no stage reads the line.
	readsLine bool
	// canFail is true when a stage may set __error__.
	canFail bool
	// touched is true once a stage has changed labels; until then label
	// filters read the entry's stream labels and metadata directly.
	touched bool
	st      labelState
	tmpl    *tmplState
}

// stageFunc processes the current entry; it returns false to drop it.
type stageFunc func(p *procState) bool

// procState is the entry being processed.
type procState struct {
	e    *Entry
	ts   int64
	line string
	lbs  *labelState
}

// compilePipeline compiles stages (and the label filters after an unwrap,
// which run after the unwrap conversion and are compiled separately).
func compilePipeline(stages []Stage) (*pipeline, error) {
	p := &pipeline{tmpl: &tmplState{}}
	for _, s := range stages {
		f, err := p.compileStage(s)
		if err != nil {
			return nil, err
		}
		p.stages = append(p.stages, f)
	}
	return p, nil
}

func (p *pipeline) compileStage(s Stage) (stageFunc, error) {
	switch s := s.(type) {
	case *LineFilter:
		p.readsLine = true
		return compileLineFilter(s)
	case *ParserStage:
		p.readsLine, p.usesLabels, p.touched = true, true, true
		if s.Kind == ParserJSON || s.Kind == ParserLogfmt || s.Kind == ParserUnpack {
			p.canFail = true
		}
		return compileParser(s)
	case *LabelFilterStage:
		if !p.touched {
			if f, ok := compileDirectFilter(s.Filter); ok {
				return func(ps *procState) bool { return f(ps.e) }, nil
			}
		}
		p.usesLabels = true
		if canFilterFail(s.Filter) {
			p.canFail = true
		}
		f, err := compileLabelFilter(s.Filter)
		if err != nil {
			return nil, err
		}
		return func(ps *procState) bool { return f(ps.lbs) }, nil
	case *LineFormatStage:
		p.readsLine, p.usesLabels, p.canFail, p.touched = true, true, true, true
		t, err := p.tmpl.parse(s.Template)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		return func(ps *procState) bool {
			buf.Reset()
			if err := p.tmpl.exec(t, &buf, ps); err != nil {
				ps.lbs.setErr(errTemplateFormat, err.Error())
				return true
			}
			ps.line = buf.String()
			return true
		}, nil
	case *LabelFormatStage:
		p.usesLabels, p.touched = true, true
		return p.compileLabelFormat(s)
	case *DropStage:
		p.usesLabels, p.touched = true, true
		sels := s.Labels
		return func(ps *procState) bool {
			for _, sel := range sels {
				v, ok := ps.lbs.get(sel.Name)
				if ok && (sel.Matcher == nil || sel.Matcher.Matches(v)) {
					ps.lbs.del(sel.Name)
				}
			}
			ps.lbs.refreshErr()
			return true
		}, nil
	case *KeepStage:
		p.usesLabels, p.touched = true, true
		sels := s.Labels
		return func(ps *procState) bool {
			ls := ps.lbs.ls[:0]
			for _, l := range ps.lbs.ls {
				if l.name == errorLabel || l.name == errorDetailsLabel || keepLabel(sels, l) {
					ls = append(ls, l)
				}
			}
			ps.lbs.ls = ls
			return true
		}, nil
	case *DecolorizeStage:
		p.readsLine = true
		return func(ps *procState) bool {
			if strings.IndexByte(ps.line, 0x1b) >= 0 {
				ps.line = decolorize(ps.line)
			}
			return true
		}, nil
	}
	return nil, fmt.Errorf("unknown stage %T", s)
}

func keepLabel(sels []LabelSelector, l label) bool {
	for _, sel := range sels {
		if sel.Name == l.name && (sel.Matcher == nil || sel.Matcher.Matches(l.value)) {
			return true
		}
	}
	return false
}

// process runs the pipeline over one entry. The label set is built only
// when a stage needs it or withLabels is set.
func (p *pipeline) process(e *Entry, ps *procState, withLabels bool) bool {
	ps.e, ps.ts, ps.line, ps.lbs = e, e.Time, e.Line, &p.st
	if p.usesLabels || withLabels {
		p.st.reset(e)
	}
	for _, f := range p.stages {
		if !f(ps) {
			return false
		}
	}
	return true
}

func (p *pipeline) compileLabelFormat(s *LabelFormatStage) (stageFunc, error) {
	type item struct {
		name   string
		rename string
		t      *template.Template
	}
	items := make([]item, len(s.Items))
	hasTemplate := false
	for i, it := range s.Items {
		items[i].name = it.Name
		if it.Rename {
			items[i].rename = it.Value
			continue
		}
		t, err := p.tmpl.parse(it.Value)
		if err != nil {
			return nil, err
		}
		items[i].t = t
		hasTemplate = true
	}
	if hasTemplate {
		p.canFail = true
		p.readsLine = p.readsLine || strings.Contains(fmt.Sprint(s), "__line__")
	}
	var buf bytes.Buffer
	values := make([]string, len(items))
	return func(ps *procState) bool {
		// Every template reads the labels as they were before this stage.
		for i, it := range items {
			if it.t == nil {
				continue
			}
			buf.Reset()
			if err := p.tmpl.exec(it.t, &buf, ps); err != nil {
				ps.lbs.setErr(errTemplateFormat, err.Error())
				return true
			}
			values[i] = buf.String()
		}
		for i, it := range items {
			if it.t != nil {
				ps.lbs.set(it.name, values[i], catParsed)
				continue
			}
			for j := range ps.lbs.ls {
				if l := ps.lbs.ls[j]; l.name == it.rename {
					ps.lbs.del(it.rename)
					ps.lbs.set(it.name, l.value, l.cat)
					break
				}
			}
		}
		return true
	}, nil
}

// compileLineFilter builds a filter that does not allocate per line.
func compileLineFilter(f *LineFilter) (stageFunc, error) {
	matchers := make([]func(string) bool, len(f.Values))
	for i, v := range f.Values {
		m, err := lineMatcher(f.Op, v)
		if err != nil {
			return nil, err
		}
		matchers[i] = m
	}
	neg := f.Op.negative()
	if len(matchers) == 1 {
		m := matchers[0]
		return func(ps *procState) bool { return m(ps.line) != neg }, nil
	}
	return func(ps *procState) bool {
		for _, m := range matchers {
			if m(ps.line) {
				return !neg
			}
		}
		return neg
	}, nil
}

func lineMatcher(op LineFilterOp, v LineFilterValue) (func(string) bool, error) {
	switch {
	case v.IP:
		m, err := parseIPMatcher(v.Value)
		if err != nil {
			return nil, err
		}
		return func(line string) bool { return lineHasIP(line, m) }, nil
	case op == LineContains || op == LineNotContains:
		s := v.Value
		return func(line string) bool { return strings.Contains(line, s) }, nil
	case op == LineMatches || op == LineNotMatches:
		re, err := regexp.Compile(v.Value)
		if err != nil {
			return nil, err
		}
		if lit, complete := re.LiteralPrefix(); complete {
			return func(line string) bool { return strings.Contains(line, lit) }, nil
		}
		return re.MatchString, nil
	default:
		pt, err := compilePattern(v.Value, true)
		if err != nil {
			return nil, err
		}
		return pt.matchesAll, nil
	}
}

// canFilterFail reports whether a label filter may set __error__ (a
// numeric comparison of a value that is not a number).
func canFilterFail(f LabelFilter) bool {
	switch f := f.(type) {
	case *NumericLabelFilter:
		return true
	case *BinaryLabelFilter:
		return canFilterFail(f.LHS) || canFilterFail(f.RHS)
	}
	return false
}

type labelPredicate func(s *labelState) bool

func compileLabelFilter(f LabelFilter) (labelPredicate, error) {
	switch f := f.(type) {
	case *BinaryLabelFilter:
		l, err := compileLabelFilter(f.LHS)
		if err != nil {
			return nil, err
		}
		r, err := compileLabelFilter(f.RHS)
		if err != nil {
			return nil, err
		}
		if f.And {
			return func(s *labelState) bool { return l(s) && r(s) }, nil
		}
		return func(s *labelState) bool { return l(s) || r(s) }, nil
	case *StringLabelFilter:
		m := f.Matcher
		return func(s *labelState) bool {
			v, _ := s.get(m.Name)
			return m.Matches(v)
		}, nil
	case *NumericLabelFilter:
		return compileNumericFilter(f), nil
	case *IPLabelFilter:
		m, err := parseIPMatcher(f.Pattern)
		if err != nil {
			return nil, err
		}
		name, neg := f.Name, f.Neg
		return func(s *labelState) bool {
			if s.hasErr {
				return true
			}
			v, ok := s.get(name)
			if !ok {
				return false
			}
			a, err := netip.ParseAddr(v)
			return (err == nil && m(a)) != neg
		}, nil
	}
	return nil, fmt.Errorf("unknown label filter %T", f)
}

// compileDirectFilter compiles a filter of string comparisons that runs
// before any stage changes labels: it reads the entry's stream labels,
// then its structured metadata, without building a label set. ok is false
// for filters it cannot run that way (numeric comparisons may set
// __error__; name_extracted and __error__ names live only in the label
// set).
func compileDirectFilter(f LabelFilter) (func(e *Entry) bool, bool) {
	switch f := f.(type) {
	case *BinaryLabelFilter:
		l, ok1 := compileDirectFilter(f.LHS)
		r, ok2 := compileDirectFilter(f.RHS)
		if !ok1 || !ok2 {
			return nil, false
		}
		if f.And {
			return func(e *Entry) bool { return l(e) && r(e) }, true
		}
		return func(e *Entry) bool { return l(e) || r(e) }, true
	case *StringLabelFilter:
		m := f.Matcher
		if strings.HasSuffix(m.Name, extractedSuffix) || strings.HasPrefix(m.Name, "__") {
			return nil, false
		}
		return func(e *Entry) bool {
			v := e.Stream.Get(m.Name)
			if v == "" {
				v = e.Metadata.Get(m.Name)
			}
			return m.Matches(v)
		}, true
	}
	return nil, false
}

func compileNumericFilter(f *NumericLabelFilter) labelPredicate {
	name, want, op, kind := f.Name, f.Value, f.Op, f.Kind
	return func(s *labelState) bool {
		// Loki: once an entry has an error, only string filters (such as
		// __error__="") can drop it.
		if s.hasErr {
			return true
		}
		v, ok := s.get(name)
		if !ok {
			return false
		}
		var got float64
		switch kind {
		case NumberFilter:
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				s.setErr(errLabelFilter, err.Error())
				return true
			}
			got = x
		case DurationFilter:
			d, err := time.ParseDuration(v)
			if err != nil {
				s.setErr(errLabelFilter, err.Error())
				return true
			}
			got = d.Seconds()
		case BytesFilter:
			b, err := ParseBytes(v)
			if err != nil {
				s.setErr(errLabelFilter, fmt.Sprintf("%s: %q", err, v))
				return true
			}
			got = float64(b)
		}
		return compareFloat(op, got, want)
	}
}

func compareFloat(op string, a, b float64) bool {
	switch op {
	case "==":
		return a == b
	case "!=":
		return a != b
	case ">":
		return a > b
	case ">=":
		return a >= b
	case "<":
		return a < b
	case "<=":
		return a <= b
	}
	return false
}

// parseIPMatcher reads an ip() argument: an address, a range "a-b" or a
// CIDR prefix.
func parseIPMatcher(pattern string) (func(netip.Addr) bool, error) {
	pattern = strings.TrimSpace(pattern)
	if strings.Contains(pattern, "/") {
		pfx, err := netip.ParsePrefix(pattern)
		if err != nil {
			return nil, fmt.Errorf("invalid ip pattern %q: %w", pattern, err)
		}
		pfx = pfx.Masked()
		return func(a netip.Addr) bool { return pfx.Contains(a.Unmap()) }, nil
	}
	if from, to, ok := strings.Cut(pattern, "-"); ok {
		lo, err1 := netip.ParseAddr(strings.TrimSpace(from))
		hi, err2 := netip.ParseAddr(strings.TrimSpace(to))
		if err1 != nil || err2 != nil || lo.Is4() != hi.Is4() || hi.Less(lo) {
			return nil, fmt.Errorf("invalid ip range %q", pattern)
		}
		return func(a netip.Addr) bool {
			a = a.Unmap()
			return a.Is4() == lo.Is4() && !a.Less(lo) && !hi.Less(a)
		}, nil
	}
	ip, err := netip.ParseAddr(pattern)
	if err != nil {
		return nil, fmt.Errorf("invalid ip %q: %w", pattern, err)
	}
	return func(a netip.Addr) bool { return a.Unmap() == ip.Unmap() }, nil
}

// lineHasIP reports whether some IP address in line satisfies m. It
// tries every maximal run of characters an address can hold.
func lineHasIP(line string, m func(netip.Addr) bool) bool {
	isIPChar := func(c byte) bool {
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '.' || c == ':'
	}
	for i := 0; i < len(line); {
		if !isIPChar(line[i]) {
			i++
			continue
		}
		j := i
		for j < len(line) && isIPChar(line[j]) {
			j++
		}
		tok := strings.Trim(line[i:j], ".:")
		if a, err := netip.ParseAddr(tok); err == nil && m(a) {
			return true
		}
		i = j
	}
	return false
}

// decolorize removes ANSI escape sequences (ESC [ params final).
func decolorize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] >= 0x30 && s[j] <= 0x3f || s[j] >= 0x20 && s[j] <= 0x2f) {
				j++
			}
			if j < len(s) && s[j] >= 0x40 && s[j] <= 0x7e {
				i = j
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
