package jaeger

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
)

// mustQuery parses a readable query string for table tests.
func mustQuery(t *testing.T, s string) url.Values {
	t.Helper()
	q, err := url.ParseQuery(escapeQuery(s))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// checkBadRequest checks that err is a client error whose message
// contains every part.
func checkBadRequest(t *testing.T, input string, err error, parts []string) {
	t.Helper()
	var bad *badRequest
	if !errors.As(err, &bad) {
		t.Errorf("%s: error %v, want a bad request", input, err)
		return
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q does not mention %s", input, err, p)
		}
	}
}

func TestParseV1TraceSearch(t *testing.T) {
	now := time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		query string
		want  v1TraceSearch
	}{
		{"service=frontend", v1TraceSearch{query: store.TraceQuery{
			Service: "frontend", StartMin: now.Add(-48 * time.Hour), StartMax: now,
		}}},
		{"service=s&operation=GET+%2Fx&limit=5&minDuration=1.2s&maxDuration=1h&start=1000000&end=2000000", v1TraceSearch{query: store.TraceQuery{
			Service: "s", Operation: "GET /x", Limit: 5,
			DurationMin: 1200 * time.Millisecond, DurationMax: time.Hour,
			StartMin: time.UnixMicro(1_000_000), StartMax: time.UnixMicro(2_000_000),
		}}},
		{"service=s&lookback=1h", v1TraceSearch{query: store.TraceQuery{Service: "s", StartMin: now.Add(-time.Hour), StartMax: now}}},
		{"service=s&lookback=2d&end=1772366400000000", v1TraceSearch{query: store.TraceQuery{
			Service: "s", StartMin: time.UnixMicro(1772366400000000).Add(-48 * time.Hour), StartMax: time.UnixMicro(1772366400000000),
		}}},
		{"service=s&limit=99999", v1TraceSearch{query: store.TraceQuery{Service: "s", StartMin: now.Add(-48 * time.Hour), StartMax: now, Limit: 1500}}},
		{"service=s&minDuration=500us&maxDuration=500µs", v1TraceSearch{query: store.TraceQuery{
			Service: "s", StartMin: now.Add(-48 * time.Hour), StartMax: now, DurationMin: 500 * time.Microsecond, DurationMax: 500 * time.Microsecond,
		}}},
		{`service=s&tag=a:b:c&tags={"x":"1"}&tags=y=2 z="two words"&raw=true`, v1TraceSearch{raw: true, query: store.TraceQuery{
			Service: "s", StartMin: now.Add(-48 * time.Hour), StartMax: now,
			Attributes: map[string]string{"a": "b:c", "x": "1", "y": "2", "z": "two words"},
		}}},
		{"traceID=abc&traceID=0af7651916cd43dd8448eb211c80319c", v1TraceSearch{
			traceIDs: []model.TraceID{traceID("00000000000000000000000000000abc"), checkoutTrace},
			query:    store.TraceQuery{StartMin: now.Add(-48 * time.Hour), StartMax: now},
		}},
	} {
		got, err := parseV1TraceSearch(mustQuery(t, tc.query), now, DefaultMaxTraces)
		if err != nil {
			t.Errorf("%s: %v", tc.query, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.query, got, tc.want)
		}
	}
}

