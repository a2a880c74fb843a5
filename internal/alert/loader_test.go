package alert

import (
	"strings"
	"testing"

	"github.com/prometheus/common/model"
)

func TestLoaderParse(t *testing.T) {
	ld := newLoader()
	rgs, exprs, errs := ld.parse([]byte(`groups:
  - name: m
    source: metrics
    rules:
      - record: a
        expr: sum(up)
  - source: logs
    name: l
    rules:
      - record: b
        expr: |
          sum(count_over_time({app="x"}[1m]))
      - alert: C
        expr: "rate({app=\"x\"} |= \"e\" [1m]) > 1"
        for: 1m
`), false, model.UTF8Validation)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if len(rgs.Groups) != 2 || rgs.Groups[0].Rules[0].Expr != "sum(up)" ||
		rgs.Groups[1].Rules[0].Expr != "sum(count_over_time({app=\"x\"}[1m]))\n" || len(exprs) != 2 {
		t.Fatalf("groups %+v, LogQL %q", rgs.Groups, exprs)
	}
	_, _, errs = ld.parse([]byte(`groups:
  - name: l
    source: traces
    rules:
      - record: b
        expr: up
  - name: m
    source: logs
    rules:
      - record: c
        expr: '{app="x"}'
      - record: d
        expr: sum(up
`), false, model.UTF8Validation)
	all := ""
	for _, e := range errs {
		all += e.Error() + "\n"
	}
	for _, want := range []string{`3:13: group 1: source "traces"`, "11:15: group 2, rule 1: \"{app=\\\"x\\\"}\" is a log query", "13:15: group 2, rule 2: LogQL"} {
		if !strings.Contains(all, want) {
			t.Errorf("errors lack %q:\n%s", want, all)
		}
	}
}
