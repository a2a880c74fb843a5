package syslog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	gosyslog "log/syslog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/argus-obs/argus/internal/ingest/ingestmetrics/ingestmetricstest"
	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
	"github.com/argus-obs/argus/internal/store/storetest"
)

// waitRecords waits until w holds n records and returns them.
func waitRecords(t *testing.T, w *storetest.LogSink, n int) []model.LogRecord {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs := w.Records()
		if len(recs) >= n {
			return recs
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d records, want %d: %v", len(recs), n, bodies(recs))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func bodies(recs []model.LogRecord) []string {
	var b []string
	for _, r := range recs {
		b = append(b, r.Body)
	}
	return b
}

var errOverloaded = fmt.Errorf("write queue full: %w", store.ErrOverloaded)

// testServer is a started Server with its own registry.
type testServer struct {
	*Server
	w        *storetest.LogSink
	reg      *prometheus.Registry
	tcp, udp string
}

func startServer(t *testing.T, opts Options, tweak ...func(*Server)) *testServer {
	t.Helper()
	ts := &testServer{w: &storetest.LogSink{}, reg: prometheus.NewRegistry()}
	if opts.Writer == nil {
		opts.Writer = ts.w
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	opts.Registerer = ts.reg
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tweak {
		f(s)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	ts.Server = s
	tcp, udp := s.Addr()
	ts.tcp, ts.udp = tcp.String(), udp.String()
	return ts
}

func (ts *testServer) received(t *testing.T) float64 {
	return ingestmetricstest.Value(t, ts.reg, "argus_ingest_log_records_received_total", "protocol=syslog")
}

func (ts *testServer) accepted(t *testing.T) float64 {
	return ingestmetricstest.Value(t, ts.reg, "argus_ingest_log_records_accepted_total", "protocol=syslog")
}

func (ts *testServer) rejected(t *testing.T, reason string) float64 {
	return ingestmetricstest.Value(t, ts.reg, "argus_ingest_log_records_rejected_total", "protocol=syslog,reason="+reason)
}

// waitFor polls cond until it holds or time runs out.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func send(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatal(err)
	}
}

// expectClosed checks that the server closes c.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection not closed by the server: %v", err)
	}
}

func byBody(recs []model.LogRecord, body string) (model.LogRecord, bool) {
	for _, r := range recs {
		if r.Body == body {
			return r, true
		}
	}
	return model.LogRecord{}, false
}

func attr(attrs []model.Attribute, key string) string {
	v, _ := model.Lookup(attrs, key)
	return v
}

// TestGoLogSyslog sends with Go's log/syslog, a real client, over both
// transports.
func TestGoLogSyslog(t *testing.T) {
	ts := startServer(t, Options{})
	hostname, _ := os.Hostname()
	for _, network := range []string{"tcp", "udp"} {
		addr := ts.tcp
		if network == "udp" {
			addr = ts.udp
		}
		// The records of this network follow those of the one before.
		seen := len(ts.w.Records())
		w, err := gosyslog.Dial(network, addr, gosyslog.LOG_WARNING|gosyslog.LOG_DAEMON, "gotest-"+network)
		if err != nil {
			t.Fatal(err)
		}
		before := time.Now().Add(-time.Second)
		if err := w.Info("hello over " + network); err != nil {
			t.Fatal(err)
		}
		if err := w.Err("boom over " + network); err != nil {
			t.Fatal(err)
		}
		if _, err := fmt.Fprintf(w, "default severity over %s", network); err != nil {
			t.Fatal(err)
		}
		w.Close()
		after := time.Now().Add(time.Second)

		recs := waitRecords(t, ts.w, seen+3)[seen:]
		for _, c := range []struct {
			body string
			sev  model.Severity
			text string
		}{
			{"hello over " + network, model.SeverityInfo, "info"},
			{"boom over " + network, model.SeverityError, "err"},
			{"default severity over " + network, model.SeverityWarn, "warning"},
		} {
			r, ok := byBody(recs, c.body)
			if !ok {
				t.Errorf("%s: no record %q in %q", network, c.body, bodies(recs))
				continue
			}
			if r.Severity != c.sev || r.SeverityText != c.text {
				t.Errorf("%q: severity %d %q, want %d %q", c.body, r.Severity, r.SeverityText, c.sev, c.text)
			}
			if r.Resource.ServiceName != "gotest-"+network {
				t.Errorf("%q: service %q", c.body, r.Resource.ServiceName)
			}
			if h := attr(r.Resource.Attributes, "host.name"); h != hostname {
				t.Errorf("%q: host.name %q, want %q", c.body, h, hostname)
			}
			if f := attr(r.Resource.Attributes, "syslog.facility"); f != "daemon" {
				t.Errorf("%q: facility %q", c.body, f)
			}
			if p := attr(r.Attributes, "syslog.procid"); p != strconv.Itoa(os.Getpid()) {
				t.Errorf("%q: procid %q", c.body, p)
			}
			if ts := time.Unix(0, r.TimeUnixNano); ts.Before(before) || ts.After(after) {
				t.Errorf("%q: time %v not within [%v, %v]", c.body, ts, before, after)
			}
		}
	}
	if got := ts.accepted(t); got != 6 {
		t.Errorf("accepted = %v, want 6", got)
	}
}

