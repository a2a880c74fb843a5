// Package timeparam parses the time parameters of Argus's own HTTP API
// (start, end): RFC 3339, or Unix seconds with an optional fraction, as
// Prometheus's and Loki's APIs accept them.
package timeparam

import (
	"fmt"
	"strconv"
	"time"
)

// Parse reads s; empty is the zero time.
func Parse(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		sec, frac := int64(f), f-float64(int64(f))
		return time.Unix(sec, int64(frac*1e9)).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor Unix seconds", s)
	}
	return t, nil
}
