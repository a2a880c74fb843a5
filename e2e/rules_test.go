package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"
)

const rulesFile = `groups:
  - name: shop
    interval: 1s
    rules:
      - record: job:queue_depth:max
        expr: max by (job) (queue_depth)
      - alert: QueueTooDeep
        expr: queue_depth > 10
        for: 3s
        labels:
          severity: page
        annotations:
          summary: "queue {{ $labels.instance }} is {{ $value }} deep"
          broken: "{{ .Nope.Missing }}"
      - alert: QueueDeepForAnHour
        expr: queue_depth > 10
        for: 1h
`

// badRulesFile has two errors, on lines 4 and 6.
const badRulesFile = `groups:
  - name: shop
    rules:
      - alert: Broken
        expr: rate(queue_depth[5m]
      - record: "not a metric name{"
        expr: up
`

// setQueueDepth remote-writes queue_depth{job="orders"} = v, now, for
// each instance: the metric the alerting tests' rules watch.
func (s *server) setQueueDepth(v float64, instances ...string) {
	s.t.Helper()
	// Two writes within a millisecond must not share a timestamp: the
	// TSDB refuses a second value for one.
	ts := max(time.Now().UnixMilli(), s.lastSampleMS+1)
	s.lastSampleMS = ts
	var series []prompb.TimeSeries
	for _, inst := range instances {
		series = append(series, prompb.TimeSeries{
			Labels:  []prompb.Label{{Name: "__name__", Value: "queue_depth"}, {Name: "job", Value: "orders"}, {Name: "instance", Value: inst}},
			Samples: []prompb.Sample{{Timestamp: ts, Value: v}},
		})
	}
	if code, body := remoteWrite(s.t, s, series...); code/100 != 2 {
		s.t.Fatalf("remote write: %d %s", code, body)
	}
}

// alertingConfig writes rules as rules.yml into dir, and an argus.yml
// that evaluates them every second, followed by extra (more config
// sections); it returns the config's path.
func alertingConfig(t *testing.T, dir, rules, extra string) string {
	t.Helper()
	cfg := filepath.Join(dir, "argus.yml")
	for path, text := range map[string]string{
		filepath.Join(dir, "rules.yml"): rules,
		cfg:                             "global:\n  evaluation_interval: 1s\nrule_files: [rules.yml]\n" + extra,
	} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

// queueRules is a rule file with one alert, queue_depth over 10,
// evaluated every second.
const queueRules = `groups:
  - name: queues
    interval: 1s
    rules:
      - alert: QueueTooDeep
        expr: queue_depth > 10
        labels: {severity: page}
        annotations: {summary: "{{ $labels.instance }} is {{ $value }} deep"}
`

type promAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
	ActiveAt    time.Time         `json:"activeAt"`
}

// alerts returns the active alerts from /api/v1/alerts.
func (s *server) alerts() []promAlert {
	s.t.Helper()
	var r promResponse[struct {
		Alerts []promAlert `json:"alerts"`
	}]
	s.getJSON("/api/v1/alerts", 200, &r)
	return r.Data.Alerts
}

// ruleNames lists the rules of /api/v1/rules by group.
func (s *server) ruleNames() []string {
	s.t.Helper()
	var r promResponse[struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Name   string `json:"name"`
				Type   string `json:"type"`
				Health string `json:"health"`
			} `json:"rules"`
		} `json:"groups"`
	}]
	s.getJSON("/api/v1/rules", 200, &r)
	var out []string
	for _, g := range r.Data.Groups {
		for _, rule := range g.Rules {
			out = append(out, g.Name+"/"+rule.Type+"/"+rule.Name)
		}
	}
	return out
}

