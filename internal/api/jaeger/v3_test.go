package jaeger

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
)

// decodeV3Traces parses a {"result": TracesData} body with pdata's own
// OTLP JSON reader.
func decodeV3Traces(t *testing.T, body []byte) ptrace.Traces {
	t.Helper()
	var resp struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || resp.Result == nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	var u ptrace.JSONUnmarshaler
	td, err := u.UnmarshalTraces(resp.Result)
	if err != nil {
		t.Fatalf("unmarshal OTLP: %v", err)
	}
	return td
}

// spansFromOTLP is the inverse of appendOTLP, written independently of it:
// arrays and maps come back as plain JSON text.
func spansFromOTLP(td ptrace.Traces) []model.Span {
	var out []model.Span
	for _, rs := range td.ResourceSpans().All() {
		var res model.Resource
		for k, v := range rs.Resource().Attributes().All() {
			if k == "service.name" {
				res.ServiceName = v.Str()
				continue
			}
			res.Attributes = append(res.Attributes, attrFromValue(k, v))
		}
		for _, ss := range rs.ScopeSpans().All() {
			scope := model.Scope{Name: ss.Scope().Name(), Version: ss.Scope().Version()}
			for _, s := range ss.Spans().All() {
				span := model.Span{
					TraceID: model.TraceID(s.TraceID()), SpanID: model.SpanID(s.SpanID()), ParentSpanID: model.SpanID(s.ParentSpanID()),
					TraceState: s.TraceState().AsRaw(), Flags: s.Flags(), Name: s.Name(), Kind: model.SpanKind(s.Kind()),
					StartUnixNano: int64(s.StartTimestamp()), EndUnixNano: int64(s.EndTimestamp()),
					StatusCode: model.StatusCode(s.Status().Code()), StatusMessage: s.Status().Message(),
					Attributes: attrsFromMap(s.Attributes()), Resource: res, Scope: scope,
					DroppedAttributes: s.DroppedAttributesCount(), DroppedEvents: s.DroppedEventsCount(), DroppedLinks: s.DroppedLinksCount(),
				}
				for _, e := range s.Events().All() {
					span.Events = append(span.Events, model.Event{TimeUnixNano: int64(e.Timestamp()), Name: e.Name(), Attributes: attrsFromMap(e.Attributes())})
				}
				for _, l := range s.Links().All() {
					span.Links = append(span.Links, model.Link{
						TraceID: model.TraceID(l.TraceID()), SpanID: model.SpanID(l.SpanID()),
						TraceState: l.TraceState().AsRaw(), Attributes: attrsFromMap(l.Attributes()),
					})
				}
				out = append(out, span)
			}
		}
	}
	return out
}

func attrsFromMap(m pcommon.Map) []model.Attribute {
	var out []model.Attribute
	for k, v := range m.All() {
		out = append(out, attrFromValue(k, v))
	}
	return out
}

func attrFromValue(k string, v pcommon.Value) model.Attribute {
	switch v.Type() {
	case pcommon.ValueTypeBool:
		return model.Bool(k, v.Bool())
	case pcommon.ValueTypeInt:
		return model.Int(k, v.Int())
	case pcommon.ValueTypeDouble:
		return model.Double(k, v.Double())
	case pcommon.ValueTypeBytes:
		return model.Attribute{Key: k, Type: model.ValueBytes, Value: string(v.Bytes().AsRaw())}
	case pcommon.ValueTypeSlice:
		return model.Attribute{Key: k, Type: model.ValueArray, Value: v.AsString()}
	case pcommon.ValueTypeMap:
		return model.Attribute{Key: k, Type: model.ValueMap, Value: v.AsString()}
	default:
		return model.String(k, v.AsString())
	}
}

// wantV3Spans is what the store holds for the trace, as the API should
// present it: attributes sorted by key, empty links dropped, and arrays
// and maps in plain JSON.
func wantV3Spans(t *testing.T, spans []model.Span) []model.Span {
	t.Helper()
	plain := map[string]string{
		"feature.flags":        `["new-cart",3,true]`,
		"stock.query":          `{"qty":2,"sku":"A-100"}`,
		"process.command_args": `["inventory","--port","8081"]`,
	}
	fix := func(attrs []model.Attribute) []model.Attribute {
		if len(attrs) == 0 {
			return nil
		}
		attrs = slices.Clone(attrs)
		for i := range attrs {
			if p, ok := plain[attrs[i].Key]; ok {
				attrs[i].Value = p
			}
		}
		slices.SortStableFunc(attrs, func(a, b model.Attribute) int { return cmp.Compare(a.Key, b.Key) })
		return attrs
	}
	out := make([]model.Span, len(spans))
	for i, s := range spans {
		s.Attributes = fix(s.Attributes)
		s.Resource.Attributes = fix(s.Resource.Attributes)
		s.Events = slices.Clone(s.Events)
		for j := range s.Events {
			s.Events[j].Attributes = fix(s.Events[j].Attributes)
		}
		var links []model.Link
		for _, l := range s.Links {
			if !l.TraceID.IsZero() {
				l.Attributes = fix(l.Attributes)
				links = append(links, l)
			}
		}
		s.Links = links
		out[i] = s
	}
	return out
}

