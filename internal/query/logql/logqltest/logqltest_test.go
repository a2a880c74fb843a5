package logqltest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-obs/argus/internal/query/logql"
)

func TestMemQuerier(t *testing.T) {
	a, b := labels.FromStrings("app", "a"), labels.FromStrings("app", "b")
	q := NewMemQuerier([]logql.Entry{
		{Time: 3, Line: "a3", Stream: a}, {Time: 1, Line: "a1", Stream: a},
		{Time: 2, Line: "b2", Stream: b}, {Time: 4, Line: "a4", Stream: a},
	})
	m := labels.MustNewMatcher(labels.MatchEqual, "app", "a")
	collect := func(p logql.SelectParams, max int) string {
		var got []string
		err := q.SelectLogs(context.Background(), p, func(e *logql.Entry) bool {
			got = append(got, e.Line)
			return len(got) < max
		})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(got, " ")
	}
	if got := collect(logql.SelectParams{Start: 1, End: 4, Matchers: []*labels.Matcher{m}, Direction: logql.Forward}, 10); got != "a1 a3" {
		t.Errorf("forward: %q", got)
	}
	if got := collect(logql.SelectParams{Start: 0, End: 10, Matchers: []*labels.Matcher{m}}, 2); got != "a4 a3" {
		t.Errorf("backward with early stop: %q", got)
	}
	if got := collect(logql.SelectParams{Start: 5, End: 1, Matchers: []*labels.Matcher{m}}, 10); got != "" {
		t.Errorf("empty window: %q", got)
	}
}

func TestParseScriptErrors(t *testing.T) {
	for _, tc := range []struct{ script, want string }{
		{"eval instant at 1s\n  vector(1)\n", "eval without expectations"},
		{"eval_fail instant at 1s\n  vector(1)\n", "eval_fail without an error line"},
		{"eval range from 0s to 1s\n  vector(1)\n  {} 0s:1\n", "eval range needs a step"},
		{"load\n  1s {a=\"b\"} unquoted\n", "line must be one Go string literal"},
		{"frobnicate\n", "unknown command"},
		{"  indented\n", "indented line outside a command"},
	} {
		path := filepath.Join(t.TempDir(), "x.test")
		if err := os.WriteFile(path, []byte(tc.script), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := parseScript(path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.script, err, tc.want)
		}
	}
}