// TestAlertRules loads a Prometheus rule file, feeds the metric its rules
// read by remote write, and follows an alert through pending, firing (not
// before its `for`) and resolved, with the recording rule's series, the
// Prometheus API's rules and alerts, a template error shown in the alert,
// and a bad rule file refused on reload while the old rules keep running.
func TestAlertRules(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "shop.rules.yml")
	if err := os.WriteFile(rules, []byte(rulesFile), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "argus.yml")
	if err := os.WriteFile(cfg, []byte("global:\n  evaluation_interval: 1s\nrule_files: [\"*.rules.yml\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	s := startArgus(t, data, "--config="+cfg)
	if got := strings.Join(s.ruleNames(), ","); got != "shop/recording/job:queue_depth:max,shop/alerting/QueueTooDeep,shop/alerting/QueueDeepForAnHour" {
		t.Fatalf("rules = %s", got)
	}

	depth := func(v float64) { s.setQueueDepth(v, "q-1") }
	depth(25)
	var pendingSince time.Time
	eventually(t, 20*time.Second, func() error {
		for _, a := range s.alerts() {
			if a.Labels["alertname"] == "QueueTooDeep" && a.State == "pending" {
				pendingSince = time.Now()
				return nil
			}
		}
		return fmt.Errorf("no pending alert: %+v", s.alerts())
	})
	var firing promAlert
	eventually(t, 20*time.Second, func() error {
		depth(25)
		for _, a := range s.alerts() {
			if a.State == "firing" {
				firing = a
				return nil
			}
		}
		return fmt.Errorf("not firing yet: %+v", s.alerts())
	})
	// `for: 3s` is honoured: firing comes at least 3 s after the alert
	// became active (evaluations are a second apart).
	if since := time.Since(firing.ActiveAt); since < 3*time.Second || time.Since(pendingSince) > since {
		t.Errorf("fired %v after becoming active, want at least 3s", since)
	}
	if firing.Labels["severity"] != "page" || firing.Labels["instance"] != "q-1" || firing.Annotations["summary"] != "queue q-1 is 25 deep" {
		t.Errorf("firing alert: %+v", firing)
	}
	if !strings.Contains(firing.Annotations["broken"], "error expanding template") {
		t.Errorf("a template error should show in the annotation: %q", firing.Annotations["broken"])
	}
	s.wantValue(`job:queue_depth:max{job="orders"}`, 25)
	s.wantValue(`ALERTS{alertname="QueueTooDeep",alertstate="firing"}`, 1)

	// A bad rule file is refused on reload, every error with its line,
	// and the rules in force keep running.
	if err := os.WriteFile(filepath.Join(dir, "bad.rules.yml"), []byte(badRulesFile), 0o644); err != nil {
		t.Fatal(err)
	}
	body := string(s.post("/-/reload", "text/plain", nil, 400))
	for _, want := range []string{"bad.rules.yml", "5:15", "6:"} {
		if !strings.Contains(body, want) {
			t.Errorf("reload error %q lacks %q", body, want)
		}
	}
	if n := len(s.ruleNames()); n != 3 {
		t.Errorf("after a failed reload: %d rules, want the 3 loaded before", n)
	}
	os.Remove(filepath.Join(dir, "bad.rules.yml"))

	// The queue drains: the alert resolves.
	depth(3)
	eventually(t, 20*time.Second, func() error {
		depth(3)
		if a := s.alerts(); len(a) != 0 {
			return fmt.Errorf("still active: %+v", a)
		}
		return nil
	})
	s.wantValue(`job:queue_depth:max{job="orders"}`, 3)

	// The history holds every transition, in order; an acknowledgement
	// joins it; all of it survives a crash.
	history := func(query string) []historyEvent {
		t.Helper()
		var r struct {
			Events []historyEvent `json:"events"`
		}
		s.getJSON("/api/argus/v1/alerts/history?"+query, 200, &r)
		return r.Events
	}
	var fp string
	eventually(t, 10*time.Second, func() error {
		var got []string
		for _, e := range history("alertname=QueueTooDeep") {
			got = append(got, e.Event)
			fp = e.Fingerprint
		}
		if strings.Join(got, ",") != "pending,firing,resolved" {
			return fmt.Errorf("QueueTooDeep history: %v", got)
		}
		return nil
	})
	long := history("alertname=QueueDeepForAnHour")
	if len(long) != 2 || long[0].Event != "pending" || long[1].Event != "inactive" || long[1].Labels["instance"] != "q-1" {
		t.Errorf("QueueDeepForAnHour history: %+v", long)
	}
	firingEvents := history("event=firing")
	if len(firingEvents) != 1 || firingEvents[0].Labels["severity"] != "page" || firingEvents[0].Value == nil || *firingEvents[0].Value != 25 ||
		firingEvents[0].Annotations["summary"] != "queue q-1 is 25 deep" {
		t.Errorf("firing event: %+v", firingEvents)
	}
	s.post("/api/argus/v1/alerts/"+fp+"/ack", "application/json", []byte(`{"by":"ana","comment":"draining the queue"}`), 200)
	s.post("/api/argus/v1/alerts/0000000000000000/ack", "application/json", []byte(`{"by":"ana"}`), 404)
	s.post("/api/argus/v1/alerts/"+fp+"/ack", "application/json", []byte(`{"comment":"who?"}`), 400)
	s.getJSON("/api/argus/v1/alerts/history?event=exploded", 400, nil)
	before := history("")
	s.kill()
	s = startArgus(t, data, "--config="+cfg)
	time.Sleep(3 * time.Second) // a few evaluations: none may add a spurious transition
	after := history("")
	if len(after) != len(before) || len(after) != 6 || after[5].Event != "acknowledged" || after[5].By != "ana" || after[5].Comment != "draining the queue" {
		t.Errorf("history after kill -9 and restart (%d events, %d before): %+v", len(after), len(before), after)
	}
}

type historyEvent struct {
	Time        time.Time         `json:"time"`
	Event       string            `json:"event"`
	AlertName   string            `json:"alertname"`
	Fingerprint string            `json:"fingerprint"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	Value       *float64          `json:"value"`
	By          string            `json:"by"`
	Comment     string            `json:"comment"`
}

// TestCheckRules runs "argus check rules" as promtool check rules is run.
func TestCheckRules(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.yml"), filepath.Join(dir, "bad.yml")
	os.WriteFile(good, []byte(rulesFile), 0o644)
	os.WriteFile(bad, []byte(badRulesFile), 0o644)
	out, err := exec.Command(argusBin, "check", "rules", good).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SUCCESS: 3 rules found in 1 groups") {
		t.Errorf("check good rules: %v\n%s", err, out)
	}
	out, err = exec.Command(argusBin, "check", "rules", good, bad).CombinedOutput()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
		t.Errorf("check bad rules: exit %v, want 1", err)
	}
	for _, want := range []string{"FAILED", "bad.yml", "5:15", `"Broken"`, "not a metric name"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("check bad rules: output lacks %q:\n%s", want, out)
		}
	}
}
