package loki

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	def := time.Unix(42, 0)
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"", def},
		{"1700000000", time.Unix(1700000000, 0)},
		{"1700000000.25", time.Unix(1700000000, 250_000_000)},
		{"1700000000123456789", time.Unix(0, 1700000000123456789)},
		{"2023-11-14T22:13:20Z", time.Unix(1700000000, 0)},
		{"2023-11-14T22:13:20.5+00:00", time.Unix(1700000000, 500_000_000)},
	} {
		got, err := parseTime(tc.in, def)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"yesterday", "12:00", "1.2.3"} {
		if _, err := parseTime(bad, def); err == nil {
			t.Errorf("parseTime(%q) succeeded", bad)
		}
	}
}

func TestParseStep(t *testing.T) {
	start := time.Unix(0, 0)
	for _, tc := range []struct {
		in   string
		end  time.Duration
		want time.Duration
	}{
		{"", time.Hour, 14 * time.Second}, // an hour over 250 points, whole seconds
		{"", time.Minute, time.Second},    // at least a second
		{"15s", time.Hour, 15 * time.Second},
		{"30", time.Hour, 30 * time.Second},
		{"0.5", time.Hour, 500 * time.Millisecond},
		{"1m", time.Hour, time.Minute},
	} {
		got, err := parseStep(tc.in, start, start.Add(tc.end))
		if err != nil || got != tc.want {
			t.Errorf("parseStep(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"0", "-1", "fast", "NaN"} {
		if _, err := parseStep(bad, start, start.Add(time.Hour)); err == nil {
			t.Errorf("parseStep(%q) succeeded", bad)
		}
	}
}
