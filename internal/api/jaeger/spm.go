package jaeger

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// Jaeger's Service Performance Monitoring (SPM) API, which the Monitor
// tab of the Jaeger UI reads: request rate, error rate and latency
// quantiles per service (or per operation), answered here with PromQL
// over the span metrics Argus derives at ingest, with the queries
// Jaeger's Prometheus metrics reader runs.

// Defaults of the SPM query parameters, Jaeger's.
const (
	defaultMetricsLookback = time.Hour
	defaultMetricsStep     = 5 * time.Second
	defaultMetricsRatePer  = 10 * time.Minute
	// minMetricsStep is the smallest step /api/metrics/minstep reports:
	// the resolution of the span metrics is their write interval, but
	// Jaeger's own Prometheus reader reports one second.
	minMetricsStep = time.Second
	// maxMetricsPoints bounds the points one series may have, as
	// Prometheus's API refuses more than 11,000.
	maxMetricsPoints = 11000
)

// metricsQuery is a parsed SPM request.
type metricsQuery struct {
	services         []string
	spanKinds        []string // label values: SPAN_KIND_SERVER ...
	groupByOperation bool
	end              time.Time
	lookback, step   time.Duration
	ratePer          time.Duration
	quantile         float64
}

func (h *Handler) parseMetricsQuery(q url.Values, wantQuantile bool) (metricsQuery, error) {
	mq := metricsQuery{lookback: defaultMetricsLookback, step: defaultMetricsStep, ratePer: defaultMetricsRatePer}
	// Repeated (Jaeger 1.50 and later) or comma-separated (earlier).
	for _, v := range q["service"] {
		for s := range strings.SplitSeq(v, ",") {
			if s != "" {
				mq.services = append(mq.services, s)
			}
		}
	}
	if len(mq.services) == 0 {
		return mq, &badRequest{msg: "please provide at least one service name"}
	}
	var err error
	if mq.groupByOperation, err = parseBoolParam(q, "groupByOperation"); err != nil {
		return mq, err
	}
	if mq.end, err = parseEpochParam(q, "endTs", time.Millisecond); err != nil {
		return mq, err
	}
	if mq.end.IsZero() {
		mq.end = h.now()
	}
	for _, p := range []struct {
		name string
		dst  *time.Duration
	}{{"lookback", &mq.lookback}, {"step", &mq.step}, {"ratePer", &mq.ratePer}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n > int64(365*24*time.Hour/time.Millisecond) {
			return mq, paramError(p.name, v, "want a positive number of milliseconds")
		}
		*p.dst = time.Duration(n) * time.Millisecond
	}
	if mq.step < minMetricsStep {
		mq.step = minMetricsStep
	}
	if mq.lookback/mq.step > maxMetricsPoints {
		return mq, paramError("step", q.Get("step"), "lookback/step exceeds %d points; use a larger step", maxMetricsPoints)
	}
	kinds := q["spanKind"]
	if len(kinds) == 0 {
		kinds = []string{"server"}
	}
	for _, k := range kinds {
		kind, ok, err := parseSpanKindParam("spanKind", k)
		if err != nil {
			return mq, err
		}
		if ok {
			mq.spanKinds = append(mq.spanKinds, spanKindLabel(int(kind)))
		}
	}
	if wantQuantile {
		v := q.Get("quantile")
		f, err := strconv.ParseFloat(v, 64)
		if v == "" || err != nil || f <= 0 || f > 1 {
			return mq, paramError("quantile", v, "please provide a quantile between (0, 1]")
		}
		mq.quantile = f
	}
	return mq, nil
}

var spanKindLabels = [...]string{
	"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
	"SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER",
}

func spanKindLabel(k int) string {
	if k < 0 || k >= len(spanKindLabels) {
		return spanKindLabels[0]
	}
	return spanKindLabels[k]
}

// selector is the label matcher of the services and kinds asked for.
func (mq metricsQuery) selector(extra string) string {
	quoted := func(vs []string) string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = regexpQuote(v)
		}
		return strconv.Quote(strings.Join(out, "|"))
	}
	sel := fmt.Sprintf(`service_name=~%s, span_kind=~%s`, quoted(mq.services), quoted(mq.spanKinds))
	if extra != "" {
		sel += ", " + extra
	}
	return sel
}

func (mq metricsQuery) groupBy(extra ...string) string {
	by := []string{"service_name"}
	if mq.groupByOperation {
		by = append(by, "span_name")
	}
	return strings.Join(append(by, extra...), ",")
}

func (mq metricsQuery) rate() string { return model.Duration(mq.ratePer).String() }

