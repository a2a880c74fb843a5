package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// demoRun is one running "argus demo".
type demoRun struct {
	*server
	frontend, inventory string // base URLs
}

// startDemo runs "argus demo" on free ports with quick traffic, scrapes
// and batch delays, and waits until it says it is ready.
func startDemo(t *testing.T, args ...string) *demoRun {
	t.Helper()
	args = append([]string{"demo",
		"--http.addr=127.0.0.1:0", "--otlp.grpc.addr=127.0.0.1:0", "--otlp.http.addr=127.0.0.1:0",
		"--data.dir=" + t.TempDir(), "--log.format=json",
		"--demo.rate=10", "--demo.scrape.interval=1s", "--demo.chaos.interval=0"}, args...)
	s, rec := launch(t, "demo is ready", 120*time.Second, args...)
	d := &demoRun{server: s}
	s.httpAddr, _ = rec["http"].(string)
	d.frontend, _ = rec["frontend"].(string)
	d.inventory, _ = rec["inventory"].(string)
	return d
}

// traceServices counts the spans of a trace by service.
func traceServices(tr jaegerTrace) map[string]int {
	out := map[string]int{}
	for _, sp := range tr.Spans {
		out[tr.Processes[sp.ProcessID].ServiceName]++
	}
	return out
}

