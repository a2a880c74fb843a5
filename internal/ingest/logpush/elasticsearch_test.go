package logpush

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/argus-obs/argus/internal/ingest/ingestmetrics/ingestmetricstest"
	"github.com/argus-obs/argus/internal/model"
)

// bulkResponse is Elasticsearch's bulk response, decoded.
type bulkResponse struct {
	Took   int64                     `json:"took"`
	Errors bool                      `json:"errors"`
	Items  []map[string]bulkRespItem `json:"items"`
}

type bulkRespItem struct {
	Index   string `json:"_index"`
	ID      string `json:"_id"`
	Version int    `json:"_version"`
	Result  string `json:"result"`
	Status  int    `json:"status"`
	SeqNo   *int64 `json:"_seq_no"`
	Error   *struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	} `json:"error"`
}

func postBulk(t testing.TB, es http.Handler, path, body string, headers ...string) (int, bulkResponse, string) {
	t.Helper()
	if len(headers) == 0 {
		headers = []string{"Content-Type: application/x-ndjson"}
	}
	rec := request(es, http.MethodPost, path, []byte(body), headers...)
	if rec.Header().Get("X-Elastic-Product") != "Elasticsearch" {
		t.Errorf("%s: no X-Elastic-Product header", path)
	}
	var resp bulkResponse
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("bulk response %q: %v", rec.Body.String(), err)
		}
	}
	return rec.Code, resp, rec.Body.String()
}

// The bulk bodies below are what each shipper sends for one log line,
// after the shapes in their documentation and source: Filebeat 8 writing
// to its data stream (create), Vector's elasticsearch sink in bulk mode
// (index, its default schema: timestamp, host as a string), Fluent Bit's
// es output with the kubernetes filter (create, log and time fields), and
// Logstash 8 with ECS and data streams.
const (
	filebeatBulk = `{"create":{"_index":"filebeat-8.11.0"}}
{"@timestamp":"2024-05-01T11:59:58.512Z","log":{"offset":10234,"file":{"path":"/var/log/checkout/app.log"}},"message":"GET /api/cart 200 12ms","input":{"type":"filestream"},"ecs":{"version":"8.0.0"},"host":{"name":"web-1"},"agent":{"type":"filebeat","version":"8.11.0"},"kubernetes":{"pod":{"name":"checkout-6b7c"},"namespace":"shop","container":{"name":"checkout"},"node":{"name":"node-3"}}}
`
	vectorBulk = `{"index":{"_index":"vector-2024.05.01"}}
{"file":"/var/log/app.log","host":"web-2","message":"disk almost full","source_type":"file","timestamp":"2024-05-01T11:59:58.912345Z"}
`
	fluentBitBulk = `{"create":{"_index":"fluent-bit"}}
{"@timestamp":"2024-05-01T11:59:58.000Z","log":"2024-05-01 11:59:58 ERROR connection refused\n","stream":"stderr","time":"2024-05-01T11:59:58.123456789Z","kubernetes":{"pod_name":"api-7d9f8","namespace_name":"shop","labels":{"app":"api"},"host":"node-1","container_name":"api","container_image":"shop/api:1.4"}}
`
	logstashBulk = `{"create":{"_index":"logs-generic-default"}}
{"@timestamp":"2024-05-01T11:59:58.700Z","@version":"1","message":"user 42 logged in","host":{"hostname":"lb-1"},"event":{"original":"user 42 logged in"},"data_stream":{"type":"logs","dataset":"generic","namespace":"default"},"log":{"level":"INFO"}}
`
)

