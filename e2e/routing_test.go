package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"
)

// smtpSink is a mail server that accepts every message (plain SMTP, no
// TLS, no authentication) and keeps it: the receiving end of Argus's
// email notifications.
type smtpSink struct {
	addr  string
	mu    sync.Mutex
	mails []string
}

func newSMTPSink(t *testing.T) *smtpSink {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	s := &smtpSink{addr: l.Addr().String()}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpSink) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	say := func(line string) { io.WriteString(c, line+"\r\n") }
	say("220 sink ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		switch verb {
		case "EHLO", "HELO":
			say("250-sink")
			say("250 8BITMIME")
		case "DATA":
			say("354 end with <CRLF>.<CRLF>")
			var mail strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if strings.TrimRight(l, "\r\n") == "." {
					break
				}
				mail.WriteString(l)
			}
			s.mu.Lock()
			s.mails = append(s.mails, mail.String())
			s.mu.Unlock()
			say("250 queued")
		case "QUIT":
			say("221 bye")
			return
		default: // MAIL, RCPT, RSET, NOOP
			say("250 ok")
		}
	}
}

func (s *smtpSink) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.mails...)
}

// TestNotificationRouting routes alerts by their labels to a Slack
// incoming webhook and to email (both for pages, one route continuing to
// the next), and everything else to a webhook; an inhibition rule mutes
// the queue alert while the database it depends on is down.
func TestNotificationRouting(t *testing.T) {
	hook := newWebhookSink(t)
	var slackMu sync.Mutex
	var slack []map[string]any
	slackSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		slackMu.Lock()
		slack = append(slack, m)
		slackMu.Unlock()
		io.WriteString(w, "ok")
	}))
	defer slackSrv.Close()
	mail := newSMTPSink(t)

	dir := t.TempDir()
	cfg := alertingConfig(t, dir, queueRules+`      - alert: DatabaseDown
        expr: db_up == 0
        labels: {severity: ticket}
      - alert: DiskAlmostFull
        expr: vector(1)
        labels: {severity: ticket, job: orders}
`, fmt.Sprintf(`notifications:
  route:
    receiver: tickets
    group_by: [alertname]
    group_wait: 1s
    group_interval: 1s
    repeat_interval: 1h
    routes:
      - matchers: ['severity="page"']
        receiver: chat
        continue: true
      - matchers: ['severity="page"']
        receiver: mail
  inhibit_rules:
    - source_matchers: ['alertname="DatabaseDown"']
      target_matchers: ['alertname="QueueTooDeep"']
      equal: [job]
  receivers:
    - name: tickets
      webhook_configs: [{url: %q}]
    - name: chat
      slack_configs: [{api_url: %q, channel: "#orders-oncall"}]
    - name: mail
      email_configs:
        - to: oncall@shop.example
          from: argus@shop.example
          smarthost: %q
          require_tls: false
`, hook.srv.URL+"/tickets", slackSrv.URL+"/hooks/T000/B000/XXX", mail.addr))
	s := startArgus(t, t.TempDir(), "--config="+cfg)
	s.setQueueDepth(50, "q-1")

	eventually(t, 30*time.Second, func() error {
		slackMu.Lock()
		defer slackMu.Unlock()
		for _, m := range slack {
			body, _ := json.Marshal(m)
			if m["channel"] == "#orders-oncall" && strings.Contains(string(body), "QueueTooDeep") {
				return nil
			}
		}
		return fmt.Errorf("no Slack message for the page: %+v", slack)
	})
	eventually(t, 30*time.Second, func() error {
		for _, m := range mail.received() {
			if strings.Contains(m, "To: oncall@shop.example") && strings.Contains(m, "QueueTooDeep") {
				return nil
			}
		}
		return fmt.Errorf("no email for the page: %d mails", len(mail.received()))
	})
	eventually(t, 30*time.Second, func() error {
		for _, p := range hook.since(0) {
			if p.Receiver == "tickets" && len(p.Alerts) > 0 && p.Alerts[0].Labels["alertname"] == "DiskAlmostFull" {
				return nil
			}
		}
		return fmt.Errorf("no ticket for DiskAlmostFull: %+v", hook.since(0))
	})
	for _, p := range hook.since(0) {
		for _, a := range p.Alerts {
			if a.Labels["alertname"] == "QueueTooDeep" {
				t.Errorf("the page also reached the default receiver: %+v", p)
			}
		}
	}

	// The database goes down: its alert inhibits the queue's.
	if code, body := remoteWrite(t, s, prompb.TimeSeries{
		Labels:  []prompb.Label{{Name: "__name__", Value: "db_up"}, {Name: "job", Value: "orders"}},
		Samples: []prompb.Sample{{Timestamp: time.Now().UnixMilli(), Value: 0}},
	}); code/100 != 2 {
		t.Fatalf("remote write: %d %s", code, body)
	}
	eventually(t, 30*time.Second, func() error {
		var alerts []struct {
			Labels map[string]string `json:"labels"`
			Status struct {
				State       string   `json:"state"`
				InhibitedBy []string `json:"inhibitedBy"`
			} `json:"status"`
		}
		s.getJSON("/alertmanager/api/v2/alerts", 200, &alerts)
		for _, a := range alerts {
			if a.Labels["alertname"] == "QueueTooDeep" && a.Status.State == "suppressed" && len(a.Status.InhibitedBy) == 1 {
				return nil
			}
		}
		return fmt.Errorf("QueueTooDeep not inhibited: %+v", alerts)
	})
}
