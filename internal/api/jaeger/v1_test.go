package jaeger

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store/memstore"
)

// v1Response decodes the v1 envelope with traces in it. Tag values stay
// raw JSON so tests see exactly how each was encoded.
type v1Response struct {
	Data   json.RawMessage   `json:"data"`
	Total  int               `json:"total"`
	Limit  int               `json:"limit"`
	Offset int               `json:"offset"`
	Errors []structuredError `json:"errors"`
}

type testTrace struct {
	TraceID   string                 `json:"traceID"`
	Spans     []testSpan             `json:"spans"`
	Processes map[string]testProcess `json:"processes"`
	Warnings  []string               `json:"warnings"`
}

type testSpan struct {
	TraceID       string        `json:"traceID"`
	SpanID        string        `json:"spanID"`
	Flags         uint32        `json:"flags"`
	OperationName string        `json:"operationName"`
	References    []uiReference `json:"references"`
	StartTime     uint64        `json:"startTime"`
	Duration      uint64        `json:"duration"`
	Tags          []testTag     `json:"tags"`
	Logs          []struct {
		Timestamp uint64    `json:"timestamp"`
		Fields    []testTag `json:"fields"`
	} `json:"logs"`
	ProcessID string `json:"processID"`
}

type testProcess struct {
	ServiceName string    `json:"serviceName"`
	Tags        []testTag `json:"tags"`
}