// TestDemo runs "argus demo" and checks, through Argus's public APIs
// only, what the shop's telemetry must give: one order request is one
// trace across frontend and inventory; both services' log lines carry its
// correlation ID and trace ID; correlate finds both; the RED metrics of
// both are scraped and queryable; and an exemplar of the latency
// histogram leads to a stored trace.
func TestDemo(t *testing.T) {
	d := startDemo(t)

	// One order of our own, continuing a trace we name, with a
	// correlation ID we name.
	var tid [16]byte
	rand.Read(tid[:])
	traceID := hex.EncodeToString(tid[:])
	corrID := "e2e-order-" + traceID[:8]
	req, err := http.NewRequest(http.MethodPost, d.frontend+"/orders", strings.NewReader(`{"product_id":"p-1","quantity":1}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Correlation-ID", corrID)
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("order: status %d: %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("X-Correlation-ID"); got != corrID {
		t.Errorf("order: X-Correlation-ID %q, want %q", got, corrID)
	}
	const wait = 90 * time.Second

	t.Run("trace spans both services", func(t *testing.T) {
		d.t = t
		// Found by a search on the frontend, as Grafana's Jaeger data source
		// would, and whole by ID.
		eventually(t, wait, func() error {
			var res struct{ Data []jaegerTrace }
			d.getJSON("/jaeger/api/traces?"+url.Values{
				"service": {"frontend"}, "operation": {"POST /orders"}, "lookback": {"1h"}, "limit": {"10000"},
			}.Encode(), http.StatusOK, &res)
			for _, tr := range res.Data {
				if tr.TraceID == traceID {
					return nil
				}
			}
			return fmt.Errorf("trace %s not among %d traces of POST /orders", traceID, len(res.Data))
		})
		eventually(t, wait, func() error {
			var res struct{ Data []jaegerTrace }
			d.getJSON("/jaeger/api/traces/"+traceID, http.StatusOK, &res)
			if len(res.Data) != 1 {
				return fmt.Errorf("%d traces", len(res.Data))
			}
			svcs := traceServices(res.Data[0])
			if svcs["frontend"] < 1 || svcs["inventory"] < 2 {
				return fmt.Errorf("trace %s has spans by service %v, want frontend and inventory (stock check and reservation)", traceID, svcs)
			}
			return nil
		})
	})

	t.Run("logs carry correlation and trace IDs", func(t *testing.T) {
		d.t = t
		for _, svc := range []string{"frontend", "inventory"} {
			eventually(t, wait, func() error {
				lines := d.lokiLines(fmt.Sprintf(`{service_name=%q} | correlation_id=%q`, svc, corrID))
				var access, app int
				for _, l := range lines {
					if l.labels["trace_id"] != traceID {
						return fmt.Errorf("%s line %q has trace_id %q, want %s", svc, l.line, l.labels["trace_id"], traceID)
					}
					if l.line == "http request" {
						access++
					} else {
						app++
					}
				}
				// frontend: one access log and "order placed"; inventory: two
				// access logs, "stock checked" and "reserved".
				if want := map[string]int{"frontend": 1, "inventory": 2}[svc]; access < want || app < 1 {
					return fmt.Errorf("%s: %d access and %d other lines with correlation_id %s", svc, access, app, corrID)
				}
				return nil
			})
		}
		// The trace ID finds the same lines.
		lines := d.lokiLines(fmt.Sprintf(`{service_name=~"frontend|inventory"} | trace_id=%q`, traceID))
		for _, l := range lines {
			if l.labels["correlation_id"] != corrID {
				t.Errorf("line %q of trace %s has correlation_id %q", l.line, traceID, l.labels["correlation_id"])
			}
		}
	})

	t.Run("correlate", func(t *testing.T) {
		d.t = t
		for _, id := range []string{corrID, traceID} {
			eventually(t, wait, func() error {
				var res struct {
					Services []string `json:"services"`
					TraceIDs []string `json:"traceIds"`
					Logs     []struct {
						Service string `json:"service"`
					} `json:"logs"`
					Spans []struct {
						Service string `json:"service"`
					} `json:"spans"`
				}
				d.getJSON("/api/argus/v1/correlate/"+id, http.StatusOK, &res)
				logs, spans := map[string]int{}, map[string]int{}
				for _, l := range res.Logs {
					logs[l.Service]++
				}
				for _, s := range res.Spans {
					spans[s.Service]++
				}
				if logs["frontend"] == 0 || logs["inventory"] == 0 || spans["frontend"] == 0 || spans["inventory"] == 0 {
					return fmt.Errorf("correlate/%s: logs by service %v, spans by service %v", id, logs, spans)
				}
				if len(res.TraceIDs) != 1 || res.TraceIDs[0] != traceID {
					return fmt.Errorf("correlate/%s: trace IDs %v, want [%s]", id, res.TraceIDs, traceID)
				}
				return nil
			})
		}
	})

	t.Run("RED metrics", func(t *testing.T) {
		d.t = t
		for _, q := range []string{
			`sum by (job) (http_server_requests_total{route=~"/orders|/products|/stock/{id}|/reservations"})`,
			`sum by (job) (http_server_requests_total{status_class="4xx"})`,
			`histogram_quantile(0.9, sum by (job, le) (rate(http_server_request_duration_seconds_bucket[1m])))`,
		} {
			eventually(t, wait, func() error {
				got := d.jobVector(q)
				if _, ok := got["frontend"]; !ok {
					return fmt.Errorf("%s: no frontend sample in %v", q, got)
				}
				if _, ok := got["inventory"]; !ok && !strings.Contains(q, "4xx") {
					return fmt.Errorf("%s: no inventory sample in %v", q, got)
				}
				return nil
			})
		}
		// The errors the traffic mix makes: sold-out orders are 409s.
		eventually(t, wait, func() error {
			got := d.jobVector(`sum by (job) (http_server_requests_total{route="/orders",status_class="4xx"})`)
			if got["frontend"] < 1 {
				return fmt.Errorf("no 4xx orders yet: %v", got)
			}
			return nil
		})
	})

	t.Run("exemplar leads to a stored trace", func(t *testing.T) {
		d.t = t
		eventually(t, wait, func() error {
			now := time.Now()
			var res struct {
				Data []struct {
					SeriesLabels map[string]string `json:"seriesLabels"`
					Exemplars    []struct {
						Labels map[string]string `json:"labels"`
					} `json:"exemplars"`
				} `json:"data"`
			}
			d.getJSON("/api/v1/query_exemplars?"+url.Values{
				"query": {`http_server_request_duration_seconds_bucket{route="/orders"}`},
				"start": {strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)},
				"end":   {strconv.FormatInt(now.Add(time.Minute).Unix(), 10)},
			}.Encode(), http.StatusOK, &res)
			for _, series := range res.Data {
				for _, ex := range series.Exemplars {
					id := ex.Labels["trace_id"]
					if id == "" {
						continue
					}
					resp, err := http.Get(d.url("/jaeger/api/traces/" + id))
					if err != nil {
						return err
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK && bytes.Contains(b, []byte(id)) {
						return nil
					}
				}
			}
			return fmt.Errorf("no exemplar of /orders latency leads to a stored trace (%d series)", len(res.Data))
		})
	})

	d.t = t
	// The alert loop: errors injected into the inventory fire the demo's
	// InventoryErrors alert, which is notified and whose action resets
	// the inventory; the errors stop and the alert resolves.
	t.Run("alert loop", func(t *testing.T) {
		resp, err := http.Post(d.inventory+"/admin/chaos", "application/json", strings.NewReader(`{"error_rate":0.6}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		eventually(t, 3*time.Minute, func() error {
			for _, e := range historyOf(t, d.server, "alertname=InventoryErrors") {
				if e.Event == "firing" {
					return nil
				}
			}
			return fmt.Errorf("InventoryErrors has not fired")
		})
		// The LogQL query the demo's guide suggests finds the errors.
		m := regexp.MustCompile(`/loki/api/v1/query_range --data-urlencode 'query=([^']+)'`).FindStringSubmatch(d.printed())
		if m == nil {
			t.Fatalf("no LogQL query in the demo's guide:\n%s", d.printed())
		}
		eventually(t, time.Minute, func() error {
			for _, l := range d.lokiLines(m[1]) {
				if l.labels["service_name"] == "inventory" && l.labels["status"] == "503" {
					return nil
				}
			}
			return fmt.Errorf("the guide's query %s finds none of the inventory's errors", m[1])
		})
		eventually(t, time.Minute, func() error {
			for _, r := range d.runs("action=reset-inventory") {
				if r.Result == "success" && r.Status == 200 {
					return nil
				}
			}
			return fmt.Errorf("no successful reset-inventory run: %+v", d.runs(""))
		})
		eventually(t, time.Minute, func() error {
			if !strings.Contains(d.logs(), `"msg":"notification","component":"demo-notifications","status":"firing","alertname":"InventoryErrors"`) {
				return fmt.Errorf("no notification in the demo's log")
			}
			return nil
		})
		eventually(t, 3*time.Minute, func() error {
			for _, e := range historyOf(t, d.server, "alertname=InventoryErrors") {
				if e.Event == "resolved" {
					return nil
				}
			}
			return fmt.Errorf("InventoryErrors has not resolved")
		})
	})

	// Ctrl-C stops everything cleanly.
	d.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-d.exited:
	case <-time.After(90 * time.Second):
		t.Fatal("argus demo did not stop within 90s of SIGINT")
	}
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("argus demo exited with %d", code)
	}
}

// jobVector runs an instant PromQL query and returns the samples keyed
// by their job label.
func (s *server) jobVector(query string) map[string]float64 {
	s.t.Helper()
	var res struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	s.getJSON("/api/v1/query?"+url.Values{"query": {query}}.Encode(), http.StatusOK, &res)
	out := map[string]float64{}
	for _, r := range res.Data.Result {
		v, _ := strconv.ParseFloat(fmt.Sprint(r.Value[1]), 64)
		out[r.Metric["job"]] = v
	}
	return out
}
