package dashboard

import (
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

func TestCheckExprWithVariables(t *testing.T) {
	for _, tc := range []struct {
		source, expr string
		log          bool
	}{
		{SourcePrometheus, `sum by (route) (rate(http_server_requests_total{job="$job", route=~"${route:regex}"}[$__rate_interval]))`, false},
		{SourcePrometheus, `rate(x[[[interval]]] offset $shift)`, false},
		{SourcePrometheus, `sum by ($group) (rate(x[5m])) > $threshold`, false},
		{SourcePrometheus, `topk($k, sum by (route) (rate(x[$__range])))`, false},
		{SourcePrometheus, `histogram_quantile($q, sum by (le) (rate(x_bucket[5m:$__interval])))`, false},
		{SourcePrometheus, `$metric{job="a"} * on (instance) group_left ($label) up`, false},
		{SourcePrometheus, `x / $__interval_ms`, false},
		{SourcePrometheus, `label_replace(up, "dst", "$1", "instance", "(.*):.*")`, false},
		{SourcePrometheus, "sum(rate(x[5m])) # a comment with $nothing\n", false},
		{SourceLoki, `{service_name="$service"} |= "$search" | json | level=~"$level"`, true},
		{SourceLoki, "sum by (level) (count_over_time({service_name=~\"${service}\"} |~ `$pattern` [$__auto]))", false},
		{SourceLoki, `{app="a"} | logfmt | duration > $min`, true},
		// A variable where a number must come, beside one where a metric must.
		{SourcePrometheus, `topk($n, $metric)`, false},
		{SourceLoki, `quantile_over_time($q, {app="a"} | unwrap latency [5m])`, false},
	} {
		logQuery, err := checkExpr(tc.source, tc.expr)
		if err != nil {
			t.Errorf("%s %q: %v", tc.source, tc.expr, err)
			continue
		}
		if logQuery != tc.log {
			t.Errorf("%s %q: log query = %v, want %v", tc.source, tc.expr, logQuery, tc.log)
		}
	}
}

func TestCheckExprErrorsPointIntoTheOriginal(t *testing.T) {
	// The error is at "$bad" after "[$__rate_interval])" in the original
	// text, not in the substituted one.
	_, err := checkExpr(SourcePrometheus, `rate(x{a="$v"}[$__rate_interval]) + + `)
	if err == nil || !strings.HasPrefix(err.Error(), "1:") || !strings.Contains(err.Error(), "parse error") {
		t.Fatalf("err = %v", err)
	}
	_, err = checkExpr(SourcePrometheus, `sum(rate(x[$__rate_interval])`)
	if err == nil || !strings.Contains(err.Error(), "1:30: parse error") {
		t.Errorf("unclosed paren: %v", err)
	}
	_, err = checkExpr(SourceLoki, "{app=\"$app\"}\n  |= \"x\" | json | | ")
	if err == nil || !strings.Contains(err.Error(), "line 2, col 19") {
		t.Errorf("LogQL: %v", err)
	}
}

func TestRefs(t *testing.T) {
	got := refs(`rate(x{a="$a",b="${b:csv}"}[$__rate_interval]) + [[c]] + $a + label_replace(y, "d", "$1", "e", "(.*)")`)
	if want := []string{"a", "b", "__rate_interval", "c"}; !slices.Equal(got, want) {
		t.Errorf("refs = %q, want %q", got, want)
	}
}

func TestParseLabelValues(t *testing.T) {
	for _, tc := range []struct{ q, match, label string }{
		{`label_values(job)`, "", "job"},
		{`label_values(up{job="a,b"}, instance)`, `up{job="a,b"}`, "instance"},
		{` label_values( {service_name=~"$svc"} , level ) `, `{service_name=~"$svc"}`, "level"},
		{`label_values(rate(x[5m]), route)`, `rate(x[5m])`, "route"},
	} {
		match, label, ok := parseLabelValues(tc.q)
		if !ok || match != tc.match || label != tc.label {
			t.Errorf("%q: %q, %q, %v; want %q, %q", tc.q, match, label, ok, tc.match, tc.label)
		}
	}
	for _, q := range []string{`query_result(up)`, `label_values()`, `label_names()`, `label_values(x`} {
		if _, _, ok := parseLabelValues(q); ok {
			t.Errorf("%q parsed as label_values", q)
		}
	}
}

func TestLooksLikeLogQL(t *testing.T) {
	for expr, want := range map[string]bool{
		`{app="a"}`: true,
		`sum by (level) (count_over_time({app="a"} | json [5m]))`:   true,
		`topk(5, sum by (path) (rate({app="a"}[1m])))`:              true,
		`rate({app="a"} |= "error" [$__interval])`:                  true,
		`sum(rate(http_requests_total[5m]))`:                        false,
		`up{job="a"}`:                                               false,
		`sum by (job) (up)`:                                         false,
		`{__name__="up"} > 0`:                                       false, // PromQL parses it, LogQL does not
		`histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))`: false,
	} {
		if got := looksLikeLogQL(expr); got != want {
			t.Errorf("looksLikeLogQL(%q) = %v, want %v", expr, got, want)
		}
	}
}

func TestQuote(t *testing.T) {
	name := `we"ird\name`
	expr := "up{job=" + quote(name) + "}"
	if err := checkPromQL(expr); err != nil {
		t.Fatal(err)
	}
	if _, err := checkLogQL("{service_name=" + quote(name) + "}"); err != nil {
		t.Fatal(err)
	}
	ms, err := promParser.ParseMetricSelector(expr)
	if err != nil || !slices.ContainsFunc(ms, func(m *labels.Matcher) bool { return m.Name == "job" && m.Value == name }) {
		t.Errorf("round trip: %v %v", ms, err)
	}
}
