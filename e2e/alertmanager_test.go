package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// alertmanagerBinary finds Debian's Alertmanager, which .ci/run installs.
func alertmanagerBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ARGUS_TEST_ALERTMANAGER"); p != "" {
		return p
	}
	for _, name := range []string{"prometheus-alertmanager", "alertmanager"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no Alertmanager on PATH; .ci/run installs Debian's prometheus-alertmanager package")
	}
	t.Skip("no Alertmanager on PATH: apt-get install prometheus-alertmanager (or set ARGUS_TEST_ALERTMANAGER)")
	return ""
}

// webhookPayload is Alertmanager's webhook JSON, as much as the test reads.
type webhookPayload struct {
	Receiver string `json:"receiver"`
	Status   string `json:"status"`
	Alerts   []struct {
		Status       string            `json:"status"`
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		GeneratorURL string            `json:"generatorURL"`
	} `json:"alerts"`
	GroupLabels map[string]string `json:"groupLabels"`
}

// TestForwardToAlertmanager has Argus forward a firing alert to a real
// Alertmanager (Debian's), configured as in a prometheus.yml, and checks
// that Alertmanager routes it to its webhook receiver.
func TestForwardToAlertmanager(t *testing.T) {
	bin := alertmanagerBinary(t)
	var mu sync.Mutex
	var payloads []webhookPayload
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p webhookPayload
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("webhook body: %v: %s", err, body)
		}
		mu.Lock()
		payloads = append(payloads, p)
		mu.Unlock()
	}))
	defer hook.Close()

	dir := t.TempDir()
	amAddr := freeAddr(t)
	amConfig := filepath.Join(dir, "alertmanager.yml")
	os.WriteFile(amConfig, []byte(fmt.Sprintf(`route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %s/alerts
`, hook.URL)), 0o644)
	am := exec.Command(bin, "--config.file="+amConfig, "--storage.path="+filepath.Join(dir, "am-data"),
		"--web.listen-address="+amAddr, "--cluster.listen-address=")
	amLog := &lockedBuffer{}
	am.Stdout, am.Stderr = amLog, amLog
	if err := am.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		am.Process.Kill()
		am.Wait()
		if t.Failed() {
			t.Logf("alertmanager log:\n%s", amLog.String())
		}
	}()
	eventually(t, 30*time.Second, func() error {
		resp, err := http.Get("http://" + amAddr + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("alertmanager not ready: %d", resp.StatusCode)
		}
		return nil
	})

	cfg := alertingConfig(t, dir, `groups:
  - name: always
    interval: 1s
    rules:
      - alert: ArgusForwards
        expr: vector(1)
        labels: {severity: info}
        annotations: {summary: "forwarded by Argus"}
`, fmt.Sprintf(`alerting:
  alertmanagers:
    - static_configs:
        - targets: [%q]
`, amAddr))
	s := startArgus(t, t.TempDir(), "--config="+cfg)
	defer func() {
		if t.Failed() { // what each side saw
			for _, u := range []string{"http://" + amAddr + "/api/v2/alerts", s.url("/api/v1/alerts")} {
				if resp, err := http.Get(u); err == nil {
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					t.Logf("%s: %s", u, body)
				}
			}
			for _, m := range []string{"prometheus_notifications_sent_total", "prometheus_notifications_errors_total", "prometheus_notifications_dropped_total"} {
				t.Logf("%s: %v", m, s.ownMetric(m+`{alertmanager="http://`+amAddr+`/api/v2/alerts"}`))
			}
		}
	}()
	// The rules engine sends a firing alert at once and then every minute
	// (Prometheus's resend delay): wait for one resend at most.
	eventually(t, 75*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range payloads {
			for _, a := range p.Alerts {
				if a.Labels["alertname"] == "ArgusForwards" && a.Status == "firing" && a.Labels["severity"] == "info" &&
					a.Annotations["summary"] == "forwarded by Argus" && p.Receiver == "hook" {
					return nil
				}
			}
		}
		return fmt.Errorf("the webhook has not received the alert through Alertmanager: %+v", payloads)
	})
	if v := s.ownMetric(`prometheus_notifications_sent_total{alertmanager="http://` + amAddr + `/api/v2/alerts"}`); v < 1 {
		t.Errorf("prometheus_notifications_sent_total = %v", v)
	}
}

// lockedBuffer collects a process's output safely.
type lockedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
