package syslog

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/argus-obs/argus/internal/model"
)

// TestLogger sends with util-linux logger(1), the client behind most
// shell scripts, over TCP and UDP in both RFC formats. logger ships with
// Debian's bsdutils, so in CI its absence is a failure, not a skip.
func TestLogger(t *testing.T) {
	path, err := exec.LookPath("logger")
	if err == nil {
		out, verr := exec.Command(path, "--version").CombinedOutput()
		if verr != nil || !strings.Contains(string(out), "util-linux") {
			err = &exec.Error{Name: path, Err: exec.ErrNotFound}
		}
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("util-linux logger is required in CI: %v", err)
		}
		t.Skipf("util-linux logger not available: %v", err)
	}

	ts := startServer(t, Options{})
	port := func(addr string) string {
		_, p, _ := net.SplitHostPort(addr)
		return p
	}
	cases := []struct {
		name     string
		args     []string
		severity model.Severity
		facility string
		check    func(t *testing.T, r model.LogRecord)
	}{
		{
			name: "tcp rfc5424",
			args: []string{"--tcp", "-P", port(ts.tcp), "--rfc5424", "-p", "local3.err", "-i",
				"--msgid", "M1", "--sd-id", "x@1", "--sd-param", `request_id="r1"`},
			severity: model.SeverityError, facility: "local3",
			check: func(t *testing.T, r model.LogRecord) {
				if got := attr(r.Attributes, "syslog.msgid"); got != "M1" {
					t.Errorf("msgid %q", got)
				}
				if got := attr(r.Attributes, "x@1.request_id"); got != "r1" || r.CorrelationID != "r1" {
					t.Errorf("request_id %q, correlation ID %q", got, r.CorrelationID)
				}
				if got := attr(r.Attributes, "timeQuality.tzKnown"); got != "1" {
					t.Errorf("timeQuality.tzKnown %q", got)
				}
			},
		},
		{
			name:     "tcp rfc3164",
			args:     []string{"--tcp", "-P", port(ts.tcp), "--rfc3164", "-p", "user.warning", "-i"},
			severity: model.SeverityWarn, facility: "user",
		},
		{
			name:     "tcp octet-count rfc5424",
			args:     []string{"--tcp", "-P", port(ts.tcp), "--octet-count", "--rfc5424", "-p", "mail.info", "-i"},
			severity: model.SeverityInfo, facility: "mail",
		},
		{
			name:     "udp rfc5424",
			args:     []string{"--udp", "-P", port(ts.udp), "--rfc5424", "-p", "daemon.debug", "-i"},
			severity: model.SeverityDebug, facility: "daemon",
		},
		{
			name:     "udp rfc3164",
			args:     []string{"--udp", "-P", port(ts.udp), "--rfc3164", "-p", "auth.crit", "-i"},
			severity: model.SeverityFatal, facility: "auth",
		},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := "hello from logger, " + c.name
			before := time.Now().Add(-2 * time.Second)
			args := append([]string{"-n", "127.0.0.1", "-t", "argus-logger"}, c.args...)
			if out, err := exec.Command(path, append(args, body)...).CombinedOutput(); err != nil {
				t.Fatalf("logger %q: %v\n%s", args, err, out)
			}
			recs := waitRecords(t, ts.w, i+1)
			after := time.Now().Add(2 * time.Second)
			r, ok := byBody(recs, body)
			if !ok {
				t.Fatalf("no record %q in %q", body, bodies(recs))
			}
			if r.Resource.ServiceName != "argus-logger" {
				t.Errorf("service %q", r.Resource.ServiceName)
			}
			if r.Severity != c.severity {
				t.Errorf("severity %d %q, want %d", r.Severity, r.SeverityText, c.severity)
			}
			if got := attr(r.Resource.Attributes, "syslog.facility"); got != c.facility {
				t.Errorf("facility %q, want %q", got, c.facility)
			}
			if attr(r.Resource.Attributes, "host.name") == "" {
				t.Errorf("no host.name in %v", r.Resource.Attributes)
			}
			if attr(r.Attributes, "syslog.procid") == "" {
				t.Errorf("no syslog.procid in %v", r.Attributes)
			}
			if tm := time.Unix(0, r.TimeUnixNano); tm.Before(before) || tm.After(after) {
				t.Errorf("time %v not within [%v, %v]", tm, before, after)
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}
