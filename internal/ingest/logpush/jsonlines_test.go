package logpush

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/argus-obs/argus/internal/ingest/ingestmetrics/ingestmetricstest"
	"github.com/argus-obs/argus/internal/model"
)

func postLines(h *Handlers, body string, headers ...string) (code int, resp map[string]any, raw string) {
	if len(headers) == 0 {
		headers = []string{"Content-Type: application/x-ndjson"}
	}
	rec := request(h.JSONLines(), http.MethodPost, JSONLinesPath, []byte(body), headers...)
	resp = map[string]any{}
	_ = json.Unmarshal(rec.Body.Bytes(), &resp)
	return rec.Code, resp, rec.Body.String()
}

func TestJSONLinesMapping(t *testing.T) {
	unknown := model.Resource{ServiceName: UnknownService}
	for _, tc := range []struct {
		name, line string
		want       model.LogRecord
	}{
		{
			// Go's log/slog JSONHandler.
			"slog",
			`{"time":"2024-05-01T11:59:58.123456789+02:00","level":"ERROR","msg":"payment declined","service":"checkout","order_id":1234,"amount":19.99,"retry":false,"trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"b7ad6b7169203331","request_id":"req-1"}`,
			model.LogRecord{
				TimeUnixNano: time.Date(2024, 5, 1, 9, 59, 58, 123456789, time.UTC).UnixNano(),
				Severity:     model.SeverityError, SeverityText: "ERROR",
				Body: "payment declined",
				Attributes: []model.Attribute{
					{Key: "order_id", Type: model.ValueInt, Value: "1234"},
					{Key: "amount", Type: model.ValueDouble, Value: "19.99"},
					{Key: "retry", Type: model.ValueBool, Value: "false"},
					str("request_id", "req-1"),
				},
				TraceID:       mustTraceID(t, "0af7651916cd43dd8448eb211c80319c"),
				SpanID:        mustSpanID(t, "b7ad6b7169203331"),
				CorrelationID: "req-1",
				Resource:      model.Resource{ServiceName: "checkout"},
			},
		},
		{
			// pino: numeric level, time in milliseconds, hostname and pid.
			"pino",
			`{"level":30,"time":1714564798123,"pid":4242,"hostname":"web-1","msg":"request completed","req":{"method":"GET","url":"/api/cart"},"responseTime":12}`,
			model.LogRecord{
				TimeUnixNano: 1714564798123000000,
				Severity:     model.SeverityInfo, SeverityText: "30",
				Body: "request completed",
				Attributes: []model.Attribute{
					{Key: "pid", Type: model.ValueInt, Value: "4242"},
					str("req.method", "GET"), str("req.url", "/api/cart"),
					{Key: "responseTime", Type: model.ValueInt, Value: "12"},
				},
				Resource: model.Resource{ServiceName: UnknownService, Attributes: []model.Attribute{str("hostname", "web-1")}},
			},
		},
		{
			// zap's production encoder: ts in float seconds.
			"zap",
			`{"level":"warn","ts":1714564798.5,"caller":"cart/cart.go:42","msg":"slow query","app":"cart","duration":0.412,"tags":["db","slow"],"ctx":null,"empty":{}}`,
			model.LogRecord{
				TimeUnixNano: 1714564798500000000,
				Severity:     model.SeverityWarn, SeverityText: "warn",
				Body: "slow query",
				Attributes: []model.Attribute{
					str("caller", "cart/cart.go:42"),
					{Key: "duration", Type: model.ValueDouble, Value: "0.412"},
					{Key: "tags", Type: model.ValueArray, Value: `["db","slow"]`},
					{Key: "empty", Type: model.ValueMap, Value: `{}`},
				},
				Resource: model.Resource{ServiceName: "cart"},
			},
		},
		{
			// Docker's json-file line, forwarded as is: the message is "log".
			"docker",
			`{"log":"GET /healthz 200\n","stream":"stdout","time":"2024-05-01T11:59:59.000000001Z"}`,
			model.LogRecord{
				TimeUnixNano: time.Date(2024, 5, 1, 11, 59, 59, 1, time.UTC).UnixNano(),
				Body:         "GET /healthz 200\n",
				Attributes:   []model.Attribute{str("stream", "stdout")},
				Resource:     unknown,
			},
		},
		{
			// Fluent Bit's http output in json_lines format: date as float
			// seconds.
			"Fluent Bit http",
			`{"date":1714564797.25,"log":"hello","kubernetes":{"pod_name":"api-7d9f","namespace_name":"shop","container_name":"api","labels":{"app":"api"}}}`,
			model.LogRecord{
				TimeUnixNano: 1714564797250000000,
				Body:         "hello",
				Attributes:   []model.Attribute{str("kubernetes.labels.app", "api")},
				Resource: model.Resource{ServiceName: "api", Attributes: []model.Attribute{
					str("kubernetes.container_name", "api"), str("kubernetes.namespace_name", "shop"), str("kubernetes.pod_name", "api-7d9f"),
				}},
			},
		},
		{
			"ECS nested, spellings ranked",
			`{"@timestamp":"2024-05-01T11:59:57Z","time":"not a time either","log":{"level":"debug"},"level":"info","message":"m","msg":"second","service":{"name":"svc","version":"1.2.3"},"app":"other","trace":{"id":"zz"},"trace_id":"0af7651916cd43dd8448eb211c80319c"}`,
			model.LogRecord{
				TimeUnixNano: time.Date(2024, 5, 1, 11, 59, 57, 0, time.UTC).UnixNano(),
				Severity:     model.SeverityDebug, SeverityText: "debug",
				Body: "m",
				Attributes: []model.Attribute{
					str("time", "not a time either"), str("level", "info"), str("msg", "second"),
					str("app", "other"), str("trace.id", "zz"), str("trace_id", "0af7651916cd43dd8448eb211c80319c"),
				},
				Resource: model.Resource{ServiceName: "svc", Attributes: []model.Attribute{str("service.version", "1.2.3")}},
			},
		},
		{
			"no time, escapes, big and exponent numbers",
			`{"message":"tab\there \u00e9\ud83d\ude00 \"q\"","n":12345678901234567890,"e":1e3,"neg":-7}`,
			model.LogRecord{
				TimeUnixNano: testNow.UnixNano(),
				Body:         "tab\there é😀 \"q\"",
				Attributes: []model.Attribute{
					{Key: "n", Type: model.ValueDouble, Value: "12345678901234567890"},
					{Key: "e", Type: model.ValueDouble, Value: "1e3"},
					{Key: "neg", Type: model.ValueInt, Value: "-7"},
				},
				Resource: unknown,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, w, reg := newTest(t, Options{})
			code, resp, raw := postLines(h, tc.line+"\n")
			if code != http.StatusOK || resp["accepted"] != 1.0 {
				t.Fatalf("status %d, body %s", code, raw)
			}
			diffRecords(t, w.Records(), []model.LogRecord{tc.want})
			checkCounts(t, reg, "jsonlines")
		})
	}
}