func TestBulkShippers(t *testing.T) {
	at := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixNano()
	}
	for _, tc := range []struct {
		name, body, action string
		want               model.LogRecord
	}{
		{"Filebeat", filebeatBulk, "create", model.LogRecord{
			TimeUnixNano: at("2024-05-01T11:59:58.512Z"),
			Body:         "GET /api/cart 200 12ms",
			Attributes: []model.Attribute{
				{Key: "log.offset", Type: model.ValueInt, Value: "10234"},
				str("log.file.path", "/var/log/checkout/app.log"), str("input.type", "filestream"),
				str("ecs.version", "8.0.0"), str("agent.type", "filebeat"), str("agent.version", "8.11.0"),
			},
			Resource: model.Resource{ServiceName: "checkout", Attributes: []model.Attribute{
				str("es.index", "filebeat-8.11.0"), str("host.name", "web-1"),
				str("kubernetes.container.name", "checkout"), str("kubernetes.namespace", "shop"),
				str("kubernetes.node.name", "node-3"), str("kubernetes.pod.name", "checkout-6b7c"),
			}},
		}},
		{"Vector", vectorBulk, "index", model.LogRecord{
			TimeUnixNano: at("2024-05-01T11:59:58.912345Z"),
			Body:         "disk almost full",
			Attributes:   []model.Attribute{str("file", "/var/log/app.log"), str("source_type", "file")},
			Resource: model.Resource{ServiceName: UnknownService, Attributes: []model.Attribute{
				str("es.index", "vector-2024.05.01"), str("host", "web-2"),
			}},
		}},
		{"Fluent Bit", fluentBitBulk, "create", model.LogRecord{
			TimeUnixNano: at("2024-05-01T11:59:58Z"),
			Body:         "2024-05-01 11:59:58 ERROR connection refused\n",
			Attributes: []model.Attribute{
				str("stream", "stderr"), str("time", "2024-05-01T11:59:58.123456789Z"),
				str("kubernetes.labels.app", "api"), str("kubernetes.container_image", "shop/api:1.4"),
			},
			Resource: model.Resource{ServiceName: "api", Attributes: []model.Attribute{
				str("es.index", "fluent-bit"), str("kubernetes.container_name", "api"), str("kubernetes.host", "node-1"),
				str("kubernetes.namespace_name", "shop"), str("kubernetes.pod_name", "api-7d9f8"),
			}},
		}},
		{"Logstash", logstashBulk, "create", model.LogRecord{
			TimeUnixNano: at("2024-05-01T11:59:58.7Z"),
			Severity:     model.SeverityInfo, SeverityText: "INFO",
			Body:       "user 42 logged in",
			Attributes: []model.Attribute{str("@version", "1"), str("event.original", "user 42 logged in")},
			Resource: model.Resource{ServiceName: UnknownService, Attributes: []model.Attribute{
				str("data_stream.dataset", "generic"), str("data_stream.namespace", "default"), str("data_stream.type", "logs"),
				str("es.index", "logs-generic-default"), str("host.hostname", "lb-1"),
			}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, w, reg := newTest(t, Options{})
			code, resp, raw := postBulk(t, h.Elasticsearch(), "/_bulk?filter_path=errors,items.*.error,items.*.status", tc.body)
			if code != http.StatusOK || resp.Errors || len(resp.Items) != 1 {
				t.Fatalf("status %d, response %s", code, raw)
			}
			item, ok := resp.Items[0][tc.action]
			if !ok || item.Status != 201 || item.Result != "created" || item.Version != 1 || item.SeqNo == nil || len(item.ID) != 20 {
				t.Errorf("item %s", raw)
			}
			diffRecords(t, w.Records(), []model.LogRecord{tc.want})
			checkCounts(t, reg, "elasticsearch")
		})
	}
}

