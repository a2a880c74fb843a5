package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/syslog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// lokiResponse is Loki's query answer, as much as the tests read.
type lokiResponse struct {
	Status string `json:"status"`
	Data   struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

type lokiStream struct {
	Stream map[string]string `json:"stream"`
	Values [][]any           `json:"values"`
}

type lokiSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// logLine is one entry of a log query answer, flattened across streams.
type logLine struct {
	time   int64
	line   string
	labels map[string]string
}

// lokiLines runs a LogQL log query over the last hour (or since) and
// returns its entries across streams, newest first.
func (s *server) lokiLines(query string, params ...string) []logLine {
	s.t.Helper()
	v := url.Values{"query": {query}, "limit": {"1000"}, "start": {strconv.FormatInt(time.Now().Add(-time.Hour).UnixNano(), 10)}}
	for i := 0; i+1 < len(params); i += 2 {
		v.Set(params[i], params[i+1])
	}
	var resp lokiResponse
	s.getJSON("/loki/api/v1/query_range?"+v.Encode(), http.StatusOK, &resp)
	if resp.Data.ResultType != "streams" {
		s.t.Fatalf("%s: result type %q, want streams", query, resp.Data.ResultType)
	}
	var streams []lokiStream
	if err := json.Unmarshal(resp.Data.Result, &streams); err != nil {
		s.t.Fatal(err)
	}
	var out []logLine
	for _, st := range streams {
		for _, val := range st.Values {
			ts, _ := strconv.ParseInt(val[0].(string), 10, 64)
			out = append(out, logLine{time: ts, line: val[1].(string), labels: st.Stream})
		}
	}
	slices.SortStableFunc(out, func(a, b logLine) int { return int(b.time - a.time) })
	return out
}

// lokiVector runs an instant LogQL metric query and returns the samples
// keyed by the value of label key.
func (s *server) lokiVector(query, key string) map[string]float64 {
	s.t.Helper()
	var resp lokiResponse
	s.getJSON("/loki/api/v1/query?"+url.Values{"query": {query}}.Encode(), http.StatusOK, &resp)
	if resp.Data.ResultType != "vector" {
		s.t.Fatalf("%s: result type %q, want vector", query, resp.Data.ResultType)
	}
	var samples []lokiSample
	if err := json.Unmarshal(resp.Data.Result, &samples); err != nil {
		s.t.Fatal(err)
	}
	out := map[string]float64{}
	for _, smp := range samples {
		v, err := strconv.ParseFloat(smp.Value[1].(string), 64)
		if err != nil {
			s.t.Fatal(err)
		}
		out[smp.Metric[key]] = v
	}
	return out
}

func (s *server) post(path, contentType string, body []byte, want int) []byte {
	s.t.Helper()
	resp, err := http.Post(s.url(path), contentType, bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		s.t.Fatalf("POST %s: status %d, want %d: %s", path, resp.StatusCode, want, b)
	}
	return b
}

// exportLogs sends records through the OpenTelemetry Go SDK's log
// exporter (gRPC or HTTP) and flushes.
func exportLogs(t *testing.T, srv *server, useGRPC bool, service string, emit func(otellog.Logger)) {
	t.Helper()
	ctx := ctxTimeout(t, 30*time.Second)
	var exp sdklog.Exporter
	var err error
	if useGRPC {
		exp, err = otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(srv.grpcAddr), otlploggrpc.WithInsecure())
	} else {
		exp, err = otlploghttp.New(ctx, otlploghttp.WithEndpoint(srv.otlpHTTP), otlploghttp.WithInsecure())
	}
	if err != nil {
		t.Fatal(err)
	}
	res := resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(service), semconv.ServiceInstanceID(service+"-1"))
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewBatchProcessor(exp)))
	emit(lp.Logger("shop"))
	if err := lp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := lp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

func record(body string, sev otellog.Severity, attrs ...attribute.KeyValue) otellog.Record {
	var r otellog.Record
	r.SetTimestamp(time.Now())
	r.SetBody(attribute.StringValue(body))
	r.SetSeverity(sev)
	r.SetSeverityText(sev.String())
	r.AddAttributes(attrs...)
	return r
}

