package logql

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// byteUnit returns the multiplier of a lower-case byte unit: SI (kB =
// 1000) and IEC (KiB = 1024), as Loki's bytes literals and bytes()
// conversion read them.
func byteUnit(u string) (float64, bool) {
	switch u {
	case "", "b":
		return 1, true
	case "kb", "k":
		return 1e3, true
	case "kib", "ki":
		return 1 << 10, true
	case "mb", "m":
		return 1e6, true
	case "mib", "mi":
		return 1 << 20, true
	case "gb", "g":
		return 1e9, true
	case "gib", "gi":
		return 1 << 30, true
	case "tb", "t":
		return 1e12, true
	case "tib", "ti":
		return 1 << 40, true
	case "pb", "p":
		return 1e15, true
	case "pib", "pi":
		return 1 << 50, true
	case "eb", "e":
		return 1e18, true
	case "eib", "ei":
		return 1 << 60, true
	}
	return 0, false
}

var errBadBytes = errors.New("invalid bytes value")

// ParseBytes reads a byte size such as "20KB", "1.5 MB", "1MiB" or "42"
// (SI units are powers of 1000, IEC units powers of 1024, units are
// case-insensitive, commas between digits are ignored). It returns whole
// bytes, as Loki's bytes() conversion does.
func ParseBytes(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.' || s[i] == ',') {
		i++
	}
	num := strings.ReplaceAll(s[:i], ",", "")
	if num == "" {
		return 0, errBadBytes
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, errBadBytes
	}
	unit := strings.ToLower(strings.TrimSpace(s[i:]))
	mult, ok := byteUnit(unit)
	if !ok {
		return 0, errBadBytes
	}
	v := f * mult
	if v >= math.MaxUint64 {
		return 0, errBadBytes
	}
	return uint64(v), nil
}

// isBytesLiteral reports whether a token such as "20KB" is a bytes literal
// in a query: unlike ParseBytes it insists on an explicit unit that
// ends in b, so "5m" stays a duration.
func isBytesLiteral(s string) bool {
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	if i == 0 || i == len(s) {
		return false
	}
	u := strings.ToLower(s[i:])
	if !strings.HasSuffix(u, "b") {
		return false
	}
	_, err := ParseBytes(s)
	return err == nil
}

// parseDuration reads a Go duration ("1m30s", "250ms", "-5s") or a
// Prometheus one (which adds d, w and y).
func parseDuration(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	d, err := model.ParseDuration(s)
	return time.Duration(d), err
}

// formatDuration prints d the way Prometheus does ("1h30m", "250ms"), so
// printed queries re-parse to the same value.
func formatDuration(d time.Duration) string {
	if d < 0 {
		return "-" + model.Duration(-d).String()
	}
	return model.Duration(d).String()
}
