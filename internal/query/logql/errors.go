package logql

import (
	"errors"
	"fmt"
)

// ParseError is a query that does not parse or is not valid LogQL. The API
// answers it with HTTP 400 and errorType "bad_data".
type ParseError struct {
	Pos  int // byte offset of the offending token in the query
	Line int // 1-based line of Pos; 0 when the error is about the whole query
	Col  int // 1-based column (in bytes) of Pos
	Msg  string
}

// Error reads like Loki's: "parse error at line 1, col 15: syntax error:
// unexpected IDENTIFIER", or "parse error : <msg>" when the problem has no
// position.
func (e *ParseError) Error() string {
	if e.Line == 0 {
		return "parse error : " + e.Msg
	}
	return fmt.Sprintf("parse error at line %d, col %d: %s", e.Line, e.Col, e.Msg)
}

// Sentinel errors. Wrapped errors keep them reachable with errors.Is.
var (
	// ErrLimit wraps errors from a query that hit a limit: too many
	// series, points, or entries. The API answers them with HTTP 400.
	ErrLimit = errors.New("limit exceeded")
	// ErrPipeline wraps the error of a metric query whose log pipeline
	// failed on some entry (a series carries an __error__ label) and
	// that did not filter the failures out. HTTP 400, as in Loki.
	ErrPipeline = errors.New("pipeline error")
	// ErrUnsupported wraps requests the engine refuses by design, such
	// as a log query as an instant query. HTTP 400.
	ErrUnsupported = errors.New("unsupported query")
)

// IsBadData reports whether err is the caller's fault (a parse error, a
// limit, a pipeline error or an unsupported request), which the HTTP API
// answers with 400 "bad_data"; other errors come from execution or
// storage.
func IsBadData(err error) bool {
	var pe *ParseError
	return errors.As(err, &pe) || errors.Is(err, ErrLimit) ||
		errors.Is(err, ErrPipeline) || errors.Is(err, ErrUnsupported)
}

// limitError wraps ErrLimit with a message of Loki's wording.
type limitError struct{ msg string }

// Error returns the message.
func (e *limitError) Error() string { return e.msg }
func (e *limitError) Unwrap() error { return ErrLimit }

func newLimitError(format string, args ...any) error {
	return &limitError{msg: fmt.Sprintf(format, args...)}
}
