package jaeger

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
)

// badRequest is a client error: the message names the parameter and, when
// there is one, the value that was refused.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

// paramError reports a parameter value that does not parse. The wording
// starts like Jaeger's ("unable to parse param 'start'") so people who
// know Jaeger's messages recognise it, and adds the value.
func paramError(param, value, format string, args ...any) error {
	return &badRequest{fmt.Sprintf("unable to parse param '%s' value %q: %s", param, value, fmt.Sprintf(format, args...))}
}

func missingParam(param string) error {
	return &badRequest{fmt.Sprintf("parameter '%s' is required", param)}
}

// Defaults Jaeger's query service uses when a request leaves them out.
const (
	// defaultTraceLookback is how far back a v1 trace search reaches when
	// neither start nor lookback is given.
	defaultTraceLookback = 48 * time.Hour
	// defaultDependencyLookback is the v1 dependencies window.
	defaultDependencyLookback = 24 * time.Hour
	// defaultV3SearchDepth is the api_v3 trace limit when
	// query.search_depth is absent.
	defaultV3SearchDepth = 100
)

// v1TraceSearch is a parsed GET /api/traces request: either a search
// (query) or a lookup of traceIDs.
type v1TraceSearch struct {
	query    store.TraceQuery
	traceIDs []model.TraceID
	raw      bool
}

// parseV1TraceSearch parses Jaeger's v1 search parameters:
//
//	service, operation       exact names; service is required unless traceID is given
//	tags                     JSON object {"k":"v"} or logfmt (k=v k2="v 2"); repeatable
//	tag                      k:v; repeatable
//	minDuration, maxDuration Go durations ("1.2s", "100ms", "500us")
//	start, end               microseconds since the Unix epoch; end defaults to now
//	lookback                 when start is absent, start = end - lookback ("1h", "2d",
//	                         "custom" means none); without either, 48h as in Jaeger
//	limit                    number of traces; 0 or absent means store.DefaultTraceLimit
//	traceID                  repeatable: fetch these traces instead of searching
//	raw                      true skips adjust (attribute sorting, empty-link removal)
//
// Limits above maxTraces are lowered to it.
func parseV1TraceSearch(q url.Values, now time.Time, maxTraces int) (v1TraceSearch, error) {
	var s v1TraceSearch
	for _, v := range q["traceID"] {
		id, err := parseTraceIDParam("traceID", v)
		if err != nil {
			return s, err
		}
		s.traceIDs = append(s.traceIDs, id)
	}
	if len(s.traceIDs) > maxTraces {
		return s, &badRequest{fmt.Sprintf("too many 'traceID' params: %d, at most %d", len(s.traceIDs), maxTraces)}
	}
	var err error
	if s.raw, err = parseBoolParam(q, "raw"); err != nil {
		return s, err
	}

	s.query.Service = q.Get("service")
	s.query.Operation = q.Get("operation")
	if s.query.Service == "" && len(s.traceIDs) == 0 {
		return s, missingParam("service")
	}
	if s.query.Attributes, err = parseTags(q["tag"], q["tags"]); err != nil {
		return s, err
	}
	if s.query.DurationMin, err = parseDurationParam(q, "minDuration"); err != nil {
		return s, err
	}
	if s.query.DurationMax, err = parseDurationParam(q, "maxDuration"); err != nil {
		return s, err
	}
	if s.query.DurationMin > 0 && s.query.DurationMax > 0 && s.query.DurationMax < s.query.DurationMin {
		return s, &badRequest{fmt.Sprintf("'maxDuration' (%s) should be greater than 'minDuration' (%s)", q.Get("maxDuration"), q.Get("minDuration"))}
	}

	end, err := parseMicrosParam(q, "end")
	if err != nil {
		return s, err
	}
	if end.IsZero() {
		end = now
	}
	start, err := parseMicrosParam(q, "start")
	if err != nil {
		return s, err
	}
	if start.IsZero() {
		lookback := defaultTraceLookback
		if v := q.Get("lookback"); v != "" && v != "custom" {
			if lookback, err = parseLookback(v); err != nil {
				return s, paramError("lookback", v, "%v", err)
			}
		}
		start = end.Add(-lookback)
	}
	if start.After(end) {
		return s, &badRequest{fmt.Sprintf("param 'start' (%s) is after param 'end' (%s)", q.Get("start"), q.Get("end"))}
	}
	s.query.StartMin, s.query.StartMax = start, end

	if s.query.Limit, err = parseLimitParam(q, "limit", maxTraces); err != nil {
		return s, err
	}
	return s, nil
}

