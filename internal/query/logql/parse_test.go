package logql

import (
	"errors"
	"strings"
	"testing"
)

// roundTrip lists queries whose canonical form must parse back to itself.
var roundTripQueries = []string{
	`{app="api"}`,
	`{app="api", env!="dev", pod=~"p.*", ns!~"kube-.*"}`,
	`{app="api"} |= "x" != "y" |~ "a|b" !~ "c" |> "<_> x <_>" !> "<_> y"`,
	`{app="api"} |= "a" or "b" or ip("10.0.0.0/8")`,
	"{app=`api`} |= `raw \\ string`",
	`{app="api"} | json | logfmt --strict --keep-empty | regexp "(?P<a>\\w+)" | pattern "<a> <_>" | unpack`,
	`{app="api"} | json a="b.c", d="e[0]", f | logfmt x, y="z"`,
	`{app="api"} | json | status >= 400 and level="error" or (duration > 10ms, size <= 20KB)`,
	`{app="api"} | logfmt | a="1" b="2" | c != -1.5 | d == 1e3 | addr = ip("10.0.0.1-10.0.0.9")`,
	`{app="api"} | line_format "{{.a}} {{ .b | ToUpper }}" | label_format new=old, x="{{.y}}"`,
	`{app="api"} | drop a, b="v", c=~"r.*" | keep d, e!="f" | decolorize`,
	`count_over_time({app="api"}[5m])`,
	`count_over_time({app="api"} |= "x" [5m] offset 1h)`,
	`count_over_time({app="api"}[1h30m] | json)`,
	`rate(({app="api"} | json)[5m])`,
	`bytes_rate({app="api"}[30s] offset -5m)`,
	`max_over_time({app="api"} | logfmt | unwrap duration(latency) | __error__="" [5m]) by (host)`,
	`quantile_over_time(0.99, {app="api"} | json | unwrap bytes(size) [1m]) without (pod)`,
	`avg_over_time({app="api"} | unwrap x [1d])`,
	`sum by (level) (count_over_time({service_name="x"}[1m]))`,
	`sum(count_over_time({a="b"}[1m])) by (level)`,
	`topk(5, sum without (pod) (rate({a="b"}[1m])))`,
	`bottomk by (ns) (2, rate({a="b"}[1m]))`,
	`sort_desc(count_over_time({a="b"}[1m]))`,
	`sum(rate({a="b"}[1m])) / sum(rate({a="c"}[1m])) * 100`,
	`rate({a="b"}[1m]) > bool on (x) group_left (y) rate({a="c"}[1m])`,
	`rate({a="b"}[1m]) + ignoring (x) group_right rate({a="c"}[1m])`,
	`rate({a="b"}[1m]) and rate({a="c"}[1m]) or rate({a="d"}[1m]) unless rate({a="e"}[1m])`,
	`2 ^ 3 ^ 2`,
	`(1 + 2) * -3.5`,
	`vector(0)`,
	`sum(rate({a="b"}[1m])) or vector(0)`,
	`label_replace(rate({a="b"}[1m]), "dst", "$1", "src", "(.*)")`,
}

func TestParseRoundTrip(t *testing.T) {
	for _, q := range roundTripQueries {
		e, err := ParseExpr(q)
		if err != nil {
			t.Errorf("%s: %v", q, err)
			continue
		}
		s := e.String()
		e2, err := ParseExpr(s)
		if err != nil {
			t.Errorf("%s: printed as %s, which does not parse: %v", q, s, err)
			continue
		}
		if s2 := e2.String(); s2 != s {
			t.Errorf("%s: not canonical:\n%s\n%s", q, s, s2)
		}
	}
}

