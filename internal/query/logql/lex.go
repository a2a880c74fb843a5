package logql

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber
	tDuration
	tBytes
	tFlag // --strict, --keep-empty
	tLBrace
	tRBrace
	tLParen
	tRParen
	tLBracket
	tRBracket
	tComma
	tPipe        // |
	tPipeExact   // |=
	tPipeMatch   // |~
	tPipePattern // |>
	tNeq         // !=
	tNre         // !~
	tNpa         // !>
	tEq          // =
	tRe          // =~
	tCmpEq       // ==
	tGt
	tGte
	tLt
	tLte
	tAdd
	tSub
	tMul
	tDiv
	tMod
	tPow
)

type token struct {
	kind tokKind
	pos  int
	text string // source text; for strings, the unquoted value
}

// describe names the token in syntax errors the way Loki's parser does.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "$end"
	case tIdent:
		return "IDENTIFIER"
	case tString:
		return "STRING"
	case tNumber:
		return "NUMBER"
	case tDuration:
		return "DURATION"
	case tBytes:
		return "BYTES"
	}
	return t.text
}

// lex splits q into tokens. Comments (# to end of line) and white space
// are dropped.
func lex(q string) ([]token, *ParseError) {
	var toks []token
	i := 0
	for i < len(q) {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case c == '#':
			for i < len(q) && q[i] != '\n' {
				i++
			}
			continue
		case c == '"' || c == '`':
			s, n, err := scanString(q[i:])
			if err != "" {
				return nil, posError(q, i, err)
			}
			toks = append(toks, token{kind: tString, pos: i, text: s})
			i += n
			continue
		case isDigit(c) || c == '.' && i+1 < len(q) && isDigit(q[i+1]):
			j := i
			for j < len(q) {
				d := q[j]
				if isDigit(d) || isLetter(d) || d == '.' {
					j++
					continue
				}
				if (d == '+' || d == '-') && (q[j-1] == 'e' || q[j-1] == 'E') && isNumberPrefix(q[i:j-1]) {
					j++
					continue
				}
				if d >= utf8.RuneSelf { // µs
					r, n := utf8.DecodeRuneInString(q[j:])
					if r == 'µ' || r == 'μ' {
						j += n
						continue
					}
				}
				break
			}
			text := q[i:j]
			kind, ok := classifyNumber(text)
			if !ok {
				return nil, posError(q, i, "syntax error: unexpected "+strconv.Quote(text)+": not a number, duration or byte size")
			}
			toks = append(toks, token{kind: kind, pos: i, text: text})
			i = j
			continue
		case isLetter(c):
			j := i
			for j < len(q) && (isLetter(q[j]) || isDigit(q[j])) {
				j++
			}
			toks = append(toks, token{kind: tIdent, pos: i, text: q[i:j]})
			i = j
			continue
		}
		kind, n := operator(q[i:])
		if n == 0 {
			r, _ := utf8.DecodeRuneInString(q[i:])
			return nil, posError(q, i, "syntax error: unexpected character "+strconv.QuoteRune(r))
		}
		if kind == tFlag {
			j := i + 2
			for j < len(q) && (isLetter(q[j]) || isDigit(q[j]) || q[j] == '-') {
				j++
			}
			n = j - i
		}
		toks = append(toks, token{kind: kind, pos: i, text: q[i : i+n]})
		i += n
	}
	toks = append(toks, token{kind: tEOF, pos: len(q)})
	return toks, nil
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }

func isNumberPrefix(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// classifyNumber tells numbers ("1.5", "1e3"), durations ("5m",
// "1h30m") and byte sizes ("20KB") apart.
func classifyNumber(s string) (tokKind, bool) {
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		return 0, false
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "_infINF") {
		return tNumber, true
	}
	if _, err := parseDuration(s); err == nil {
		return tDuration, true
	}
	if isBytesLiteral(s) {
		return tBytes, true
	}
	return 0, false
}

func operator(s string) (tokKind, int) {
	two := ""
	if len(s) >= 2 {
		two = s[:2]
	}
	switch two {
	case "|=":
		return tPipeExact, 2
	case "|~":
		return tPipeMatch, 2
	case "|>":
		return tPipePattern, 2
	case "!=":
		return tNeq, 2
	case "!~":
		return tNre, 2
	case "!>":
		return tNpa, 2
	case "=~":
		return tRe, 2
	case "==":
		return tCmpEq, 2
	case ">=":
		return tGte, 2
	case "<=":
		return tLte, 2
	case "--":
		if len(s) > 2 && isLetter(s[2]) {
			return tFlag, 2
		}
	}
	switch s[0] {
	case '{':
		return tLBrace, 1
	case '}':
		return tRBrace, 1
	case '(':
		return tLParen, 1
	case ')':
		return tRParen, 1
	case '[':
		return tLBracket, 1
	case ']':
		return tRBracket, 1
	case ',':
		return tComma, 1
	case '|':
		return tPipe, 1
	case '=':
		return tEq, 1
	case '>':
		return tGt, 1
	case '<':
		return tLt, 1
	case '+':
		return tAdd, 1
	case '-':
		return tSub, 1
	case '*':
		return tMul, 1
	case '/':
		return tDiv, 1
	case '%':
		return tMod, 1
	case '^':
		return tPow, 1
	}
	return 0, 0
}

// scanString reads a double-quoted Go string (with escapes) or a raw
// backquoted one at the start of s, returning its value and length.
func scanString(s string) (string, int, string) {
	q := s[0]
	if q == '`' {
		end := strings.IndexByte(s[1:], '`')
		if end < 0 {
			return "", 0, "syntax error: unterminated raw string"
		}
		return s[1 : end+1], end + 2, ""
	}
	i := 1
	for i < len(s) {
		switch s[i] {
		case '\\':
			i += 2
			continue
		case '\n':
			return "", 0, "syntax error: newline in string"
		case '"':
			v, err := strconv.Unquote(s[:i+1])
			if err != nil {
				return "", 0, "syntax error: invalid string " + s[:i+1]
			}
			return v, i + 1, ""
		}
		i++
	}
	return "", 0, "syntax error: unterminated string"
}

// posError builds a ParseError at byte offset pos of q.
func posError(q string, pos int, msg string) *ParseError {
	if pos > len(q) {
		pos = len(q)
	}
	line := 1 + strings.Count(q[:pos], "\n")
	col := pos - strings.LastIndexByte(q[:pos], '\n')
	return &ParseError{Pos: pos, Line: line, Col: col, Msg: msg}
}