func TestParseTags(t *testing.T) {
	for _, tc := range []struct {
		tag, tags []string
		want      map[string]string
	}{
		{nil, nil, nil},
		{[]string{"k:v"}, nil, map[string]string{"k": "v"}},
		{[]string{"url:http://x:80/a"}, nil, map[string]string{"url": "http://x:80/a"}},
		{[]string{"k:"}, nil, map[string]string{"k": ""}},
		{nil, []string{`{"a":"1","b":2,"c":true,"d":-1.5e3}`}, map[string]string{"a": "1", "b": "2", "c": "true", "d": "-1.5e3"}},
		{nil, []string{` {"a":"x y"} `}, map[string]string{"a": "x y"}},
		{nil, []string{`a=1 b="x \"y\"" c`}, map[string]string{"a": "1", "b": `x "y"`, "c": "true"}},
		{nil, []string{"  a=1\tb=2  "}, map[string]string{"a": "1", "b": "2"}},
		{nil, []string{`a=`}, map[string]string{"a": ""}},
		{nil, []string{`a=x=y`}, map[string]string{"a": "x=y"}},
		{nil, []string{`a=""`}, map[string]string{"a": ""}},
		{nil, []string{""}, map[string]string{}},
		// Later params win.
		{[]string{"a:1"}, []string{`{"a":"2"}`, "a=3"}, map[string]string{"a": "3"}},
	} {
		got, err := parseTags(tc.tag, tc.tags)
		if err != nil {
			t.Errorf("tag %q tags %q: %v", tc.tag, tc.tags, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("tag %q tags %q: got %v, want %v", tc.tag, tc.tags, got, tc.want)
		}
	}

	for _, tc := range []struct {
		tag, tags []string
		msgs      []string
	}{
		{[]string{"novalue"}, nil, []string{"'tag'", `"novalue"`}},
		{[]string{":v"}, nil, []string{"'tag'"}},
		{nil, []string{`{"a":}`}, []string{"'tags'"}},
		{nil, []string{`{"a":null}`}, []string{"'tags'", "null"}},
		{nil, []string{`{"a":["x"]}`}, []string{"'tags'"}},
		{nil, []string{`a="open`}, []string{"'tags'", "unterminated"}},
		{nil, []string{`a="x"b`}, []string{"'tags'"}},
		{nil, []string{`a=x"y`}, []string{"'tags'"}},
		{nil, []string{`=v`}, []string{"'tags'"}},
		{nil, []string{`"a"=v`}, []string{"'tags'"}},
		{nil, []string{`a="\q"`}, []string{"'tags'"}},
	} {
		_, err := parseTags(tc.tag, tc.tags)
		checkBadRequest(t, strings.Join(append(tc.tag, tc.tags...), " "), err, tc.msgs)
	}
}

func TestParseLookback(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"1h": time.Hour, "90m": 90 * time.Minute, "2d": 48 * time.Hour, "1w": 7 * 24 * time.Hour, "1.5h": 90 * time.Minute,
	} {
		if got, err := parseLookback(in); err != nil || got != want {
			t.Errorf("parseLookback(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "1.5d", "-1h", "0s", "1y", "99999999999999999d", "custom"} {
		if got, err := parseLookback(in); err == nil {
			t.Errorf("parseLookback(%q) = %v, want an error", in, got)
		}
	}
}

func TestParseTraceIDParam(t *testing.T) {
	for in, want := range map[string]model.TraceID{
		"0af7651916cd43dd8448eb211c80319c": checkoutTrace,
		"0AF7651916CD43DD8448EB211C80319C": checkoutTrace,
		"abc":                              traceID("00000000000000000000000000000abc"),
		"CvdlGRbNQ92ESOshHIAxnA==":         checkoutTrace, // base64
		"CvdlGRbNQ92ESOshHIAxnA":           checkoutTrace, // unpadded
		"AAAAAAAAAAE=":                     traceID("00000000000000000000000000000001"),
	} {
		if got, err := parseTraceIDParam("traceID", in); err != nil || got != want {
			t.Errorf("parseTraceIDParam(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "xyz", "0", "00000000000000000000000000000000", strings.Repeat("1", 33), "AAA="} {
		_, err := parseTraceIDParam("traceID", in)
		checkBadRequest(t, in, err, []string{"'traceID'", `"` + in + `"`})
	}
}

func TestParseSpanKindParam(t *testing.T) {
	for in, want := range map[string]model.SpanKind{
		"server": model.SpanKindServer, "CLIENT": model.SpanKindClient, "SPAN_KIND_PRODUCER": model.SpanKindProducer,
		"span_kind_consumer": model.SpanKindConsumer, "internal": model.SpanKindInternal, "unspecified": model.SpanKindUnspecified,
	} {
		got, ok, err := parseSpanKindParam("spanKind", in)
		if err != nil || !ok || got != want {
			t.Errorf("parseSpanKindParam(%q) = %v, %v, %v; want %v", in, got, ok, err, want)
		}
	}
	if _, ok, err := parseSpanKindParam("spanKind", ""); ok || err != nil {
		t.Errorf(`parseSpanKindParam("") = %v, %v; want any kind`, ok, err)
	}
	_, _, err := parseSpanKindParam("span_kind", "SPAN_KIND_X")
	checkBadRequest(t, "SPAN_KIND_X", err, []string{"'span_kind'", `"SPAN_KIND_X"`})
}

func TestParseDependencies(t *testing.T) {
	now := time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		query      string
		start, end time.Time
	}{
		{"", now.Add(-24 * time.Hour), now},
		{"endTs=1000&lookback=500", time.UnixMilli(500), time.UnixMilli(1000)},
		{"lookback=3600000", now.Add(-time.Hour), now},
	} {
		start, end, err := parseDependencies(mustQuery(t, tc.query), now)
		if err != nil || !start.Equal(tc.start) || !end.Equal(tc.end) {
			t.Errorf("%q: [%v, %v], %v; want [%v, %v]", tc.query, start, end, err, tc.start, tc.end)
		}
	}
	for _, tc := range []struct{ query, param string }{
		{"endTs=x", "'endTs'"}, {"endTs=-1", "'endTs'"}, {"endTs=1.5", "'endTs'"},
		{"lookback=-1", "'lookback'"}, {"lookback=1h", "'lookback'"},
	} {
		_, _, err := parseDependencies(mustQuery(t, tc.query), now)
		checkBadRequest(t, tc.query, err, []string{tc.param})
	}
}

func TestParseV3TraceSearch(t *testing.T) {
	tMin := time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)
	tMax := time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)
	times := "query.start_time_min=2026-03-01T11:00:00Z&query.start_time_max=2026-03-01T13:00:00Z"
	for _, tc := range []struct {
		query string
		want  v3TraceSearch
	}{
		{times, v3TraceSearch{query: store.TraceQuery{StartMin: tMin, StartMax: tMax, Limit: 100}}},
		{times + "&query.service_name=s&query.operation_name=op&query.duration_min=1.5s&query.duration_max=2s&query.search_depth=7&query.raw_traces=true",
			v3TraceSearch{raw: true, query: store.TraceQuery{
				Service: "s", Operation: "op", StartMin: tMin, StartMax: tMax, Limit: 7,
				DurationMin: 1500 * time.Millisecond, DurationMax: 2 * time.Second,
			}}},
		// Canonical camelCase names win over the snake_case aliases.
		{"query.startTimeMin=2026-03-01T11:00:00Z&query.startTimeMax=2026-03-01T13:00:00Z&query.serviceName=a&query.service_name=b&query.searchDepth=3&query.search_depth=4",
			v3TraceSearch{query: store.TraceQuery{Service: "a", StartMin: tMin, StartMax: tMax, Limit: 3}}},
		{times + "&query.num_traces=9", v3TraceSearch{query: store.TraceQuery{StartMin: tMin, StartMax: tMax, Limit: 9}}},
		{times + "&query.search_depth=100000", v3TraceSearch{query: store.TraceQuery{StartMin: tMin, StartMax: tMax, Limit: DefaultMaxTraces}}},
		{times + `&query.attributes={"http.route":"/x","error":true}`, v3TraceSearch{query: store.TraceQuery{
			StartMin: tMin, StartMax: tMax, Limit: 100, Attributes: map[string]string{"http.route": "/x", "error": "true"},
		}}},
		// A zone offset whose "+" arrived as a space (Grafana does not
		// escape these times).
		{"query.start_time_min=2026-03-01T12:00:00.5 01:00&query.start_time_max=2026-03-01T13:00:00Z",
			v3TraceSearch{query: store.TraceQuery{StartMin: tMin.Add(500 * time.Millisecond), StartMax: tMax, Limit: 100}}},
	} {
		q, err := url.ParseQuery(strings.ReplaceAll(tc.query, " ", "+")) // what arrives from an unescaped "+"
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseV3TraceSearch(q, DefaultMaxTraces)
		if err != nil {
			t.Errorf("%s: %v", tc.query, err)
			continue
		}
		if !got.query.StartMin.Equal(tc.want.query.StartMin) || !got.query.StartMax.Equal(tc.want.query.StartMax) {
			t.Errorf("%s: times [%v, %v], want [%v, %v]", tc.query, got.query.StartMin, got.query.StartMax, tc.want.query.StartMin, tc.want.query.StartMax)
		}
		got.query.StartMin, got.query.StartMax = tc.want.query.StartMin, tc.want.query.StartMax
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.query, got, tc.want)
		}
	}

	for _, tc := range []struct {
		query string
		msgs  []string
	}{
		{"", []string{"query.start_time_min", "required"}},
		{"query.start_time_min=2026-03-01T11:00:00Z", []string{"required"}},
		{"query.start_time_min=yesterday&query.start_time_max=2026-03-01T13:00:00Z", []string{"'query.start_time_min'", `"yesterday"`}},
		{"query.startTimeMin=2026-03-01&query.start_time_max=2026-03-01T13:00:00Z", []string{"'query.startTimeMin'", `"2026-03-01"`}},
		{"query.start_time_min=2026-03-01T13:00:00Z&query.start_time_max=2026-03-01T13:00:00Z", []string{"must be before"}},
		{times + "&query.duration_min=5", []string{"'query.duration_min'", `"5"`}},
		{times + "&query.durationMax=-1s", []string{"'query.durationMax'", `"-1s"`}},
		{times + "&query.duration_min=2s&query.duration_max=1s", []string{"query.duration_max"}},
		{times + "&query.search_depth=0", []string{"'query.search_depth'", `"0"`}},
		{times + "&query.num_traces=x", []string{"'query.num_traces'", `"x"`}},
		{times + "&query.raw_traces=sure", []string{"'query.raw_traces'", `"sure"`}},
		{times + `&query.attributes={"a":`, []string{"'query.attributes'"}},
	} {
		_, err := parseV3TraceSearch(mustQuery(t, tc.query), DefaultMaxTraces)
		checkBadRequest(t, tc.query, err, tc.msgs)
	}
}

