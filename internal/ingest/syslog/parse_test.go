package syslog

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/argus-obs/argus/internal/model"
)

// testNow is the reference time of the parser tests: the year-less RFC
// 3164 timestamps below resolve relative to it.
var testNow = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

// want is what a parse test expects of a record, in the terms of the
// package documentation's mapping table.
type want struct {
	time     time.Time // zero: the time of arrival
	severity model.Severity
	sevText  string
	service  string // empty: "syslog"
	host     string
	facility string
	attrs    []model.Attribute
	body     string
	traceID  string
	spanID   string
	corrID   string
}

func (w want) record(now time.Time) model.LogRecord {
	rec := model.LogRecord{
		TimeUnixNano:     now.UnixNano(),
		ObservedUnixNano: now.UnixNano(),
		Severity:         w.severity,
		SeverityText:     w.sevText,
		Body:             w.body,
		Attributes:       w.attrs,
		CorrelationID:    w.corrID,
		Resource:         model.Resource{ServiceName: w.service},
	}
	if !w.time.IsZero() {
		rec.TimeUnixNano = w.time.UnixNano()
	}
	if rec.Resource.ServiceName == "" {
		rec.Resource.ServiceName = "syslog"
	}
	if w.host != "" {
		rec.Resource.Attributes = append(rec.Resource.Attributes, model.String("host.name", w.host))
	}
	if w.facility != "" {
		rec.Resource.Attributes = append(rec.Resource.Attributes, model.String("syslog.facility", w.facility))
	}
	if w.traceID != "" {
		rec.TraceID, _ = model.ParseTraceID(w.traceID)
	}
	if w.spanID != "" {
		rec.SpanID, _ = model.ParseSpanID(w.spanID)
	}
	return rec
}

func attrs(kv ...string) []model.Attribute {
	var a []model.Attribute
	for i := 0; i+1 < len(kv); i += 2 {
		a = append(a, model.String(kv[i], kv[i+1]))
	}
	return a
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

type parseCase struct {
	name string
	in   string
	now  time.Time // zero: testNow
	want want
}

func runParseCases(t *testing.T, cases []parseCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := tc.now
			if now.IsZero() {
				now = testNow
			}
			got, err := Parse([]byte(tc.in), now)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if want := tc.want.record(now); !reflect.DeepEqual(got, want) {
				t.Errorf("Parse(%q)\n got %s\nwant %s", tc.in, dump(got), dump(want))
			}
		})
	}
}

func dump(r model.LogRecord) string {
	var b strings.Builder
	fmt.Fprintf(&b, "time=%s observed=%s sev=%d/%q service=%q res=%v body=%q attrs=%v",
		time.Unix(0, r.TimeUnixNano).UTC().Format(time.RFC3339Nano),
		time.Unix(0, r.ObservedUnixNano).UTC().Format(time.RFC3339Nano),
		r.Severity, r.SeverityText, r.Resource.ServiceName, r.Resource.Attributes, r.Body, r.Attributes)
	if !r.TraceID.IsZero() || !r.SpanID.IsZero() {
		fmt.Fprintf(&b, " trace=%s span=%s", r.TraceID, r.SpanID)
	}
	if r.CorrelationID != "" {
		fmt.Fprintf(&b, " correlation=%q", r.CorrelationID)
	}
	return b.String()
}