func sortSpans(spans []model.Span) {
	slices.SortFunc(spans, func(a, b model.Span) int {
		return cmp.Or(cmp.Compare(a.StartUnixNano, b.StartUnixNano), slices.Compare(a.SpanID[:], b.SpanID[:]))
	})
}

func TestV3GetTrace(t *testing.T) {
	srv := newTestServer(t)
	status, body := get(t, srv, "/jaeger/api/v3/traces/"+checkoutTrace.String())
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, body, "", "  "); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "checkout_trace_otlp.json", pretty.Bytes())

	td := decodeV3Traces(t, body)
	got := spansFromOTLP(td)
	sortSpans(got)
	stored, err := newTestStore(t).GetTrace(context.Background(), checkoutTrace)
	if err != nil {
		t.Fatal(err)
	}
	want := wantV3Spans(t, stored)
	if !reflect.DeepEqual(got, want) {
		gotJSON, _ := json.MarshalIndent(got, "", " ")
		wantJSON, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("spans differ\n got %s\nwant %s", gotJSON, wantJSON)
	}

	// One ResourceSpans per distinct resource (the reordered frontend
	// resource is the same one) and one ScopeSpans per scope within it.
	var shape []string
	for _, rs := range td.ResourceSpans().All() {
		svc, _ := rs.Resource().Attributes().Get("service.name")
		for _, ss := range rs.ScopeSpans().All() {
			shape = append(shape, svc.Str()+" "+ss.Scope().Name()+" "+strconv.Itoa(ss.Spans().Len()))
		}
	}
	wantShape := []string{
		"frontend github.com/argus-obs/argus/sdk/http 2",
		"frontend frontend/templates 1",
		"inventory inventory/handlers 1",
	}
	if !reflect.DeepEqual(shape, wantShape) {
		t.Errorf("grouping %q, want %q", shape, wantShape)
	}
}

func TestV3GetTraceRaw(t *testing.T) {
	srv := newTestServer(t)
	_, body := get(t, srv, "/jaeger/api/v3/traces/"+checkoutTrace.String()+"?raw_traces=true")
	got := spansFromOTLP(decodeV3Traces(t, body))
	sortSpans(got)
	// Raw keeps the sender's attribute order and the empty link.
	client := got[1]
	if client.Attributes[0].Key != "server.address" || client.Resource.Attributes[0].Key != "deployment.environment.name" {
		t.Errorf("raw trace was reordered: %v / %v", client.Attributes, client.Resource.Attributes)
	}
	if n := len(got[2].Links); n != 2 {
		t.Errorf("raw inventory span has %d links, want 2", n)
	}
}

