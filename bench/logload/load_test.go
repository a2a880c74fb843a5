package main

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
)

const twoLines = `{"time":"2026-11-23T00:00:00.003689503Z","level":"warn","msg":"slow \"query\" took 12ms","service":"inventory","trace_id":"76cee8561ad8beebe55523bfee2a398f","span_id":"69761647e8c534bc","correlation_id":"b09c24ee-0968-4c17-9b5b-101d8d45bb17","http.status":200,"duration_ms":2.5}
{"time":"2026-11-23T00:00:01Z","level":"info","msg":"ok","service":"frontend","trace_id":"76cee8561ad8beebe55523bfee2a398f","span_id":"0000000000000001","correlation_id":"b09c24ee-0968-4c17-9b5b-101d8d45bb17"}
`

// TestToOTLP checks that a corpus line keeps every field in the OTLP
// export: the record fields in their own places, the rest as typed
// attributes, one resource per service.
func TestToOTLP(t *testing.T) {
	b, err := toOTLP([]byte(twoLines))
	if err != nil {
		t.Fatal(err)
	}
	var u plog.ProtoUnmarshaler
	logs, err := u.UnmarshalLogs(b)
	if err != nil {
		t.Fatal(err)
	}
	if logs.LogRecordCount() != 2 || logs.ResourceLogs().Len() != 2 {
		t.Fatalf("%d records in %d resources", logs.LogRecordCount(), logs.ResourceLogs().Len())
	}
	rl := logs.ResourceLogs().At(0)
	if v, _ := rl.Resource().Attributes().Get("service.name"); v.Str() != "inventory" {
		t.Errorf("service.name %q", v.Str())
	}
	r := rl.ScopeLogs().At(0).LogRecords().At(0)
	if r.Body().Str() != `slow "query" took 12ms` || r.SeverityText() != "warn" || r.SeverityNumber() != plog.SeverityNumberWarn {
		t.Errorf("body %q, severity %q %v", r.Body().Str(), r.SeverityText(), r.SeverityNumber())
	}
	if r.Timestamp().AsTime().UnixNano()%1e9 != 3689503 || r.TraceID().String() != "76cee8561ad8beebe55523bfee2a398f" || r.SpanID().String() != "69761647e8c534bc" {
		t.Errorf("time %v, trace %v, span %v", r.Timestamp(), r.TraceID(), r.SpanID())
	}
	attrs := r.Attributes()
	if v, _ := attrs.Get("http.status"); v.Int() != 200 {
		t.Errorf("http.status %v", v.AsRaw())
	}
	if v, _ := attrs.Get("duration_ms"); v.Double() != 2.5 {
		t.Errorf("duration_ms %v", v.AsRaw())
	}
	if v, _ := attrs.Get("correlation_id"); v.Str() != "b09c24ee-0968-4c17-9b5b-101d8d45bb17" {
		t.Errorf("correlation_id %v", v.AsRaw())
	}
}

// TestAnswers checks how the answers of both APIs are counted.
func TestAnswers(t *testing.T) {
	n, err := loki{}.lines([]byte(`{"status":"success","data":{"resultType":"streams","result":[
		{"stream":{"service_name":"a"},"values":[["1","x"],["2","y"]]},{"stream":{},"values":[["3","z"]]}]}}`))
	if err != nil || n != 3 {
		t.Errorf("loki lines: %d, %v", n, err)
	}
	n, err = logsql{}.lines([]byte("{\"_msg\":\"a\"}\n{\"_msg\":\"b\"}\n"))
	if err != nil || n != 2 {
		t.Errorf("logsql lines: %d, %v", n, err)
	}
	sum, err := matrixTotal([]byte(`{"status":"success","data":{"resultType":"matrix","result":[
		{"metric":{"level":"info"},"values":[[1700000000,"3"],[1700000060,"4"]]},{"metric":{"level":"error"},"values":[[1700000000,"1"]]}]}}`))
	if err != nil || sum != 8 {
		t.Errorf("matrix total: %v, %v", sum, err)
	}
	if _, err := (loki{}).lines([]byte(`{"status":"error"}`)); err == nil {
		t.Error("an error answer was counted")
	}
}