func TestParseRFC5424(t *testing.T) {
	runParseCases(t, []parseCase{
		{
			name: "rfc example 1: no SD, BOM",
			in:   "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xEF\xBB\xBF'su root' failed for lonvick on /dev/pts/8",
			want: want{
				time: utc("2003-10-11T22:14:15.003Z"), severity: 21, sevText: "crit",
				service: "su", host: "mymachine.example.com", facility: "auth",
				attrs: attrs("syslog.msgid", "ID47"),
				body:  "'su root' failed for lonvick on /dev/pts/8",
			},
		},
		{
			name: "rfc example 2: offset and microseconds",
			in:   "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
			want: want{
				time: utc("2003-08-24T12:14:15.000003Z"), severity: 10, sevText: "notice",
				service: "myproc", host: "192.0.2.1", facility: "local4",
				attrs: attrs("syslog.procid", "8710"),
				body:  "%% It's time to make the do-nuts.",
			},
		},
		{
			name: "rfc example 3: structured data and BOM",
			in:   `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] ` + "\xEF\xBB\xBFAn application event log entry...",
			want: want{
				time: utc("2003-10-11T22:14:15.003Z"), severity: 10, sevText: "notice",
				service: "evntslog", host: "mymachine.example.com", facility: "local4",
				attrs: attrs("syslog.msgid", "ID47",
					"exampleSDID@32473.iut", "3", "exampleSDID@32473.eventSource", "Application", "exampleSDID@32473.eventID", "1011"),
				body: "An application event log entry...",
			},
		},
		{
			name: "rfc example 4: two SD elements, no MSG",
			in:   `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]`,
			want: want{
				time: utc("2003-10-11T22:14:15.003Z"), severity: 10, sevText: "notice",
				service: "evntslog", host: "mymachine.example.com", facility: "local4",
				attrs: attrs("syslog.msgid", "ID47",
					"exampleSDID@32473.iut", "3", "exampleSDID@32473.eventSource", "Application", "exampleSDID@32473.eventID", "1011",
					"examplePriority@32473.class", "high"),
			},
		},
		{
			name: "escapes in param values",
			in:   `<14>1 2026-03-15T11:00:00Z h a - - [x@1 q="say \"hi\"" b="C:\\dir" br="[a\]" other="a\nb" empty=""] m`,
			want: want{
				time: utc("2026-03-15T11:00:00Z"), severity: 9, sevText: "info", service: "a", host: "h", facility: "user",
				attrs: attrs("x@1.q", `say "hi"`, "x@1.b", `C:\dir`, "x@1.br", "[a]", "x@1.other", `a\nb`, "x@1.empty", ""),
				body:  "m",
			},
		},
		{
			name: "unescaped bracket in a value",
			in:   `<14>1 2026-03-15T11:00:00Z h a - - [x@1 v="a]b"] m`,
			want: want{
				time: utc("2026-03-15T11:00:00Z"), severity: 9, sevText: "info", service: "a", host: "h", facility: "user",
				attrs: attrs("x@1.v", "a]b"), body: "m",
			},
		},
		{
			name: "SD element without params",
			in:   `<14>1 2026-03-15T11:00:00Z h a - - [origin][x@1 k="v"] m`,
			want: want{
				time: utc("2026-03-15T11:00:00Z"), severity: 9, sevText: "info", service: "a", host: "h", facility: "user",
				attrs: attrs("origin", "", "x@1.k", "v"), body: "m",
			},
		},
		{
			name: "all NILVALUE",
			in:   "<13>1 - - - - - -",
			want: want{severity: 10, sevText: "notice", facility: "user"},
		},
		{
			name: "logger --rfc5424 over tcp",
			in:   `<13>1 2026-11-24T00:05:52.150425+00:00 vm myapp - - [timeQuality tzKnown="1" isSynced="0"] hello 5424 tcp` + "\n",
			want: want{
				time: utc("2026-11-24T00:05:52.150425Z"), severity: 10, sevText: "notice", service: "myapp", host: "vm", facility: "user",
				attrs: attrs("timeQuality.tzKnown", "1", "timeQuality.isSynced", "0"), body: "hello 5424 tcp",
			},
		},
		{
			name: "logger --rfc5424 -i --msgid --sd-id",
			in:   `<13>1 2026-11-24T00:05:52.248735+00:00 vm root 5073 ID47 [timeQuality tzKnown="1" isSynced="0"][zoo@123 tiger="hungry"] octet`,
			want: want{
				time: utc("2026-11-24T00:05:52.248735Z"), severity: 10, sevText: "notice", service: "root", host: "vm", facility: "user",
				attrs: attrs("syslog.msgid", "ID47", "syslog.procid", "5073",
					"timeQuality.tzKnown", "1", "timeQuality.isSynced", "0", "zoo@123.tiger", "hungry"),
				body: "octet",
			},
		},
		{
			name: "logger --rfc5424=notq,notime",
			in:   "<13>1 - vm root - - - notime",
			want: want{severity: 10, sevText: "notice", service: "root", host: "vm", facility: "user", body: "notime"},
		},
		{
			name: "rsyslog RSYSLOG_SyslogProtocol23Format",
			in:   "<86>1 2026-03-15T12:59:58.123456+01:00 web01 sshd 812 - - Accepted publickey for deploy\n",
			want: want{
				time: utc("2026-03-15T11:59:58.123456Z"), severity: 9, sevText: "info", service: "sshd", host: "web01", facility: "authpriv",
				attrs: attrs("syslog.procid", "812"), body: "Accepted publickey for deploy",
			},
		},
		{
			name: "trace context and correlation ID lifted",
			in:   `<11>1 2026-03-15T11:59:00Z web api 42 req [trace@1 trace_id="4bf92f3577b34da6a3ce929d0e0e4736" span_id="00f067aa0ba902b7" correlation_id="abc-123"][meta request_id="r-9"] failed`,
			want: want{
				time: utc("2026-03-15T11:59:00Z"), severity: 17, sevText: "err", service: "api", host: "web", facility: "user",
				attrs:   attrs("syslog.msgid", "req", "syslog.procid", "42", "meta.request_id", "r-9"),
				traceID: "4bf92f3577b34da6a3ce929d0e0e4736", spanID: "00f067aa0ba902b7", corrID: "abc-123",
				body: "failed",
			},
		},
		{
			name: "request_id becomes the correlation ID and stays",
			in:   `<15>1 2026-03-15T11:59:00Z web api - - [meta@1 requestId="r-1" trace_id="not-hex"] m`,
			want: want{
				time: utc("2026-03-15T11:59:00Z"), severity: 5, sevText: "debug", service: "api", host: "web", facility: "user",
				attrs: attrs("meta@1.requestId", "r-1", "meta@1.trace_id", "not-hex"), corrID: "r-1", body: "m",
			},
		},
		{
			name: "timestamp without zone is in now's zone",
			in:   "<14>1 2026-03-15T11:00:00 h a - - - m",
			now:  testNow.In(time.FixedZone("X", 3600)),
			want: want{time: utc("2026-03-15T10:00:00Z"), severity: 9, sevText: "info", service: "a", host: "h", facility: "user", body: "m"},
		},
		{
			name: "unrepresentable year is stored at arrival",
			in:   "<14>1 0001-01-01T00:00:00Z h a - - - m",
			want: want{severity: 9, sevText: "info", service: "a", host: "h", facility: "user", body: "m"},
		},
		{
			name: "broken SD falls back to 3164 and keeps everything",
			in:   `<13>1 2026-03-15T11:59:00Z host app - - [unterminated x="1" msg`,
			want: want{severity: 10, sevText: "notice", facility: "user", body: `1 2026-03-15T11:59:00Z host app - - [unterminated x="1" msg`},
		},
		{
			name: "bad timestamp falls back to 3164",
			in:   "<13>1 2026-13-15T11:59:00Z host app - - - msg",
			want: want{severity: 10, sevText: "notice", facility: "user", body: "1 2026-13-15T11:59:00Z host app - - - msg"},
		},
		{
			name: "no space before MSG falls back to 3164",
			in:   "<13>1 - host app - - -msg",
			want: want{severity: 10, sevText: "notice", facility: "user", body: "1 - host app - - -msg"},
		},
	})
}

