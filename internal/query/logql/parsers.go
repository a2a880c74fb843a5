package logql

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

func compileParser(s *ParserStage) (stageFunc, error) {
	switch s.Kind {
	case ParserJSON:
		if len(s.Extractions) > 0 {
			return compileJSONExtract(s.Extractions)
		}
		var j jsonFlattener
		return func(ps *procState) bool {
			if err := j.parse(ps.line, ps.lbs); err != nil {
				ps.lbs.setErr(errJSON, err.Error())
			}
			return true
		}, nil
	case ParserLogfmt:
		return compileLogfmt(s), nil
	case ParserRegexp:
		re, err := compileRegexpParser(s.Expr)
		if err != nil {
			return nil, err
		}
		names := re.SubexpNames()
		return func(ps *procState) bool {
			m := re.FindStringSubmatchIndex(ps.line)
			if m == nil {
				return true
			}
			for i, n := range names {
				if n == "" || m[2*i] < 0 {
					continue
				}
				ps.lbs.set(ps.lbs.parsedName(n), ps.line[m[2*i]:m[2*i+1]], catParsed)
			}
			return true
		}, nil
	case ParserPattern:
		pt, err := compilePattern(s.Expr, false)
		if err != nil {
			return nil, err
		}
		return func(ps *procState) bool {
			pt.extract(ps.line, ps.lbs)
			return true
		}, nil
	case ParserUnpack:
		return func(ps *procState) bool {
			line, err := unpack(ps.line, ps.lbs)
			if err != nil {
				ps.lbs.setErr(errJSON, err.Error())
				return true
			}
			ps.line = line
			return true
		}, nil
	}
	return nil, fmt.Errorf("unknown parser %q", s.Kind)
}

func compileRegexpParser(expr string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("invalid regexp parser expression: %w", err)
	}
	named := 0
	for _, n := range re.SubexpNames() {
		if n == "" {
			continue
		}
		if !validLabelName(n) {
			return nil, fmt.Errorf("invalid extracted label name %q", n)
		}
		named++
	}
	if named == 0 {
		return nil, errors.New("at least one named capture must be supplied")
	}
	return re, nil
}

// sanitizeKey turns a field name into a label name: characters other
// than letters, digits and _ become _, and a leading digit gets a _
// prefix. It returns key itself when it is already valid.
func sanitizeKey(key string, prefix bool) string {
	ok := key != ""
	for i := 0; i < len(key) && ok; i++ {
		c := key[i]
		ok = isLetter(c) || isDigit(c)
	}
	if ok && !(prefix && isDigit(key[0])) {
		return key
	}
	var b strings.Builder
	if prefix && key != "" && isDigit(key[0]) {
		b.WriteByte('_')
	}
	for _, r := range key {
		if r < utf8.RuneSelf && (isLetter(byte(r)) || isDigit(byte(r))) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// ---- logfmt ----

func compileLogfmt(s *ParserStage) stageFunc {
	strict, keepEmpty := s.Strict, s.KeepEmpty
	var want map[string]string // logfmt key -> label
	if len(s.Extractions) > 0 {
		want = make(map[string]string, len(s.Extractions))
		for _, x := range s.Extractions {
			want[x.Expr] = x.Label
		}
	}
	var buf []byte
	return func(ps *procState) bool {
		line := ps.line
		ps.lbs.beginParse()
		i := 0
		for i < len(line) {
			// Skip white space.
			for i < len(line) && line[i] <= ' ' {
				i++
			}
			if i >= len(line) {
				break
			}
			start := i
			for i < len(line) && line[i] > ' ' && line[i] != '=' && line[i] != '"' {
				i++
			}
			key := line[start:i]
			if key == "" {
				if strict {
					ps.lbs.setErr(errLogfmt, fmt.Sprintf("logfmt syntax error at pos %d : unexpected %q", i+1, line[i]))
					return true
				}
				i = skipToSpace(line, i)
				continue
			}
			if i >= len(line) || line[i] != '=' {
				// A key without a value.
				if i < len(line) && line[i] == '"' {
					if strict {
						ps.lbs.setErr(errLogfmt, fmt.Sprintf("logfmt syntax error at pos %d : unexpected '\"'", i+1))
						return true
					}
					i = skipToSpace(line, i)
					continue
				}
				// A standalone key is kept with --keep-empty, or when
				// asked for by name.
				if keepEmpty || want != nil {
					setLogfmt(ps, want, key, "")
				}
				continue
			}
			i++ // '='
			var val string
			switch {
			case i < len(line) && line[i] == '"':
				end, esc := scanQuoted(line, i)
				if end < 0 {
					if strict {
						ps.lbs.setErr(errLogfmt, fmt.Sprintf("logfmt syntax error at pos %d : unterminated quoted value", len(line)+1))
						return true
					}
					i = len(line)
					continue
				}
				val = line[i+1 : end-1]
				if esc {
					var err error
					buf, err = unquoteLogfmt(buf[:0], line[i:end])
					if err != nil {
						if strict {
							ps.lbs.setErr(errLogfmt, fmt.Sprintf("logfmt syntax error at pos %d : invalid quoted value", i+1))
							return true
						}
						i = skipToSpace(line, end)
						continue
					}
					val = string(buf)
				}
				i = end
				if i < len(line) && line[i] > ' ' {
					if strict {
						ps.lbs.setErr(errLogfmt, fmt.Sprintf("logfmt syntax error at pos %d : unexpected %q", i+1, line[i]))
						return true
					}
					i = skipToSpace(line, i)
					continue
				}
			default:
				vs := i
				bad := false
				for i < len(line) && line[i] > ' ' {
					if line[i] == '"' || line[i] == '=' {
						bad = true
					}
					i++
				}
				if bad {
					if strict {
						ps.lbs.setErr(errLogfmt, fmt.Sprintf("logfmt syntax error at pos %d : unexpected '=' or '\"' in value", vs+1))
						return true
					}
					continue
				}
				val = line[vs:i]
			}
			if val == "" && !keepEmpty && want == nil {
				continue
			}
			setLogfmt(ps, want, key, val)
		}
		return true
	}
}

func setLogfmt(ps *procState, want map[string]string, key, val string) {
	if want != nil {
		name, ok := want[key]
		if !ok {
			return
		}
		ps.lbs.setParsed(name, val)
		return
	}
	ps.lbs.setParsed(ps.lbs.parsedName(sanitizeKey(key, true)), val)
}

func skipToSpace(s string, i int) int {
	for i < len(s) && s[i] > ' ' {
		i++
	}
	return i
}

// scanQuoted returns the index after the closing quote of the string
// starting at s[i] == '"', or -1, and whether it holds escapes.
func scanQuoted(s string, i int) (int, bool) {
	esc := false
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			esc = true
			j++
		case '"':
			return j + 1, esc
		}
	}
	return -1, esc
}