// TestLogsOTLP ships logs with the OpenTelemetry Go SDK over gRPC and
// HTTP, inside a span's context, and reads them back with LogQL: stream
// labels from the resource, structured metadata from the attributes and
// trace context, filters on both, and a metric query by level.
func TestLogsOTLP(t *testing.T) {
	srv := startArgus(t, t.TempDir())
	traceID := trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	spanID := trace.SpanID{0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
	spanCtx := trace.ContextWithSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: traceID, SpanID: spanID, TraceFlags: trace.FlagsSampled,
	}))
	for _, useGRPC := range []bool{true, false} {
		service := map[bool]string{true: "checkout-grpc", false: "checkout-http"}[useGRPC]
		exportLogs(t, srv, useGRPC, service, func(l otellog.Logger) {
			for i := range 20 {
				sev := otellog.SeverityInfo
				body := fmt.Sprintf("order %d placed", i)
				if i%5 == 4 {
					sev, body = otellog.SeverityError, fmt.Sprintf("order %d failed: card declined", i)
				}
				l.Emit(spanCtx, record(body, sev,
					attribute.String("correlation_id", fmt.Sprintf("req-%d", i)),
					attribute.Int("order.items", i),
					attribute.String("http.route", "/orders")))
			}
		})
	}

	for _, service := range []string{"checkout-grpc", "checkout-http"} {
		sel := fmt.Sprintf(`{service_name=%q}`, service)
		eventually(t, 10*time.Second, func() error {
			if n := len(srv.lokiLines(sel)); n != 20 {
				return fmt.Errorf("%s: %d lines, want 20", service, n)
			}
			return nil
		})
		lines := srv.lokiLines(sel)
		newest := lines[0]
		if newest.line != "order 19 failed: card declined" {
			t.Errorf("%s: newest line %q", service, newest.line)
		}
		for k, want := range map[string]string{
			"service_name": service, "service_instance_id": service + "-1", "level": "error", "detected_level": "error",
			"correlation_id": "req-19", "trace_id": traceID.String(), "span_id": spanID.String(),
			"order_items": "19", "http_route": "/orders",
		} {
			if got := newest.labels[k]; got != want {
				t.Errorf("%s: label %s = %q, want %q (labels %v)", service, k, got, want, newest.labels)
			}
		}

		if got := srv.lokiLines(sel + ` | correlation_id="req-7"`); len(got) != 1 || got[0].line != "order 7 placed" {
			t.Errorf("%s: by correlation_id: %v", service, got)
		}
		if got := srv.lokiLines(sel + ` |= "declined" | order_items > 10`); len(got) != 2 {
			t.Errorf("%s: line filter and numeric label filter: %d lines, want 2", service, len(got))
		}
		if got := srv.lokiLines(sel+` | trace_id="`+traceID.String()+`"`, "limit", "5", "direction", "forward"); len(got) != 5 || got[4].line != "order 0 placed" {
			t.Errorf("%s: by trace_id, oldest five: %v", service, got)
		}
		byLevel := srv.lokiVector(fmt.Sprintf(`sum by (level) (count_over_time(%s[1h]))`, sel), "level")
		if byLevel["info"] != 16 || byLevel["error"] != 4 {
			t.Errorf("%s: count by level = %v, want info 16, error 4", service, byLevel)
		}
	}

	var names struct{ Data []string }
	srv.getJSON("/loki/api/v1/labels", http.StatusOK, &names)
	if !slices.Contains(names.Data, "service_name") || !slices.Contains(names.Data, "service_instance_id") {
		t.Errorf("labels = %v", names.Data)
	}
	var values struct{ Data []string }
	srv.getJSON("/loki/api/v1/label/service_name/values", http.StatusOK, &values)
	if !slices.Equal(values.Data, []string{"checkout-grpc", "checkout-http"}) {
		t.Errorf("service_name values = %v", values.Data)
	}
	var series struct{ Data []map[string]string }
	srv.getJSON("/loki/api/v1/series?"+url.Values{"match[]": {`{service_name="checkout-http"}`}}.Encode(), http.StatusOK, &series)
	if len(series.Data) != 1 || series.Data[0]["service_instance_id"] != "checkout-http-1" {
		t.Errorf("series = %v", series.Data)
	}
}