// TestOctetCounting sends RFC 6587 octet-counted frames, one of them
// spanning lines, with and without a stray newline between frames.
func TestOctetCounting(t *testing.T) {
	ts := startServer(t, Options{})
	msgs := []string{
		"<13>1 2026-03-15T11:00:00Z h app - - - first",
		"<13>1 2026-03-15T11:00:00Z h app - - - second\nwith a second line\n",
		"<14>Mar 15 11:00:00 h app: third",
	}
	var b strings.Builder
	for i, m := range msgs {
		fmt.Fprintf(&b, "%d %s", len(m), m)
		if i == 1 {
			b.WriteString("\n")
		}
	}
	c := dial(t, ts.tcp)
	// Split mid-header and mid-message: framing must not care.
	stream := b.String()
	send(t, c, stream[:2])
	time.Sleep(10 * time.Millisecond)
	send(t, c, stream[2:60])
	time.Sleep(10 * time.Millisecond)
	send(t, c, stream[60:])
	recs := waitRecords(t, ts.w, 3)
	want := []string{"first", "second\nwith a second line", "third"}
	if got := bodies(recs); !slices.Equal(got, want) {
		t.Errorf("bodies %q, want %q", got, want)
	}
}

// TestNonTransparent sends LF-, CRLF- and NUL-terminated messages and a
// last one without terminator.
func TestNonTransparent(t *testing.T) {
	ts := startServer(t, Options{})
	c := dial(t, ts.tcp)
	send(t, c, "<13>Mar 15 11:00:00 h app: lf\n<13>Mar 15 11:00:00 h app: crlf\r\n\n<13>Mar 15 11:00:00 h app: nul\x00plain line\n<13>Mar 15 11:00:00 h app: last")
	c.(*net.TCPConn).CloseWrite()
	recs := waitRecords(t, ts.w, 5)
	want := []string{"lf", "crlf", "nul", "plain line", "last"}
	if got := bodies(recs); !slices.Equal(got, want) {
		t.Errorf("bodies %q, want %q", got, want)
	}
	if got := ts.received(t); got != 5 {
		t.Errorf("received = %v, want 5 (blank lines are not messages)", got)
	}
}

