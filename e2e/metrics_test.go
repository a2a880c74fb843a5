package e2e

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
)

// promResponse is the Prometheus HTTP API envelope.
type promResponse[T any] struct {
	Status    string `json:"status"`
	Data      T      `json:"data"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
}

type promVector struct {
	ResultType string `json:"resultType"`
	Result     []struct {
		Metric map[string]string `json:"metric"`
		Value  [2]any            `json:"value"`
	} `json:"result"`
}

// query runs an instant PromQL query and returns its vector.
func (s *server) query(q string) promVector {
	s.t.Helper()
	var r promResponse[promVector]
	s.getJSON("/api/v1/query?query="+url.QueryEscape(q), 200, &r)
	if r.Status != "success" {
		s.t.Fatalf("query %s: %+v", q, r)
	}
	return r.Data
}

func sampleValue(t *testing.T, v promVector, i int) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(v.Value(i), 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Value returns the i-th sample's value as the API wrote it.
func (v promVector) Value(i int) string {
	s, _ := v.Result[i].Value[1].(string)
	return s
}

// exportMetrics records a counter and a histogram with the OpenTelemetry
// SDK and exports them once with exp.
func exportMetrics(t *testing.T, exp sdkmetric.Exporter, service string, count int) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	res := resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(service),
		semconv.ServiceInstanceID("instance-1"), attribute.String("deployment.environment", "test"))
	// queue.wait is an exponential histogram, which becomes a Prometheus
	// native histogram.
	exponential := sdkmetric.NewView(sdkmetric.Instrument{Name: "queue.wait"},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 160, MaxScale: 20}})
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(res), sdkmetric.WithView(exponential))
	m := mp.Meter("e2e")
	requests, err := m.Int64Counter("http.server.requests", metric.WithUnit("{request}"))
	if err != nil {
		t.Fatal(err)
	}
	latency, err := m.Float64Histogram("http.server.duration", metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.01, 0.1, 1))
	if err != nil {
		t.Fatal(err)
	}
	queueWait, err := m.Float64Histogram("queue.wait", metric.WithUnit("s"))
	if err != nil {
		t.Fatal(err)
	}
	// Measurements made inside a sampled span carry its trace ID as an
	// exemplar (the SDK's default trace-based exemplar filter).
	ctx, span := sdktrace.NewTracerProvider().Tracer("e2e").Start(context.Background(), "request")
	defer span.End()
	for i := range count {
		requests.Add(ctx, 1, metric.WithAttributes(attribute.String("route", "/checkout")))
		latency.Record(ctx, float64(i%3)*0.05, metric.WithAttributes(attribute.String("route", "/checkout")))
		queueWait.Record(ctx, float64(i+1)*0.01)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	if err := exp.Export(ctxTimeout(t, 30*time.Second), &rm); err != nil {
		t.Fatalf("export: %v", err)
	}
}

// TestMetricsOTLPAndPromQL sends OTLP metrics with the OpenTelemetry SDK
// over gRPC and HTTP and reads them back with PromQL through the
// Prometheus HTTP API, translated as Prometheus translates OTLP.
func TestMetricsOTLPAndPromQL(t *testing.T) {
	dir := t.TempDir()
	s := startArgus(t, dir)
	grpcExp, err := otlpmetricgrpc.New(context.Background(), otlpmetricgrpc.WithEndpoint(s.grpcAddr), otlpmetricgrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	httpExp, err := otlpmetrichttp.New(context.Background(), otlpmetrichttp.WithEndpoint(s.otlpHTTP), otlpmetrichttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	exportMetrics(t, grpcExp, "frontend", 7)
	exportMetrics(t, httpExp, "inventory", 5)

	v := s.query(`http_server_requests_total{route="/checkout"}`)
	if len(v.Result) != 2 {
		t.Fatalf("series: %+v", v.Result)
	}
	got := map[string]float64{}
	for i, r := range v.Result {
		got[r.Metric["job"]+"/"+r.Metric["instance"]] = sampleValue(t, v, i)
	}
	if got["frontend/instance-1"] != 7 || got["inventory/instance-1"] != 5 {
		t.Errorf("counter by job/instance: %v", got)
	}
	v = s.query(`sum by (job) (http_server_duration_seconds_count)`)
	if len(v.Result) != 2 {
		t.Fatalf("histogram count: %+v", v.Result)
	}
	v = s.query(`http_server_duration_seconds_bucket{job="frontend",le="0.01"}`)
	if len(v.Result) != 1 || sampleValue(t, v, 0) != 3 { // the three zeros of 0, 0.05, 0.1, 0, ...
		t.Errorf("bucket le=0.01: %+v", v.Result)
	}
	v = s.query(`histogram_count(queue_wait_seconds{job="frontend"})`)
	if len(v.Result) != 1 || sampleValue(t, v, 0) != 7 {
		t.Errorf("native histogram count: %+v", v.Result)
	}
	v = s.query(`histogram_quantile(0.5, queue_wait_seconds{job="frontend"})`)
	if len(v.Result) != 1 || math.Abs(sampleValue(t, v, 0)-0.04) > 0.01 {
		t.Errorf("native histogram median (want about 0.04): %+v", v.Result)
	}
	v = s.query(`target_info{job="inventory"}`)
	if len(v.Result) != 1 || v.Result[0].Metric["deployment_environment"] != "test" {
		t.Errorf("target_info: %+v", v.Result)
	}

	// Label APIs and a bad query, in Prometheus's shapes.
	var labels promResponse[[]string]
	s.getJSON("/api/v1/label/job/values", 200, &labels)
	if fmt.Sprint(labels.Data) != "[frontend inventory]" {
		t.Errorf("job values: %v", labels.Data)
	}
	var bad promResponse[any]
	s.getJSON("/api/v1/query?query="+url.QueryEscape("sum(rate(x[5m])"), 400, &bad)
	if bad.Status != "error" || bad.ErrorType != "bad_data" {
		t.Errorf("bad query: %+v", bad)
	}
	var build promResponse[map[string]string]
	s.getJSON("/api/v1/status/buildinfo", 200, &build)
	if build.Data["version"] == "" {
		t.Errorf("buildinfo: %+v", build)
	}

	exemplars := func() []string {
		var ex promResponse[[]struct {
			SeriesLabels map[string]string `json:"seriesLabels"`
			Exemplars    []struct {
				Labels map[string]string `json:"labels"`
			} `json:"exemplars"`
		}]
		now := time.Now()
		s.getJSON(fmt.Sprintf("/api/v1/query_exemplars?query=%s&start=%d&end=%d",
			url.QueryEscape(`http_server_duration_seconds_bucket{job="frontend"}`), now.Add(-time.Hour).Unix(), now.Add(time.Minute).Unix()), 200, &ex)
		var ids []string
		for _, series := range ex.Data {
			for _, e := range series.Exemplars {
				ids = append(ids, e.Labels["trace_id"])
			}
		}
		return ids
	}
	before := exemplars()
	if len(before) == 0 || len(before[0]) != 32 {
		t.Errorf("exemplars with trace IDs: %v", before)
	}

	// Samples and exemplars survive a restart (from the TSDB's WAL).
	s.stop()
	s = startArgus(t, dir)
	v = s.query(`sum(http_server_requests_total)`)
	if len(v.Result) != 1 || sampleValue(t, v, 0) != 12 {
		t.Errorf("after restart: %+v", v.Result)
	}
	if after := exemplars(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("exemplars after restart: %v, before: %v", after, before)
	}
}

// TestMetricsSurviveCrash kills argus with SIGKILL right after an
// acknowledged OTLP metrics export: the samples are there after a restart.
func TestMetricsSurviveCrash(t *testing.T) {
	dir := t.TempDir()
	s := startArgus(t, dir)
	exp, err := otlpmetricgrpc.New(context.Background(), otlpmetricgrpc.WithEndpoint(s.grpcAddr), otlpmetricgrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	exportMetrics(t, exp, "crashy", 9)
	s.kill()
	s = startArgus(t, dir)
	v := s.query(`http_server_requests_total{job="crashy"}`)
	if len(v.Result) != 1 || sampleValue(t, v, 0) != 9 {
		t.Fatalf("after SIGKILL and restart: %+v", v.Result)
	}
}