// regexpQuote escapes a label value for a PromQL regular expression.
func regexpQuote(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// metricFamily is Jaeger's MetricFamily in its protobuf JSON form.
type metricFamily struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	Help    string   `json:"help"`
	Metrics []metric `json:"metrics"`
}

type metric struct {
	Labels       []metricLabel `json:"labels"`
	MetricPoints []metricPoint `json:"metricPoints"`
}

type metricLabel struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type metricPoint struct {
	GaugeValue struct {
		DoubleValue jsonFloat `json:"doubleValue"`
	} `json:"gaugeValue"`
	Timestamp string `json:"timestamp"`
}

// jsonFloat writes NaN and infinities as protobuf JSON does ("NaN").
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// toMetricFamily converts a PromQL matrix, naming span_name "operation"
// as Jaeger does.
func toMetricFamily(name, help string, m promql.Matrix) metricFamily {
	mf := metricFamily{Name: name, Type: "GAUGE", Help: help, Metrics: []metric{}}
	for _, s := range m {
		var out metric
		s.Metric.Range(func(l labels.Label) {
			n := l.Name
			if n == "span_name" {
				n = "operation"
			}
			out.Labels = append(out.Labels, metricLabel{Name: n, Value: l.Value})
		})
		for _, p := range s.Floats {
			var mp metricPoint
			mp.GaugeValue.DoubleValue = jsonFloat(p.F)
			mp.Timestamp = time.UnixMilli(p.T).UTC().Format(time.RFC3339Nano)
			out.MetricPoints = append(out.MetricPoints, mp)
		}
		mf.Metrics = append(mf.Metrics, out)
	}
	slices.SortFunc(mf.Metrics, func(a, b metric) int { return strings.Compare(labelKey(a.Labels), labelKey(b.Labels)) })
	return mf
}

func labelKey(ls []metricLabel) string {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString(l.Name + "=" + l.Value + "\xff")
	}
	return b.String()
}

// serveMetrics runs the SPM query kind asks for.
func (h *Handler) serveMetrics(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if h.metrics == nil {
			h.v1Error(w, r, &badRequest{msg: "metrics querying is not enabled: Argus was started without a metrics store"})
			return
		}
		mq, err := h.parseMetricsQuery(r.URL.Query(), kind == "latencies")
		if err != nil {
			h.v1Error(w, r, err)
			return
		}
		scope, scopeHelp := "service", "service"
		if mq.groupByOperation {
			scope, scopeHelp = "service_operation", "service & operation"
		}
		var query, name, help string
		switch kind {
		case "calls":
			query = fmt.Sprintf(`sum(rate(traces_span_metrics_calls_total{%s}[%s])) by (%s)`, mq.selector(""), mq.rate(), mq.groupBy())
			name, help = scope+"_call_rate", "calls/sec, grouped by "+scopeHelp
		case "errors":
			// Services without errors have no error series: "or" fills
			// them in with zero, so the UI shows 0% rather than nothing.
			errs := fmt.Sprintf(`sum(rate(traces_span_metrics_calls_total{%s}[%s])) by (%s)`, mq.selector(`status_code="STATUS_CODE_ERROR"`), mq.rate(), mq.groupBy())
			calls := fmt.Sprintf(`sum(rate(traces_span_metrics_calls_total{%s}[%s])) by (%s)`, mq.selector(""), mq.rate(), mq.groupBy())
			query = fmt.Sprintf(`(%s / %s) or (%s * 0)`, errs, calls, calls)
			name, help = scope+"_error_rate", "error rate, computed as a fraction of errors/sec over calls/sec, grouped by "+scopeHelp
		case "latencies":
			// Milliseconds, as Jaeger's UI expects.
			query = fmt.Sprintf(`histogram_quantile(%g, sum(rate(traces_span_metrics_duration_seconds_bucket{%s}[%s])) by (%s)) * 1000`,
				mq.quantile, mq.selector(""), mq.rate(), mq.groupBy("le"))
			name, help = scope+"_latencies", fmt.Sprintf("%.2fth quantile latency, grouped by %s", mq.quantile, scopeHelp)
		}
		m, err := h.metrics.RangeQuery(r.Context(), query, mq.end.Add(-mq.lookback), mq.end, mq.step)
		if err != nil {
			h.v1Error(w, r, fmt.Errorf("query span metrics: %w", err))
			return
		}
		h.writeJSON(w, r, http.StatusOK, toMetricFamily(name, help, m))
	}
}

// serveMinStep answers /api/metrics/minstep: the smallest step, in
// milliseconds, worth asking for.
func (h *Handler) serveMinStep(w http.ResponseWriter, r *http.Request) {
	h.writeJSON(w, r, http.StatusOK, structuredResponse{Data: minMetricsStep.Milliseconds()})
}
