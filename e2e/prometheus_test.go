package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
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

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// prometheusBinary finds a Prometheus server to compare against. CI
// installs Debian's package; elsewhere the test says how to get one.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ARGUS_TEST_PROMETHEUS"); p != "" {
		return p
	}
	p, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no prometheus binary on PATH; .ci/run installs Debian's prometheus package")
		}
		t.Skip("no prometheus binary on PATH: apt-get install prometheus (or set ARGUS_TEST_PROMETHEUS) to run this comparison")
	}
	return p
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// shopTarget serves client_golang metrics that change while the test runs.
func shopTarget(t *testing.T) *httptest.Server {
	reg := prometheus.NewRegistry()
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shop_requests_total", Help: "Requests."}, []string{"route", "code"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "shop_request_duration_seconds", Help: "Latency.",
		Buckets: []float64{0.005, 0.01, 0.05, 0.1, 0.5, 1}}, []string{"route"})
	queue := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "shop_queue_seconds", Help: "Queueing time, a native histogram.",
		NativeHistogramBucketFactor: 1.1}, []string{"route"})
	inflight := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "shop_inflight", Help: "In flight."}, []string{"route"})
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "shop_route_info", Help: "Route owners."}, []string{"route", "owner"})
	reg.MustRegister(requests, latency, queue, inflight, info)
	routes := []string{"/checkout", "/cart", "/stock"}
	for i, r := range routes {
		info.WithLabelValues(r, []string{"payments", "web", "inventory"}[i]).Set(1)
	}
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(7, 8))
	stop := make(chan struct{})
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			mu.Lock()
			for i, r := range routes {
				// Exemplars ride on the counter, as a traced service's would.
				requests.WithLabelValues(r, "200").(prometheus.ExemplarAdder).AddWithExemplar(
					float64(1+rng.IntN(5*(i+1))), prometheus.Labels{"trace_id": fmt.Sprintf("%032x", rng.Uint64())})
				if rng.IntN(4) == 0 {
					requests.WithLabelValues(r, "500").Inc()
				}
				latency.WithLabelValues(r).Observe(rng.ExpFloat64() * 0.05 * float64(i+1))
				queue.WithLabelValues(r).Observe(rng.ExpFloat64() * 0.01 * float64(i+1))
				inflight.WithLabelValues(r).Set(float64(rng.IntN(10)))
			}
			mu.Unlock()
		}
	}()
	// OpenMetrics carries the exemplars.
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	t.Cleanup(func() { close(stop); srv.Close() })
	return srv
}

// promQuery runs an instant query at time ts against a Prometheus API base
// URL and returns the result as a canonical, comparable form.
func promQuery(t *testing.T, base, q string, ts time.Time) (map[string]float64, error) {
	u := base + "/api/v1/query?query=" + url.QueryEscape(q) + "&time=" + strconv.FormatFloat(float64(ts.UnixMilli())/1000, 'f', 3, 64)
	resp, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s", q, r.Error)
	}
	out := map[string]float64{}
	parse := func(s any) float64 {
		f, _ := strconv.ParseFloat(fmt.Sprint(s), 64)
		return f
	}
	switch r.Data.ResultType {
	case "vector":
		var v []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		json.Unmarshal(r.Data.Result, &v)
		for _, s := range v {
			out[labelKey(s.Metric)] = parse(s.Value[1])
		}
	case "scalar":
		var v [2]any
		json.Unmarshal(r.Data.Result, &v)
		out["scalar"] = parse(v[1])
	default:
		return nil, fmt.Errorf("%s: result type %s", q, r.Data.ResultType)
	}
	return out, nil
}

func labelKey(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q,", k, m[k])
	}
	return b.String()
}