func TestParseRFC3164(t *testing.T) {
	runParseCases(t, []parseCase{
		{
			name: "rfc example 1",
			in:   "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
			want: want{
				time: utc("2025-10-11T22:14:15Z"), severity: 21, sevText: "crit", service: "su", host: "mymachine", facility: "auth",
				body: "'su root' failed for lonvick on /dev/pts/8",
			},
		},
		{
			name: "rfc example 2: no PRI",
			in:   "Use the BFG!",
			want: want{body: "Use the BFG!"},
		},
		{
			// RFC 3164 section 5.4 reads "CST" as the HOSTNAME.
			name: "rfc example 3: zone and year after the time",
			in:   "<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It's time to make the do-nuts.  %%  Ingredients: Mix=OK, Jam=OK Dough=OK",
			want: want{
				time: utc("2026-08-24T05:34:00Z"), severity: 10, sevText: "notice", host: "CST", facility: "local4",
				body: "1987 mymachine myproc[10]: %% It's time to make the do-nuts.  %%  Ingredients: Mix=OK, Jam=OK Dough=OK",
			},
		},
		{
			name: "rfc example 4: no valid timestamp",
			in:   "<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!",
			want: want{severity: 23, sevText: "emerg", facility: "kern", body: "1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That's All Folks!"},
		},
		{
			name: "with pid",
			in:   "<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed",
			want: want{
				time: utc("2025-10-11T22:14:15Z"), severity: 21, sevText: "crit", service: "su", host: "mymachine", facility: "auth",
				attrs: attrs("syslog.procid", "123"), body: "'su root' failed",
			},
		},
		{
			name: "without hostname",
			in:   "<13>Oct 11 22:14:15 su[123]: hi",
			want: want{time: utc("2025-10-11T22:14:15Z"), severity: 10, sevText: "notice", service: "su", facility: "user", attrs: attrs("syslog.procid", "123"), body: "hi"},
		},
		{
			name: "Go log/syslog to /dev/log",
			in:   "<30>Mar 15 11:58:00 myprog[4242]: started\n",
			want: want{time: utc("2026-03-15T11:58:00Z"), severity: 9, sevText: "info", service: "myprog", facility: "daemon", attrs: attrs("syslog.procid", "4242"), body: "started"},
		},
		{
			name: "Go log/syslog over the network",
			in:   "<28>2026-03-15T12:58:00+01:00 myhost myprog[4242]: disk low\n",
			want: want{
				time: utc("2026-03-15T11:58:00Z"), severity: 13, sevText: "warning", service: "myprog", host: "myhost", facility: "daemon",
				attrs: attrs("syslog.procid", "4242"), body: "disk low",
			},
		},
		{
			name: "rsyslog RSYSLOG_ForwardFormat",
			in:   "<86>2026-03-15T11:58:00.123456+00:00 web01 sshd[812]: Accepted publickey for deploy from 10.0.0.5 port 52122 ssh2",
			want: want{
				time: utc("2026-03-15T11:58:00.123456Z"), severity: 9, sevText: "info", service: "sshd", host: "web01", facility: "authpriv",
				attrs: attrs("syslog.procid", "812"), body: "Accepted publickey for deploy from 10.0.0.5 port 52122 ssh2",
			},
		},
		{
			name: "rsyslog RSYSLOG_TraditionalForwardFormat",
			in:   "<78>Mar 15 11:58:01 web01 CRON[2211]: (root) CMD (run-parts /etc/cron.hourly)",
			want: want{
				time: utc("2026-03-15T11:58:01Z"), severity: 9, sevText: "info", service: "CRON", host: "web01", facility: "cron",
				attrs: attrs("syslog.procid", "2211"), body: "(root) CMD (run-parts /etc/cron.hourly)",
			},
		},
		{
			name: "logger --rfc3164",
			in:   "<13>Nov 24 00:05:52 vm myapp: hello 3164 tcp\n",
			want: want{time: utc("2025-11-24T00:05:52Z"), severity: 10, sevText: "notice", service: "myapp", host: "vm", facility: "user", body: "hello 3164 tcp"},
		},
		{
			name: "logger --rfc3164 -i -p auth.warning",
			in:   "<36>Nov 24 00:05:52 vm root[5069]: with pid",
			want: want{
				time: utc("2025-11-24T00:05:52Z"), severity: 13, sevText: "warning", service: "root", host: "vm", facility: "auth",
				attrs: attrs("syslog.procid", "5069"), body: "with pid",
			},
		},
		{
			name: "space-padded day",
			in:   "<13>Mar  5 08:00:00 host app: x",
			want: want{time: utc("2026-03-05T08:00:00Z"), severity: 10, sevText: "notice", service: "app", host: "host", facility: "user", body: "x"},
		},
		{
			name: "zero-padded day",
			in:   "<13>Mar 05 08:00:00 host app: x",
			want: want{time: utc("2026-03-05T08:00:00Z"), severity: 10, sevText: "notice", service: "app", host: "host", facility: "user", body: "x"},
		},
		{
			name: "December line read in January",
			in:   "<13>Dec 31 23:59:00 host app: x",
			now:  time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC),
			want: want{time: utc("2025-12-31T23:59:00Z"), severity: 10, sevText: "notice", service: "app", host: "host", facility: "user", body: "x"},
		},
		{
			name: "January line read in December (clock skew)",
			in:   "<13>Jan  1 00:00:30 host app: x",
			now:  time.Date(2025, 12, 31, 23, 59, 50, 0, time.UTC),
			want: want{time: utc("2026-01-01T00:00:30Z"), severity: 10, sevText: "notice", service: "app", host: "host", facility: "user", body: "x"},
		},
		{
			name: "29 February",
			in:   "<13>Feb 29 10:00:00 host app: x",
			now:  time.Date(2025, 1, 5, 0, 0, 0, 0, time.UTC),
			want: want{time: utc("2024-02-29T10:00:00Z"), severity: 10, sevText: "notice", service: "app", host: "host", facility: "user", body: "x"},
		},
		{
			name: "time in now's zone",
			in:   "<13>Mar 15 08:00:00 host app: x",
			now:  testNow.In(time.FixedZone("EST", -5*3600)),
			want: want{time: utc("2026-03-15T13:00:00Z"), severity: 10, sevText: "notice", service: "app", host: "host", facility: "user", body: "x"},
		},
		{
			name: "year and milliseconds",
			in:   "<189>Oct 11 2025 22:14:15.123 router1 ntpd[77]: synchronized",
			want: want{
				time: utc("2025-10-11T22:14:15.123Z"), severity: 10, sevText: "notice", service: "ntpd", host: "router1", facility: "local7",
				attrs: attrs("syslog.procid", "77"), body: "synchronized",
			},
		},
		{
			name: "kernel line",
			in:   "<6>Mar 15 11:00:00 host kernel: [   12.345678] eth0: link up",
			want: want{time: utc("2026-03-15T11:00:00Z"), severity: 9, sevText: "info", service: "kernel", host: "host", facility: "kern", body: "[   12.345678] eth0: link up"},
		},
		{
			name: "hostname but no tag",
			in:   "<13>Mar 15 11:00:00 host just some words",
			want: want{time: utc("2026-03-15T11:00:00Z"), severity: 10, sevText: "notice", host: "host", facility: "user", body: "just some words"},
		},
		{
			name: "IPv6 hostname",
			in:   "<13>Mar 15 11:00:00 fe80::1 app: x",
			want: want{time: utc("2026-03-15T11:00:00Z"), severity: 10, sevText: "notice", service: "app", host: "fe80::1", facility: "user", body: "x"},
		},
		{
			name: "tags with slashes and dashes",
			in:   "<22>Mar 15 11:00:00 mx postfix/smtpd[1234]: connect from unknown",
			want: want{
				time: utc("2026-03-15T11:00:00Z"), severity: 9, sevText: "info", service: "postfix/smtpd", host: "mx", facility: "mail",
				attrs: attrs("syslog.procid", "1234"), body: "connect from unknown",
			},
		},
		{
			name: "tag with pid but no colon",
			in:   "<13>Mar 15 11:00:00 host app[7] x",
			want: want{time: utc("2026-03-15T11:00:00Z"), severity: 10, sevText: "notice", service: "app", host: "host", facility: "user", attrs: attrs("syslog.procid", "7"), body: "x"},
		},
		{
			name: "timestamp only",
			in:   "<13>Mar 15 11:00:00",
			want: want{time: utc("2026-03-15T11:00:00Z"), severity: 10, sevText: "notice", facility: "user"},
		},
		{
			name: "PRI and text only",
			in:   "<13>hello there",
			want: want{severity: 10, sevText: "notice", facility: "user", body: "hello there"},
		},
		{
			name: "numeric zone without colon",
			in:   "<13>2026-03-15T12:00:00+0100 host app: x",
			want: want{time: utc("2026-03-15T11:00:00Z"), severity: 10, sevText: "notice", service: "app", host: "host", facility: "user", body: "x"},
		},
		{
			name: "not UTF-8",
			in:   "<13>Mar 15 11:00:00 host app: caf\xe9\r\n",
			want: want{time: utc("2026-03-15T11:00:00Z"), severity: 10, sevText: "notice", service: "app", host: "host", facility: "user", body: "caf\uFFFD"},
		},
		{
			name: "31 April is no timestamp",
			in:   "<13>Apr 31 11:00:00 host app: x",
			want: want{severity: 10, sevText: "notice", facility: "user", body: "Apr 31 11:00:00 host app: x"},
		},
		{
			name: "empty plain line",
			in:   "",
			want: want{},
		},
	})
}