func TestOversize(t *testing.T) {
	const limit = 100
	ts := startServer(t, Options{MaxMessageBytes: limit})
	long := "<13>Mar 15 11:00:00 h app: " + strings.Repeat("x", 3*limit)
	exact := "<13>Mar 15 11:00:00 h app: " + strings.Repeat("y", limit-27)

	// Non-transparent: the long line is skipped, the stream goes on.
	c := dial(t, ts.tcp)
	send(t, c, long+"\n"+exact+"\n<13>Mar 15 11:00:00 h app: after\n")
	recs := waitRecords(t, ts.w, 2)
	if got, want := bodies(recs), []string{strings.Repeat("y", limit-27), "after"}; !slices.Equal(got, want) {
		t.Errorf("non-transparent: bodies %q, want %q", got, want)
	}

	// Octet counting: the long frame is skipped by its count.
	c2 := dial(t, ts.tcp)
	ok := "<13>Mar 15 11:00:00 h app: counted"
	send(t, c2, fmt.Sprintf("%d %s%d %s", len(long), long, len(ok), ok))
	waitRecords(t, ts.w, 3)

	// UDP.
	u, err := net.Dial("udp", ts.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	send(t, u, long)
	send(t, u, "<13>Mar 15 11:00:00 h app: udp")
	recs = waitRecords(t, ts.w, 4)
	if got, want := bodies(recs)[2:], []string{"counted", "udp"}; !slices.Equal(got, want) {
		t.Errorf("bodies %q, want %q", got, want)
	}
	if got := ts.rejected(t, "too_large"); got != 3 {
		t.Errorf("too_large = %v, want 3", got)
	}
	if r, a := ts.received(t), ts.accepted(t); r != 7 || a != 4 {
		t.Errorf("received %v accepted %v, want 7 and 4", r, a)
	}
}

// TestGarbage sends what a port scanner or a confused client might, then
// checks the server still serves.
func TestGarbage(t *testing.T) {
	ts := startServer(t, Options{MaxMessageBytes: 1024})
	c := dial(t, ts.tcp)
	send(t, c, "<999>bad pri\n<abc>bad\n<html><body>\nGET / HTTP/1.1\r\nHost: x\r\n\r\n\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n")
	send(t, c, "<13>Mar 15 11:00:00 h app: still here\n")
	recs := waitRecords(t, ts.w, 4)
	if _, ok := byBody(recs, "still here"); !ok {
		t.Errorf("no record after garbage: %q", bodies(recs))
	}
	if got := ts.rejected(t, "invalid"); got != 3 {
		t.Errorf("invalid = %v, want 3", got)
	}
	// The plain lines (the HTTP request, the TLS hello) are kept.
	if r, a, i := ts.received(t), ts.accepted(t), ts.rejected(t, "invalid"); r != a+i {
		t.Errorf("received %v != accepted %v + invalid %v", r, a, i)
	}

	// An octet-counting stream whose header is no length is closed.
	c2 := dial(t, ts.tcp)
	send(t, c2, "5 <13>x12x34 <13>Mar 15 11:00:00 h app: lost\n")
	expectClosed(t, c2)
	if got := ts.rejected(t, "invalid"); got != 4 {
		t.Errorf("invalid = %v, want 4", got)
	}
	// And so is one that ends inside a frame.
	c3 := dial(t, ts.tcp)
	send(t, c3, "50 <13>short")
	c3.(*net.TCPConn).CloseWrite()
	expectClosed(t, c3)
	waitFor(t, "truncated frame counted", func() bool { return ts.rejected(t, "invalid") == 5 })
}

// TestBackpressure has the store refuse the first writes as overloaded:
// TCP reading pauses and every message arrives, in order.
func TestBackpressure(t *testing.T) {
	w := &storetest.LogSink{}
	w.FailWith(func(call int) error {
		if call <= 4 {
			return errOverloaded
		}
		return nil
	})
	ts := startServer(t, Options{Writer: w})
	const n = 5000 // more than the queue and a batch hold
	c := dial(t, ts.tcp)
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "<13>Mar 15 11:00:00 h app: m%d\n", i)
	}
	go c.Write(b.Bytes())
	recs := waitRecords(t, w, n)
	for i, r := range recs {
		if want := fmt.Sprintf("m%d", i); r.Body != want {
			t.Fatalf("record %d is %q, want %q", i, r.Body, want)
		}
	}
	if got := ts.accepted(t); got != n {
		t.Errorf("accepted = %v, want %d", got, n)
	}
	if got := ts.rejected(t, "dropped_overloaded"); got != 0 {
		t.Errorf("dropped_overloaded = %v, want 0", got)
	}
}