func sameFloat(a, b float64) bool {
	if math.IsNaN(a) && math.IsNaN(b) {
		return true
	}
	return a == b || math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

// TestRemoteWriteFromPrometheus runs a real Prometheus server that scrapes
// a client_golang target and remote-writes everything to argus, then
// checks that PromQL over argus answers exactly what Prometheus answers
// over its own copy of the same samples.
func TestRemoteWriteFromPrometheus(t *testing.T) {
	promBin := prometheusBinary(t)
	target := shopTarget(t)
	s := startArgus(t, t.TempDir())

	dir := t.TempDir()
	promAddr := freeAddr(t)
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 500ms
scrape_configs:
  - job_name: shop
    static_configs:
      - targets: [%q]
remote_write:
  - url: http://%s/api/v1/write
    send_native_histograms: true
    send_exemplars: true
    queue_config:
      batch_send_deadline: 500ms
      min_backoff: 100ms
`, target.Listener.Addr().String(), s.httpAddr)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	prom := exec.Command(promBin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+promAddr,
		"--enable-feature=native-histograms,exemplar-storage")
	var promLog strings.Builder
	prom.Stdout, prom.Stderr = &promLog, &promLog
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		prom.Process.Kill()
		prom.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", promLog.String())
		}
	})
	promURL := "http://" + promAddr

	// Let both collect 25 seconds of samples, then compare at a moment
	// both have every sample of (remote write runs a little behind).
	time.Sleep(25 * time.Second)
	at := time.Now().Add(-3 * time.Second).Truncate(time.Second)
	// Not on a whole minute: there Prometheus 2's closed range [t-3m, t]
	// holds one more subquery step than Prometheus 3's left-open (t-3m, t].
	if at.Truncate(time.Minute).Equal(at) {
		at = at.Add(-time.Second)
	}
	eventually(t, 30*time.Second, func() error {
		q := `timestamp(shop_inflight{route="/cart"})`
		a, err := promQuery(t, s.url(""), q, at)
		if err != nil {
			return err
		}
		p, err := promQuery(t, promURL, q, at)
		if err != nil {
			return err
		}
		if len(p) != 1 || fmt.Sprint(a) != fmt.Sprint(p) {
			return fmt.Errorf("remote write not caught up: argus %v, prometheus %v", a, p)
		}
		return nil
	})

	queries := []string{
		`shop_requests_total`,
		`rate(shop_requests_total[10s])`,
		`irate(shop_requests_total[10s])`,
		`increase(shop_requests_total{code="200"}[15s])`,
		`sum by (route) (rate(shop_requests_total[10s]))`,
		`sum without (code) (rate(shop_requests_total[10s]))`,
		`avg by (code) (shop_inflight)`,
		`max by (route) (shop_inflight)`,
		`topk(2, sum by (route) (rate(shop_requests_total[10s])))`,
		`histogram_quantile(0.9, sum by (le, route) (rate(shop_request_duration_seconds_bucket[10s])))`,
		`histogram_quantile(0.5, sum by (le) (rate(shop_request_duration_seconds_bucket[15s])))`,
		`histogram_count(rate(shop_queue_seconds[10s]))`,
		`histogram_sum(rate(shop_queue_seconds[10s]))`,
		`shop_requests_total offset 5s`,
		`max_over_time(rate(shop_requests_total[5s])[15s:2s])`,
		// No step: the evaluation interval (1m), aligned to absolute time, so
		// over data younger than a minute only vector(1) is sure to be seen.
		`count_over_time(vector(1)[3m:])`,
		`label_replace(shop_inflight, "path", "$1", "route", "/(.*)")`,
		`absent(shop_nothing_total)`,
		`absent(shop_inflight)`,
		`sum by (route) (rate(shop_requests_total{code="500"}[15s])) / on (route) sum by (route) (rate(shop_requests_total[15s]))`,
		`rate(shop_requests_total[10s]) / ignoring (code) group_left sum without (code) (rate(shop_requests_total[10s]))`,
		`shop_inflight * on (route) group_left (owner) shop_route_info`,
		`count(up{job="shop"} == 1)`, // argus also scrapes itself (job "argus")
		`scalar(sum(shop_inflight))`,
	}
	// Exemplars: argus holds those Prometheus scraped and sent.
	exemplarIDs := func(base string) map[string]bool {
		u := fmt.Sprintf("%s/api/v1/query_exemplars?query=%s&start=%d&end=%d", base,
			url.QueryEscape(`shop_requests_total{code="200"}`), at.Add(-time.Minute).Unix(), at.Unix())
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r promResponse[[]struct {
			Exemplars []struct {
				Labels map[string]string `json:"labels"`
			} `json:"exemplars"`
		}]
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatal(err)
		}
		ids := map[string]bool{}
		for _, series := range r.Data {
			for _, e := range series.Exemplars {
				ids[e.Labels["trace_id"]] = true
			}
		}
		return ids
	}
	promEx, argusEx := exemplarIDs(promURL), exemplarIDs(s.url(""))
	if len(promEx) == 0 {
		t.Error("prometheus stored no exemplars; the comparison proves nothing")
	}
	for id := range promEx {
		if !argusEx[id] {
			t.Errorf("exemplar %s is in prometheus, not in argus (argus has %d, prometheus %d)", id, len(argusEx), len(promEx))
			break
		}
	}

	// promtool, Prometheus's own client, against argus.
	promtool := filepath.Join(filepath.Dir(promBin), "promtool")
	out, err := exec.Command(promtool, "query", "instant", s.url(""), `count by (route) (shop_inflight)`).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `route="/checkout"`) {
		t.Errorf("promtool query instant: %v\n%s", err, out)
	}
	out, err = exec.Command(promtool, "query", "labels", s.url(""), "job").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "shop") {
		t.Errorf("promtool query labels: %v\n%s", err, out)
	}

	// Quantiles of native histograms are compared loosely: Prometheus 2.42
	// interpolates linearly inside a bucket, the Prometheus 3 engine Argus
	// embeds exponentially, which moves the answer by a fraction of a
	// bucket (about 0.1% here). The buckets themselves must match exactly.
	loose := map[string]float64{
		`histogram_quantile(0.9, sum by (route) (rate(shop_queue_seconds[10s])))`: 0.01,
	}
	for q := range loose {
		queries = append(queries, q)
	}
	for _, q := range queries {
		a, err := promQuery(t, s.url(""), q, at)
		if err != nil {
			t.Errorf("argus: %v", err)
			continue
		}
		p, err := promQuery(t, promURL, q, at)
		if err != nil {
			t.Errorf("prometheus: %v", err)
			continue
		}
		if len(p) == 0 && q != `absent(shop_inflight)` {
			t.Errorf("%s: prometheus has no result; the comparison proves nothing", q)
		}
		if len(a) != len(p) {
			t.Errorf("%s: argus %d series, prometheus %d\nargus: %v\nprometheus: %v", q, len(a), len(p), a, p)
			continue
		}
		for k, pv := range p {
			av, ok := a[k]
			if tol := loose[q]; ok && tol > 0 && math.Abs(av-pv) <= tol*math.Abs(pv) {
				continue
			}
			if !ok || !sameFloat(av, pv) {
				t.Errorf("%s: series %s: argus %v (present %v), prometheus %v", q, k, av, ok, pv)
			}
		}
	}
}
