package model

import (
	"slices"
	"testing"
)

func TestSeverityLevel(t *testing.T) {
	for _, tc := range []struct {
		s    Severity
		want string
	}{
		{0, "unknown"}, {1, "trace"}, {4, "trace"}, {5, "debug"}, {9, "info"}, {12, "info"},
		{13, "warn"}, {17, "error"}, {20, "error"}, {21, "fatal"}, {24, "fatal"}, {25, "unknown"}, {-1, "unknown"},
	} {
		if got := tc.s.Level(); got != tc.want {
			t.Errorf("Severity(%d).Level() = %q, want %q", tc.s, got, tc.want)
		}
	}
}

func TestParseLevel(t *testing.T) {
	for name, want := range map[string]Severity{
		"INFO": SeverityInfo, "Warning": SeverityWarn, "err": SeverityError, " debug ": SeverityDebug,
		"CRITICAL": SeverityFatal, "trace": SeverityTrace, "notice": SeverityInfo,
	} {
		if got, ok := ParseLevel(name); !ok || got != want {
			t.Errorf("ParseLevel(%q) = %d, %v; want %d", name, got, ok, want)
		}
	}
	if _, ok := ParseLevel("loud"); ok {
		t.Error(`ParseLevel("loud") succeeded`)
	}
}

func TestLogRecordLevel(t *testing.T) {
	r := LogRecord{SeverityText: "WARNING"}
	if got := r.Level(); got != "warn" {
		t.Errorf("level from text = %q", got)
	}
	r.Severity = SeverityError
	if got := r.Level(); got != "error" {
		t.Errorf("level from number = %q", got)
	}
}

func TestLiftCorrelationID(t *testing.T) {
	attrs := []Attribute{String("user", "u1"), String("request_id", "r-1"), String("correlation_id", "c-1")}
	id, rest := LiftCorrelationID(attrs)
	if id != "c-1" {
		t.Errorf("id = %q, want the canonical key's value c-1", id)
	}
	if want := []Attribute{String("user", "u1"), String("request_id", "r-1")}; !slices.Equal(rest, want) {
		t.Errorf("rest = %v, want %v", rest, want)
	}

	id, rest = LiftCorrelationID([]Attribute{String("X-Request-ID", "r-2")})
	if id != "r-2" || len(rest) != 1 {
		t.Errorf("other spelling: id %q rest %v; want r-2 with the attribute kept", id, rest)
	}
	if id, _ := LiftCorrelationID([]Attribute{String("correlation_id", "")}); id != "" {
		t.Errorf("empty value taken as id %q", id)
	}
}