func TestParseTime(t *testing.T) {
	ns := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixNano()
	}
	for _, tc := range []struct {
		val  string
		typ  model.ValueType
		want int64 // 0 with wantErr false: no time
		err  bool
	}{
		{"2024-05-01T12:00:00Z", model.ValueString, ns("2024-05-01T12:00:00Z"), false},
		{"2024-05-01T12:00:00.5Z", model.ValueString, ns("2024-05-01T12:00:00.5Z"), false},
		{"2024-05-01T12:00:00.123456789123Z", model.ValueString, ns("2024-05-01T12:00:00.123456789Z"), false},
		{"2024-05-01t12:00:00z", model.ValueString, ns("2024-05-01T12:00:00Z"), false},
		{"2024-05-01T14:00:00+02:00", model.ValueString, ns("2024-05-01T12:00:00Z"), false},
		{"2024-05-01T08:30:00-0330", model.ValueString, ns("2024-05-01T12:00:00Z"), false},
		{"2024-05-01 12:00:00.250", model.ValueString, ns("2024-05-01T12:00:00.25Z"), false},
		{"2024-05-01T12:00:00,5Z", model.ValueString, ns("2024-05-01T12:00:00.5Z"), false},
		{"2024-05-01", model.ValueString, ns("2024-05-01T00:00:00Z"), false},
		{"2024-02-29T00:00:00Z", model.ValueString, ns("2024-02-29T00:00:00Z"), false},
		{"1714564800", model.ValueString, 1714564800e9, false},
		{"1714564800", model.ValueInt, 1714564800e9, false},
		{"1714564800123", model.ValueInt, 1714564800123e6, false},
		{"1714564800123456", model.ValueInt, 1714564800123456e3, false},
		{"1714564800123456789", model.ValueInt, 1714564800123456789, false},
		{"1714564800.123456789", model.ValueDouble, 1714564800123456789, false},
		{"1714564800123.5", model.ValueDouble, 1714564800123500000, false},
		{"1.7145648e9", model.ValueDouble, 1714564800e9, false},
		{"0", model.ValueInt, 0, false},
		{"", model.ValueString, 0, false},
		{"2023-02-29T00:00:00Z", model.ValueString, 0, true},
		{"2024-13-01T00:00:00Z", model.ValueString, 0, true},
		{"2024-05-01T24:00:00Z", model.ValueString, 0, true},
		{"2024-05-01T12:00", model.ValueString, 0, true},
		{"2024-05-01T12:00:00.Z", model.ValueString, 0, true},
		{"2024-05-01T12:00:00+2:00", model.ValueString, 0, true},
		{"1969-12-31T23:59:59Z", model.ValueString, 0, true},
		{"2300-01-01T00:00:00Z", model.ValueString, 0, true},
		{"-1", model.ValueInt, 0, true},
		{"12ms", model.ValueString, 0, true},
		{"yesterday", model.ValueString, 0, true},
		{"99999999999999999999", model.ValueDouble, 0, true},
	} {
		got, err := parseTime([]byte(tc.val), tc.typ)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("parseTime(%q) = %d, %v; want %d, error %v", tc.val, got, err, tc.want, tc.err)
		}
	}
}

