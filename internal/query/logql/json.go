package logql

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// A small JSON scanner: the json parser stage walks the line once and
// takes label values as substrings of it, so a line without escapes costs
// no allocation beyond nested label names.

type jsonError struct {
	pos int
	msg string
}

func (e *jsonError) Error() string { return fmt.Sprintf("%s at offset %d", e.msg, e.pos) }

func jsonErr(pos int, msg string) error { return &jsonError{pos: pos, msg: msg} }

func skipWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// scanJSONString returns the end of the string starting at s[i] == '"'
// (the index after the closing quote) and whether it has escapes.
func scanJSONString(s string, i int) (int, bool, error) {
	esc := false
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '\\':
			esc = true
			j++
		case c == '"':
			return j + 1, esc, nil
		case c < 0x20:
			return 0, false, jsonErr(j, "invalid character in string")
		}
	}
	return 0, false, jsonErr(len(s), "unterminated string")
}

// scanJSONValue returns the end of the value starting at s[i] (after
// white space), validating it.
func scanJSONValue(s string, i int, depth int) (int, error) {
	if depth > 512 {
		return 0, jsonErr(i, "nesting too deep")
	}
	i = skipWS(s, i)
	if i >= len(s) {
		return 0, jsonErr(i, "unexpected end of input")
	}
	switch c := s[i]; {
	case c == '"':
		end, _, err := scanJSONString(s, i)
		return end, err
	case c == '{':
		i = skipWS(s, i+1)
		if i < len(s) && s[i] == '}' {
			return i + 1, nil
		}
		for {
			i = skipWS(s, i)
			if i >= len(s) || s[i] != '"' {
				return 0, jsonErr(i, "expected object key")
			}
			end, _, err := scanJSONString(s, i)
			if err != nil {
				return 0, err
			}
			i = skipWS(s, end)
			if i >= len(s) || s[i] != ':' {
				return 0, jsonErr(i, "expected ':' after object key")
			}
			if i, err = scanJSONValue(s, i+1, depth+1); err != nil {
				return 0, err
			}
			i = skipWS(s, i)
			if i < len(s) && s[i] == ',' {
				i++
				continue
			}
			if i < len(s) && s[i] == '}' {
				return i + 1, nil
			}
			return 0, jsonErr(i, "expected ',' or '}' in object")
		}
	case c == '[':
		i = skipWS(s, i+1)
		if i < len(s) && s[i] == ']' {
			return i + 1, nil
		}
		for {
			var err error
			if i, err = scanJSONValue(s, i, depth+1); err != nil {
				return 0, err
			}
			i = skipWS(s, i)
			if i < len(s) && s[i] == ',' {
				i++
				continue
			}
			if i < len(s) && s[i] == ']' {
				return i + 1, nil
			}
			return 0, jsonErr(i, "expected ',' or ']' in array")
		}
	case c == 't':
		return scanJSONLiteral(s, i, "true")
	case c == 'f':
		return scanJSONLiteral(s, i, "false")
	case c == 'n':
		return scanJSONLiteral(s, i, "null")
	case c == '-' || c >= '0' && c <= '9':
		j := i
		if s[j] == '-' {
			j++
		}
		start := j
		for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == 'e' || s[j] == 'E' || s[j] == '+' || s[j] == '-') {
			j++
		}
		if j == start {
			return 0, jsonErr(i, "invalid number")
		}
		if _, err := strconv.ParseFloat(s[i:j], 64); err != nil {
			var ne *strconv.NumError
			if !errors.As(err, &ne) || ne.Err != strconv.ErrRange {
				return 0, jsonErr(i, "invalid number")
			}
		}
		return j, nil
	}
	return 0, jsonErr(i, fmt.Sprintf("invalid character %q looking for beginning of value", s[i]))
}

func scanJSONLiteral(s string, i int, lit string) (int, error) {
	if strings.HasPrefix(s[i:], lit) {
		return i + len(lit), nil
	}
	return 0, jsonErr(i, "invalid literal")
}