// TestLogsPushProtocols ships lines the way the common shippers do (Loki
// push JSON, Elasticsearch bulk, newline-delimited JSON, syslog over TCP
// and UDP) and finds each with LogQL.
func TestLogsPushProtocols(t *testing.T) {
	srv := startArgus(t, t.TempDir(), "--syslog.addr=127.0.0.1:0")
	now := time.Now()
	ns := func(d time.Duration) string { return strconv.FormatInt(now.Add(d).UnixNano(), 10) }

	// Loki push, as Promtail and Grafana Alloy send it with JSON.
	lokiBody := fmt.Sprintf(`{"streams":[{"stream":{"service_name":"inventory","env":"test"},"values":[
		[%q,"stock reserved for order 42"],
		[%q,"stock check failed for order 43",{"trace_id":"0af7651916cd43dd8448eb211c80319c","level":"error"}]]}]}`,
		ns(-2*time.Second), ns(-time.Second))
	srv.post("/loki/api/v1/push", "application/json", []byte(lokiBody), http.StatusNoContent)

	// Newline-delimited JSON with one bad line: it alone is refused.
	ndjson := fmt.Sprintf(`{"time":%q,"level":"warn","msg":"slow query","service":"billing","duration_ms":812,"request_id":"r-9","db":{"table":"invoices"}}
not json at all
{"ts":%q,"severity":"INFO","message":"invoice sent","service.name":"billing","correlation_id":"r-9"}
`, now.Add(-3*time.Second).Format(time.RFC3339Nano), now.Add(-2*time.Second).Format(time.RFC3339Nano))
	resp, err := http.Post(srv.url("/api/argus/v1/logs"), "application/x-ndjson", strings.NewReader(ndjson))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"line":2`) || !strings.Contains(string(body), `"accepted":2`) {
		t.Errorf("NDJSON with a bad line: %d %s; want 400 naming line 2 with 2 accepted", resp.StatusCode, body)
	}

	// Elasticsearch bulk, as Filebeat sends ECS documents.
	bulk := fmt.Sprintf(`{"create":{"_index":"filebeat-8"}}
{"@timestamp":%q,"message":"user 7 logged in","log":{"level":"info"},"service":{"name":"auth"},"trace":{"id":"5b8efff798038103d269b633813fc60c"},"host":{"name":"web-1"}}
`, now.Add(-time.Second).Format(time.RFC3339Nano))
	out := srv.post("/_bulk", "application/x-ndjson", []byte(bulk), http.StatusOK)
	if !strings.Contains(string(out), `"errors":false`) {
		t.Errorf("bulk answer: %s", out)
	}

	// Syslog over TCP and UDP with Go's log/syslog client.
	syslogAddr := map[string]string{}
	for _, line := range strings.Split(srv.logs(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "argus is ready" {
			syslogAddr["tcp"], _ = rec["syslog_tcp"].(string)
			syslogAddr["udp"], _ = rec["syslog_udp"].(string)
		}
	}
	if syslogAddr["tcp"] == "" || syslogAddr["udp"] == "" {
		t.Fatalf("the ready log names no syslog addresses: %v", syslogAddr)
	}
	for _, network := range []string{"tcp", "udp"} {
		w, err := syslog.Dial(network, syslogAddr[network], syslog.LOG_ERR|syslog.LOG_DAEMON, "cron-"+network)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Err("job backup exited with status 2"); err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
	// And with util-linux's logger, in both RFC formats.
	if loggerBin, err := exec.LookPath("logger"); err == nil {
		host, port, _ := strings.Cut(syslogAddr["tcp"], ":")
		for _, format := range []string{"--rfc5424", "--rfc3164"} {
			cmd := exec.Command(loggerBin, "-n", host, "-P", port, "--tcp", format, "-t", "logger"+strings.TrimPrefix(format, "--rfc"), "-p", "user.warning", "disk almost full")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("logger %s: %v: %s", format, err, out)
			}
		}
	} else if ciRequired() {
		t.Fatal("logger (util-linux) is not installed; CI must have it")
	}

	checks := []struct {
		query string
		want  []string
	}{
		{`{service_name="inventory"}`, []string{"stock check failed for order 43", "stock reserved for order 42"}},
		{`{service_name="inventory", env="test"} | trace_id="0af7651916cd43dd8448eb211c80319c" | level="error"`, []string{"stock check failed for order 43"}},
		{`{service_name="billing"}`, []string{"invoice sent", "slow query"}},
		{`{service_name="billing"} | duration_ms >= 800 | db_table="invoices"`, []string{"slow query"}},
		{`{service_name="billing"} | correlation_id="r-9"`, []string{"invoice sent", "slow query"}},
		{`{service_name="auth"} | trace_id="5b8efff798038103d269b633813fc60c"`, []string{"user 7 logged in"}},
		{`{service_name=~"cron-.*"} |= "backup"`, []string{"job backup exited with status 2", "job backup exited with status 2"}},
	}
	if _, err := exec.LookPath("logger"); err == nil {
		checks = append(checks, struct {
			query string
			want  []string
		}{`{service_name=~"logger.*"} | level="warn"`, []string{"disk almost full", "disk almost full"}})
	}
	for _, c := range checks {
		eventually(t, 10*time.Second, func() error {
			var got []string
			for _, l := range srv.lokiLines(c.query) {
				got = append(got, l.line)
			}
			if !slices.Equal(got, c.want) {
				return fmt.Errorf("%s: lines %q, want %q", c.query, got, c.want)
			}
			return nil
		})
	}
}

// TestCorrelate finds every log line and span of one request, across two
// services, by its correlation ID and by its trace ID.
func TestCorrelate(t *testing.T) {
	srv := startArgus(t, t.TempDir())
	traceID := "6e0c63257de34c92bf9efcd03927272e"
	now := time.Now()
	lines := fmt.Sprintf(`{"time":%q,"service":"frontend","level":"info","msg":"GET /checkout","trace_id":%q,"correlation_id":"req-abc"}
{"time":%q,"service":"inventory","level":"error","msg":"out of stock","trace_id":%q,"correlation_id":"req-abc"}
{"time":%q,"service":"frontend","level":"info","msg":"another request","correlation_id":"req-other"}
`, now.Add(-3*time.Second).Format(time.RFC3339Nano), traceID, now.Add(-2*time.Second).Format(time.RFC3339Nano), traceID,
		now.Add(-time.Second).Format(time.RFC3339Nano))
	srv.post("/api/argus/v1/logs", "application/x-ndjson", []byte(lines), http.StatusOK)
	exportSpans(t, srv, traceID, "req-abc")

	type answer struct {
		Services []string `json:"services"`
		TraceIDs []string `json:"traceIds"`
		Logs     []struct {
			Service string `json:"service"`
			Body    string `json:"body"`
			Level   string `json:"level"`
		} `json:"logs"`
		Spans []struct {
			Service string `json:"service"`
			Name    string `json:"name"`
		} `json:"spans"`
	}
	for _, id := range []string{"req-abc", traceID} {
		var a answer
		eventually(t, 10*time.Second, func() error {
			srv.getJSON("/api/argus/v1/correlate/"+id, http.StatusOK, &a)
			if len(a.Logs) != 2 || len(a.Spans) != 2 {
				return fmt.Errorf("correlate %s: %d logs, %d spans; want 2 and 2", id, len(a.Logs), len(a.Spans))
			}
			return nil
		})
		if !slices.Equal(a.Services, []string{"frontend", "inventory"}) || !slices.Equal(a.TraceIDs, []string{traceID}) {
			t.Errorf("correlate %s: services %v, traces %v", id, a.Services, a.TraceIDs)
		}
		if a.Logs[0].Body != "GET /checkout" || a.Logs[1].Body != "out of stock" || a.Logs[1].Level != "error" {
			t.Errorf("correlate %s: logs out of order or wrong: %+v", id, a.Logs)
		}
		if a.Spans[0].Service != "frontend" || a.Spans[1].Service != "inventory" {
			t.Errorf("correlate %s: spans %+v", id, a.Spans)
		}
	}
	var none answer
	srv.getJSON("/api/argus/v1/correlate/nothing-here", http.StatusOK, &none)
	if len(none.Logs)+len(none.Spans) != 0 {
		t.Errorf("an unknown id found %+v", none)
	}
}

// TestLokiTail follows a live tail over a WebSocket while lines arrive.
func TestLokiTail(t *testing.T) {
	srv := startArgus(t, t.TempDir())
	u := "ws://" + srv.httpAddr + "/loki/api/v1/tail?" + url.Values{"query": {`{service_name="tailme"} != "skip"`}}.Encode()
	conn, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go func() {
		for i := range 3 {
			time.Sleep(300 * time.Millisecond)
			line := fmt.Sprintf(`{"service":"tailme","msg":"line %d"}`+"\n"+`{"service":"tailme","msg":"skip %d"}`, i, i)
			http.Post(srv.url("/api/argus/v1/logs"), "application/x-ndjson", strings.NewReader(line))
		}
	}()
	var got []string
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	for len(got) < 3 {
		var msg struct {
			Streams []lokiStream `json:"streams"`
		}
		if err := conn.ReadJSON(&msg); err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		for _, s := range msg.Streams {
			for _, v := range s.Values {
				got = append(got, v[1].(string))
			}
		}
	}
	if !slices.Equal(got, []string{"line 0", "line 1", "line 2"}) {
		t.Errorf("tailed %q", got)
	}
}

// TestLogQLErrors checks that bad queries get 400 with the parser's
// position, as Loki answers.
func TestLogQLErrors(t *testing.T) {
	srv := startArgus(t, t.TempDir())
	for _, q := range []string{`{service_name="x"`, `{service_name="x"} |= `, `sum(count_over_time({a="b"}))`, `{}`} {
		resp, err := http.Get(srv.url("/loki/api/v1/query_range?" + url.Values{"query": {q}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "parse error") && q != `{}` {
			t.Errorf("%s: %d %s; want 400 with a parse error", q, resp.StatusCode, b)
		}
	}
}

// ciRequired reports whether the run is CI's, where a missing tool fails
// a test instead of skipping it.
func ciRequired() bool { return os.Getenv("CI") != "" }

// exportSpans sends one request's spans in trace traceID: a frontend
// server span and its inventory child, both tagged with the correlation
// ID, through the OpenTelemetry SDK over OTLP/gRPC.
func exportSpans(t *testing.T, srv *server, traceID, correlationID string) {
	t.Helper()
	ctx := ctxTimeout(t, 30*time.Second)
	tid, err := trace.TraceIDFromHex(traceID)
	if err != nil {
		t.Fatal(err)
	}
	parent := trace.ContextWithRemoteSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled, Remote: true,
	}))
	for _, service := range []string{"frontend", "inventory"} {
		exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(srv.grpcAddr), otlptracegrpc.WithInsecure())
		if err != nil {
			t.Fatal(err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp),
			sdktrace.WithResource(resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(service))))
		var span trace.Span
		parent, span = tp.Tracer("shop").Start(parent, service+" handler", trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("correlation_id", correlationID)))
		time.Sleep(time.Millisecond)
		span.End()
		if err := tp.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLogsSurviveCrash posts batches of lines from several clients and
// kills argus with SIGKILL while they run: every line of every batch
// argus acknowledged must be there after a restart, and a graceful
// restart after that keeps them too.
func TestLogsSurviveCrash(t *testing.T) {
	dir := t.TempDir()
	s := startArgus(t, dir)
	var (
		mu    sync.Mutex
		acked = map[string]int{} // correlation ID of a batch -> lines
		wg    sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; ctx.Err() == nil; b++ {
				id := fmt.Sprintf("w%d-b%d", w, b)
				var body strings.Builder
				for i := range 50 {
					fmt.Fprintf(&body, `{"service":"crashy","msg":"line %d of batch %s","correlation_id":%q}`+"\n", i, id, id)
				}
				req, _ := http.NewRequestWithContext(ctx, "POST", s.url("/api/argus/v1/logs"), strings.NewReader(body.String()))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return // the server is gone
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					mu.Lock()
					acked[id] = 50
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	s.kill()
	cancel()
	wg.Wait()
	if len(acked) == 0 {
		t.Fatal("no batch was acknowledged before the kill")
	}

	for round, restart := range []func() *server{
		func() *server { return startArgus(t, dir) },
		func() *server { s.stop(); return startArgus(t, dir) },
	} {
		s = restart()
		total := s.lokiVector(`sum(count_over_time({service_name="crashy"}[2h]))`, "")[""]
		if total < float64(50*len(acked)) {
			t.Errorf("round %d: %v lines stored, want at least the %d acknowledged", round, total, 50*len(acked))
		}
		for id := range acked {
			if got := s.lokiVector(fmt.Sprintf(`sum(count_over_time({service_name="crashy"} | correlation_id=%q [2h]))`, id), "")[""]; got != 50 {
				t.Fatalf("round %d: batch %s: %v lines after restart, want 50", round, id, got)
			}
		}
	}
}

// TestLogRetention checks that --retention drops whole days of logs and
// that the push APIs refuse lines already past it, as Loki refuses lines
// older than reject_old_samples_max_age.
func TestLogRetention(t *testing.T) {
	dir := t.TempDir()
	s := startArgus(t, dir)
	old := time.Now().Add(-5 * 24 * time.Hour)
	body := fmt.Sprintf(`{"time":%q,"service":"keeper","msg":"old line"}
{"time":%q,"service":"keeper","msg":"new line"}
`, old.Format(time.RFC3339Nano), time.Now().Add(-time.Minute).Format(time.RFC3339Nano))
	s.post("/api/argus/v1/logs", "application/x-ndjson", []byte(body), http.StatusOK)
	since := strconv.FormatInt(time.Now().Add(-6*24*time.Hour).UnixNano(), 10)
	if got := s.lokiLines(`{service_name="keeper"}`, "start", since); len(got) != 2 {
		t.Fatalf("before: %d lines, want 2", len(got))
	}
	s.stop()
	oldDay := filepath.Join(dir, "logs", old.UTC().Format(time.DateOnly))
	if _, err := os.Stat(oldDay); err != nil {
		t.Fatalf("old partition not written: %v", err)
	}

	s = startArgus(t, dir, "--retention=2d")
	got := s.lokiLines(`{service_name="keeper"}`, "start", since)
	if len(got) != 1 || got[0].line != "new line" {
		t.Errorf("after retention: %v, want only the new line", got)
	}
	if _, err := os.Stat(oldDay); !os.IsNotExist(err) {
		t.Errorf("expired partition directory still there: %v", err)
	}
	out := s.post("/api/argus/v1/logs", "application/x-ndjson", []byte(fmt.Sprintf(`{"time":%q,"service":"keeper","msg":"too old"}`, old.Format(time.RFC3339Nano))), http.StatusBadRequest)
	if !strings.Contains(string(out), "old") {
		t.Errorf("a line past retention: %s; want it refused as too old", out)
	}
}

// TestLokiVolume asks index/volume and index/volume_range, as Grafana's
// Logs Drilldown does, for the bytes of lines pushed through the Loki
// API, aggregated the ways Loki aggregates them.
func TestLokiVolume(t *testing.T) {
	srv := startArgus(t, t.TempDir())
	now := time.Now()
	streams := []struct {
		service, env string
		lines        []string
	}{
		{"cart", "prod", []string{"added item 7 to cart 1", "cart 1 checked out"}},
		{"cart", "dev", []string{"test cart"}},
		{"search", "prod", []string{"query shoes: 12 hits", "query boots: 0 hits", "query hats: 3 hits"}},
	}
	want := map[string]float64{}
	var push strings.Builder
	push.WriteString(`{"streams":[`)
	for i, s := range streams {
		if i > 0 {
			push.WriteString(",")
		}
		fmt.Fprintf(&push, `{"stream":{"service_name":%q,"env":%q},"values":[`, s.service, s.env)
		for j, l := range s.lines {
			if j > 0 {
				push.WriteString(",")
			}
			fmt.Fprintf(&push, `[%q,%q]`, strconv.FormatInt(now.Add(-time.Duration(10*(i+1)+j)*time.Second).UnixNano(), 10), l)
			want["service_name="+s.service] += float64(len(l))
			want["env="+s.env] += float64(len(l))
			want["env="+s.env+",service_name="+s.service] += float64(len(l))
		}
		push.WriteString("]}")
	}
	push.WriteString("]}")
	srv.post("/loki/api/v1/push", "application/json", []byte(push.String()), http.StatusNoContent)

	// volume returns each series' bytes over the range as "label=value"
	// keys, largest first.
	volume := func(path string, params url.Values) (keys []string, got map[string]float64) {
		t.Helper()
		var resp lokiResponse
		srv.getJSON(path+"?"+params.Encode(), http.StatusOK, &resp)
		got = map[string]float64{}
		var series []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
			Values [][2]any          `json:"values"`
		}
		if err := json.Unmarshal(resp.Data.Result, &series); err != nil {
			t.Fatal(err)
		}
		wantType := map[bool]string{true: "matrix", false: "vector"}[strings.HasSuffix(path, "_range")]
		if resp.Data.ResultType != wantType {
			t.Fatalf("%s: result type %q, want %q", path, resp.Data.ResultType, wantType)
		}
		for _, s := range series {
			var parts []string
			for k, v := range s.Metric {
				parts = append(parts, k+"="+v)
			}
			slices.Sort(parts)
			key := strings.Join(parts, ",")
			keys = append(keys, key)
			points := s.Values
			if s.Value[0] != nil {
				points = append(points, s.Value)
			}
			for _, p := range points {
				v, _ := strconv.ParseFloat(p[1].(string), 64)
				got[key] += v
			}
		}
		return keys, got
	}
	check := func(name string, got map[string]float64, wantKeys ...string) {
		t.Helper()
		if len(got) != len(wantKeys) {
			t.Errorf("%s: series %v, want %v", name, got, wantKeys)
		}
		for _, k := range wantKeys {
			w := want[k]
			if strings.HasSuffix(k, "=") {
				w = want[k+"prod"] + want[k+"dev"] + want[k+"cart"] + want[k+"search"]
			}
			if got[k] != w {
				t.Errorf("%s: %s = %v bytes, want %v (all: %v)", name, k, got[k], w, got)
			}
		}
	}
	all := url.Values{"query": {`{service_name=~".+"}`}}
	keys, got := volume("/loki/api/v1/index/volume", all)
	check("by the selector's labels", got, "service_name=search", "service_name=cart")
	if !slices.Equal(keys, []string{"service_name=search", "service_name=cart"}) {
		t.Errorf("series %v, want the largest first", keys)
	}
	_, got = volume("/loki/api/v1/index/volume", url.Values{"query": {`{service_name="cart", env=~".+"}`}})
	check("by two labels", got, "env=prod,service_name=cart", "env=dev,service_name=cart")
	_, got = volume("/loki/api/v1/index/volume", url.Values{"query": all["query"], "targetLabels": {"env"}})
	check("targetLabels", got, "env=prod", "env=dev")
	_, got = volume("/loki/api/v1/index/volume", url.Values{"query": all["query"], "targetLabels": {"env,service_name"}, "aggregateBy": {"labels"}})
	check("aggregateBy=labels", got, "env=", "service_name=")
	keys, _ = volume("/loki/api/v1/index/volume", url.Values{"query": all["query"], "limit": {"1"}})
	if !slices.Equal(keys, []string{"service_name=search"}) {
		t.Errorf("limit 1: %v", keys)
	}
	_, got = volume("/loki/api/v1/index/volume_range", url.Values{"query": all["query"], "step": {"15s"},
		"start": {strconv.FormatInt(now.Add(-5*time.Minute).UnixNano(), 10)}})
	check("volume_range", got, "service_name=search", "service_name=cart")

	// Bad parameters get 400 and say what was wrong.
	for params, msg := range map[string]string{
		"":                                      "missing query",
		"query={env=\"prod\"}&aggregateBy=pods": "aggregateBy",
		"query={env=\"prod\"}&targetLabels=a-b": "a-b",
		"query={env=\"prod\"}&limit=0":          "limit",
	} {
		resp, err := http.Get(srv.url("/loki/api/v1/index/volume?" + params))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), msg) {
			t.Errorf("volume?%s: %d %s, want 400 naming %s", params, resp.StatusCode, body, msg)
		}
	}
}