func TestV3Errors(t *testing.T) {
	srv := newTestServer(t)
	times := "query.start_time_min=2026-03-01T11:00:00Z&query.start_time_max=2026-03-01T13:00:00Z"
	for _, tc := range []struct {
		path   string
		status int
		body   string   // exact when set
		msgs   []string // else parts of the message
	}{
		{"/jaeger/api/v3/traces/" + missingTrace.String(), http.StatusNotFound, `{"error":{"httpCode":404,"message":"trace not found"}}`, nil},
		{"/jaeger/api/v3/traces?query.service_name=payments&" + times, http.StatusNotFound, `{"error":{"httpCode":404,"message":"No traces found"}}`, nil},
		{"/jaeger/api/v3/traces/xyz", http.StatusBadRequest, "", []string{"'trace_id'", `"xyz"`}},
		{"/jaeger/api/v3/traces/" + checkoutTrace.String() + "?start_time=noon", http.StatusBadRequest, "", []string{"'start_time'", `"noon"`}},
		{"/jaeger/api/v3/traces/" + checkoutTrace.String() + "?endTime=noon", http.StatusBadRequest, "", []string{"'endTime'", `"noon"`}},
		{"/jaeger/api/v3/traces/" + checkoutTrace.String() + "?raw_traces=2", http.StatusBadRequest, "", []string{"'raw_traces'", `"2"`}},
		{"/jaeger/api/v3/traces?query.service_name=frontend", http.StatusBadRequest, "", []string{"query.start_time_min", "required"}},
		{"/jaeger/api/v3/traces?" + times + "&query.duration_min=fast", http.StatusBadRequest, "", []string{"'query.duration_min'", `"fast"`}},
		{"/jaeger/api/v3/trace-summaries?query.search_depth=-1&" + times, http.StatusBadRequest, "", []string{"'query.search_depth'", `"-1"`}},
		{"/jaeger/api/v3/operations", http.StatusBadRequest, "", []string{"'service'"}},
		{"/jaeger/api/v3/operations?service=frontend&span_kind=up", http.StatusBadRequest, "", []string{"'span_kind'", `"up"`}},
	} {
		status, body := get(t, srv, tc.path)
		if status != tc.status {
			t.Errorf("GET %s: status %d, want %d: %s", tc.path, status, tc.status, body)
			continue
		}
		if tc.body != "" {
			if got := strings.TrimSpace(string(body)); got != tc.body {
				t.Errorf("GET %s:\n got %s\nwant %s", tc.path, got, tc.body)
			}
			continue
		}
		var resp struct {
			Error struct {
				HTTPCode int    `json:"httpCode"`
				Message  string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(body, &resp); err != nil || resp.Error.HTTPCode != tc.status {
			t.Errorf("GET %s: not the gateway's error shape: %s", tc.path, body)
			continue
		}
		for _, m := range tc.msgs {
			if !strings.Contains(resp.Error.Message, m) {
				t.Errorf("GET %s: message %q does not mention %s", tc.path, resp.Error.Message, m)
			}
		}
	}
}

func TestV3FindTraces(t *testing.T) {
	srv := newTestServer(t)
	rfc := func(d time.Duration) string { return base.Add(d).Format(time.RFC3339Nano) }
	window := "query.start_time_min=" + rfc(-time.Hour) + "&query.start_time_max=" + rfc(time.Hour)
	for _, tc := range []struct {
		name, query string
		want        []model.TraceID
	}{
		{"service", "query.service_name=inventory&" + window, []model.TraceID{healthTrace, checkoutTrace}},
		{"camelCase names", "query.serviceName=inventory&query.startTimeMin=" + rfc(-time.Hour) + "&query.startTimeMax=" + rfc(time.Hour), []model.TraceID{healthTrace, checkoutTrace}},
		{"search depth", "query.service_name=inventory&query.search_depth=1&" + window, []model.TraceID{healthTrace}},
		{"operation", "query.service_name=inventory&query.operation_name=GET+%2Fstock&" + window, []model.TraceID{checkoutTrace}},
		{"attributes", "query.attributes=" + url.QueryEscape(`{"http.response.status_code":"200"}`) + "&" + window, []model.TraceID{healthTrace}},
		{"durations", "query.service_name=inventory&query.duration_min=1ms&query.duration_max=2ms&" + window, []model.TraceID{healthTrace}},
		{"window excludes", "query.service_name=inventory&query.start_time_min=" + rfc(-time.Hour) + "&query.start_time_max=" + rfc(time.Minute), []model.TraceID{checkoutTrace}},
		// Grafana sends times unescaped, so an offset's "+" arrives as a
		// space; 13:01 in UTC+01:00 is a minute after base.
		{"unescaped offset", "query.service_name=inventory&query.start_time_min=" + rfc(-time.Hour) + "&query.start_time_max=2026-03-01T13:01:00+01:00", []model.TraceID{checkoutTrace}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, srv, "/jaeger/api/v3/traces?"+tc.query)
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, body)
			}
			td := decodeV3Traces(t, body)
			var got []model.TraceID
			for _, rs := range td.ResourceSpans().All() {
				id := model.TraceID(rs.ScopeSpans().At(0).Spans().At(0).TraceID())
				if len(got) == 0 || got[len(got)-1] != id {
					got = append(got, id)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("traces %v, want %v", got, tc.want)
			}
		})
	}
}