// parseTags merges repeated tag=k:v params and tags params, each either a
// JSON object or logfmt. Later params win on repeated keys.
func parseTags(tagParams, tagsParams []string) (map[string]string, error) {
	if len(tagParams) == 0 && len(tagsParams) == 0 {
		return nil, nil
	}
	out := make(map[string]string)
	for _, t := range tagParams {
		k, v, ok := strings.Cut(t, ":")
		if !ok || k == "" {
			return nil, paramError("tag", t, "want key:value")
		}
		out[k] = v
	}
	for _, t := range tagsParams {
		if err := parseTagsInto(out, t); err != nil {
			return nil, paramError("tags", t, "%v", err)
		}
	}
	return out, nil
}

// parseTagsInto reads one tags value: a JSON object when it starts with
// "{" (what the Jaeger UI sends), else logfmt (what people type, and what
// some Grafana versions pass through unconverted).
func parseTagsInto(dst map[string]string, s string) error {
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "{") {
		return parseJSONTags(dst, t)
	}
	return parseLogfmt(dst, s)
}

// parseJSONTags accepts string values and, because the Jaeger UI turns a
// bare logfmt key into true and numbers into numbers before encoding, also
// booleans and numbers, compared in their JSON spelling.
func parseJSONTags(dst map[string]string, s string) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return fmt.Errorf("want a JSON object of tag values: %v", err)
	}
	for k, raw := range m {
		raw = bytes.TrimSpace(raw)
		switch {
		case len(raw) > 0 && raw[0] == '"':
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				return fmt.Errorf("tag %q: %v", k, err)
			}
			dst[k] = v
		case string(raw) == "true" || string(raw) == "false" || (len(raw) > 0 && (raw[0] == '-' || '0' <= raw[0] && raw[0] <= '9')):
			dst[k] = string(raw)
		default:
			return fmt.Errorf("tag %q: value %s is not a string, number or boolean", k, raw)
		}
	}
	return nil
}

// parseLogfmt reads space-separated key=value pairs. Values may be double
// quoted with Go/JSON escapes; a key without "=" means key=true, as the
// logfmt reader the Jaeger UI uses has it, so "error" finds error spans.
func parseLogfmt(dst map[string]string, s string) error {
	i := 0
	for {
		for i < len(s) && isLogfmtSpace(s[i]) {
			i++
		}
		if i == len(s) {
			return nil
		}
		start := i
		for i < len(s) && !isLogfmtSpace(s[i]) && s[i] != '=' && s[i] != '"' {
			i++
		}
		key := s[start:i]
		if key == "" {
			return fmt.Errorf("want key=value at offset %d", start)
		}
		if i == len(s) || isLogfmtSpace(s[i]) {
			dst[key] = "true"
			continue
		}
		if s[i] != '=' {
			return fmt.Errorf("unexpected '\"' in key at offset %d", i)
		}
		i++ // '='
		if i < len(s) && s[i] == '"' {
			end := i + 1
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(s) {
				return fmt.Errorf("unterminated quoted value for key %q", key)
			}
			v, err := strconv.Unquote(s[i : end+1])
			if err != nil {
				return fmt.Errorf("bad quoted value for key %q: %v", key, err)
			}
			dst[key] = v
			i = end + 1
			if i < len(s) && !isLogfmtSpace(s[i]) {
				return fmt.Errorf("want a space after the quoted value of key %q", key)
			}
			continue
		}
		start = i
		for i < len(s) && !isLogfmtSpace(s[i]) {
			if s[i] == '"' {
				return fmt.Errorf("unexpected '\"' in the value of key %q; quote the whole value", key)
			}
			i++
		}
		dst[key] = s[start:i]
	}
}

func isLogfmtSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// parseDurationParam parses a Go duration; absent means 0 (no bound).
func parseDurationParam(q url.Values, param string) (time.Duration, error) {
	v := q.Get(param)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, paramError(param, v, "want a duration such as 1.2s, 100ms or 500us")
	}
	if d < 0 {
		return 0, paramError(param, v, "duration is negative")
	}
	return d, nil
}

