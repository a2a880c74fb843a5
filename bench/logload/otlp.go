package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// toOTLP turns a batch of corpus lines into an OTLP
// ExportLogsServiceRequest (protobuf), the way an OpenTelemetry SDK's
// logger would export them: one ResourceLogs per service (resource
// attribute service.name), time, severity, body, trace and span ID in
// their own record fields, every other field an attribute (numbers as
// int or double).
func toOTLP(data []byte) ([]byte, error) {
	logs := plog.NewLogs()
	scopes := map[string]plog.LogRecordSlice{}
	var f []field
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte{'\n'})
		data = rest
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var err error
		if f, err = parseFlat(f[:0], line); err != nil {
			return nil, err
		}
		svc := ""
		for _, kv := range f {
			if kv.key == "service" {
				svc = kv.val
			}
		}
		recs, ok := scopes[svc]
		if !ok {
			rl := logs.ResourceLogs().AppendEmpty()
			rl.Resource().Attributes().PutStr("service.name", svc)
			sl := rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName("logcorpus")
			recs = sl.LogRecords()
			scopes[svc] = recs
		}
		r := recs.AppendEmpty()
		for _, kv := range f {
			switch kv.key {
			case "service":
			case "time":
				t, err := time.Parse(time.RFC3339Nano, kv.val)
				if err != nil {
					return nil, err
				}
				r.SetTimestamp(pcommon.NewTimestampFromTime(t))
				r.SetObservedTimestamp(pcommon.NewTimestampFromTime(t))
			case "level":
				r.SetSeverityText(kv.val)
				r.SetSeverityNumber(severity(kv.val))
			case "msg":
				r.Body().SetStr(kv.val)
			case "trace_id":
				var id pcommon.TraceID
				if _, err := hex.Decode(id[:], []byte(kv.val)); err != nil {
					return nil, fmt.Errorf("trace_id %q: %w", kv.val, err)
				}
				r.SetTraceID(id)
			case "span_id":
				var id pcommon.SpanID
				if _, err := hex.Decode(id[:], []byte(kv.val)); err != nil {
					return nil, fmt.Errorf("span_id %q: %w", kv.val, err)
				}
				r.SetSpanID(id)
			default:
				attrs := r.Attributes()
				if !kv.number {
					attrs.PutStr(kv.key, kv.val)
				} else if i, err := strconv.ParseInt(kv.val, 10, 64); err == nil {
					attrs.PutInt(kv.key, i)
				} else if x, err := strconv.ParseFloat(kv.val, 64); err == nil {
					attrs.PutDouble(kv.key, x)
				} else {
					return nil, fmt.Errorf("field %s: bad number %q", kv.key, kv.val)
				}
			}
		}
	}
	var m plog.ProtoMarshaler
	return m.MarshalLogs(logs)
}

func severity(level string) plog.SeverityNumber {
	switch level {
	case "debug":
		return plog.SeverityNumberDebug
	case "warn":
		return plog.SeverityNumberWarn
	case "error":
		return plog.SeverityNumberError
	default:
		return plog.SeverityNumberInfo
	}
}

// field is one key and value of a flat JSON object.
type field struct {
	key, val string
	number   bool
}

// parseFlat reads a JSON object whose values are strings and numbers,
// which is what bench/logcorpus writes.
func parseFlat(dst []field, line []byte) ([]field, error) {
	bad := func() ([]field, error) { return nil, fmt.Errorf("not a flat JSON object: %.80s", line) }
	s := bytes.TrimSpace(line)
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return bad()
	}
	s = s[1 : len(s)-1]
	for len(s) > 0 {
		key, rest, ok := jsonString(s)
		if !ok || len(rest) == 0 || rest[0] != ':' {
			return bad()
		}
		rest = rest[1:]
		var kv field
		kv.key = key
		if len(rest) > 0 && rest[0] == '"' {
			kv.val, rest, ok = jsonString(rest)
			if !ok {
				return bad()
			}
		} else {
			i := bytes.IndexByte(rest, ',')
			if i < 0 {
				i = len(rest)
			}
			kv.val, kv.number, rest = string(bytes.TrimSpace(rest[:i])), true, rest[i:]
		}
		dst = append(dst, kv)
		if len(rest) > 0 {
			if rest[0] != ',' {
				return bad()
			}
			rest = rest[1:]
		}
		s = rest
	}
	return dst, nil
}

// jsonString reads the JSON string at the start of s.
func jsonString(s []byte) (string, []byte, bool) {
	if len(s) == 0 || s[0] != '"' {
		return "", nil, false
	}
	escaped := false
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			if !escaped {
				return string(s[1:i]), s[i+1:], true
			}
			v, err := strconv.Unquote(string(s[:i+1]))
			return v, s[i+1:], err == nil
		}
	}
	return "", nil, false
}