type testTag struct {
	Key   string          `json:"key"`
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

func (tt testTag) String() string { return tt.Key + ":" + tt.Type + "=" + string(tt.Value) }

func decodeV1(t *testing.T, body []byte, data any) v1Response {
	t.Helper()
	var resp v1Response
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	if data != nil {
		if err := json.Unmarshal(resp.Data, data); err != nil {
			t.Fatalf("decode data %s: %v", resp.Data, err)
		}
	}
	return resp
}

func findSpan(t *testing.T, tr *testTrace, id model.SpanID) *testSpan {
	t.Helper()
	for i := range tr.Spans {
		if tr.Spans[i].SpanID == id.String() {
			return &tr.Spans[i]
		}
	}
	t.Fatalf("span %s not in trace", id)
	return nil
}

func TestGetTraceGolden(t *testing.T) {
	srv := newTestServer(t)
	status, body := get(t, srv, "/jaeger/api/traces/"+checkoutTrace.String()+"?prettyPrint=true")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	checkGolden(t, "checkout_trace.json", body)

	// Without prettyPrint the content is the same, only compact.
	_, compact := get(t, srv, "/jaeger/api/traces/"+checkoutTrace.String())
	var want bytes.Buffer
	if err := json.Compact(&want, body); err != nil {
		t.Fatal(err)
	}
	if got := bytes.TrimSpace(compact); !bytes.Equal(got, want.Bytes()) {
		t.Errorf("compact response differs from pretty one:\n%s\n%s", got, want.Bytes())
	}
}

func TestGetTraceContent(t *testing.T) {
	srv := newTestServer(t)
	_, body := get(t, srv, "/jaeger/api/traces/"+checkoutTrace.String())
	var traces []testTrace
	resp := decodeV1(t, body, &traces)
	if len(traces) != 1 || resp.Errors != nil || resp.Total != 0 {
		t.Fatalf("got %d traces, errors %v, total %d", len(traces), resp.Errors, resp.Total)
	}
	tr := &traces[0]
	if tr.TraceID != checkoutTrace.String() || len(tr.Spans) != 4 {
		t.Fatalf("trace %s with %d spans", tr.TraceID, len(tr.Spans))
	}

	t.Run("references", func(t *testing.T) {
		ref := func(typ string, tid model.TraceID, sid model.SpanID) uiReference {
			return uiReference{RefType: typ, TraceID: tid.String(), SpanID: sid.String()}
		}
		for _, tc := range []struct {
			span model.SpanID
			want []uiReference
		}{
			{spanFrontendServer, []uiReference{}},
			{spanFrontendClient, []uiReference{
				ref(refChildOf, checkoutTrace, spanFrontendServer),
				ref(refFollowsFrom, linkedTrace, spanLinked),
			}},
			// The link's opentracing.ref_type makes it CHILD_OF; the
			// empty link is gone.
			{spanInventory, []uiReference{
				ref(refChildOf, checkoutTrace, spanFrontendClient),
				ref(refChildOf, linkedTrace, spanLinked),
			}},
			{spanRender, []uiReference{ref(refChildOf, checkoutTrace, spanFrontendServer)}},
		} {
			if got := findSpan(t, tr, tc.span).References; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("span %s references %v, want %v", tc.span, got, tc.want)
			}
		}
	})

	t.Run("processes", func(t *testing.T) {
		// The client span's resource lists the same attributes in another
		// order: it shares the server span's process.
		if len(tr.Processes) != 2 {
			t.Fatalf("processes %v, want 2", tr.Processes)
		}
		for span, service := range map[model.SpanID]string{
			spanFrontendServer: "frontend", spanFrontendClient: "frontend",
			spanRender: "frontend", spanInventory: "inventory",
		} {
			pid := findSpan(t, tr, span).ProcessID
			if got := tr.Processes[pid].ServiceName; got != service {
				t.Errorf("span %s: process %q is %q, want %q", span, pid, got, service)
			}
		}
		if got := findSpan(t, tr, spanFrontendServer).ProcessID; got != "p1" {
			t.Errorf("first process is %q, want p1", got)
		}
		inv := tr.Processes[findSpan(t, tr, spanInventory).ProcessID]
		want := []string{
			`host.name:string="inv-1"`,
			`process.command_args:string="[\"inventory\",\"--port\",\"8081\"]"`,
			`process.pid:int64=4242`,
		}
		if got := tagStrings(inv.Tags); !reflect.DeepEqual(got, want) {
			t.Errorf("inventory process tags\n got %q\nwant %q", got, want)
		}
	})

	t.Run("tags", func(t *testing.T) {
		for _, tc := range []struct {
			span model.SpanID
			want []string // in order
		}{
			{spanFrontendServer, []string{
				`otel.scope.name:string="github.com/argus-obs/argus/sdk/http"`,
				`otel.scope.version:string="0.3.0"`,
				`correlation.id:string="c0ffee-42"`,
				`http.request.method:string="GET"`,
				`http.response.status_code:int64=502`,
				`http.route:string="/checkout"`,
				`sampling.ratio:float64=0.25`,
				`user.vip:bool=true`,
				`span.kind:string="server"`,
				`otel.status_code:string="ERROR"`,
				`error:bool=true`,
				`otel.status_description:string="inventory unavailable"`,
			}},
			{spanFrontendClient, []string{
				`otel.scope.name:string="github.com/argus-obs/argus/sdk/http"`,
				`otel.scope.version:string="0.3.0"`,
				`feature.flags:string="[\"new-cart\",3,true]"`,
				`http.response.status_code:int64=503`,
				`request.digest:binary="AQL+/w=="`,
				`request.seq:int64="9007199254740993"`,
				`server.address:string="inventory"`,
				`server.port:int64=8081`,
				`span.kind:string="client"`,
			}},
			{spanInventory, []string{
				`otel.scope.name:string="inventory/handlers"`,
				`http.response.status_code:int64=503`,
				`http.route:string="/stock"`,
				`stock.query:string="{\"qty\":2,\"sku\":\"A-100\"}"`,
				`span.kind:string="server"`,
				`otel.status_code:string="ERROR"`,
				`error:bool=true`,
				`otel.status_description:string="out of stock"`,
				`w3c.tracestate:string="argus=1"`,
			}},
			{spanRender, []string{
				`otel.scope.name:string="frontend/templates"`,
				`otel.scope.version:string="1"`,
				`span.kind:string="internal"`,
				`otel.status_code:string="OK"`,
			}},
		} {
			if got := tagStrings(findSpan(t, tr, tc.span).Tags); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("span %s tags\n got %q\nwant %q", tc.span, got, tc.want)
			}
		}
	})

	t.Run("times and logs", func(t *testing.T) {
		root := findSpan(t, tr, spanFrontendServer)
		if want := uint64(base.UnixMicro()); root.StartTime != want {
			t.Errorf("startTime %d, want %d", root.StartTime, want)
		}
		if root.Duration != 120250 {
			t.Errorf("duration %dµs, want 120250", root.Duration)
		}
		if root.Flags != 1 {
			t.Errorf("flags %d, want 1 (sampled; OTLP's remote-parent bits dropped)", root.Flags)
		}
		if len(root.Logs) != 1 {
			t.Fatalf("logs %v", root.Logs)
		}
		log := root.Logs[0]
		if want := uint64(base.Add(5 * time.Millisecond).UnixMicro()); log.Timestamp != want {
			t.Errorf("log timestamp %d, want %d", log.Timestamp, want)
		}
		want := []string{`event:string="cache miss"`, `cache.key:string="cart:42"`, `cache.ttl_s:int64=30`}
		if got := tagStrings(log.Fields); !reflect.DeepEqual(got, want) {
			t.Errorf("log fields %q, want %q", got, want)
		}
	})
}

