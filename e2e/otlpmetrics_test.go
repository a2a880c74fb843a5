package e2e

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// gauges builds an OTLP request with one gauge point per name, at ts.
func gauges(ts time.Time, names ...string) pmetricotlp.ExportRequest {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "late")
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	for i, n := range names {
		m := ms.AppendEmpty()
		m.SetName(n)
		dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		dp.SetDoubleValue(float64(i + 1))
	}
	return pmetricotlp.NewExportRequestFromMetrics(md)
}

// TestOTLPMetricsPartialSuccess sends OTLP metrics where one point is an
// hour older than its series allows: over HTTP and gRPC, the other points
// are stored and the answer is a partial success naming the refused one.
func TestOTLPMetricsPartialSuccess(t *testing.T) {
	s := startArgus(t, t.TempDir())
	now := time.Now()
	body, _ := gauges(now, "late_a").MarshalProto()
	if code, msg := post(t, s.url("/v1/metrics"), "application/x-protobuf", body); code != 200 {
		t.Fatalf("first export: %d %s", code, msg)
	}

	mixed := gauges(now.Add(-time.Hour), "late_a")
	later := gauges(now, "late_b")
	later.Metrics().ResourceMetrics().MoveAndAppendTo(mixed.Metrics().ResourceMetrics())
	body, _ = mixed.MarshalProto()
	resp, err := http.Post(s.url("/v1/metrics"), "application/x-protobuf", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	got := pmetricotlp.NewExportResponse()
	if resp.StatusCode != 200 || got.UnmarshalProto(raw) != nil {
		t.Fatalf("mixed export over HTTP: %d %q", resp.StatusCode, raw)
	}
	if ps := got.PartialSuccess(); ps.RejectedDataPoints() != 1 || !strings.Contains(ps.ErrorMessage(), "late_a") {
		t.Errorf("HTTP partial success: %d %q", ps.RejectedDataPoints(), ps.ErrorMessage())
	}

	conn, err := grpc.NewClient(s.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	mixed = gauges(now.Add(-time.Hour), "late_a")
	later = gauges(now, "late_c")
	later.Metrics().ResourceMetrics().MoveAndAppendTo(mixed.Metrics().ResourceMetrics())
	gresp, err := pmetricotlp.NewGRPCClient(conn).Export(ctxTimeout(t, 10*time.Second), mixed)
	if err != nil {
		t.Fatalf("mixed export over gRPC: %v", err)
	}
	if ps := gresp.PartialSuccess(); ps.RejectedDataPoints() != 1 {
		t.Errorf("gRPC partial success: %d %q", ps.RejectedDataPoints(), ps.ErrorMessage())
	}

	for _, name := range []string{"late_a", "late_b", "late_c"} {
		if v := s.query(name); len(v.Result) != 1 {
			t.Errorf("%s not stored: %+v", name, v.Result)
		}
	}
}