// TestBulkItems follows the example of Elasticsearch's bulk API
// documentation: every action kind, in order, each answered under its own
// name.
func TestBulkItems(t *testing.T) {
	h, w, reg := newTest(t, Options{MaxLineBytes: 100})
	body := `{ "index" : { "_index" : "test", "_id" : "1" } }
{ "field1" : "value1" }
{ "delete" : { "_index" : "test", "_id" : "2" } }
{ "create" : { "_index" : "test", "_id" : "3" } }
{ "field1" : "value3" }
{ "update" : {"_id" : "1", "_index" : "test"} }
{ "doc" : {"field2" : "value2"} }
{"index":{"_id":null,"_index":"logstash-2024.05.01","routing":null}}
{"message":"not closed"
{"index":{}}
{"message":"` + strings.Repeat("x", 100) + `"}
{"index":{}}
{"message":"bad time","@timestamp":"yesterday"}
{"index":{"_index":"last"}}
{"message":"last","service.name":"svc"}
`
	code, resp, raw := postBulk(t, h.Elasticsearch(), "/logs/_bulk", body)
	if code != http.StatusOK || !resp.Errors {
		t.Fatalf("status %d, response %s", code, raw)
	}
	want := []struct {
		action, index, id, errType string
		status                     int
	}{
		{"index", "test", "1", "", 201},
		{"delete", "test", "2", "illegal_argument_exception", 400},
		{"create", "test", "3", "", 201},
		{"update", "test", "1", "illegal_argument_exception", 400},
		{"index", "logstash-2024.05.01", "", "mapper_parsing_exception", 400},
		{"index", "logs", "", "illegal_argument_exception", 400},
		{"index", "logs", "", "mapper_parsing_exception", 400},
		{"index", "last", "", "", 201},
	}
	if len(resp.Items) != len(want) {
		t.Fatalf("%d items, want %d: %s", len(resp.Items), len(want), raw)
	}
	for i, wi := range want {
		it, ok := resp.Items[i][wi.action]
		if !ok || len(resp.Items[i]) != 1 {
			t.Errorf("item %d: %v, want action %s", i, resp.Items[i], wi.action)
			continue
		}
		if it.Index != wi.index || it.Status != wi.status || (wi.id != "" && it.ID != wi.id) || (wi.id == "" && len(it.ID) != 20) {
			t.Errorf("item %d = %+v, want %+v", i, it, wi)
		}
		if wi.errType != "" && (it.Error == nil || it.Error.Type != wi.errType || it.Error.Reason == "") {
			t.Errorf("item %d error %+v, want type %s", i, it.Error, wi.errType)
		}
	}
	var bodies []string
	for _, r := range w.Records() {
		bodies = append(bodies, r.Resource.ServiceName+":"+r.Body)
	}
	if got := strings.Join(bodies, "|"); got != UnknownService+":|"+UnknownService+":|svc:last" {
		t.Errorf("stored %s", got)
	}
	if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_records_rejected_total", "protocol=elasticsearch,reason=invalid"); got != 4 {
		t.Errorf("invalid = %v, want 4", got)
	}
	if rcv, _, _ := checkCounts(t, reg, "elasticsearch"); rcv != 8 {
		t.Errorf("received %v, want 8", rcv)
	}
}

func TestBulkMalformedAction(t *testing.T) {
	for _, body := range []string{
		"\"index\"\n{}\n",
		"{\"index\":{}}\n{}\n{\"upsert\":{}}\n{}\n",
		"{\"index\":\"logs\"}\n{}\n",
		"{\"index\":{}, \"create\":{}}\n{}\n",
		"{\"index\":{}\n{}\n",
		"{}\n",
	} {
		h, w, reg := newTest(t, Options{})
		rec := request(h.Elasticsearch(), http.MethodPost, "/_bulk", []byte(body), "Content-Type: application/json")
		var resp struct {
			Error struct {
				Type   string
				Reason string
			}
			Status int
		}
		if rec.Code != http.StatusBadRequest || json.Unmarshal(rec.Body.Bytes(), &resp) != nil ||
			resp.Status != 400 || !strings.HasPrefix(resp.Error.Reason, "Malformed action/metadata line [") {
			t.Errorf("%q: status %d body %s", body, rec.Code, rec.Body.String())
		}
		if len(w.Records()) != 0 || ingestmetricstest.Value(t, reg, "argus_ingest_log_records_received_total", "protocol=elasticsearch") != 0 {
			t.Errorf("%q: a malformed request was partly stored or counted", body)
		}
	}
}

