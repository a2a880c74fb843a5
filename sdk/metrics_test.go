package sdk_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/argus-obs/argus/sdk"
	dto "github.com/prometheus/client_model/go"
)

func TestMetricsExposition(t *testing.T) {
	e := start(t, sdk.Options{ServiceName: "metrics-svc", ServiceVersion: "1.2.3"})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /mx/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "bad" {
			http.Error(w, "no", http.StatusBadRequest)
			return
		}
		io.WriteString(w, "ok")
	})
	mux.Handle("GET /metrics", sdk.MetricsHandler())
	srv := httptest.NewServer(sdk.Middleware(mux))
	defer srv.Close()
	for _, p := range []string{"/mx/1", "/mx/2", "/mx/bad"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
	req.Header.Set("Accept", "application/openmetrics-text; version=1.0.0; charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Fatalf("Content-Type %q, want OpenMetrics", ct)
	}
	lines := map[string]string{} // series -> rest of line (value and exemplar)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "#") {
			continue
		}
		if i := strings.Index(l, "} "); i >= 0 {
			lines[l[:i+1]] = l[i+2:]
		} else if i := strings.IndexByte(l, ' '); i >= 0 {
			lines[l[:i]] = l[i+1:]
		}
	}

	e.flush(t)
	traces := map[string]bool{}
	for _, s := range e.spans.stubs() {
		traces[s.SpanContext.TraceID().String()] = true
	}
	exemplarRE := regexp.MustCompile(`^(\S+) # \{trace_id="([0-9a-f]{32})"\} (\S+)`)
	checkExemplar := func(series string) {
		t.Helper()
		rest, ok := lines[series]
		if !ok {
			t.Errorf("no series %s", series)
			return
		}
		m := exemplarRE.FindStringSubmatch(rest)
		if m == nil {
			t.Errorf("%s %s: no trace_id exemplar", series, rest)
			return
		}
		if !traces[m[2]] {
			t.Errorf("%s: exemplar trace %s is not a recorded trace", series, m[2])
		}
	}
	checkExemplar(`http_server_requests_total{method="GET",route="/mx/{id}",status_class="2xx"}`)
	checkExemplar(`http_server_requests_total{method="GET",route="/mx/{id}",status_class="4xx"}`)
	checkExemplar(`http_server_request_duration_seconds_bucket{method="GET",route="/mx/{id}",status_class="2xx",le="0.005"}`)
	if v := lines[`http_server_request_duration_seconds_count{method="GET",route="/mx/{id}",status_class="2xx"}`]; v != "2" {
		t.Errorf("2xx count = %q, want 2", v)
	}
	for _, series := range []string{
		"go_goroutines",
		"go_memstats_alloc_bytes",
		"process_cpu_seconds_total",
		`target_info{service_name="metrics-svc",service_version="1.2.3"}`,
	} {
		if _, ok := lines[series]; !ok {
			t.Errorf("no series %s in the scrape", series)
		}
	}

	// Native histograms: the duration histogram has a schema and sparse
	// buckets next to the classic ones (the protobuf format carries them).
	h := histogram(t, "http_server_request_duration_seconds", map[string]string{"method": "GET", "route": "/mx/{id}", "status_class": "2xx"})
	if h == nil || h.Schema == nil || len(h.GetPositiveSpan()) == 0 || len(h.GetBucket()) == 0 {
		t.Errorf("duration histogram is not native+classic: %v", h)
	}
}

// histogram gathers one series of a histogram from the SDK registry.
func histogram(t *testing.T, name string, labels map[string]string) *dto.Histogram {
	t.Helper()
	mfs, err := sdk.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue series
				}
			}
			return m.GetHistogram()
		}
	}
	return nil
}

func hasExemplar(h *dto.Histogram, traceID string) bool {
	for _, b := range h.GetBucket() {
		for _, l := range b.GetExemplar().GetLabel() {
			if l.GetName() == "trace_id" && l.GetValue() == traceID {
				return true
			}
		}
	}
	for _, ex := range h.GetExemplars() {
		for _, l := range ex.GetLabel() {
			if l.GetName() == "trace_id" && l.GetValue() == traceID {
				return true
			}
		}
	}
	return false
}

// TestNoExemplarForUnsampledSpans: an exemplar must lead to a stored
// trace, so requests whose span is not sampled record none.
func TestNoExemplarForUnsampledSpans(t *testing.T) {
	t.Setenv("OTEL_TRACES_SAMPLER", "always_off")
	e := start(t, sdk.Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /unsampled", func(w http.ResponseWriter, r *http.Request) {})
	sdk.Middleware(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/unsampled", nil))
	e.flush(t)
	if n := len(e.spans.stubs()); n != 0 {
		t.Errorf("%d spans exported with always_off", n)
	}
	h := histogram(t, "http_server_request_duration_seconds", map[string]string{"method": "GET", "route": "/unsampled", "status_class": "2xx"})
	if h == nil || h.GetSampleCount() != 1 {
		t.Fatalf("request not observed: %v", h)
	}
	for _, b := range h.GetBucket() {
		if b.Exemplar != nil {
			t.Errorf("bucket %v has exemplar %v", b.GetUpperBound(), b.Exemplar)
		}
	}
	if len(h.GetExemplars()) != 0 {
		t.Errorf("native exemplars %v", h.GetExemplars())
	}
}