func tagStrings(tags []testTag) []string {
	out := make([]string, len(tags))
	for i, tag := range tags {
		out[i] = tag.String()
	}
	return out
}

func TestGetTraceErrors(t *testing.T) {
	srv := newTestServer(t)
	for _, tc := range []struct {
		path   string
		status int
		body   string // exact, or "" to check only that msg contains msgs
		msgs   []string
	}{
		{
			path:   "/jaeger/api/traces/" + missingTrace.String(),
			status: http.StatusNotFound,
			body:   `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":404,"msg":"trace not found"}]}` + "\n",
		},
		{path: "/jaeger/api/traces/not-hex", status: http.StatusBadRequest, msgs: []string{"'traceID'", `"not-hex"`}},
		{path: "/jaeger/api/traces/" + strings.Repeat("a", 33), status: http.StatusBadRequest, msgs: []string{"'traceID'"}},
		{path: "/jaeger/api/traces/0", status: http.StatusBadRequest, msgs: []string{"all-zero"}},
		{path: "/jaeger/api/traces/" + checkoutTrace.String() + "?start=yesterday", status: http.StatusBadRequest, msgs: []string{"'start'", `"yesterday"`}},
		{path: "/jaeger/api/traces/" + checkoutTrace.String() + "?raw=maybe", status: http.StatusBadRequest, msgs: []string{"'raw'", `"maybe"`}},
	} {
		status, body := get(t, srv, tc.path)
		if status != tc.status {
			t.Errorf("GET %s: status %d, want %d: %s", tc.path, status, tc.status, body)
			continue
		}
		if tc.body != "" {
			if string(body) != tc.body {
				t.Errorf("GET %s:\n got %s\nwant %s", tc.path, body, tc.body)
			}
			continue
		}
		checkV1Error(t, tc.path, body, tc.status, tc.msgs...)
	}
}