func TestJSONLinesPartial(t *testing.T) {
	h, w, reg := newTest(t, Options{MaxAge: time.Hour, MaxLineBytes: 200, MaxAttributes: 3})
	lines := []string{
		`{"msg":"one"}`,
		``,
		`not json`,
		`{"msg":"unterminated"`,
		`["an","array"]`,
		`{"msg":"two","time":"12ms"}`,
		`{"msg":"old","time":"2024-05-01T10:00:00Z"}`,
		`{"msg":"future","time":"2024-05-01T13:00:00Z"}`,
		`{"msg":"` + strings.Repeat("x", 200) + `"}`,
		`{"msg":"many","a":1,"b":2,"c":3,"d":4}`,
		`   {"msg":"three","a":1,"b":2,"c":3}  `,
		`{"msg":"trailing"} x`,
	}
	code, resp, raw := postLines(h, strings.Join(lines, "\r\n"))
	if code != http.StatusBadRequest {
		t.Fatalf("status %d", code)
	}
	var got struct {
		Accepted, Rejected int
		Errors             []struct {
			Line  int
			Error string
		}
	}
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Fatal(err)
	}
	wantErrs := []struct {
		line int
		msg  string
	}{
		{3, "line 3: invalid JSON: invalid character 'o' at offset 1"},
		{4, "line 4: invalid JSON: unexpected end of JSON input"},
		{5, "line 5: invalid JSON: not a JSON object"},
		{6, `line 6: invalid time in field "time": not a time: "12ms"`},
		{7, "line 7: timestamp too old: 2024-05-01T10:00:00Z, oldest acceptable timestamp is: 2024-05-01T11:00:00Z"},
		{8, "line 8: timestamp too new: 2024-05-01T13:00:00Z, newest acceptable timestamp is: 2024-05-01T12:10:00Z"},
		{9, "line 9: line of 210 bytes exceeds the limit of 200 bytes"},
		{10, "line 10: document has 4 attributes; limit 3"},
		{12, "line 12: invalid JSON: invalid character 'x' at offset 19"},
	}
	if got.Accepted != 2 || got.Rejected != len(wantErrs) || len(got.Errors) != len(wantErrs) {
		t.Fatalf("response %s", raw)
	}
	for i, we := range wantErrs {
		if got.Errors[i].Line != we.line || got.Errors[i].Error != we.msg {
			t.Errorf("error %d = %d %q\nwant %d %q", i, got.Errors[i].Line, got.Errors[i].Error, we.line, we.msg)
		}
	}
	if len(w.Records()) != 2 || w.Records()[1].Body != "three" {
		t.Errorf("stored %+v", w.Records())
	}
	_ = resp
	for reason, want := range map[string]float64{"invalid": 5, "too_old": 1, "too_new": 1, "line_too_long": 1, "too_many_attributes": 1} {
		if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_records_rejected_total", "protocol=jsonlines,reason="+reason); got != want {
			t.Errorf("rejected %s = %v, want %v", reason, got, want)
		}
	}
	checkCounts(t, reg, "jsonlines")
}