// TestUDPDropsWhenOverloaded keeps the store overloaded: UDP messages
// beyond what the server holds are dropped and counted, and Shutdown
// gives up on the rest when its context ends.
func TestUDPDropsWhenOverloaded(t *testing.T) {
	w := &storetest.LogSink{}
	w.FailWith(func(int) error { return errOverloaded })
	ts := startServer(t, Options{Writer: w})
	u, err := net.Dial("udp", ts.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	msg := []byte("<13>Mar 15 11:00:00 h app: udp")
	waitFor(t, "UDP drops", func() bool {
		for range 200 {
			u.Write(msg)
		}
		return ts.rejected(t, "dropped_overloaded") > 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := ts.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want deadline exceeded", err)
	}
	if r, d := ts.received(t), ts.rejected(t, "dropped_overloaded"); r != d {
		t.Errorf("received %v, dropped %v: every record should be counted as dropped", r, d)
	}
	if got := ts.accepted(t); got != 0 {
		t.Errorf("accepted = %v", got)
	}
}

// TestShutdownFlushes checks that Shutdown writes the batch it holds.
func TestShutdownFlushes(t *testing.T) {
	ts := startServer(t, Options{}, func(s *Server) { s.flushInterval = time.Hour })
	c := dial(t, ts.tcp)
	for i := range 10 {
		send(t, c, fmt.Sprintf("<13>Mar 15 11:00:00 h app: m%d\n", i))
	}
	u, err := net.Dial("udp", ts.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	send(t, u, "<13>Mar 15 11:00:00 h app: udp")
	waitFor(t, "11 messages received", func() bool { return ts.received(t) == 11 })
	if n := len(ts.w.Records()); n != 0 {
		t.Fatalf("%d records written before shutdown", n)
	}
	if err := ts.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(ts.w.Records()); n != 11 {
		t.Errorf("%d records after shutdown, want 11", n)
	}
	if got := ingestmetricstest.Value(t, ts.reg, "argus_syslog_connections", ""); got != 0 {
		t.Errorf("connections = %v after shutdown", got)
	}
	expectClosed(t, c)
}

func TestLifecycle(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without a writer succeeded")
	}

	s, err := New(Options{Writer: &storetest.LogSink{}})
	if err != nil {
		t.Fatal(err)
	}
	if tcp, udp := s.Addr(); tcp != nil || udp != nil {
		t.Errorf("Addr before Start = %v, %v", tcp, udp)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown without Start: %v", err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	if err := s.Start(context.Background()); err == nil {
		t.Error("Start after Shutdown succeeded")
	}

	ts := startServer(t, Options{})
	if err := ts.Start(context.Background()); err == nil {
		t.Error("second Start succeeded")
	}
	for range 2 {
		if err := ts.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}

	// A taken address is Start's error, and nothing stays bound.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s2, err := New(Options{Writer: &storetest.LogSink{}, Addr: l.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "listen syslog tcp") {
		t.Errorf("Start on a taken port = %v", err)
	}
	if err := s2.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown after failed Start: %v", err)
	}
}

func TestIdleTimeout(t *testing.T) {
	ts := startServer(t, Options{IdleTimeout: 300 * time.Millisecond})
	c := dial(t, ts.tcp)
	send(t, c, "<13>Mar 15 11:00:00 h app: hi\n")
	waitFor(t, "message received", func() bool { return ts.received(t) == 1 })
	if got := ingestmetricstest.Value(t, ts.reg, "argus_syslog_connections", ""); got != 1 {
		t.Errorf("connections = %v, want 1", got)
	}
	expectClosed(t, c)
	waitFor(t, "connection gauge back to 0", func() bool { return ingestmetricstest.Value(t, ts.reg, "argus_syslog_connections", "") == 0 })
}

func TestMaxConnections(t *testing.T) {
	ts := startServer(t, Options{MaxConnections: 1})
	c1 := dial(t, ts.tcp)
	send(t, c1, "<13>Mar 15 11:00:00 h app: one\n")
	waitRecords(t, ts.w, 1)
	c2 := dial(t, ts.tcp)
	expectClosed(t, c2)
	send(t, c1, "<13>Mar 15 11:00:00 h app: two\n")
	waitRecords(t, ts.w, 2)
	c1.Close()
	waitFor(t, "slot freed", func() bool { return ingestmetricstest.Value(t, ts.reg, "argus_syslog_connections", "") == 0 })
	c3 := dial(t, ts.tcp)
	send(t, c3, "<13>Mar 15 11:00:00 h app: three\n")
	waitRecords(t, ts.w, 3)
}

// TestSharedRegistry registers the log counters the way another log
// receiver does first; the syslog server must share them.
func TestSharedRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	other := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "argus_ingest_log_records_received_total",
		Help: "Log records received, before validation, by protocol.",
	}, []string{"protocol"})
	reg.MustRegister(other,
		prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_ingest_log_records_accepted_total",
			Help: "Log records received and stored, by protocol.",
		}, []string{"protocol"}),
		prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_ingest_log_records_rejected_total",
			Help: "Log records refused, by protocol and reason. Records neither accepted nor rejected were refused with a retryable error.",
		}, []string{"protocol", "reason"}))
	for range 2 {
		if _, err := New(Options{Writer: &storetest.LogSink{}, Registerer: reg}); err != nil {
			t.Fatal(err)
		}
	}
	other.WithLabelValues("otlp_http").Inc()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "argus_ingest_log_records_received_total" && len(mf.GetMetric()) != 2 {
			t.Errorf("received has %d series, want otlp_http and syslog", len(mf.GetMetric()))
		}
	}
}
