package model

import (
	"encoding/hex"
	"errors"
	"fmt"
)

// TraceID identifies a trace: 16 bytes, as in W3C Trace Context and OTLP.
type TraceID [16]byte

// SpanID identifies a span within a trace: 8 bytes.
type SpanID [8]byte

// ErrInvalidID is returned when a string is not a valid hex trace or span ID.
var ErrInvalidID = errors.New("invalid id")

// IsZero reports whether id is all zeros, which OTLP defines as invalid.
func (id TraceID) IsZero() bool { return id == TraceID{} }

// String returns the 32-character lower-case hex form.
func (id TraceID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is all zeros, which OTLP defines as invalid
// (and, for a parent span ID, means "no parent").
func (id SpanID) IsZero() bool { return id == SpanID{} }

// String returns the 16-character lower-case hex form.
func (id SpanID) String() string { return hex.EncodeToString(id[:]) }

// ParseTraceID parses a hex trace ID. Like Jaeger, it accepts IDs shorter
// than 32 digits (64-bit trace IDs from older tracers) and left-pads them
// with zeros.
func ParseTraceID(s string) (TraceID, error) {
	var id TraceID
	if err := parseHexID(id[:], s); err != nil {
		return TraceID{}, fmt.Errorf("trace id %q: %w", s, err)
	}
	return id, nil
}

// ParseSpanID parses a hex span ID of at most 16 digits, left-padding
// shorter ones with zeros.
func ParseSpanID(s string) (SpanID, error) {
	var id SpanID
	if err := parseHexID(id[:], s); err != nil {
		return SpanID{}, fmt.Errorf("span id %q: %w", s, err)
	}
	return id, nil
}

func parseHexID(dst []byte, s string) error {
	if len(s) == 0 || len(s) > 2*len(dst) {
		return ErrInvalidID
	}
	var buf [32]byte
	padded := buf[:2*len(dst)]
	for i := range padded {
		padded[i] = '0'
	}
	copy(padded[len(padded)-len(s):], s)
	if _, err := hex.Decode(dst, padded); err != nil {
		return ErrInvalidID
	}
	return nil
}