func TestJSONLinesErrorCap(t *testing.T) {
	h, w, _ := newTest(t, Options{})
	body := strings.Repeat("nope\n", 250) + `{"msg":"ok"}`
	code, resp, _ := postLines(h, body)
	errs, _ := resp["errors"].([]any)
	if code != http.StatusBadRequest || resp["rejected"] != 250.0 || resp["accepted"] != 1.0 || len(errs) != maxListedErrors {
		t.Fatalf("status %d, rejected %v, accepted %v, %d errors listed", code, resp["rejected"], resp["accepted"], len(errs))
	}
	if len(w.Records()) != 1 {
		t.Errorf("%d stored", len(w.Records()))
	}
}

func TestJSONLinesServiceParameter(t *testing.T) {
	h, w, _ := newTest(t, Options{})
	rec := request(h.JSONLines(), http.MethodPost, JSONLinesPath+"?service=batch-job",
		[]byte("{\"msg\":\"a\"}\n{\"msg\":\"b\",\"service\":\"own\"}\n{\"msg\":\"c\"}"),
		"Content-Type: application/x-www-form-urlencoded") // curl --data-binary's default
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d %s", rec.Code, rec.Body.String())
	}
	var services []string
	for _, r := range w.Records() {
		services = append(services, r.Resource.ServiceName)
	}
	if got := strings.Join(services, ","); got != "batch-job,own,batch-job" {
		t.Errorf("services %s", got)
	}
}

func TestJSONLinesEncodings(t *testing.T) {
	body := []byte("{\"msg\":\"a\"}\n{\"msg\":\"b\"}\n")
	for _, tc := range []struct {
		name    string
		body    []byte
		headers []string
	}{
		{"gzip", gzipBytes(t, body), []string{"Content-Encoding: gzip", "Content-Type: application/json"}},
		{"snappy", snappyBytes(body), []string{"Content-Encoding: snappy"}},
		{"no type", body, nil},
	} {
		h, w, _ := newTest(t, Options{})
		rec := request(h.JSONLines(), http.MethodPost, JSONLinesPath, tc.body, tc.headers...)
		if rec.Code != http.StatusOK || rec.Body.String() != "{\"accepted\":2}\n" || len(w.Records()) != 2 {
			t.Errorf("%s: status %d body %q", tc.name, rec.Code, rec.Body.String())
		}
	}
}

func TestJSONLinesRequestErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		method  string
		body    []byte
		headers []string
		code    int
		outcome string
	}{
		{"GET", http.MethodGet, nil, nil, http.StatusMethodNotAllowed, "method_not_allowed"},
		{"protobuf", http.MethodPost, []byte("{}"), []string{"Content-Type: application/x-protobuf"}, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"br", http.MethodPost, []byte("{}"), []string{"Content-Encoding: br"}, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"too large", http.MethodPost, make([]byte, 2000), nil, http.StatusRequestEntityTooLarge, "too_large"},
		{"bad snappy", http.MethodPost, []byte("\xff"), []string{"Content-Encoding: snappy"}, http.StatusBadRequest, "bad_request"},
	} {
		h, _, reg := newTest(t, Options{MaxRequestBytes: 1000})
		rec := request(h.JSONLines(), tc.method, JSONLinesPath, tc.body, tc.headers...)
		var resp struct{ Error string }
		if rec.Code != tc.code || json.Unmarshal(rec.Body.Bytes(), &resp) != nil || resp.Error == "" {
			t.Errorf("%s: status %d body %q", tc.name, rec.Code, rec.Body.String())
		}
		if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_requests_total", "protocol=jsonlines,outcome="+tc.outcome); got != 1 {
			t.Errorf("%s: outcome %s counted %v times", tc.name, tc.outcome, got)
		}
	}
}