// parseLookback parses a Go duration, or a whole number of days ("2d") or
// weeks ("1w"), the units the Jaeger UI's lookback menu adds.
func parseLookback(v string) (time.Duration, error) {
	unit := time.Duration(0)
	switch {
	case strings.HasSuffix(v, "d"):
		unit = 24 * time.Hour
	case strings.HasSuffix(v, "w"):
		unit = 7 * 24 * time.Hour
	}
	var d time.Duration
	if unit != 0 {
		n, err := strconv.ParseInt(v[:len(v)-1], 10, 64)
		if err != nil || n > int64(1<<63-1)/int64(unit) {
			return 0, fmt.Errorf("want a duration such as 1h, 2d or 1w")
		}
		d = time.Duration(n) * unit
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return 0, fmt.Errorf("want a duration such as 1h, 2d or 1w")
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("lookback must be positive")
	}
	return d, nil
}

// parseMicrosParam parses microseconds since the Unix epoch; absent gives
// the zero time.
func parseMicrosParam(q url.Values, param string) (time.Time, error) {
	return parseEpochParam(q, param, time.Microsecond)
}

func parseEpochParam(q url.Values, param string, unit time.Duration) (time.Time, error) {
	v := q.Get(param)
	if v == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		name := "microseconds"
		if unit == time.Millisecond {
			name = "milliseconds"
		}
		return time.Time{}, paramError(param, v, "want %s since the Unix epoch", name)
	}
	if unit == time.Millisecond {
		return time.UnixMilli(n), nil
	}
	return time.UnixMicro(n), nil
}

// parseLimitParam parses a non-negative trace count; 0 or absent means the
// store's default, and values above maxTraces are lowered to it so one
// request cannot make the store load unbounded traces.
func parseLimitParam(q url.Values, param string, maxTraces int) (int, error) {
	v := q.Get(param)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, paramError(param, v, "want a non-negative integer")
	}
	return min(n, maxTraces), nil
}

func parseBoolParam(q url.Values, param string) (bool, error) {
	v := q.Get(param)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, paramError(param, v, "want true or false")
	}
	return b, nil
}

// parseTraceIDParam accepts what Jaeger accepts: up to 32 hex digits
// (shorter IDs are left-padded, for 64-bit IDs), or the base64 form of a
// 16- or 8-byte ID that protobuf JSON clients send. The all-zero ID is
// invalid in OTLP and refused.
func parseTraceIDParam(param, v string) (model.TraceID, error) {
	id, err := model.ParseTraceID(v)
	if err != nil && len(v) <= 24 {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			b, decErr := enc.DecodeString(v)
			if decErr == nil && (len(b) == 16 || len(b) == 8) {
				id, err = model.TraceID{}, nil
				copy(id[16-len(b):], b)
				break
			}
		}
	}
	if err != nil {
		return model.TraceID{}, paramError(param, v, "want a trace ID of up to 32 hex digits")
	}
	if id.IsZero() {
		return model.TraceID{}, paramError(param, v, "the all-zero trace ID is invalid")
	}
	return id, nil
}

// parseSpanKindParam parses a span kind as Jaeger names it ("server"), in
// any case, or as OTLP does ("SPAN_KIND_SERVER"). ok is false when the
// parameter is absent, which means any kind.
func parseSpanKindParam(param, v string) (kind model.SpanKind, ok bool, err error) {
	if v == "" {
		return model.SpanKindUnspecified, false, nil
	}
	name := strings.ToLower(v)
	name = strings.TrimPrefix(name, "span_kind_")
	kind, ok = model.ParseSpanKind(name)
	if !ok {
		return 0, false, paramError(param, v, "want one of unspecified, internal, server, client, producer, consumer")
	}
	return kind, true, nil
}

// parseDependencies parses endTs and lookback, both in milliseconds as in
// Jaeger; endTs defaults to now and lookback to 24h.
func parseDependencies(q url.Values, now time.Time) (start, end time.Time, err error) {
	if end, err = parseEpochParam(q, "endTs", time.Millisecond); err != nil {
		return start, end, err
	}
	if end.IsZero() {
		end = now
	}
	lookback := defaultDependencyLookback
	if v := q.Get("lookback"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return start, end, paramError("lookback", v, "want a positive number of milliseconds")
		}
		lookback = time.Duration(min(n, int64(1<<63-1)/int64(time.Millisecond))) * time.Millisecond
	}
	return end.Add(-lookback), end, nil
}

