package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// webhookSink is a webhook receiver that keeps every payload.
type webhookSink struct {
	srv      *httptest.Server
	mu       sync.Mutex
	payloads []webhookPayload
}

func newWebhookSink(t *testing.T) *webhookSink {
	w := &webhookSink{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p webhookPayload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("webhook body: %v: %s", err, body)
		}
		w.mu.Lock()
		w.payloads = append(w.payloads, p)
		w.mu.Unlock()
	}))
	t.Cleanup(w.srv.Close)
	return w
}

// since returns the payloads received after the first n.
func (w *webhookSink) since(n int) []webhookPayload {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.payloads[min(n, len(w.payloads)):])
}

func (w *webhookSink) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.payloads)
}

// instances lists the instance labels of a payload's alerts, sorted.
func instances(p webhookPayload) string {
	var out []string
	for _, a := range p.Alerts {
		out = append(out, a.Labels["instance"]+":"+a.Status)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

// TestNotifications delivers alerts with Argus's own notification
// pipeline to a webhook receiver in Alertmanager's webhook format:
// grouped by alertname, repeated after repeat_interval, a silence made
// through the Alertmanager API mutes one alert until it expires, and the
// resolution is sent.
func TestNotifications(t *testing.T) {
	hook := newWebhookSink(t)
	dir := t.TempDir()
	cfg := alertingConfig(t, dir, queueRules, fmt.Sprintf(`notifications:
  route:
    receiver: hook
    group_by: [alertname]
    group_wait: 1s
    group_interval: 1s
    repeat_interval: 4s
  receivers:
    - name: hook
      webhook_configs:
        - url: %s/alerts
          send_resolved: true
`, hook.srv.URL))
	s := startArgus(t, t.TempDir(), "--config="+cfg)
	depth := func(v float64) { s.setQueueDepth(v, "a", "b") }
	depth(50)

	// One notification for the group, with both alerts.
	var first webhookPayload
	eventually(t, 30*time.Second, func() error {
		for _, p := range hook.since(0) {
			if instances(p) == "a:firing,b:firing" {
				first = p
				return nil
			}
		}
		return fmt.Errorf("no grouped notification yet: %+v", hook.since(0))
	})
	if first.Receiver != "hook" || first.Status != "firing" || first.GroupLabels["alertname"] != "QueueTooDeep" ||
		first.Alerts[0].Annotations["summary"] != "a is 50 deep" || !strings.Contains(first.Alerts[0].GeneratorURL, "/graph?g0.expr=") {
		t.Errorf("first notification: %+v", first)
	}

	// Nothing changes: it is sent again after repeat_interval, not before.
	n := hook.count()
	time.Sleep(2 * time.Second)
	if got := hook.since(n); len(got) != 0 {
		t.Errorf("repeated before repeat_interval: %+v", got)
	}
	eventually(t, 15*time.Second, func() error {
		if len(hook.since(n)) == 0 {
			return fmt.Errorf("not repeated after repeat_interval")
		}
		return nil
	})

	// A silence on instance b, made through the Alertmanager API, mutes it.
	silence := fmt.Sprintf(`{"matchers":[{"name":"instance","value":"b","isRegex":false,"isEqual":true}],
		"startsAt":%q,"endsAt":%q,"createdBy":"ana","comment":"b is being drained"}`,
		time.Now().Add(-time.Second).UTC().Format(time.RFC3339), time.Now().Add(8*time.Second).UTC().Format(time.RFC3339))
	s.post("/alertmanager/api/v2/silences", "application/json", []byte(silence), 200)
	n = hook.count()
	eventually(t, 20*time.Second, func() error {
		for _, p := range hook.since(n) {
			if instances(p) == "a:firing" {
				return nil
			}
		}
		return fmt.Errorf("no notification without the silenced alert: %+v", hook.since(n))
	})
	// When the silence expires, b is notified again.
	n = hook.count()
	eventually(t, 30*time.Second, func() error {
		for _, p := range hook.since(n) {
			if instances(p) == "a:firing,b:firing" {
				return nil
			}
		}
		return fmt.Errorf("b not back after its silence expired: %+v", hook.since(n))
	})

	// Acknowledging b stops its repeats; a keeps repeating.
	var fpB string
	for _, e := range historyOf(t, s, "event=firing") {
		if e.Labels["instance"] == "b" {
			fpB = e.Fingerprint
		}
	}
	s.post("/api/argus/v1/alerts/"+fpB+"/ack", "application/json", []byte(`{"by":"ana","comment":"on it"}`), 200)
	n = hook.count()
	eventually(t, 20*time.Second, func() error {
		for _, p := range hook.since(n) {
			if instances(p) == "a:firing" {
				return nil
			}
		}
		return fmt.Errorf("no notification without the acknowledged alert: %+v", hook.since(n))
	})
	n = hook.count()
	time.Sleep(6 * time.Second) // past repeat_interval
	for _, p := range hook.since(n) {
		if strings.Contains(instances(p), "b:firing") {
			t.Errorf("the acknowledged alert repeated: %+v", p)
		}
	}

	// The queues drain: the resolution is sent.
	n = hook.count()
	eventually(t, 30*time.Second, func() error {
		depth(1)
		for _, p := range hook.since(n) {
			if p.Status == "resolved" && instances(p) == "a:resolved,b:resolved" {
				return nil
			}
		}
		return fmt.Errorf("no resolved notification: %+v", hook.since(n))
	})
}

// amtool runs Alertmanager's command-line client against Argus and
// returns what it printed.
func amtool(t *testing.T, s *server, args ...string) string {
	t.Helper()
	cmd := exec.Command("amtool", append([]string{"--alertmanager.url=" + s.url("/alertmanager")}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("amtool %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// silenceStates asks amtool for every silence, expired ones too, and
// returns their states by ID.
func silenceStates(t *testing.T, s *server) map[string]string {
	t.Helper()
	var list []struct {
		ID     string `json:"id"`
		Status struct {
			State string `json:"state"`
		} `json:"status"`
	}
	out := amtool(t, s, "silence", "query", "--expired", "-o", "json")
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("amtool silence query: %v: %s", err, out)
	}
	active := amtool(t, s, "silence", "query", "-o", "json")
	var activeList []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(active), &activeList); err != nil {
		t.Fatalf("amtool silence query: %v: %s", err, active)
	}
	states := map[string]string{}
	for _, sil := range list {
		states[sil.ID] = sil.Status.State
	}
	for _, sil := range activeList {
		states[sil.ID] = "active"
	}
	return states
}

// TestSilencesSurviveRestartAndCrash makes and expires silences with
// amtool and checks that each change is still there after a restart and
// after SIGKILL: every change is journaled before amtool is answered.
func TestSilencesSurviveRestartAndCrash(t *testing.T) {
	if _, err := exec.LookPath("amtool"); err != nil {
		t.Fatal("amtool (Debian's prometheus-alertmanager package) is needed: ", err)
	}
	dir := t.TempDir()
	s := startArgus(t, dir)
	drain := amtool(t, s, "silence", "add", "instance=b", "--author=ana", "--comment=b is being drained", "--duration=2h")

	s.stop()
	s = startArgus(t, dir)
	if got := silenceStates(t, s); got[drain] != "active" || len(got) != 1 {
		t.Fatalf("after a restart: silences %v, want %s active", got, drain)
	}

	deploy := amtool(t, s, "silence", "add", "job=shop", "alertname=~High.*", "--author=bo", "--comment=deploy", "--duration=30m")
	amtool(t, s, "silence", "expire", drain)
	s.kill()
	s = startArgus(t, dir)
	got := silenceStates(t, s)
	if got[deploy] != "active" || got[drain] != "expired" || len(got) != 2 {
		t.Fatalf("after SIGKILL: silences %v, want %s active and %s expired", got, deploy, drain)
	}
	out := amtool(t, s, "silence", "query", "-o", "extended", "job=shop")
	if !strings.Contains(out, `alertname=~"High.*"`) || !strings.Contains(out, "deploy") || !strings.Contains(out, "bo") {
		t.Errorf("the silence made before SIGKILL lost its matchers, author or comment:\n%s", out)
	}
}
