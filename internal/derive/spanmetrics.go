package derive

import (
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-obs/argus/internal/model"
)

// The span metrics, named as the OpenTelemetry Collector's spanmetrics
// connector names them once translated to Prometheus, so dashboards and
// Jaeger's Monitor tab written for it work unchanged.
const (
	SpanCallsMetric    = "traces_span_metrics_calls_total"
	SpanDurationMetric = "traces_span_metrics_duration_seconds"
)

// The label names of span metrics.
const (
	LabelServiceName = "service_name"
	LabelSpanName    = "span_name"
	LabelSpanKind    = "span_kind"
	LabelStatusCode  = "status_code"
	// LabelOverflow marks the series into which a service's spans are
	// folded once it has MaxSeriesPerService series, as the spanmetrics
	// connector's otel.metric.overflow attribute does.
	LabelOverflow = "otel_metric_overflow"
)

// UnknownService is the service of spans whose resource names none, as
// the OpenTelemetry specification says.
const UnknownService = "unknown_service"

// CorrelationKey is the span attribute that carries a correlation ID.
const CorrelationKey = "correlation_id"

// spanKindLabels are the span_kind values, by model.SpanKind, as OTLP
// enum names (what the spanmetrics connector writes).
var spanKindLabels = [...]string{
	"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER",
	"SPAN_KIND_CLIENT", "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER",
}

// SpanKindLabel returns the span_kind label value of a kind.
func SpanKindLabel(k model.SpanKind) string { return spanKindLabels[kindIndex(k)] }

// statusCodeLabels are the status_code values, by model.StatusCode.
var statusCodeLabels = [...]string{"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"}

// StatusCodeLabel returns the status_code label value of a status.
func StatusCodeLabel(c model.StatusCode) string { return statusCodeLabels[statusIndex(c)] }

// kindIndex and statusIndex are the indexes of the label values of a
// kind and a status: out of OTLP's range, those of unspecified and
// unset, which they are labelled as.
func kindIndex(k model.SpanKind) byte {
	if k < 0 || int(k) >= len(spanKindLabels) {
		return 0
	}
	return byte(k)
}

func statusIndex(c model.StatusCode) byte {
	if c < 0 || int(c) >= len(statusCodeLabels) {
		return 0
	}
	return byte(c)
}

// spanMetrics aggregates calls and durations per service, span name,
// kind, status and configured dimensions. It is guarded by the Deriver's
// lock.
type spanMetrics struct {
	dimensions []dimension
	maxSeries  int // per service
	buckets    []float64
	series     map[string]*spanSeries
	perService map[string]int
	// onOverflow is called the first time a service is over its limit.
	onOverflow func(service string)
	overflowed map[string]bool
	keyBuf     []byte
}

// dimension is an attribute configured as an extra label.
type dimension struct {
	attribute string // as in the span ("http.request.method")
	label     string // as a Prometheus label ("http_request_method")
}

// spanSeries is one combination of labels: its call counter and its
// duration histogram.
type spanSeries struct {
	service  string
	calls    *counter
	duration *histogramSeries
}

func newSpanMetrics(o SpanMetricsOptions, onOverflow func(string)) *spanMetrics {
	m := &spanMetrics{
		maxSeries:  o.MaxSeriesPerService,
		buckets:    o.Buckets,
		series:     map[string]*spanSeries{},
		perService: map[string]int{},
		onOverflow: onOverflow,
		overflowed: map[string]bool{},
	}
	if m.maxSeries <= 0 {
		m.maxSeries = DefaultMaxSeriesPerService
	}
	if len(m.buckets) == 0 {
		m.buckets = DefaultDurationBuckets
	}
	for _, a := range o.Dimensions {
		m.dimensions = append(m.dimensions, dimension{attribute: a, label: LabelName(a)})
	}
	return m
}

// serviceOf returns the span's service name, UnknownService when unset.
func serviceOf(sp *model.Span) string {
	if sp.Resource.ServiceName == "" {
		return UnknownService
	}
	return sp.Resource.ServiceName
}

// correlationOf returns the span's correlation ID: its own attribute, or
// its resource's.
func correlationOf(sp *model.Span) string {
	if v, ok := model.Lookup(sp.Attributes, CorrelationKey); ok {
		return v
	}
	v, _ := model.Lookup(sp.Resource.Attributes, CorrelationKey)
	return v
}

// lookupDimension finds a dimension's value on the span, then on its
// resource. An empty value counts as missing: Prometheus has no empty
// labels, so it would name the same series as the missing attribute.
func lookupDimension(sp *model.Span, attr string) (string, bool) {
	if v, ok := model.Lookup(sp.Attributes, attr); ok && v != "" {
		return v, true
	}
	v, ok := model.Lookup(sp.Resource.Attributes, attr)
	return v, ok && v != ""
}

