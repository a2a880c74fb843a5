package config

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	cfg, err := Parse([]byte("limits:\n  max_request_bytes: 8MiB\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Limits.EffectiveMaxRequestBytes(); got != 8<<20 {
		t.Errorf("max_request_bytes = %d, want %d", got, 8<<20)
	}
	cfg, err = Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Limits.EffectiveMaxRequestBytes(); got != DefaultMaxRequestBytes {
		t.Errorf("default max_request_bytes = %d", got)
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	_, err := Parse([]byte("limits:\n  max_request_bytes: lots\n  max_reqest_bytes: 1\nscrape: {}\n"))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`"lots" is not a byte size`, "max_reqest_bytes", "scrape"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestValidate(t *testing.T) {
	_, err := Parse([]byte("limits:\n  max_request_bytes: -1\n"))
	if err == nil || !strings.Contains(err.Error(), "must not be negative") {
		t.Fatalf("err = %v", err)
	}
	_, err = Parse([]byte("limits:\n  max_request_bytes: 2GiB\n"))
	if err == nil || !strings.Contains(err.Error(), "at most 1GiB") {
		t.Fatalf("err = %v", err)
	}
}