// checkV1Error checks Jaeger's error envelope: data null, one error with
// the status as code and a message containing every part.
func checkV1Error(t *testing.T, path string, body []byte, status int, parts ...string) {
	t.Helper()
	var resp struct {
		Data   any               `json:"data"`
		Errors []structuredError `json:"errors"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
	if resp.Data != nil || len(resp.Errors) != 1 || resp.Errors[0].Code != status {
		t.Errorf("GET %s: want data null and one error with code %d: %s", path, status, body)
		return
	}
	for _, p := range parts {
		if !strings.Contains(resp.Errors[0].Msg, p) {
			t.Errorf("GET %s: message %q does not mention %s", path, resp.Errors[0].Msg, p)
		}
	}
}

func TestGetTraceBase64ID(t *testing.T) {
	srv := newTestServer(t)
	id := "CvdlGRbNQ92ESOshHIAxnA==" // checkoutTrace in base64, as protobuf JSON clients send it
	status, body := get(t, srv, "/jaeger/api/traces/"+url.PathEscape(id))
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	var traces []testTrace
	decodeV1(t, body, &traces)
	if traces[0].TraceID != checkoutTrace.String() {
		t.Errorf("got trace %s", traces[0].TraceID)
	}
}

func TestServices(t *testing.T) {
	srv := newTestServer(t)
	status, body := get(t, srv, "/jaeger/api/services")
	want := `{"data":["frontend","inventory"],"total":2,"limit":0,"offset":0,"errors":null}` + "\n"
	if status != http.StatusOK || string(body) != want {
		t.Errorf("status %d\n got %s\nwant %s", status, body, want)
	}

	// An empty store answers an empty list, not null.
	h, err := New(Options{Reader: memstore.NewTraces()})
	if err != nil {
		t.Fatal(err)
	}
	rec := serve(h, "/api/services")
	if want := `{"data":[],"total":0,"limit":0,"offset":0,"errors":null}` + "\n"; rec.Body.String() != want {
		t.Errorf("empty store: got %s, want %s", rec.Body, want)
	}
}

func TestOperations(t *testing.T) {
	srv := newTestServer(t)
	for _, tc := range []struct {
		path, want string
	}{
		{"/jaeger/api/services/frontend/operations",
			`{"data":["GET /checkout","GET inventory /stock","render error page"],"total":3,"limit":0,"offset":0,"errors":null}`},
		{"/jaeger/api/services/nobody/operations",
			`{"data":[],"total":0,"limit":0,"offset":0,"errors":null}`},
		{"/jaeger/api/operations?service=frontend",
			`{"data":[{"name":"GET /checkout","spanKind":"server"},{"name":"GET inventory /stock","spanKind":"client"},{"name":"render error page","spanKind":"internal"}],"total":3,"limit":0,"offset":0,"errors":null}`},
		{"/jaeger/api/operations?service=frontend&spanKind=server",
			`{"data":[{"name":"GET /checkout","spanKind":"server"}],"total":1,"limit":0,"offset":0,"errors":null}`},
		{"/jaeger/api/operations?service=frontend&spanKind=SPAN_KIND_CLIENT",
			`{"data":[{"name":"GET inventory /stock","spanKind":"client"}],"total":1,"limit":0,"offset":0,"errors":null}`},
		{"/jaeger/api/operations?service=frontend&spanKind=unspecified",
			`{"data":[],"total":0,"limit":0,"offset":0,"errors":null}`},
	} {
		status, body := get(t, srv, tc.path)
		if status != http.StatusOK || string(body) != tc.want+"\n" {
			t.Errorf("GET %s: status %d\n got %s\nwant %s", tc.path, status, body, tc.want)
		}
	}
	for _, tc := range []struct {
		path string
		msgs []string
	}{
		{"/jaeger/api/operations", []string{"'service'"}},
		{"/jaeger/api/operations?service=frontend&spanKind=sideways", []string{"'spanKind'", `"sideways"`}},
	} {
		status, body := get(t, srv, tc.path)
		if status != http.StatusBadRequest {
			t.Errorf("GET %s: status %d, want 400", tc.path, status)
		}
		checkV1Error(t, tc.path, body, http.StatusBadRequest, tc.msgs...)
	}
}

// TestServiceNameEscaping checks that a service name with a slash, which
// the Jaeger UI sends percent-encoded, reaches the store whole.
func TestServiceNameEscaping(t *testing.T) {
	mem := memstore.NewTraces()
	span := healthSpans()[0]
	span.Resource.ServiceName = "shop/cart svc"
	if err := mem.WriteSpans(context.Background(), []model.Span{span}); err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{Reader: mem, Prefix: "/jaeger"})
	if err != nil {
		t.Fatal(err)
	}
	rec := serve(h, "/jaeger/api/services/"+url.PathEscape("shop/cart svc")+"/operations")
	if want := `{"data":["GET /health"],"total":1,"limit":0,"offset":0,"errors":null}` + "\n"; rec.Body.String() != want {
		t.Errorf("got %d %s, want %s", rec.Code, rec.Body, want)
	}
}

func micro(d time.Duration) string { return strconv.FormatInt(base.Add(d).UnixMicro(), 10) }

func TestSearch(t *testing.T) {
	srv := newTestServer(t)
	for _, tc := range []struct {
		name  string
		query string
		want  []model.TraceID // in order
	}{
		{"service", "service=frontend", []model.TraceID{checkoutTrace}},
		{"service, most recent first", "service=inventory", []model.TraceID{healthTrace, checkoutTrace}},
		{"limit", "service=inventory&limit=1", []model.TraceID{healthTrace}},
		{"limit zero means default", "service=inventory&limit=0", []model.TraceID{healthTrace, checkoutTrace}},
		{"operation", "service=inventory&operation=GET+%2Fstock", []model.TraceID{checkoutTrace}},
		{"operation of another service", "service=frontend&operation=GET+%2Fhealth", nil},
		{"lookback widens the window", "service=frontend&lookback=3d", []model.TraceID{checkoutTrace, olderTrace}},
		{"lookback custom is ignored", "service=frontend&lookback=custom", []model.TraceID{checkoutTrace}},
		{"lookback ignored when start is given", "service=frontend&lookback=3d&start=" + micro(-time.Minute), []model.TraceID{checkoutTrace}},
		{"start and end", "service=frontend&start=" + micro(-51*time.Hour) + "&end=" + micro(-49*time.Hour), []model.TraceID{olderTrace}},
		{"end excludes later traces", "service=inventory&end=" + micro(time.Minute), []model.TraceID{checkoutTrace}},
		{"start includes the boundary", "service=inventory&start=" + micro(30*time.Minute), []model.TraceID{healthTrace}},
		{"tags JSON", `service=inventory&tags={"http.response.status_code":"503"}`, []model.TraceID{checkoutTrace}},
		{"tags JSON number", `service=inventory&tags={"http.response.status_code":200}`, []model.TraceID{healthTrace}},
		{"tags JSON bool from the Jaeger UI", `service=inventory&tags={"error":true}`, []model.TraceID{checkoutTrace}},
		{"tags logfmt", `service=inventory&tags=http.route=/stock error=true`, []model.TraceID{checkoutTrace}},
		{"tags logfmt quoted", `service=frontend&tags=otel.status_description="inventory unavailable"`, []model.TraceID{checkoutTrace}},
		{"tags logfmt bare key", `service=inventory&tags=error`, []model.TraceID{checkoutTrace}},
		{"tags resource attribute", `service=inventory&tags=host.name=inv-1`, []model.TraceID{healthTrace, checkoutTrace}},
		{"tags derived span.kind", `service=frontend&tags=span.kind=internal`, []model.TraceID{checkoutTrace}},
		{"tags no match", `service=frontend&tags=user.vip=false`, nil},
		{"tag params", `service=inventory&tag=http.route:/health&tag=http.response.status_code:200`, []model.TraceID{healthTrace}},
		{"tag and tags together", `service=inventory&tag=http.route:/stock&tags={"error":"true"}`, []model.TraceID{checkoutTrace}},
		{"minDuration", "service=inventory&minDuration=50ms", []model.TraceID{checkoutTrace}},
		{"maxDuration", "service=inventory&maxDuration=10ms", []model.TraceID{healthTrace}},
		{"duration range", "service=inventory&minDuration=1ms&maxDuration=2ms", []model.TraceID{healthTrace}},
		{"duration in microseconds", "service=frontend&minDuration=120250us", []model.TraceID{checkoutTrace}},
		{"duration one over", "service=frontend&minDuration=120251us", nil},
		{"duration with fraction", "service=frontend&minDuration=0.1s&maxDuration=0.2s", []model.TraceID{checkoutTrace}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/jaeger/api/traces?" + escapeQuery(tc.query)
			status, body := get(t, srv, path)
			if status != http.StatusOK {
				t.Fatalf("GET %s: status %d: %s", path, status, body)
			}
			var traces []testTrace
			resp := decodeV1(t, body, &traces)
			if resp.Errors != nil {
				t.Errorf("errors %v", resp.Errors)
			}
			got := make([]string, len(traces))
			for i := range traces {
				got[i] = traces[i].TraceID
			}
			want := make([]string, len(tc.want))
			for i, id := range tc.want {
				want[i] = id.String()
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("GET %s: traces %v, want %v", path, got, want)
			}
		})
	}
}

// escapeQuery percent-encodes the values of a readable query string.
func escapeQuery(q string) string {
	var parts []string
	for _, kv := range strings.Split(q, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if u, err := url.QueryUnescape(v); err == nil {
			v = u
		}
		parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v))
	}
	return strings.Join(parts, "&")
}

func TestSearchByTraceIDs(t *testing.T) {
	srv := newTestServer(t)
	path := "/jaeger/api/traces?traceID=" + healthTrace.String() + "&traceID=" + missingTrace.String() +
		"&traceID=" + checkoutTrace.String() + "&traceID=" + healthTrace.String()
	status, body := get(t, srv, path)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	var traces []testTrace
	resp := decodeV1(t, body, &traces)
	if len(traces) != 2 || traces[0].TraceID != healthTrace.String() || traces[1].TraceID != checkoutTrace.String() {
		t.Errorf("traces %v", traces)
	}
	want := []structuredError{{Msg: "trace not found", TraceID: missingTrace.String()}}
	if !reflect.DeepEqual(resp.Errors, want) {
		t.Errorf("errors %+v, want %+v", resp.Errors, want)
	}
	if !strings.Contains(string(body), `"errors":[{"msg":"trace not found","traceID":"`+missingTrace.String()+`"}]`) {
		t.Errorf("per-trace error is not in Jaeger's shape (no code): %s", body)
	}
}

func TestSearchBadParams(t *testing.T) {
	srv := newTestServer(t)
	for _, tc := range []struct {
		query string
		msgs  []string
	}{
		{"", []string{"'service' is required"}},
		{"operation=x", []string{"'service' is required"}},
		{"service=frontend&start=abc", []string{"'start'", `"abc"`}},
		{"service=frontend&end=-5", []string{"'end'", `"-5"`}},
		{"service=frontend&start=" + micro(time.Hour) + "&end=" + micro(0), []string{"'start'", "after", "'end'"}},
		{"service=frontend&limit=-1", []string{"'limit'", `"-1"`}},
		{"service=frontend&limit=ten", []string{"'limit'", `"ten"`}},
		{"service=frontend&minDuration=5", []string{"'minDuration'", `"5"`}},
		{"service=frontend&maxDuration=abc", []string{"'maxDuration'", `"abc"`}},
		{"service=frontend&minDuration=-1s", []string{"'minDuration'", `"-1s"`}},
		{"service=frontend&minDuration=2s&maxDuration=1s", []string{"'maxDuration'", "'minDuration'", "1s", "2s"}},
		{`service=frontend&tags={"a":`, []string{"'tags'", `"{\"a\":"`}},
		{`service=frontend&tags={"a":{"b":"c"}}`, []string{"'tags'", "not a string"}},
		{`service=frontend&tags=k="unterminated`, []string{"'tags'", "unterminated"}},
		{`service=frontend&tags==v`, []string{"'tags'"}},
		{"service=frontend&tag=novalue", []string{"'tag'", `"novalue"`, "key:value"}},
		{"service=frontend&lookback=3x", []string{"'lookback'", `"3x"`}},
		{"service=frontend&lookback=-1h", []string{"'lookback'", `"-1h"`}},
		{"traceID=xyz", []string{"'traceID'", `"xyz"`}},
		{"service=frontend&raw=yes", []string{"'raw'", `"yes"`}},
	} {
		path := "/jaeger/api/traces?" + escapeQuery(tc.query)
		status, body := get(t, srv, path)
		if status != http.StatusBadRequest {
			t.Errorf("GET %s: status %d, want 400: %s", path, status, body)
			continue
		}
		checkV1Error(t, path, body, http.StatusBadRequest, tc.msgs...)
	}
}

func TestSearchLimitCapped(t *testing.T) {
	h, err := New(Options{Reader: newTestStore(t), Now: testNow, MaxTraces: 1})
	if err != nil {
		t.Fatal(err)
	}
	rec := serve(h, "/api/traces?service=inventory&limit=100")
	var traces []testTrace
	decodeV1(t, rec.Body.Bytes(), &traces)
	if len(traces) != 1 {
		t.Errorf("got %d traces, want the cap of 1", len(traces))
	}
	rec = serve(h, "/api/traces?traceID="+healthTrace.String()+"&traceID="+checkoutTrace.String())
	checkV1Error(t, "traceID lookup", rec.Body.Bytes(), http.StatusBadRequest, "too many 'traceID'")
}

func TestDependencies(t *testing.T) {
	srv := newTestServer(t)
	ms := func(d time.Duration) string { return strconv.FormatInt(base.Add(d).UnixMilli(), 10) }
	for _, tc := range []struct {
		query, want string
	}{
		// Default window: the 24h before the clock's now.
		{"", `[{"parent":"frontend","child":"inventory","callCount":1}]`},
		{"endTs=" + ms(time.Minute) + "&lookback=120000", `[{"parent":"frontend","child":"inventory","callCount":1}]`},
		{"endTs=" + ms(time.Minute) + "&lookback=120000&service=inventory", `[{"parent":"frontend","child":"inventory","callCount":1}]`},
		{"endTs=" + ms(time.Minute) + "&lookback=120000&service=payments", `[]`},
		// The inventory span starts 20ms in: a window ending at 10ms misses it.
		{"endTs=" + ms(10*time.Millisecond) + "&lookback=60000", `[]`},
	} {
		path := "/jaeger/api/dependencies?" + tc.query
		status, body := get(t, srv, path)
		want := `{"data":` + tc.want + `,"total":0,"limit":0,"offset":0,"errors":null}` + "\n"
		if status != http.StatusOK || string(body) != want {
			t.Errorf("GET %s: status %d\n got %s\nwant %s", path, status, body, want)
		}
	}
	for _, tc := range []struct {
		query string
		msgs  []string
	}{
		{"endTs=abc", []string{"'endTs'", `"abc"`, "milliseconds"}},
		{"lookback=0", []string{"'lookback'", `"0"`}},
		{"lookback=1h", []string{"'lookback'", `"1h"`, "milliseconds"}},
	} {
		path := "/jaeger/api/dependencies?" + tc.query
		status, body := get(t, srv, path)
		if status != http.StatusBadRequest {
			t.Errorf("GET %s: status %d, want 400", path, status)
		}
		checkV1Error(t, path, body, http.StatusBadRequest, tc.msgs...)
	}
}

func TestNewOptions(t *testing.T) {
	mem := newTestStore(t)
	if _, err := New(Options{}); err == nil {
		t.Error("New without a Reader succeeded")
	}
	for _, prefix := range []string{"jaeger", "/jaeger/{x}"} {
		if _, err := New(Options{Reader: mem, Prefix: prefix}); err == nil {
			t.Errorf("New with prefix %q succeeded", prefix)
		}
	}
	for prefix, path := range map[string]string{
		"":         "/api/services",
		"/":        "/api/services",
		"/jaeger/": "/jaeger/api/services",
		"/a/b":     "/a/b/api/v3/services",
	} {
		h, err := New(Options{Reader: mem, Prefix: prefix})
		if err != nil {
			t.Fatalf("prefix %q: %v", prefix, err)
		}
		if rec := serve(h, path); rec.Code != http.StatusOK {
			t.Errorf("prefix %q: GET %s: status %d", prefix, path, rec.Code)
		}
	}
	h, err := New(Options{Reader: mem, Prefix: "/jaeger"})
	if err != nil {
		t.Fatal(err)
	}
	if rec := serve(h, "/api/services"); rec.Code != http.StatusNotFound {
		t.Errorf("unprefixed path: status %d, want 404", rec.Code)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	h, err := New(Options{Reader: newTestStore(t), Registerer: reg, Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	serve(h, "/api/services")
	serve(h, "/api/traces?service=frontend")
	serve(h, "/api/traces?service=frontend&limit=x")
	serve(h, "/api/traces/"+missingTrace.String())
	serve(h, "/api/v3/traces?query.service_name=frontend")

	got := map[string]float64{}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "argus_jaeger_api_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			got[labels["endpoint"]+" "+labels["code"]] = m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{"services 200": 1, "traces 200": 1, "traces 400": 1, "trace 404": 1, "v3_traces 400": 1}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("counters %v, want %v", got, want)
	}

	// A second handler on the same registry is refused, not silently
	// uncounted.
	if _, err := New(Options{Reader: newTestStore(t), Registerer: reg}); err == nil {
		t.Error("second registration succeeded")
	}
}