func TestBulkStoreFailure(t *testing.T) {
	h, w, reg := newTest(t, Options{})
	w.FailWith(func(int) error { return errOverloaded })
	rec := request(h.Elasticsearch(), http.MethodPost, "/_bulk", []byte(filebeatBulk))
	var resp struct {
		Error struct {
			Type string
		}
		Status int
	}
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" ||
		json.Unmarshal(rec.Body.Bytes(), &resp) != nil || resp.Error.Type != "es_rejected_execution_exception" || resp.Status != 429 {
		t.Fatalf("status %d body %s", rec.Code, rec.Body.String())
	}
	if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_requests_total", "protocol=elasticsearch,outcome=overloaded"); got != 1 {
		t.Errorf("overloaded = %v", got)
	}
}

func TestBulkEncodingsAndErrors(t *testing.T) {
	h, w, _ := newTest(t, Options{MaxRequestBytes: 4096})
	es := h.Elasticsearch()
	if code, _, raw := postBulk(t, es, "/_bulk", string(gzipBytes(t, []byte(vectorBulk))),
		"Content-Type: application/x-ndjson", "Content-Encoding: gzip"); code != http.StatusOK {
		t.Errorf("gzip: %d %s", code, raw)
	}
	if code, _, raw := postBulk(t, es, "/_bulk", vectorBulk,
		"Content-Type: application/vnd.elasticsearch+x-ndjson; compatible-with=8"); code != http.StatusOK {
		t.Errorf("versioned type: %d %s", code, raw)
	}
	if len(w.Records()) != 2 {
		t.Errorf("%d stored", len(w.Records()))
	}
	for _, tc := range []struct {
		method, path, body string
		headers            []string
		code               int
	}{
		{http.MethodGet, "/_bulk", "", nil, http.StatusMethodNotAllowed},
		{http.MethodGet, "/logs/_bulk", vectorBulk, nil, http.StatusMethodNotAllowed},
		{http.MethodPost, "/_bulk", vectorBulk, []string{"Content-Type: application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType},
		{http.MethodPost, "/_bulk", vectorBulk, []string{"Content-Encoding: zstd"}, http.StatusUnsupportedMediaType},
		{http.MethodPost, "/_bulk", strings.Repeat(vectorBulk, 100), nil, http.StatusRequestEntityTooLarge},
		{http.MethodPost, "/_search", "{}", nil, http.StatusNotFound},
		{http.MethodGet, "/logs/_doc/1", "", nil, http.StatusNotFound},
	} {
		rec := request(es, tc.method, tc.path, []byte(tc.body), tc.headers...)
		if rec.Code != tc.code || !json.Valid(rec.Body.Bytes()) || rec.Header().Get("X-Elastic-Product") != "Elasticsearch" {
			t.Errorf("%s %s: status %d body %q, want %d", tc.method, tc.path, rec.Code, rec.Body.String(), tc.code)
		}
	}
}

func TestESHandshake(t *testing.T) {
	h, _, reg := newTest(t, Options{ElasticsearchVersion: "8.15.3"})
	es := h.Elasticsearch()

	rec := request(es, http.MethodGet, "/", nil)
	var info struct {
		Version struct {
			Number      string `json:"number"`
			BuildFlavor string `json:"build_flavor"`
		} `json:"version"`
		Tagline string `json:"tagline"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &info) != nil ||
		info.Version.Number != "8.15.3" || info.Version.BuildFlavor != "default" || info.Tagline != "You Know, for Search" ||
		rec.Header().Get("X-Elastic-Product") != "Elasticsearch" {
		t.Fatalf("GET /: %d %s", rec.Code, rec.Body.String())
	}

	var license struct {
		License struct{ Type, Status string }
	}
	rec = request(es, http.MethodGet, "/_license?human=false", nil)
	if json.Unmarshal(rec.Body.Bytes(), &license) != nil || license.License.Type != "basic" || license.License.Status != "active" {
		t.Errorf("GET /_license: %d %s", rec.Code, rec.Body.String())
	}

	for _, tc := range []struct {
		method, path string
		code         int
		body         string // a substring of the body; "" for HEAD
	}{
		{http.MethodHead, "/", http.StatusOK, ""},
		{http.MethodGet, "/_xpack", http.StatusOK, `"status":"active"`},
		{http.MethodGet, "/_cluster/health", http.StatusOK, `"status":"green"`},
		{http.MethodGet, "/_cluster/health/logs", http.StatusOK, `"status":"green"`},
		{http.MethodGet, "/_index_template/filebeat-8.11.0", http.StatusOK, `{}`},
		{http.MethodHead, "/_index_template/filebeat-8.11.0", http.StatusOK, ""},
		{http.MethodPut, "/_index_template/filebeat-8.11.0", http.StatusOK, `"acknowledged":true`},
		{http.MethodPut, "/_template/logstash", http.StatusOK, `"acknowledged":true`},
		{http.MethodGet, "/_ilm/policy/filebeat", http.StatusOK, `{}`},
		{http.MethodPut, "/_ilm/policy/filebeat", http.StatusOK, `"acknowledged":true`},
		{http.MethodPut, "/_ingest/pipeline/filebeat-8.11.0-nginx-access-pipeline", http.StatusOK, `"acknowledged":true`},
		{http.MethodGet, "/_data_stream/logs-generic-default", http.StatusOK, `{}`},
		{http.MethodHead, "/logstash", http.StatusOK, ""},
		{http.MethodPut, "/%3Clogstash-%7Bnow%2Fd%7D-000001%3E", http.StatusOK, `"index":"<logstash-{now/d}-000001>"`},
		{http.MethodPost, "/", http.StatusMethodNotAllowed, `Incorrect HTTP method`},
		{http.MethodPost, "/_license", http.StatusMethodNotAllowed, `Incorrect HTTP method`},
		{http.MethodPost, "/_ilm/policy/x", http.StatusMethodNotAllowed, `Incorrect HTTP method`},
		{http.MethodGet, "/_ilm", http.StatusNotFound, `no handler found for uri [/_ilm] and method [GET]`},
		{http.MethodGet, "/_cat/indices", http.StatusNotFound, `no handler found`},
	} {
		rec := request(es, tc.method, tc.path, nil)
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.body) || (tc.body == "" && rec.Body.Len() != 0) {
			t.Errorf("%s %s: %d %q; want %d with %q", tc.method, tc.path, rec.Code, rec.Body.String(), tc.code, tc.body)
		}
		if rec.Header().Get("X-Elastic-Product") != "Elasticsearch" {
			t.Errorf("%s %s: no X-Elastic-Product", tc.method, tc.path)
		}
	}
	// Handshakes are not pushes: no request is counted.
	if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_requests_total", "protocol=elasticsearch"); got != 0 {
		t.Errorf("handshakes counted as %v requests", got)
	}
}

// TestESPatterns checks that Patterns can all be registered on one mux,
// and that each reaches the endpoint ServeHTTP routes its path to.
func TestESPatterns(t *testing.T) {
	h, w, _ := newTest(t, Options{})
	es := h.Elasticsearch()
	mux := http.NewServeMux()
	for _, p := range es.Patterns() {
		mux.Handle(p, es)
	}
	for _, p := range es.Patterns() {
		method, path, _ := strings.Cut(p, " ")
		path = strings.TrimSuffix(path, "{$}")
		path = strings.ReplaceAll(path, "{index}", "logs")
		if strings.HasSuffix(path, "/") && path != "/" {
			path += "x"
		}
		body := ""
		if strings.HasSuffix(path, "_bulk") {
			body = vectorBulk
		}
		rec := request(mux, method, path, []byte(body))
		if rec.Code != http.StatusOK {
			t.Errorf("%s (%s %s): status %d %s", p, method, path, rec.Code, rec.Body.String())
		}
	}
	if len(w.Records()) != 3 {
		t.Errorf("%d stored through the three bulk patterns", len(w.Records()))
	}
	// Under a prefix, the usual mount.
	outer := http.NewServeMux()
	outer.Handle("/elasticsearch/", http.StripPrefix("/elasticsearch", es))
	if code, _, raw := postBulk(t, outer, "/elasticsearch/_bulk", vectorBulk); code != http.StatusOK {
		t.Errorf("under a prefix: %d %s", code, raw)
	}
}