func TestParseInvalidPRI(t *testing.T) {
	for _, in := range []string{"<999>x", "<192>x", "<>x", "<abc>x", "<12", "<1234>x", "<", "<html><body>", "<-1>x"} {
		_, err := Parse([]byte(in), testNow)
		if !errors.Is(err, ErrInvalidPRI) {
			t.Errorf("Parse(%q) = %v, want ErrInvalidPRI", in, err)
		}
	}
	for _, in := range []string{"<0>x", "<191>x", "<013>x"} {
		if _, err := Parse([]byte(in), testNow); err != nil {
			t.Errorf("Parse(%q): %v", in, err)
		}
	}
}

func TestSeverityTable(t *testing.T) {
	want := []struct {
		sev  model.Severity
		text string
	}{{23, "emerg"}, {22, "alert"}, {21, "crit"}, {17, "err"}, {13, "warning"}, {10, "notice"}, {9, "info"}, {5, "debug"}}
	levels := []string{"fatal", "fatal", "fatal", "error", "warn", "info", "info", "debug"}
	for code, w := range want {
		rec, err := Parse(fmt.Appendf(nil, "<%d>x", 16*8+code), testNow)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Severity != w.sev || rec.SeverityText != w.text || rec.Level() != levels[code] {
			t.Errorf("severity %d: got %d %q %s, want %d %q %s", code, rec.Severity, rec.SeverityText, rec.Level(), w.sev, w.text, levels[code])
		}
		if f, _ := model.Lookup(rec.Resource.Attributes, "syslog.facility"); f != "local0" {
			t.Errorf("facility of <%d>: %q", 16*8+code, f)
		}
	}
}

