package logpush

import (
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner is a small pull parser for the JSON the push protocols send. It
// exists because encoding/json allocates for every value it decodes, and a
// push request holds hundreds of thousands of them: the scanner instead
// appends decoded strings to the caller's buffer and returns numbers as
// their text. It accepts exactly RFC 8259 JSON (differential tests hold it
// to encoding/json.Valid), with one leniency that encoding/json shares:
// invalid UTF-8 inside strings passes through.
//
// The first error is sticky: after it every method returns a zero value,
// so callers may check err once at the end of a value.
type scanner struct {
	data  []byte
	pos   int
	depth int
	err   error
}

// maxJSONDepth bounds nesting. Log documents nest a few levels; the bound
// keeps a hostile body from recursing deeply.
const maxJSONDepth = 64

var errJSONEnd = errors.New("unexpected end of JSON input")

func (s *scanner) reset(data []byte) {
	*s = scanner{data: data}
}

func (s *scanner) fail(format string, args ...any) {
	if s.err == nil {
		s.err = fmt.Errorf(format, args...)
	}
	s.pos = len(s.data) // stop every loop
}

func (s *scanner) failChar() {
	if s.pos >= len(s.data) {
		if s.err == nil {
			s.err = errJSONEnd
		}
		return
	}
	s.fail("invalid character %s at offset %d", quoteChar(s.data[s.pos]), s.pos)
}

func quoteChar(c byte) string {
	switch {
	case c == '\'':
		return `'\''`
	case c == '"':
		return `'"'`
	case c < 0x20 || c >= 0x7f:
		return fmt.Sprintf("%q", []byte{c})
	}
	return "'" + string(rune(c)) + "'"
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.skipSpace()
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

// atEnd reports whether only white space is left.
func (s *scanner) atEnd() bool {
	s.skipSpace()
	return s.pos >= len(s.data)
}

func (s *scanner) expect(c byte) bool {
	if s.peek() == c {
		s.pos++
		return true
	}
	s.failChar()
	return false
}

func (s *scanner) enter() bool {
	s.depth++
	if s.depth > maxJSONDepth {
		s.fail("JSON nested deeper than %d levels", maxJSONDepth)
		return false
	}
	return true
}

// beginObject consumes '{'.
func (s *scanner) beginObject() bool { return s.expect('{') && s.enter() }

// beginArray consumes '['.
func (s *scanner) beginArray() bool { return s.expect('[') && s.enter() }

// more advances to the next member of an object (close '}') or element of
// an array (close ']'): it consumes the separating comma, or the closing
// bracket and then reports false. first must start true for each object
// or array. In an object the caller then reads the key with key.
func (s *scanner) more(close byte, first *bool) bool {
	c := s.peek()
	if c == close {
		s.pos++
		s.depth--
		return false
	}
	if !*first {
		if c != ',' {
			s.failChar()
			return false
		}
		s.pos++
	} else if c == 0 {
		s.failChar()
		return false
	}
	*first = false
	return s.err == nil
}

// key appends an object member's key to dst and consumes the colon after
// it.
func (s *scanner) key(dst []byte) []byte {
	dst = s.appendString(dst)
	s.expect(':')
	return dst
}

// appendString decodes the string at the current position and appends it
// to dst.
func (s *scanner) appendString(dst []byte) []byte {
	if s.peek() != '"' {
		s.failChar()
		return dst
	}
	s.pos++
	data := s.data
	start := s.pos
	for i := s.pos; i < len(data); {
		c := data[i]
		switch {
		case c == '"':
			dst = append(dst, data[start:i]...)
			s.pos = i + 1
			return dst
		case c == '\\':
			dst = append(dst, data[start:i]...)
			var ok bool
			dst, i, ok = s.unescape(dst, i)
			if !ok {
				return dst
			}
			start = i
		case c < 0x20:
			s.pos = i
			s.fail("invalid control character %q in string at offset %d", c, i)
			return dst
		default:
			i++
		}
	}
	s.pos = len(data)
	if s.err == nil {
		s.err = errJSONEnd
	}
	return dst
}

// unescape decodes the escape sequence at data[i] ('\\') onto dst and
// returns the index after it.
func (s *scanner) unescape(dst []byte, i int) ([]byte, int, bool) {
	data := s.data
	if i+1 >= len(data) {
		s.pos = len(data)
		if s.err == nil {
			s.err = errJSONEnd
		}
		return dst, i, false
	}
	switch c := data[i+1]; c {
	case '"', '\\', '/':
		return append(dst, c), i + 2, true
	case 'b':
		return append(dst, '\b'), i + 2, true
	case 'f':
		return append(dst, '\f'), i + 2, true
	case 'n':
		return append(dst, '\n'), i + 2, true
	case 'r':
		return append(dst, '\r'), i + 2, true
	case 't':
		return append(dst, '\t'), i + 2, true
	case 'u':
		r, ok := hex4(data, i+2)
		if !ok {
			s.pos = i
			s.fail("invalid escape in string at offset %d", i)
			return dst, i, false
		}
		i += 6
		if utf16.IsSurrogate(r) {
			// A pair is two escapes; a lone half decodes to U+FFFD, as
			// encoding/json does.
			if i+1 < len(data) && data[i] == '\\' && data[i+1] == 'u' {
				if r2, ok := hex4(data, i+2); ok {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						return utf8.AppendRune(dst, dec), i + 6, true
					}
				}
			}
			r = utf8.RuneError
		}
		return utf8.AppendRune(dst, r), i, true
	}
	s.pos = i
	s.fail("invalid escape in string at offset %d", i)
	return dst, i, false
}

func hex4(data []byte, i int) (rune, bool) {
	if i+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, c := range data[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number consumes a number and returns its text; isInt is false when it
// has a fraction or an exponent.
func (s *scanner) number() (text []byte, isInt bool) {
	s.skipSpace()
	data := s.data
	start, i := s.pos, s.pos
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && '1' <= data[i] && data[i] <= '9':
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	default:
		s.pos = i
		s.failChar()
		return nil, false
	}
	isInt = true
	if i < len(data) && data[i] == '.' {
		isInt = false
		i++
		if i >= len(data) || !isDigit(data[i]) {
			s.pos = i
			s.failChar()
			return nil, false
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		isInt = false
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || !isDigit(data[i]) {
			s.pos = i
			s.failChar()
			return nil, false
		}
		for i < len(data) && isDigit(data[i]) {
			i++
		}
	}
	s.pos = i
	return data[start:i], isInt
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// literal consumes true, false or null, whichever word is.
func (s *scanner) literal(word string) bool {
	s.skipSpace()
	if len(s.data)-s.pos >= len(word) && string(s.data[s.pos:s.pos+len(word)]) == word {
		s.pos += len(word)
		return true
	}
	// Point at the first byte that differs.
	for i := 0; i < len(word) && s.pos < len(s.data) && s.data[s.pos] == word[i]; i++ {
		s.pos++
	}
	s.failChar()
	return false
}

// skipValue consumes one value of any kind, checking that it is valid.
func (s *scanner) skipValue() {
	switch s.peek() {
	case '{':
		if !s.beginObject() {
			return
		}
		for first := true; s.more('}', &first); {
			s.skipString()
			s.expect(':')
			s.skipValue()
		}
	case '[':
		if !s.beginArray() {
			return
		}
		for first := true; s.more(']', &first); {
			s.skipValue()
		}
	case '"':
		s.skipString()
	case 't':
		s.literal("true")
	case 'f':
		s.literal("false")
	case 'n':
		s.literal("null")
	default:
		s.number()
	}
}

// skipString consumes a string without decoding it.
func (s *scanner) skipString() {
	if s.peek() != '"' {
		s.failChar()
		return
	}
	data := s.data
	for i := s.pos + 1; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			s.pos = i + 1
			return
		case c == '\\':
			if i+1 >= len(data) {
				break
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if _, ok := hex4(data, i+2); !ok {
					s.pos = i
					s.fail("invalid escape in string at offset %d", i)
					return
				}
				i += 5
			default:
				s.pos = i
				s.fail("invalid escape in string at offset %d", i)
				return
			}
		case c < 0x20:
			s.pos = i
			s.fail("invalid control character %q in string at offset %d", c, i)
			return
		}
	}
	s.pos = len(data)
	if s.err == nil {
		s.err = errJSONEnd
	}
}

// appendCompact consumes one value and appends its JSON text to dst
// without the white space between tokens, so that equal arrays sent with
// different spacing are stored as equal strings.
func (s *scanner) appendCompact(dst []byte) []byte {
	s.skipSpace()
	start := s.pos
	s.skipValue()
	if s.err != nil {
		return dst
	}
	text := s.data[start:s.pos]
	inString := false
	for i := 0; i < len(text); i++ {
		c := text[i]
		if inString {
			dst = append(dst, c)
			switch c {
			case '\\':
				i++
				dst = append(dst, text[i])
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
		case '"':
			inString = true
			dst = append(dst, c)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