func TestJSONLinesStoreFailure(t *testing.T) {
	h, w, reg := newTest(t, Options{})
	w.FailWith(func(int) error { return errOverloaded })
	rec := request(h.JSONLines(), http.MethodPost, JSONLinesPath, []byte(`{"msg":"a"}`))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("status %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	w.FailWith(func(int) error { return fmt.Errorf("broken disk") })
	rec = request(h.JSONLines(), http.MethodPost, JSONLinesPath, []byte(`{"msg":"a"}`))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d", rec.Code)
	}
	if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_requests_total", "protocol=jsonlines,outcome=overloaded"); got != 1 {
		t.Errorf("overloaded = %v", got)
	}
}

// TestResourceSharing checks that documents naming the same source, with
// their fields in any order, make equal resources: the store groups
// records into streams by resource.
func TestResourceSharing(t *testing.T) {
	h, w, _ := newTest(t, Options{})
	body := `{"msg":"a","host":{"name":"h1"},"service":{"name":"s","version":"1"}}
{"service":{"version":"1","name":"s"},"msg":"b","host":{"name":"h1"}}
{"msg":"c","host":{"name":"h2"},"service":{"name":"s","version":"1"}}`
	if code, _, raw := postLines(h, body); code != http.StatusOK {
		t.Fatalf("status %d %s", code, raw)
	}
	got := w.Records()
	r0, r1, r2 := fmt.Sprint(got[0].Resource), fmt.Sprint(got[1].Resource), fmt.Sprint(got[2].Resource)
	if r0 != r1 || r0 == r2 {
		t.Errorf("resources %s / %s / %s", r0, r1, r2)
	}
	if want := "{s [{host.name 0 h1} {service.version 0 1}]}"; r0 != want {
		t.Errorf("resource %s, want %s", r0, want)
	}
}

// TestJSONLinesArray takes what Vector's http sink sends with codec json:
// the batch as one JSON array.
func TestJSONLinesArray(t *testing.T) {
	h, w, reg := newTest(t, Options{})
	body := ` [{"message":"a","timestamp":"2024-05-01T11:59:58Z","host":"web-2"},
  {"message":"b"}, "not an object", {"message":"c","time":"soon"}]`
	code, _, raw := postLines(h, body, "Content-Type: application/json")
	if code != http.StatusBadRequest ||
		!strings.Contains(raw, `{"line":3,"error":"element 3: invalid JSON: not a JSON object"}`) ||
		!strings.Contains(raw, `{"line":4,"error":"element 4: invalid time in field \"time\": not an RFC 3339 time: \"soon\""}`) {
		t.Fatalf("status %d %s", code, raw)
	}
	if got := w.Records(); len(got) != 2 || got[0].Body != "a" || got[1].Body != "b" {
		t.Errorf("stored %+v", got)
	}
	checkCounts(t, reg, "jsonlines")

	// A broken array keeps what came before the break.
	h, w, reg = newTest(t, Options{})
	code, _, raw = postLines(h, `[{"message":"a"},{"message":"b"} {"message":"c"}]`)
	if code != http.StatusBadRequest || !strings.Contains(raw, "element 3: invalid JSON array: invalid character '{'") {
		t.Fatalf("status %d %s", code, raw)
	}
	if len(w.Records()) != 2 {
		t.Errorf("%d stored", len(w.Records()))
	}
	checkCounts(t, reg, "jsonlines")
}

// TestSetLimits checks that reloaded limits apply to the next request.
func TestSetLimits(t *testing.T) {
	h, w, _ := newTest(t, Options{})
	line := `{"msg":"` + strings.Repeat("x", 100) + `","a":1,"b":2}`
	if code, _, raw := postLines(h, line); code != http.StatusOK {
		t.Fatalf("default limits: status %d: %s", code, raw)
	}
	h.SetLimits(Limits{MaxLineBytes: 50})
	if code, _, raw := postLines(h, line); code != http.StatusBadRequest || !strings.Contains(raw, "50") {
		t.Errorf("line limit 50: status %d: %s", code, raw)
	}
	h.SetLimits(Limits{MaxAttributes: 1})
	if code, _, raw := postLines(h, line); code != http.StatusBadRequest {
		t.Errorf("attribute limit 1: status %d: %s", code, raw)
	}
	h.SetLimits(Limits{MaxRequestBytes: 10})
	if code, _, raw := postLines(h, line); code != http.StatusRequestEntityTooLarge {
		t.Errorf("request limit 10: status %d: %s", code, raw)
	}
	if n := len(w.Records()); n != 1 {
		t.Errorf("%d records stored, want the first only", n)
	}
}