// unescapeJSON decodes the JSON string literal q (with quotes).
func unescapeJSON(q string) string {
	var b strings.Builder
	b.Grow(len(q))
	for i := 1; i < len(q)-1; i++ {
		c := q[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		switch q[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			r := rune(-1)
			if i+4 < len(q) {
				if v, err := strconv.ParseUint(q[i+1:i+5], 16, 32); err == nil {
					r = rune(v)
					i += 4
				}
			}
			if utf16.IsSurrogate(r) && i+6 < len(q) && q[i+1] == '\\' && q[i+2] == 'u' {
				if v, err := strconv.ParseUint(q[i+3:i+7], 16, 32); err == nil {
					if d := utf16.DecodeRune(r, rune(v)); d != utf8.RuneError {
						r = d
						i += 6
					}
				}
			}
			if r < 0 {
				r = utf8.RuneError
			}
			b.WriteRune(r)
		default:
			b.WriteByte(q[i])
		}
	}
	return b.String()
}

// jsonValueText is the label value of the JSON value s[i:end]: strings
// unquoted, null empty, anything else (numbers, booleans, objects,
// arrays) as written.
func jsonValueText(v string, esc bool) string {
	switch {
	case v == "null":
		return ""
	case len(v) > 0 && v[0] == '"':
		if esc {
			return unescapeJSON(v)
		}
		return v[1 : len(v)-1]
	}
	return v
}

// jsonFlattener implements "| json" without parameters: every scalar
// field of the object becomes a label; nested object keys are joined
// with _; arrays are skipped.
type jsonFlattener struct {
	prefix []byte
}

func (j *jsonFlattener) parse(line string, s *labelState) error {
	i := skipWS(line, 0)
	if i >= len(line) || line[i] != '{' {
		return jsonErr(i, "Value looks like a non-object JSON value or is not JSON")
	}
	j.prefix = j.prefix[:0]
	s.beginParse()
	end, err := j.object(line, i, s, 0)
	if err != nil {
		return err
	}
	if k := skipWS(line, end); k != len(line) {
		return jsonErr(k, "unexpected data after the object")
	}
	return nil
}

func (j *jsonFlattener) object(line string, i int, s *labelState, depth int) (int, error) {
	if depth > 128 {
		return 0, jsonErr(i, "nesting too deep")
	}
	i = skipWS(line, i+1)
	if i < len(line) && line[i] == '}' {
		return i + 1, nil
	}
	for {
		i = skipWS(line, i)
		if i >= len(line) || line[i] != '"' {
			return 0, jsonErr(i, "expected object key")
		}
		kend, kesc, err := scanJSONString(line, i)
		if err != nil {
			return 0, err
		}
		key := line[i+1 : kend-1]
		if kesc {
			key = unescapeJSON(line[i:kend])
		}
		i = skipWS(line, kend)
		if i >= len(line) || line[i] != ':' {
			return 0, jsonErr(i, "expected ':' after object key")
		}
		i = skipWS(line, i+1)
		if i >= len(line) {
			return 0, jsonErr(i, "unexpected end of input")
		}
		plen := len(j.prefix)
		switch line[i] {
		case '{':
			if plen > 0 {
				j.prefix = append(j.prefix, '_')
			}
			j.prefix = append(j.prefix, sanitizeKey(key, plen == 0)...)
			i, err = j.object(line, i, s, depth+1)
			j.prefix = j.prefix[:plen]
		case '[':
			i, err = scanJSONValue(line, i, depth+1)
		default:
			vstart := i
			esc := false
			if line[i] == '"' {
				i, esc, err = scanJSONString(line, i)
			} else {
				i, err = scanJSONValue(line, i, depth+1)
			}
			if err == nil {
				var name string
				if plen == 0 {
					name = sanitizeKey(key, true)
				} else {
					name = string(j.prefix) + "_" + sanitizeKey(key, false)
				}
				if name != "" {
					s.setParsed(s.parsedName(name), jsonValueText(line[vstart:i], esc))
				}
			}
		}
		if err != nil {
			return 0, err
		}
		i = skipWS(line, i)
		if i < len(line) && line[i] == ',' {
			i++
			continue
		}
		if i < len(line) && line[i] == '}' {
			return i + 1, nil
		}
		return 0, jsonErr(i, "expected ',' or '}' in object")
	}
}

// jsonPath is a parsed json parameter expression such as
// `request.headers["User-Agent"]` or `servers[0]`.
type jsonPath []jsonPathElem

type jsonPathElem struct {
	key   string
	index int // >= 0 for an array index
}

func parseJSONPath(expr string) (jsonPath, error) {
	var p jsonPath
	i := 0
	bad := func() (jsonPath, error) { return nil, fmt.Errorf("invalid json expression %q", expr) }
	for i < len(expr) {
		switch c := expr[i]; {
		case c == '.':
			if i == 0 || i+1 >= len(expr) {
				return bad()
			}
			i++
		case c == '[':
			end := strings.IndexByte(expr[i:], ']')
			if end < 0 {
				return bad()
			}
			inner := strings.TrimSpace(expr[i+1 : i+end])
			if len(inner) >= 2 && inner[0] == '"' && inner[len(inner)-1] == '"' {
				k, err := strconv.Unquote(inner)
				if err != nil {
					return bad()
				}
				p = append(p, jsonPathElem{key: k, index: -1})
			} else {
				n, err := strconv.Atoi(inner)
				if err != nil || n < 0 {
					return bad()
				}
				p = append(p, jsonPathElem{index: n})
			}
			i += end + 1
		default:
			j := i
			for j < len(expr) && expr[j] != '.' && expr[j] != '[' {
				j++
			}
			p = append(p, jsonPathElem{key: expr[i:j], index: -1})
			i = j
		}
	}
	if len(p) == 0 {
		return bad()
	}
	return p, nil
}

// lookup returns the raw JSON text the path names in doc, a validated
// JSON value.
func (p jsonPath) lookup(doc string) (string, bool) {
	v := strings.TrimSpace(doc)
	for _, e := range p {
		found := false
		if e.index >= 0 {
			if v == "" || v[0] != '[' {
				return "", false
			}
			i := skipWS(v, 1)
			for n := 0; i < len(v) && v[i] != ']'; n++ {
				end, err := scanJSONValue(v, i, 0)
				if err != nil {
					return "", false
				}
				if n == e.index {
					v, found = v[i:end], true
					break
				}
				i = skipWS(v, end)
				if i < len(v) && v[i] == ',' {
					i = skipWS(v, i+1)
				}
			}
		} else {
			if v == "" || v[0] != '{' {
				return "", false
			}
			i := skipWS(v, 1)
			for i < len(v) && v[i] == '"' {
				kend, kesc, err := scanJSONString(v, i)
				if err != nil {
					return "", false
				}
				key := v[i+1 : kend-1]
				if kesc {
					key = unescapeJSON(v[i:kend])
				}
				i = skipWS(v, kend) + 1 // ':'
				vs := skipWS(v, i)
				end, err := scanJSONValue(v, vs, 0)
				if err != nil {
					return "", false
				}
				if key == e.key {
					v, found = v[vs:end], true
					break
				}
				i = skipWS(v, end)
				if i < len(v) && v[i] == ',' {
					i = skipWS(v, i+1)
				}
			}
		}
		if !found {
			return "", false
		}
	}
	return v, true
}

func compileJSONExtract(xs []Extraction) (stageFunc, error) {
	paths := make([]jsonPath, len(xs))
	for i, x := range xs {
		p, err := parseJSONPath(x.Expr)
		if err != nil {
			return nil, err
		}
		paths[i] = p
	}
	return func(ps *procState) bool {
		line := ps.line
		if err := validJSONObject(line); err != nil {
			ps.lbs.setErr(errJSON, err.Error())
			return true
		}
		for k, p := range paths {
			raw, ok := p.lookup(line)
			val := ""
			if ok {
				val = jsonValueText(raw, strings.IndexByte(raw, '\\') >= 0)
			}
			ps.lbs.set(xs[k].Label, val, catParsed)
		}
		return true
	}, nil
}

// validJSONObject checks that line is one JSON object.
func validJSONObject(line string) error {
	i := skipWS(line, 0)
	if i >= len(line) || line[i] != '{' {
		return jsonErr(i, "Value looks like a non-object JSON value or is not JSON")
	}
	end, err := scanJSONValue(line, i, 0)
	if err != nil {
		return err
	}
	if skipWS(line, end) != len(line) {
		return jsonErr(end, "unexpected data after the object")
	}
	return nil
}

// unpack implements "| unpack": the string fields of a JSON object
// become labels, and the field _entry, when present, becomes the line.
func unpack(line string, s *labelState) (string, error) {
	if err := validJSONObject(line); err != nil {
		return line, err
	}
	i := skipWS(line, 0)
	out := line
	s.beginParse()
	i = skipWS(line, i+1)
	for i < len(line) && line[i] == '"' {
		kend, kesc, _ := scanJSONString(line, i)
		key := line[i+1 : kend-1]
		if kesc {
			key = unescapeJSON(line[i:kend])
		}
		vs := skipWS(line, skipWS(line, kend)+1)
		vend, _ := scanJSONValue(line, vs, 0)
		if line[vs] == '"' {
			val := jsonValueText(line[vs:vend], strings.IndexByte(line[vs:vend], '\\') >= 0)
			if key == "_entry" {
				out = val
			} else if key != "" {
				s.setParsed(s.parsedName(sanitizeKey(key, true)), val)
			}
		}
		i = skipWS(line, vend)
		if i < len(line) && line[i] == ',' {
			i = skipWS(line, i+1)
		}
	}
	return out, nil
}