// observe counts a span whose correlation ID is corrID. When the span
// went to its service's overflow series, it returns the service: the
// series' copy of the name, not the span's.
func (m *spanMetrics) observe(sp *model.Span, corrID string, now int64) (overflowService string) {
	svc := serviceOf(sp)
	k := m.keyBuf[:0]
	k = append(k, svc...)
	k = append(k, 0xff)
	k = append(k, sp.Name...)
	// The kind and status as labelled, so that spans with the same labels
	// count in the same series.
	k = append(k, 0xff, kindIndex(sp.Kind), statusIndex(sp.StatusCode))
	for _, d := range m.dimensions {
		v, ok := lookupDimension(sp, d.attribute)
		k = append(k, 0xff)
		if ok {
			k = append(k, 1)
			k = append(k, v...)
		}
	}
	m.keyBuf = k
	s := m.series[string(k)]
	overflow := false
	if s == nil {
		s, overflow = m.add(sp, svc, now)
	}
	seconds := float64(sp.Duration()) / 1e9
	s.calls.add(1, now)
	s.duration.observe(seconds, now)
	end := sp.EndUnixNano / 1e6
	s.calls.exemplar.record(1, end, sp.TraceID, sp.SpanID, corrID)
	s.duration.recordExemplar(seconds, end, sp.TraceID, sp.SpanID, corrID)
	if overflow {
		return s.service
	}
	return ""
}

// keyOf returns the key under which observe finds the series labelled
// ls (a calls series' labels), or false when m's options do not make
// those labels: an overflow series, or one with a dimension m does not
// have. It lets a series made under other options keep counting.
func (m *spanMetrics) keyOf(ls labels.Labels) (string, bool) {
	if ls.Has(LabelOverflow) {
		return "", false
	}
	kind := slices.Index(spanKindLabels[:], ls.Get(LabelSpanKind))
	status := slices.Index(statusCodeLabels[:], ls.Get(LabelStatusCode))
	if kind < 0 || status < 0 {
		return "", false
	}
	known := 0
	ls.Range(func(l labels.Label) {
		switch l.Name {
		case metricNameLabel, LabelServiceName, LabelSpanName, LabelSpanKind, LabelStatusCode:
			known++
		}
	})
	k := []byte(ls.Get(LabelServiceName))
	k = append(k, 0xff)
	k = append(k, ls.Get(LabelSpanName)...)
	k = append(k, 0xff, byte(kind), byte(status))
	for _, d := range m.dimensions {
		k = append(k, 0xff)
		if v := ls.Get(d.label); v != "" {
			k = append(k, 1)
			k = append(k, v...)
			known++
		}
	}
	if known != ls.Len() {
		return "", false
	}
	return string(k), true
}

// add creates the series for the span's labels (m.keyBuf), or finds its
// service's overflow series when the service is at its limit.
func (m *spanMetrics) add(sp *model.Span, svc string, now int64) (_ *spanSeries, overflow bool) {
	if m.perService[svc] >= m.maxSeries {
		overflowKey := svc + "\xff\xffoverflow"
		if s := m.series[overflowKey]; s != nil {
			return s, true
		}
		if !m.overflowed[svc] {
			m.overflowed[svc] = true
			if m.onOverflow != nil {
				m.onOverflow(svc)
			}
		}
		s := m.newSeries(strings.Clone(svc), labels.FromStrings(LabelServiceName, svc, LabelOverflow, "true"), now)
		m.series[overflowKey] = s
		return s, true
	}
	b := labels.NewScratchBuilder(4 + len(m.dimensions))
	b.Add(LabelServiceName, svc)
	b.Add(LabelSpanName, sp.Name)
	b.Add(LabelSpanKind, SpanKindLabel(sp.Kind))
	b.Add(LabelStatusCode, StatusCodeLabel(sp.StatusCode))
	for _, d := range m.dimensions {
		if v, ok := lookupDimension(sp, d.attribute); ok {
			b.Add(d.label, v)
		}
	}
	b.Sort()
	svc = strings.Clone(svc)
	s := m.newSeries(svc, b.Labels(), now)
	m.series[string(m.keyBuf)] = s
	m.perService[svc]++
	return s, false
}

func (m *spanMetrics) newSeries(svc string, base labels.Labels, now int64) *spanSeries {
	// labels.Labels copies its strings, so base does not alias the span.
	calls := labels.NewBuilder(base).Set(metricNameLabel, SpanCallsMetric).Labels()
	return &spanSeries{
		service:  svc,
		calls:    &counter{seriesState: seriesState{created: now, updated: now}, labels: calls},
		duration: newHistogramSeries(SpanDurationMetric, base, m.buckets, now),
	}
}

// flush writes every series and forgets those idle since staleBefore.
func (m *spanMetrics) flush(w *flushWriter, t, staleBefore int64) {
	for k, s := range m.series {
		if s.calls.updated < staleBefore {
			s.calls.end(w, t)
			s.duration.end(w, t)
			delete(m.series, k)
			if s.calls.labels.Get(LabelOverflow) == "" {
				m.perService[s.service]--
			}
			continue
		}
		s.calls.write(w, t)
		s.duration.write(w, t)
	}
}

// LabelName turns an attribute key into a Prometheus label name the way
// Prometheus's OTLP translator does: every character other than a letter,
// digit or underscore becomes an underscore, and a leading digit gets a
// "key_" prefix.
func LabelName(attr string) string {
	b := []byte(attr)
	for i, c := range b {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			b[i] = '_'
		}
	}
	if len(b) > 0 && '0' <= b[0] && b[0] <= '9' {
		return "key_" + string(b)
	}
	return string(b)
}