func unquoteLogfmt(dst []byte, q string) ([]byte, error) {
	v, err := strconv.Unquote(q)
	if err != nil {
		return dst, err
	}
	return append(dst, v...), nil
}

// ---- pattern ----

// pattern is a compiled pattern expression: literals and <name>
// captures ("<_>" captures without a label).
type pattern struct {
	parts    []patternPart
	captures int
}

type patternPart struct {
	lit  string // literal text, when name == ""
	name string // capture name ("_" for unnamed)
}

func compilePattern(expr string, filter bool) (*pattern, error) {
	p := &pattern{}
	named := 0
	i := 0
	lit := 0
	for i < len(expr) {
		if expr[i] == '<' {
			j := strings.IndexByte(expr[i:], '>')
			if j > 1 && validLabelName(expr[i+1:i+j]) {
				if i > lit {
					p.parts = append(p.parts, patternPart{lit: expr[lit:i]})
				}
				name := expr[i+1 : i+j]
				if n := len(p.parts); n > 0 && p.parts[n-1].name != "" {
					return nil, errors.New("invalid pattern: consecutive captures are not allowed")
				}
				p.parts = append(p.parts, patternPart{name: name})
				p.captures++
				if name != "_" {
					named++
				}
				i += j + 1
				lit = i
				continue
			}
		}
		i++
	}
	if lit < len(expr) {
		p.parts = append(p.parts, patternPart{lit: expr[lit:]})
	}
	if p.captures == 0 {
		return nil, errors.New("invalid pattern: at least one capture is required")
	}
	if !filter && named == 0 {
		return nil, errors.New("invalid pattern: at least one named capture is required")
	}
	return p, nil
}

// match calls fn with each capture in order; it returns whether the whole
// pattern matched. Captures end at the next literal; the last one takes
// the rest of the line.
func (p *pattern) match(line string, fn func(name, value string)) bool {
	rest := line
	for i, part := range p.parts {
		if part.name == "" {
			if i == 0 {
				if !strings.HasPrefix(rest, part.lit) {
					return false
				}
				rest = rest[len(part.lit):]
			}
			continue
		}
		if i+1 < len(p.parts) {
			lit := p.parts[i+1].lit
			j := strings.Index(rest, lit)
			if j < 0 {
				return false
			}
			if fn != nil {
				fn(part.name, rest[:j])
			}
			rest = rest[j+len(lit):]
			continue
		}
		if fn != nil {
			fn(part.name, rest)
		}
		rest = ""
	}
	return true
}

func (p *pattern) matchesAll(line string) bool { return p.match(line, nil) }

// extract sets a label for every named capture found, even when a later
// literal is missing, as Loki's pattern parser does.
func (p *pattern) extract(line string, s *labelState) {
	s.beginParse()
	p.match(line, func(name, value string) {
		if name != "_" {
			s.setParsed(s.parsedName(name), value)
		}
	})
}
