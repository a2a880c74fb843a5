package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// logRules has a group of rules over logs (LogQL, as Loki's ruler takes
// them), marked `source: logs` and written with `source` first and with a
// block scalar, beside a PromQL group.
const logRules = `groups:
  - source: logs
    name: inventory-logs
    interval: 1s
    rules:
      - alert: InventoryOutOfStock
        expr: |
          sum by (service_name) (count_over_time({service_name="inventory"} |= "out of stock" [5m])) > 2
        labels: {severity: ticket}
        annotations: {summary: "{{ $value }} out-of-stock lines"}
      - record: service:log_lines:count5m
        expr: sum by (service_name) (count_over_time({service_name=~".+"}[5m]))
  - name: metrics
    interval: 1s
    rules:
      - record: argus:one
        expr: vector(1)
`

// TestLogRules evaluates rules over logs: LogQL metric queries in a
// `source: logs` group fire alerts and record series like PromQL rules.
func TestLogRules(t *testing.T) {
	dir := t.TempDir()
	cfg := alertingConfig(t, dir, logRules, "")
	s := startArgus(t, t.TempDir(), "--config="+cfg)
	if got := strings.Join(s.ruleNames(), ","); got != "inventory-logs/alerting/InventoryOutOfStock,inventory-logs/recording/service:log_lines:count5m,metrics/recording/argus:one" {
		t.Fatalf("rules = %s", got)
	}
	var lines strings.Builder
	now := time.Now()
	for i := range 4 {
		fmt.Fprintf(&lines, `{"time":%q,"service":"inventory","level":"warn","msg":"order %d: out of stock"}`+"\n", now.Add(-time.Duration(i)*time.Second).Format(time.RFC3339Nano), i)
	}
	fmt.Fprintf(&lines, `{"time":%q,"service":"frontend","level":"info","msg":"GET /"}`+"\n", now.Format(time.RFC3339Nano))
	s.post("/api/argus/v1/logs", "application/x-ndjson", []byte(lines.String()), http.StatusOK)

	eventually(t, 20*time.Second, func() error {
		for _, a := range s.alerts() {
			if a.Labels["alertname"] == "InventoryOutOfStock" && a.State == "firing" && a.Labels["service_name"] == "inventory" &&
				a.Annotations["summary"] == "4 out-of-stock lines" {
				return nil
			}
		}
		return fmt.Errorf("no firing InventoryOutOfStock: %+v", s.alerts())
	})
	s.wantValue(`service:log_lines:count5m{service_name="inventory"}`, 4)
	s.wantValue(`service:log_lines:count5m{service_name="frontend"}`, 1)
	s.wantValue(`argus:one`, 1)

	// A log query where a metric query belongs, and LogQL that does not
	// parse, are refused with their lines.
	bad := filepath.Join(dir, "bad.yml")
	os.WriteFile(bad, []byte("groups:\n  - name: x\n    source: logs\n    rules:\n      - alert: A\n        expr: '{service_name=\"x\"} |= \"e\"'\n      - alert: B\n        expr: 'rate({service_name=\"x\"}[5m'\n"), 0o644)
	out, err := exec.Command(argusBin, "check", "rules", bad).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "6:15") || !strings.Contains(string(out), "is a log query") || !strings.Contains(string(out), "8:15") {
		t.Errorf("check rules with bad LogQL: %v\n%s", err, out)
	}
}