func TestCanonicalForm(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{app="api"}|="x"`, `{app="api"} |= "x"`},
		{"{app=`a\"b`}", `{app="a\"b"}`},
		{`sum(count_over_time({a="b"}[60s])) by (x)`, `sum by (x) (count_over_time({a="b"} [1m]))`},
		{`count_over_time({a="b"}[5m] | json)`, `count_over_time({a="b"} | json [5m])`},
		{`{a="b"} | x = 200`, `{a="b"} | x==200`},
		{`{a="b"} | x="1", y="2" or z="3"`, `{a="b"} | x="1" and y="2" or z="3"`},
		{`{a="b"} | (x="1" or y="2") and z="3"`, `{a="b"} | (x="1" or y="2") and z="3"`},
		{`1 + 2 * 3`, `1 + (2 * 3)`},
		{"{a=\"b\"} # comment\n|= \"x\"", `{a="b"} |= "x"`},
	} {
		e, err := ParseExpr(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got := e.String(); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestParseErrorPosition(t *testing.T) {
	_, err := ParseExpr("sum(\n  count_over_time({a=\"b\"}[5m]) +)")
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("want *ParseError, got %T %v", err, err)
	}
	if pe.Line != 2 || pe.Col != 33 || pe.Pos != 37 {
		t.Errorf("got line %d col %d pos %d", pe.Line, pe.Col, pe.Pos)
	}
	if want := "parse error at line 2, col 33: syntax error: unexpected )"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
	if !IsBadData(err) {
		t.Error("a parse error is bad data")
	}
}

func TestParseSelector(t *testing.T) {
	ms, err := ParseSelector(`{app="api", env=~"prod|dev"}`)
	if err != nil || len(ms) != 2 || ms[1].Name != "env" || !ms[1].Matches("dev") {
		t.Fatalf("got %v, %v", ms, err)
	}
	for _, bad := range []string{`{app=~".*"}`, `{app="api"} |= "x"`, `app`, `{}`, ``} {
		if _, err := ParseSelector(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		} else if _, ok := err.(*ParseError); !ok {
			t.Errorf("%q: want *ParseError, got %T", bad, err)
		}
	}
	_, err = ParseSelector(`{app=~".*"}`)
	if want := `parse error : queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will`; err.Error() != want {
		t.Errorf("got %q", err)
	}
}

func TestParseBytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
	}{
		{"42", 42}, {"20KB", 20000}, {"20kB", 20000}, {"1KiB", 1024}, {"1MiB", 1 << 20},
		{"1.5MB", 1500000}, {"1.5 GB", 1500000000}, {"2b", 2}, {"1,000B", 1000}, {"3k", 3000},
	} {
		got, err := ParseBytes(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "KB", "1XB", "-1KB", "1.2.3MB"} {
		if _, err := ParseBytes(bad); err == nil {
			t.Errorf("ParseBytes(%q): want an error", bad)
		}
	}
}

func TestSelectHints(t *testing.T) {
	e, err := ParseExpr(`{app="a"} |= "x" |= "y" or "z" | level="error", app="a" | trace="t" or span="s" | json |= "after" | user="u"`)
	if err != nil {
		t.Fatal(err)
	}
	le := e.(*LogExpr)
	lc, me := selectHints(le.Matchers, le.Stages)
	if len(lc) != 1 || lc[0] != "x" {
		t.Errorf("LineContains = %q", lc)
	}
	if len(me) != 1 || me[0].Name != "level" || me[0].Value != "error" {
		t.Errorf("MetadataEquals = %v", me)
	}
}

// A query nested deeper than the parser allows is refused with an error,
// not by exhausting the stack (which no recover can catch).
func TestParseDeepNesting(t *testing.T) {
	for name, q := range map[string]string{
		"parentheses":   strings.Repeat("(", 1_000_000) + `count_over_time({a="b"}[1m])` + strings.Repeat(")", 1_000_000),
		"unary signs":   strings.Repeat("-", 1_000_000) + "1",
		"label filters": `{a="b"} | ` + strings.Repeat("(", 1_000_000) + `x="y"` + strings.Repeat(")", 1_000_000),
	} {
		_, err := ParseExpr(q)
		if err == nil || !strings.Contains(err.Error(), "nested more than") {
			t.Errorf("%s: err = %v, want a nesting error", name, err)
		}
	}
	// A reasonable depth still parses.
	q := strings.Repeat("(", 50) + `count_over_time({a="b"}[1m])` + strings.Repeat(")", 50)
	if _, err := ParseExpr(q); err != nil {
		t.Errorf("50 levels: %v", err)
	}
}