// v3Param returns the value of an api_v3 parameter and the name it came
// under. Jaeger's gateway takes the proto3 JSON (camelCase) name and, as a
// deprecated alias still sent by Grafana, the snake_case one.
func v3Param(q url.Values, canonical, deprecated string) (value, name string) {
	if v := q.Get(canonical); v != "" {
		return v, canonical
	}
	return q.Get(deprecated), deprecated
}

// parseRFC3339Param parses an api_v3 timestamp. Grafana writes these into
// the query string without escaping, so the "+" of a zone offset arrives
// as a space; it is put back before parsing.
func parseRFC3339Param(name, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil && strings.Contains(v, " ") {
		t, err = time.Parse(time.RFC3339Nano, strings.ReplaceAll(v, " ", "+"))
	}
	if err != nil {
		return time.Time{}, paramError(name, v, "want an RFC 3339 time such as 2024-01-02T15:04:05.999Z")
	}
	return t, nil
}

// v3TraceSearch is a parsed api_v3 FindTraces or FindTraceSummaries request.
type v3TraceSearch struct {
	query store.TraceQuery
	raw   bool
}

// parseV3TraceSearch parses api_v3's TraceQueryParameters from the query
// string, as Jaeger's HTTP gateway does: query.start_time_min and
// query.start_time_max are required and must be in order; durations are
// Go (and protobuf JSON) durations such as "1.5s"; query.attributes is a
// JSON object (logfmt is also accepted); query.search_depth defaults to
// 100 and is lowered to maxTraces.
func parseV3TraceSearch(q url.Values, maxTraces int) (v3TraceSearch, error) {
	var s v3TraceSearch
	s.query.Service, _ = v3Param(q, "query.serviceName", "query.service_name")
	s.query.Operation, _ = v3Param(q, "query.operationName", "query.operation_name")
	if v := q.Get("query.attributes"); v != "" {
		attrs := make(map[string]string)
		if err := parseTagsInto(attrs, v); err != nil {
			return s, paramError("query.attributes", v, "%v", err)
		}
		s.query.Attributes = attrs
	}

	minV, minName := v3Param(q, "query.startTimeMin", "query.start_time_min")
	maxV, maxName := v3Param(q, "query.startTimeMax", "query.start_time_max")
	if minV == "" || maxV == "" {
		return s, &badRequest{"parameters 'query.start_time_min' and 'query.start_time_max' are required"}
	}
	var err error
	if s.query.StartMin, err = parseRFC3339Param(minName, minV); err != nil {
		return s, err
	}
	if s.query.StartMax, err = parseRFC3339Param(maxName, maxV); err != nil {
		return s, err
	}
	if !s.query.StartMin.Before(s.query.StartMax) {
		return s, &badRequest{fmt.Sprintf("'%s' (%s) must be before '%s' (%s)", minName, minV, maxName, maxV)}
	}

	for _, p := range []struct {
		canonical, deprecated string
		dst                   *time.Duration
	}{
		{"query.durationMin", "query.duration_min", &s.query.DurationMin},
		{"query.durationMax", "query.duration_max", &s.query.DurationMax},
	} {
		v, name := v3Param(q, p.canonical, p.deprecated)
		if v == "" {
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return s, paramError(name, v, "want a non-negative duration such as 1.5s or 100ms")
		}
		*p.dst = d
	}
	if s.query.DurationMin > 0 && s.query.DurationMax > 0 && s.query.DurationMax < s.query.DurationMin {
		return s, &badRequest{"'query.duration_max' must not be less than 'query.duration_min'"}
	}

	s.query.Limit = defaultV3SearchDepth
	depth, depthName := v3Param(q, "query.searchDepth", "query.search_depth")
	if depth == "" {
		depth, depthName = q.Get("query.num_traces"), "query.num_traces"
	}
	if depth != "" {
		n, err := strconv.Atoi(depth)
		if err != nil || n <= 0 {
			return s, paramError(depthName, depth, "want a positive integer")
		}
		s.query.Limit = n
	}
	s.query.Limit = min(s.query.Limit, maxTraces)

	if v, name := v3Param(q, "query.rawTraces", "query.raw_traces"); v != "" {
		if s.raw, err = strconv.ParseBool(v); err != nil {
			return s, paramError(name, v, "want true or false")
		}
	}
	return s, nil
}