// FuzzParseTags checks that no tags value crashes the parser and that
// whatever it accepts is a non-empty-keyed map.
func FuzzParseTags(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `a=1 b="x y" c`, `a="\"q\""`, `{"a":1}`, `=`, `"`, `a="`, `a=\`, "a=\"\\\"", "\x00=\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseTags(nil, []string{s})
		if err != nil {
			return
		}
		for k := range m {
			if k == "" && !strings.HasPrefix(strings.TrimSpace(s), "{") {
				t.Errorf("logfmt %q gave an empty key", s)
			}
		}
	})
}

// FuzzParseV1TraceSearch checks that no query string crashes the v1
// search parser.
func FuzzParseV1TraceSearch(f *testing.F) {
	for _, s := range []string{
		"service=a&start=1&end=2&limit=3&minDuration=1s&maxDuration=2s&tags=a%3Db&tag=a:b&lookback=2d",
		"traceID=abc&traceID=zz", "service=a&lookback=9999999999999999w",
	} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		q, err := url.ParseQuery(s)
		if err != nil {
			return
		}
		got, err := parseV1TraceSearch(q, now, DefaultMaxTraces)
		if err != nil {
			var bad *badRequest
			if !errors.As(err, &bad) {
				t.Errorf("%q: error %v is not a bad request", s, err)
			}
			return
		}
		if got.query.Limit < 0 || got.query.Limit > DefaultMaxTraces || got.query.StartMin.After(got.query.StartMax) {
			t.Errorf("%q: accepted %+v", s, got)
		}
	})
}
