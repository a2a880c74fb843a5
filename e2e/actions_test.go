package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type actionRun struct {
	Action     string         `json:"action"`
	AlertName  string         `json:"alertname"`
	Kind       string         `json:"kind"`
	Inputs     map[string]any `json:"inputs"`
	Result     string         `json:"result"`
	Status     int            `json:"status"`
	Output     string         `json:"output"`
	Error      string         `json:"error"`
	Attempts   int            `json:"attempts"`
	DurationMS int64          `json:"durationMs"`
}

// runs reads the actions audit log.
func (s *server) runs(query string) []actionRun {
	s.t.Helper()
	var r struct {
		Runs []actionRun `json:"runs"`
	}
	s.getJSON("/api/argus/v1/actions/runs?"+query, 200, &r)
	return r.Runs
}

// TestActions attaches automated responses to an alert and checks each
// policy: an HTTP call with a templated body runs once per firing and
// respects its cooldown on the next firing, another its hourly rate; a target that is down is
// retried and recorded as failed; a slow one times out; an allowed
// command runs without a shell; a dry run calls nothing; an action that
// waits for an acknowledgement runs only after it; the audit survives
// kill -9; a command off the allow-list is refused at load.
func TestActions(t *testing.T) {
	var mu sync.Mutex
	calls := map[string][]string{} // path → bodies
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls[r.URL.Path] = append(calls[r.URL.Path], string(body))
		mu.Unlock()
		switch r.URL.Path {
		case "/down":
			http.Error(w, "inventory is restarting", http.StatusServiceUnavailable)
		case "/slow":
			time.Sleep(2 * time.Second)
		default:
			fmt.Fprintln(w, "reset done")
		}
	}))
	defer target.Close()
	callCount := func(path string) int {
		mu.Lock()
		defer mu.Unlock()
		return len(calls[path])
	}

	dir := t.TempDir()
	cfg := alertingConfig(t, dir, queueRules, fmt.Sprintf(`actions:
  allowed_commands: [/bin/echo]
  definitions:
    - name: reset
      match: ['alertname="QueueTooDeep"', 'severity=~"page|critical"']
      http:
        method: POST
        url: %[1]s/admin/reset
        headers: {X-Alert: "{{ .AlertName }}"}
        body: '{"alert":"{{ .AlertName }}","instance":"{{ .Labels.instance }}","value":{{ .Value }}}'
      cooldown: 1h
      timeout: 2s
    - name: down
      match: ['alertname="QueueTooDeep"']
      http: {url: %[1]s/down}
      retries: 2
      timeout: 1s
    - name: slow
      match: ['alertname="QueueTooDeep"']
      http: {url: %[1]s/slow}
      timeout: 300ms
    - name: echo
      match: ['alertname="QueueTooDeep"']
      command: {path: /bin/echo, args: ["drain", "{{ .Labels.instance }}", "; rm -rf /"]}
    - name: rehearse
      match: ['alertname="QueueTooDeep"']
      http: {url: %[1]s/never}
      dry_run: true
    - name: after-ack
      match: ['alertname="QueueTooDeep"']
      http: {url: %[1]s/after-ack}
      require_ack: true
    - name: limited
      match: ['alertname="QueueTooDeep"']
      http: {url: %[1]s/limited}
      max_runs_per_hour: 1
    - name: other-alerts
      match: ['alertname="SomethingElse"']
      http: {url: %[1]s/never}
`, target.URL))
	data := t.TempDir()
	s := startArgus(t, data, "--config="+cfg)
	depth := func(v float64) { s.setQueueDepth(v, "q-7") }
	byAction := func(runs []actionRun) map[string][]actionRun {
		out := map[string][]actionRun{}
		for _, r := range runs {
			out[r.Action] = append(out[r.Action], r)
		}
		return out
	}

	depth(40)
	eventually(t, 30*time.Second, func() error {
		got := byAction(s.runs(""))
		for _, name := range []string{"reset", "down", "slow", "echo", "rehearse", "limited"} {
			if len(got[name]) != 1 {
				return fmt.Errorf("runs of %s: %+v", name, got[name])
			}
		}
		return nil
	})
	time.Sleep(3 * time.Second) // more evaluations of the same firing
	depth(40)
	got := byAction(s.runs(""))
	if callCount("/admin/reset") != 1 || len(got["reset"]) != 1 {
		t.Errorf("reset ran %d times (%d audited) for one firing, want once", callCount("/admin/reset"), len(got["reset"]))
	}
	reset := got["reset"][0]
	mu.Lock()
	body := calls["/admin/reset"][0]
	mu.Unlock()
	if reset.Result != "success" || reset.Status != 200 || reset.Kind != "http" || !strings.Contains(reset.Output, "reset done") ||
		body != `{"alert":"QueueTooDeep","instance":"q-7","value":40}` || reset.Inputs["body"] != body {
		t.Errorf("reset run %+v, body %s", reset, body)
	}
	if d := got["down"][0]; d.Result != "failure" || d.Status != 503 || d.Attempts != 3 || callCount("/down") != 3 {
		t.Errorf("down: %+v, %d calls; want a failure after 3 attempts", d, callCount("/down"))
	}
	if sl := got["slow"][0]; sl.Result != "timeout" || sl.DurationMS > 1500 {
		t.Errorf("slow: %+v; want a timeout after about 300ms", sl)
	}
	// The arguments reach the program as they are: no shell.
	if e := got["echo"][0]; e.Result != "success" || e.Kind != "command" || e.Output != "drain q-7 ; rm -rf /\n" {
		t.Errorf("echo: %+v", e)
	}
	if r := got["rehearse"][0]; r.Result != "dry_run" || callCount("/never") != 0 || r.Inputs["url"] != target.URL+"/never" {
		t.Errorf("dry run: %+v, %d calls", r, callCount("/never"))
	}
	if len(got["after-ack"]) != 0 || callCount("/after-ack") != 0 {
		t.Errorf("after-ack ran before an acknowledgement: %+v", got["after-ack"])
	}

	// An acknowledgement releases the action that waits for one.
	var fp string
	for _, e := range historyOf(t, s, "event=firing") {
		fp = e.Fingerprint
	}
	s.post("/api/argus/v1/alerts/"+fp+"/ack", "application/json", []byte(`{"by":"ana"}`), 200)
	eventually(t, 10*time.Second, func() error {
		if callCount("/after-ack") != 1 {
			return fmt.Errorf("after-ack not run after the acknowledgement")
		}
		return nil
	})

	// Resolved, then firing again: reset is in its cooldown (skipped and
	// audited), echo runs again.
	eventually(t, 30*time.Second, func() error {
		depth(1)
		if len(s.alerts()) != 0 {
			return fmt.Errorf("not resolved yet")
		}
		return nil
	})
	depth(60)
	eventually(t, 30*time.Second, func() error {
		got := byAction(s.runs(""))
		if len(got["echo"]) != 2 || len(got["reset"]) != 2 {
			return fmt.Errorf("second firing: echo %d runs, reset %d entries", len(got["echo"]), len(got["reset"]))
		}
		if r := got["reset"][1]; r.Result != "skipped" || !strings.Contains(r.Error, "cooldown") {
			return fmt.Errorf("reset on the second firing: %+v", r)
		}
		if len(got["limited"]) != 2 || got["limited"][1].Result != "skipped" || !strings.Contains(got["limited"][1].Error, "max_runs_per_hour 1") {
			return fmt.Errorf("limited on the second firing: %+v", got["limited"])
		}
		return nil
	})
	if callCount("/admin/reset") != 1 || callCount("/limited") != 1 {
		t.Errorf("reset called %d times, limited %d; want 1 each (cooldown, rate)", callCount("/admin/reset"), callCount("/limited"))
	}
	if skipped := s.runs("result=skipped&action=reset"); len(skipped) != 1 {
		t.Errorf("filtered audit: %+v", skipped)
	}

	// The audit survives a crash.
	before := s.runs("")
	s.kill()
	s = startArgus(t, data, "--config="+cfg)
	if after := s.runs(""); len(after) != len(before) {
		t.Errorf("audit after kill -9: %d runs, %d before", len(after), len(before))
	}

	// A command off the allow-list is refused at load.
	bad := filepath.Join(dir, "bad.yml")
	os.WriteFile(bad, []byte("actions:\n  allowed_commands: [/bin/echo]\n  definitions:\n    - name: wipe\n      match: ['alertname=\"X\"']\n      command: {path: /bin/rm, args: [-rf, /tmp/x]}\n"), 0o644)
	out, err := exec.Command(argusBin, "check", "config", bad).CombinedOutput()
	if err == nil || !strings.Contains(string(out), `command "/bin/rm" is not in actions.allowed_commands`) {
		t.Errorf("check config with a command off the allow-list: %v\n%s", err, out)
	}
}

// historyOf reads the alert history.
func historyOf(t *testing.T, s *server, query string) []historyEvent {
	t.Helper()
	var r struct {
		Events []historyEvent `json:"events"`
	}
	s.getJSON("/api/argus/v1/alerts/history?"+query, 200, &r)
	return r.Events
}