// TestParserReuse checks that the records of one batch stay intact while
// the parser fills more from its shared arena.
func TestParserReuse(t *testing.T) {
	var p parser
	msgs := []string{
		`<14>1 2026-03-15T11:00:00Z h1 a1 1 m1 [x@1 k="v1"] one`,
		"<13>Mar 15 11:00:00 h2 a2[2]: two",
		`<14>1 2026-03-15T11:00:00Z h3 a3 3 m3 [x@1 k="v3" correlation_id="c3"] three`,
		"plain four",
	}
	var recs [4]model.LogRecord
	var wants [4]model.LogRecord
	for i, m := range msgs {
		if err := p.parse(m, testNow, &recs[i]); err != nil {
			t.Fatal(err)
		}
		wants[i], _ = Parse([]byte(m), testNow)
	}
	for i := range recs {
		if !reflect.DeepEqual(recs[i], wants[i]) {
			t.Errorf("record %d after later parses:\n got %s\nwant %s", i, dump(recs[i]), dump(wants[i]))
		}
	}
	if recs[2].CorrelationID != "c3" {
		t.Errorf("correlation ID %q", recs[2].CorrelationID)
	}
}

var benchMessages = []struct{ name, msg string }{
	{"rfc5424", `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] ` + "\xEF\xBB\xBFAn application event log entry..."},
	{"rfc5424_logger", `<13>1 2026-11-24T00:05:52.150425+00:00 vm myapp 5073 - [timeQuality tzKnown="1" isSynced="0"] hello from logger`},
	{"rfc3164", "<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick on /dev/pts/8"},
	{"rsyslog_forward", "<86>2026-03-15T11:58:00.123456+00:00 web01 sshd[812]: Accepted publickey for deploy from 10.0.0.5 port 52122 ssh2"},
	{"plain", "Use the BFG!"},
}

// TestParseAllocs holds parsing and mapping to the budget the server
// relies on: with a warm parser, no allocation per message beyond its
// text, which the reader copies before parsing.
func TestParseAllocs(t *testing.T) {
	for _, bm := range benchMessages {
		var p parser
		var rec model.LogRecord
		allocs := testing.AllocsPerRun(100, func() {
			p.reset()
			if err := p.parse(bm.msg, testNow, &rec); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per message, want 0", bm.name, allocs)
		}
	}
}

// BenchmarkParse measures parse and mapping per message as the server
// does them: the copy of the frame into a string included, the arena
// recycled every batch.
func BenchmarkParse(b *testing.B) {
	for _, bm := range benchMessages {
		b.Run(bm.name, func(b *testing.B) {
			msg := []byte(bm.msg)
			var p parser
			var rec model.LogRecord
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if i++; i%maxBatch == 0 {
					p.reset()
				}
				if err := p.parse(string(msg), testNow, &rec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