func TestV3ServicesAndOperations(t *testing.T) {
	srv := newTestServer(t)
	for _, tc := range []struct{ path, want string }{
		{"/jaeger/api/v3/services", `{"services":["frontend","inventory"]}`},
		{"/jaeger/api/v3/operations?service=frontend",
			`{"operations":[{"name":"GET /checkout","spanKind":"server"},{"name":"GET inventory /stock","spanKind":"client"},{"name":"render error page","spanKind":"internal"}]}`},
		{"/jaeger/api/v3/operations?service=frontend&span_kind=server", `{"operations":[{"name":"GET /checkout","spanKind":"server"}]}`},
		{"/jaeger/api/v3/operations?service=frontend&spanKind=client", `{"operations":[{"name":"GET inventory /stock","spanKind":"client"}]}`},
		{"/jaeger/api/v3/operations?service=nobody", `{"operations":[]}`},
	} {
		status, body := get(t, srv, tc.path)
		if status != http.StatusOK || strings.TrimSpace(string(body)) != tc.want {
			t.Errorf("GET %s: status %d\n got %s\nwant %s", tc.path, status, body, tc.want)
		}
	}
}

// TestV3OperationsUnspecifiedKind checks the gateway's mapping of
// unspecified kind to "internal", merged with real internal operations.
func TestV3OperationsUnspecifiedKind(t *testing.T) {
	mem := newTestStore(t)
	span := checkoutSpans()[3] // "render error page", internal
	span.SpanID, span.Kind = spanID("0909090909090909"), model.SpanKindUnspecified
	if err := mem.WriteSpans(context.Background(), []model.Span{span}); err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{Reader: mem})
	if err != nil {
		t.Fatal(err)
	}
	rec := serve(h, "/api/v3/operations?service=frontend&span_kind=internal")
	if want := `{"operations":[{"name":"render error page","spanKind":"internal"}]}`; strings.TrimSpace(rec.Body.String()) != want {
		t.Errorf("got %s, want %s", rec.Body, want)
	}
	rec = serve(h, "/api/operations?service=frontend")
	if !strings.Contains(rec.Body.String(), `{"name":"render error page","spanKind":""}`) {
		t.Errorf("v1 should show the unspecified kind as \"\": %s", rec.Body)
	}
}

func TestV3TraceSummaries(t *testing.T) {
	srv := newTestServer(t)
	rfc := func(d time.Duration) string { return base.Add(d).Format(time.RFC3339Nano) }
	status, body := get(t, srv, "/jaeger/api/v3/trace-summaries?query.service_name=inventory&query.start_time_min="+rfc(-time.Hour)+"&query.start_time_max="+rfc(time.Hour))
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	want := `{"summaries":[` +
		`{"traceId":"` + healthTrace.String() + `","rootServiceName":"inventory","rootOperationName":"GET /health",` +
		`"minStartTimeUnixNano":"` + strconv.FormatInt(at(30*time.Minute), 10) + `","maxEndTimeUnixNano":"` + strconv.FormatInt(at(30*time.Minute+2*time.Millisecond), 10) + `",` +
		`"spanCount":1,"services":[{"name":"inventory","spanCount":1}]},` +
		`{"traceId":"` + checkoutTrace.String() + `","rootServiceName":"frontend","rootOperationName":"GET /checkout",` +
		`"minStartTimeUnixNano":"` + strconv.FormatInt(at(0), 10) + `","maxEndTimeUnixNano":"` + strconv.FormatInt(at(120*time.Millisecond+250*time.Microsecond), 10) + `",` +
		`"spanCount":4,"errorSpanCount":2,"services":[{"name":"frontend","spanCount":3,"errorSpanCount":1},{"name":"inventory","spanCount":1,"errorSpanCount":1}]}` +
		`]}`
	if got := strings.TrimSpace(string(body)); got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}

	// Nothing found is an empty list here, not a 404.
	status, body = get(t, srv, "/jaeger/api/v3/trace-summaries?query.service_name=payments&query.start_time_min="+rfc(-time.Hour)+"&query.start_time_max="+rfc(time.Hour))
	if status != http.StatusOK || strings.TrimSpace(string(body)) != `{"summaries":[]}` {
		t.Errorf("empty: status %d: %s", status, body)
	}
}

func TestSummarizeOrphans(t *testing.T) {
	spans := checkoutSpans()[1:] // without the root, its two children are orphans
	got := summarize(&store.Trace{ID: checkoutTrace, Spans: spans})
	if got.OrphanSpanCount != 2 || got.RootServiceName != "" || got.SpanCount != 3 {
		t.Errorf("summary %+v, want 2 orphans, no root, 3 spans", got)
	}
}
