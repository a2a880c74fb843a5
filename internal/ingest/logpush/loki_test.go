package logpush

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/argus-obs/argus/internal/ingest/ingestmetrics/ingestmetricstest"
	"github.com/argus-obs/argus/internal/model"
)

// A Loki push as the tests write it.
type lokiStream struct {
	labels  string
	entries []lokiEntry
}

type lokiEntry struct {
	ts   time.Time
	line string
	meta [][2]string
}

// encodePush encodes a PushRequest with protowire, by the field numbers
// of Loki's public pkg/push/push.proto, in the field order Loki's own
// (gogoproto) marshaller writes: labels, entries, hash.
func encodePush(streams ...lokiStream) []byte {
	var out []byte
	for _, s := range streams {
		var sb []byte
		sb = protowire.AppendTag(sb, 1, protowire.BytesType)
		sb = protowire.AppendString(sb, s.labels)
		for _, e := range s.entries {
			sb = protowire.AppendTag(sb, 2, protowire.BytesType)
			sb = protowire.AppendBytes(sb, encodeEntry(e))
		}
		sb = protowire.AppendTag(sb, 3, protowire.VarintType)
		sb = protowire.AppendVarint(sb, 0x9e3779b97f4a7c15) // hash: ignored
		out = protowire.AppendTag(out, 1, protowire.BytesType)
		out = protowire.AppendBytes(out, sb)
	}
	return out
}

func encodeEntry(e lokiEntry) []byte {
	var ts []byte
	ts = protowire.AppendTag(ts, 1, protowire.VarintType)
	ts = protowire.AppendVarint(ts, uint64(e.ts.Unix()))
	if n := e.ts.Nanosecond(); n != 0 {
		ts = protowire.AppendTag(ts, 2, protowire.VarintType)
		ts = protowire.AppendVarint(ts, uint64(n))
	}
	var eb []byte
	eb = protowire.AppendTag(eb, 1, protowire.BytesType)
	eb = protowire.AppendBytes(eb, ts)
	eb = protowire.AppendTag(eb, 2, protowire.BytesType)
	eb = protowire.AppendString(eb, e.line)
	for _, kv := range e.meta {
		var pair []byte
		pair = protowire.AppendTag(pair, 1, protowire.BytesType)
		pair = protowire.AppendString(pair, kv[0])
		pair = protowire.AppendTag(pair, 2, protowire.BytesType)
		pair = protowire.AppendString(pair, kv[1])
		eb = protowire.AppendTag(eb, 3, protowire.BytesType)
		eb = protowire.AppendBytes(eb, pair)
	}
	return eb
}

// pushDescriptor is Loki's push.proto rebuilt as a descriptor, so the
// official protobuf runtime can encode pushes: an encoder independent of
// the one above and of the decoder under test.
func pushDescriptor(t testing.TB) protoreflect.FileDescriptor {
	t.Helper()
	field := func(name string, num int32, typ descriptorpb.FieldDescriptorProto_Type, repeated bool, typeName string) *descriptorpb.FieldDescriptorProto {
		label := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL
		if repeated {
			label = descriptorpb.FieldDescriptorProto_LABEL_REPEATED
		}
		f := &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(num), Type: typ.Enum(), Label: label.Enum(), JsonName: proto.String(name)}
		if typeName != "" {
			f.TypeName = proto.String(typeName)
		}
		return f
	}
	const (
		str = descriptorpb.FieldDescriptorProto_TYPE_STRING
		msg = descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
		u64 = descriptorpb.FieldDescriptorProto_TYPE_UINT64
	)
	fdp := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("logpush_test/push.proto"),
		Package:    proto.String("logproto"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"google/protobuf/timestamp.proto"},
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("PushRequest"), Field: []*descriptorpb.FieldDescriptorProto{
				field("streams", 1, msg, true, ".logproto.StreamAdapter"),
			}},
			{Name: proto.String("StreamAdapter"), Field: []*descriptorpb.FieldDescriptorProto{
				field("labels", 1, str, false, ""),
				field("entries", 2, msg, true, ".logproto.EntryAdapter"),
				field("hash", 3, u64, false, ""),
			}},
			{Name: proto.String("LabelPairAdapter"), Field: []*descriptorpb.FieldDescriptorProto{
				field("name", 1, str, false, ""),
				field("value", 2, str, false, ""),
			}},
			{Name: proto.String("EntryAdapter"), Field: []*descriptorpb.FieldDescriptorProto{
				field("timestamp", 1, msg, false, ".google.protobuf.Timestamp"),
				field("line", 2, str, false, ""),
				field("structuredMetadata", 3, msg, true, ".logproto.LabelPairAdapter"),
			}},
		},
	}
	_ = timestamppb.Now() // registers google/protobuf/timestamp.proto
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	return fd
}

// encodePushDynamic encodes streams with the official protobuf runtime.
func encodePushDynamic(t testing.TB, streams ...lokiStream) []byte {
	t.Helper()
	fd := pushDescriptor(t)
	msgs := fd.Messages()
	req := dynamicpb.NewMessage(msgs.ByName("PushRequest"))
	list := req.Mutable(req.Descriptor().Fields().ByName("streams")).List()
	for _, s := range streams {
		sm := dynamicpb.NewMessage(msgs.ByName("StreamAdapter"))
		sm.Set(sm.Descriptor().Fields().ByName("labels"), protoreflect.ValueOfString(s.labels))
		entries := sm.Mutable(sm.Descriptor().Fields().ByName("entries")).List()
		for _, e := range s.entries {
			em := dynamicpb.NewMessage(msgs.ByName("EntryAdapter"))
			fields := em.Descriptor().Fields()
			em.Set(fields.ByName("timestamp"), protoreflect.ValueOfMessage(timestamppb.New(e.ts).ProtoReflect()))
			em.Set(fields.ByName("line"), protoreflect.ValueOfString(e.line))
			meta := em.Mutable(fields.ByName("structuredMetadata")).List()
			for _, kv := range e.meta {
				pm := dynamicpb.NewMessage(msgs.ByName("LabelPairAdapter"))
				pm.Set(pm.Descriptor().Fields().ByName("name"), protoreflect.ValueOfString(kv[0]))
				pm.Set(pm.Descriptor().Fields().ByName("value"), protoreflect.ValueOfString(kv[1]))
				meta.Append(protoreflect.ValueOfMessage(pm))
			}
			entries.Append(protoreflect.ValueOfMessage(em))
		}
		list.Append(protoreflect.ValueOfMessage(sm))
	}
	b, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// promtailPush is what Promtail sends for two scraped files: a Go service
// logging logfmt with structured metadata attached by its pipeline, and
// an nginx container whose stream carries a level label.
func promtailPush() []lokiStream {
	return []lokiStream{
		{
			labels: `{app="checkout", env="prod", filename="/var/log/checkout/app.log", job="shop/checkout"}`,
			entries: []lokiEntry{
				{
					ts:   testNow.Add(-5 * time.Second),
					line: `level=info ts=2024-05-01T11:59:55.000Z caller=server.go:87 msg="GET /api/cart 200" duration_ms=12 user=8f14e45f`,
					meta: [][2]string{
						{"trace_id", "0af7651916cd43dd8448eb211c80319c"},
						{"span_id", "b7ad6b7169203331"},
						{"level", "info"},
						{"request_id", "c0a8012e-4f1d-4b0b-9d1e-7a1b2c3d4e5f"},
					},
				},
				{
					ts:   testNow.Add(-4*time.Second + 123456789),
					line: `level=error ts=2024-05-01T11:59:56.123Z caller=pay.go:41 msg="payment declined" err="card expired"`,
					meta: [][2]string{
						{"detected_level", "error"},
						{"correlation_id", "corr-7"},
						{"traceID", "not-hex"},
					},
				},
			},
		},
		{
			labels: `{container="nginx", level="warn", namespace="web"}`,
			entries: []lokiEntry{
				{ts: testNow.Add(-time.Second), line: `10.0.0.7 - - [01/May/2024:11:59:59 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.29"`},
			},
		},
	}
}

func promtailRecords(t testing.TB) []model.LogRecord {
	checkout := model.Resource{ServiceName: "checkout", Attributes: []model.Attribute{
		str("app", "checkout"), str("env", "prod"), str("filename", "/var/log/checkout/app.log"), str("job", "shop/checkout"),
	}}
	nginx := model.Resource{ServiceName: "nginx", Attributes: []model.Attribute{
		str("container", "nginx"), str("level", "warn"), str("namespace", "web"),
	}}
	push := promtailPush()
	return []model.LogRecord{
		{
			TimeUnixNano: push[0].entries[0].ts.UnixNano(),
			Severity:     model.SeverityInfo, SeverityText: "info",
			Body:          push[0].entries[0].line,
			Attributes:    []model.Attribute{str("request_id", "c0a8012e-4f1d-4b0b-9d1e-7a1b2c3d4e5f")},
			TraceID:       mustTraceID(t, "0af7651916cd43dd8448eb211c80319c"),
			SpanID:        mustSpanID(t, "b7ad6b7169203331"),
			CorrelationID: "c0a8012e-4f1d-4b0b-9d1e-7a1b2c3d4e5f",
			Resource:      checkout,
		},
		{
			TimeUnixNano: push[0].entries[1].ts.UnixNano(),
			Severity:     model.SeverityError, SeverityText: "error",
			Body:          push[0].entries[1].line,
			Attributes:    []model.Attribute{str("traceID", "not-hex")},
			CorrelationID: "corr-7",
			Resource:      checkout,
		},
		{
			TimeUnixNano: push[1].entries[0].ts.UnixNano(),
			Severity:     model.SeverityWarn, SeverityText: "warn",
			Body:     push[1].entries[0].line,
			Resource: nginx,
		},
	}
}

func TestLokiProtobuf(t *testing.T) {
	for _, tc := range []struct {
		name, encoding string
		body           func(testing.TB) []byte
	}{
		{"protowire", "", func(t testing.TB) []byte { return snappyBytes(encodePush(promtailPush()...)) }},
		{"protobuf runtime", "", func(t testing.TB) []byte { return snappyBytes(encodePushDynamic(t, promtailPush()...)) }},
		{"Content-Encoding snappy", "snappy", func(t testing.TB) []byte { return snappyBytes(encodePush(promtailPush()...)) }},
		{"gzip around snappy", "gzip", func(t testing.TB) []byte { return gzipBytes(t, snappyBytes(encodePush(promtailPush()...))) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, w, reg := newTest(t, Options{})
			headers := []string{"Content-Type: application/x-protobuf", "User-Agent: promtail/2.9.4"}
			if tc.encoding != "" {
				headers = append(headers, "Content-Encoding: "+tc.encoding)
			}
			rec := request(h.Loki(), http.MethodPost, LokiPushPath, tc.body(t), headers...)
			if rec.Code != http.StatusNoContent {
				t.Fatalf("status %d, body %q; want 204", rec.Code, rec.Body.String())
			}
			diffRecords(t, w.Records(), promtailRecords(t))
			if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_requests_total", "protocol=loki,outcome=success"); got != 1 {
				t.Errorf("successful requests = %v, want 1", got)
			}
			if rec, acc, _ := checkCounts(t, reg, "loki"); rec != 3 || acc != 3 {
				t.Errorf("received %v accepted %v, want 3 and 3", rec, acc)
			}
		})
	}
}

func TestLokiProtobufWireDetails(t *testing.T) {
	// Labels after the entries, an unknown field in every message, and a
	// timestamp sent in two parts that protobuf merges.
	entry := encodeEntry(lokiEntry{ts: time.Unix(testNow.Unix()-60, 0), line: "late labels"})
	entry = protowire.AppendTag(entry, 1, protowire.BytesType)
	entry = protowire.AppendBytes(entry, protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.VarintType), 500))
	entry = protowire.AppendTag(entry, 4, protowire.BytesType) // Loki's internal "parsed" labels
	entry = protowire.AppendString(entry, "ignored")
	var stream []byte
	stream = protowire.AppendTag(stream, 2, protowire.BytesType)
	stream = protowire.AppendBytes(stream, entry)
	stream = protowire.AppendTag(stream, 9, protowire.Fixed64Type)
	stream = protowire.AppendFixed64(stream, 1)
	stream = protowire.AppendTag(stream, 1, protowire.BytesType)
	stream = protowire.AppendString(stream, `{job="late"}`)
	var push []byte
	push = protowire.AppendTag(push, 1, protowire.BytesType)
	push = protowire.AppendBytes(push, stream)

	h, w, _ := newTest(t, Options{})
	rec := request(h.Loki(), http.MethodPost, LokiPushPath, snappyBytes(push), "Content-Type: application/x-protobuf")
	if rec.Code != http.StatusNoContent {
		t.Fatalf("status %d, body %q", rec.Code, rec.Body.String())
	}
	want := []model.LogRecord{{
		TimeUnixNano: (testNow.Unix()-60)*1e9 + 500,
		Body:         "late labels",
		Resource:     model.Resource{ServiceName: "late", Attributes: []model.Attribute{str("job", "late")}},
	}}
	diffRecords(t, w.Records(), want)
}

// lokiDocJSON is the example of Loki's HTTP API documentation, with
// structured metadata on the second entry.
const lokiDocJSON = `{
  "streams": [
    {
      "stream": {
        "label": "value"
      },
      "values": [
          [ "1714564790000000000", "fizzbuzz" ],
          [ "1714564795000000000", "fizzbuzz", {"trace_id": "0242ac120002", "user_id": "superUser123"} ]
      ]
    }
  ]
}`

// fluentBitLokiJSON is what Fluent Bit's loki output sends by default:
// labels job=fluent-bit, the record as a JSON line (line_format json).
const fluentBitLokiJSON = `{"streams":[{"stream":{"job":"fluent-bit"},"values":[["1714564799000000000","{\"log\":\"GET /healthz 200\",\"stream\":\"stdout\"}"]]}]}`

func TestLokiJSON(t *testing.T) {
	unknown := model.Resource{ServiceName: UnknownService, Attributes: []model.Attribute{str("label", "value")}}
	fb := model.Resource{ServiceName: "fluent-bit", Attributes: []model.Attribute{str("job", "fluent-bit")}}
	for _, tc := range []struct {
		name, body, encoding string
		want                 []model.LogRecord
	}{
		{"Loki documentation", lokiDocJSON, "", []model.LogRecord{
			{TimeUnixNano: 1714564790000000000, Body: "fizzbuzz", Resource: unknown},
			{TimeUnixNano: 1714564795000000000, Body: "fizzbuzz", Resource: unknown,
				TraceID:    mustTraceID(t, "0242ac120002"),
				Attributes: []model.Attribute{str("user_id", "superUser123")}},
		}},
		{"Fluent Bit", fluentBitLokiJSON, "", []model.LogRecord{
			{TimeUnixNano: 1714564799000000000, Body: `{"log":"GET /healthz 200","stream":"stdout"}`, Resource: fb},
		}},
		{"gzip", fluentBitLokiJSON, "gzip", []model.LogRecord{
			{TimeUnixNano: 1714564799000000000, Body: `{"log":"GET /healthz 200","stream":"stdout"}`, Resource: fb},
		}},
		{"values before stream, labels sorted, numeric timestamp", `{"streams":[{"values":[[1714564799000000001,"x",{"level":"WARNING","n":3}]],"stream":{"service":"api","app":"ignored"}}]}`, "",
			[]model.LogRecord{{
				TimeUnixNano: 1714564799000000001, Body: "x", Severity: model.SeverityWarn, SeverityText: "WARNING",
				Attributes: []model.Attribute{str("n", "3")},
				Resource:   model.Resource{ServiceName: "api", Attributes: []model.Attribute{str("app", "ignored"), str("service", "api")}},
			}}},
		{"no timestamp means now", `{"streams":[{"stream":{"app":"a"},"values":[["0","x"]]}]}`, "",
			[]model.LogRecord{{TimeUnixNano: testNow.UnixNano(), Body: "x",
				Resource: model.Resource{ServiceName: "a", Attributes: []model.Attribute{str("app", "a")}}}}},
		{"empty push", `{"streams":[]}`, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, w, reg := newTest(t, Options{})
			body := []byte(tc.body)
			headers := []string{"Content-Type: application/json; charset=utf-8"}
			if tc.encoding == "gzip" {
				body = gzipBytes(t, body)
				headers = append(headers, "Content-Encoding: gzip")
			}
			rec := request(h.Loki(), http.MethodPost, LokiPushPath, body, headers...)
			if rec.Code != http.StatusNoContent {
				t.Fatalf("status %d, body %q; want 204", rec.Code, rec.Body.String())
			}
			diffRecords(t, w.Records(), tc.want)
			checkCounts(t, reg, "loki")
		})
	}
}

func TestLokiServiceName(t *testing.T) {
	for labels, want := range map[string]string{
		`{service_name="svc", service="s", app="a", job="j"}`: "svc",
		`{service="s", app="a", job="j"}`:                     "s",
		`{app="a", application="b", job="j"}`:                 "a",
		`{app_kubernetes_io_name="k", container="c"}`:         "k",
		`{container="c", job="j"}`:                            "c",
		`{component="comp", workload="w", job="j"}`:           "comp",
		`{job="varlogs", filename="/var/log/syslog"}`:         "varlogs",
		`{app="", job="j"}`:                                   "j",
		`{filename="/var/log/syslog"}`:                        UnknownService,
	} {
		h, w, _ := newTest(t, Options{})
		body := snappyBytes(encodePush(lokiStream{labels: labels, entries: []lokiEntry{{ts: testNow, line: "x"}}}))
		if rec := request(h.Loki(), http.MethodPost, LokiPushPath, body); rec.Code != http.StatusNoContent {
			t.Fatalf("%s: status %d, body %q", labels, rec.Code, rec.Body.String())
		}
		if got := w.Records()[0].Resource.ServiceName; got != want {
			t.Errorf("%s: service %q, want %q", labels, got, want)
		}
	}
}

func TestLokiPartialFailure(t *testing.T) {
	h, w, reg := newTest(t, Options{MaxAge: 24 * time.Hour, MaxLineBytes: 64, MaxAttributes: 2})
	long := strings.Repeat("x", 65)
	body := snappyBytes(encodePush(
		lokiStream{labels: `{app="x"}`, entries: []lokiEntry{
			{ts: testNow.Add(-time.Minute), line: "kept 1"},
			{ts: testNow.Add(-48 * time.Hour), line: "too old"},
			{ts: testNow.Add(11 * time.Minute), line: "too new"},
			{ts: testNow.Add(9 * time.Minute), line: "kept 2: within the grace period"},
			{ts: testNow, line: long},
			{ts: testNow, line: "too many", meta: [][2]string{{"a", "1"}, {"b", "2"}, {"c", "3"}}},
			{ts: testNow, line: "kept 3", meta: [][2]string{{"a", "1"}, {"b", "2"}, {"trace_id", "0af7651916cd43dd8448eb211c80319c"}}},
			{ts: testNow.Add(-2 * time.Hour), line: "kept 4: out of order is fine"},
		}},
		lokiStream{labels: `{app="x"`, entries: []lokiEntry{{ts: testNow, line: "bad labels"}, {ts: testNow, line: "bad labels"}}},
		lokiStream{labels: `{}`, entries: []lokiEntry{{ts: testNow, line: "no labels"}}},
	))
	rec := request(h.Loki(), http.MethodPost, LokiPushPath, body, "Content-Type: application/x-protobuf")
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", rec.Code)
	}
	lines := strings.Split(strings.TrimSpace(rec.Body.String()), "\n")
	wantLines := []string{
		`entry for stream '{app="x"}' has timestamp too old: 2024-04-29T12:00:00Z, oldest acceptable timestamp is: 2024-04-30T12:00:00Z`,
		`entry for stream '{app="x"}' has timestamp too new: 2024-05-01T12:11:00Z`,
		`max entry size '64' bytes exceeded for stream '{app="x"}' while adding an entry with length '65' bytes`,
		`stream '{app="x"}' has too many structured metadata labels: '3', limit: '2'`,
		`error parsing labels '{app="x"' with error: `,
		`error at least one label pair is required per stream`,
	}
	if len(lines) != len(wantLines) {
		t.Fatalf("body has %d lines, want %d:\n%s", len(lines), len(wantLines), rec.Body.String())
	}
	for i, want := range wantLines {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("line %d:\n %s\nwant prefix\n %s", i, lines[i], want)
		}
	}
	var bodies []string
	for _, r := range w.Records() {
		bodies = append(bodies, r.Body)
	}
	if got := strings.Join(bodies, "|"); got != "kept 1|kept 2: within the grace period|kept 3|kept 4: out of order is fine" {
		t.Errorf("stored %s", got)
	}
	for reason, want := range map[string]float64{"too_old": 1, "too_new": 1, "line_too_long": 1, "too_many_attributes": 1, "invalid": 3} {
		if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_records_rejected_total", "protocol=loki,reason="+reason); got != want {
			t.Errorf("rejected %s = %v, want %v", reason, got, want)
		}
	}
	if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_requests_total", "protocol=loki,outcome=partial_success"); got != 1 {
		t.Errorf("partial_success requests = %v", got)
	}
	if rcv, _, _ := checkCounts(t, reg, "loki"); rcv != 11 {
		t.Errorf("received %v, want 11", rcv)
	}
}

func TestLokiInvalidTimestamps(t *testing.T) {
	h, w, reg := newTest(t, Options{})
	body := `{"streams":[{"stream":{"app":"x"},"values":[["12a","x"],[true,"x"],["1714564799000000000",5],["99999999999999999999","x"],["1714564799000000000","ok"]]}]}`
	rec := request(h.Loki(), http.MethodPost, LokiPushPath, []byte(body), "Content-Type: application/json")
	if rec.Code != http.StatusBadRequest || strings.Count(rec.Body.String(), "has an invalid timestamp") != 3 ||
		!strings.Contains(rec.Body.String(), `is not ["<unix epoch in nanoseconds>", "<log line>"]`) {
		t.Fatalf("status %d body %q", rec.Code, rec.Body.String())
	}
	if n := len(w.Records()); n != 1 {
		t.Errorf("%d stored, want 1", n)
	}
	checkCounts(t, reg, "loki")

	// A negative protobuf timestamp arrives as a huge varint.
	var ts, entry, stream, push []byte
	ts = protowire.AppendTag(ts, 1, protowire.VarintType)
	ts = protowire.AppendVarint(ts, uint64(1<<64-5)) // -5 as int64
	entry = protowire.AppendTag(entry, 1, protowire.BytesType)
	entry = protowire.AppendBytes(entry, ts)
	stream = protowire.AppendTag(stream, 1, protowire.BytesType)
	stream = protowire.AppendString(stream, `{app="x"}`)
	stream = protowire.AppendTag(stream, 2, protowire.BytesType)
	stream = protowire.AppendBytes(stream, entry)
	push = protowire.AppendTag(push, 1, protowire.BytesType)
	push = protowire.AppendBytes(push, stream)
	rec = request(h.Loki(), http.MethodPost, LokiPushPath, snappyBytes(push))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "invalid timestamp") {
		t.Fatalf("negative timestamp: status %d body %q", rec.Code, rec.Body.String())
	}
}

func TestLokiErrorList(t *testing.T) {
	h, _, _ := newTest(t, Options{MaxAge: time.Hour})
	var entries []lokiEntry
	for range 150 {
		entries = append(entries, lokiEntry{ts: testNow.Add(-2 * time.Hour), line: "old"})
	}
	rec := request(h.Loki(), http.MethodPost, LokiPushPath, snappyBytes(encodePush(lokiStream{labels: `{app="x"}`, entries: entries})))
	lines := strings.Split(strings.TrimSpace(rec.Body.String()), "\n")
	if rec.Code != http.StatusBadRequest || len(lines) != maxListedErrors+1 || lines[maxListedErrors] != "... and 50 more" {
		t.Fatalf("status %d, %d lines, last %q", rec.Code, len(lines), lines[len(lines)-1])
	}
}

func TestLokiRequestErrors(t *testing.T) {
	valid := snappyBytes(encodePush(promtailPush()...))
	big := snappyBytes(encodePush(lokiStream{labels: `{app="x"}`, entries: []lokiEntry{{ts: testNow, line: strings.Repeat("a", 5000)}}}))
	for _, tc := range []struct {
		name    string
		method  string
		body    []byte
		headers []string
		code    int
		outcome string
		msg     string
	}{
		{"GET", http.MethodGet, nil, nil, http.StatusMethodNotAllowed, "method_not_allowed", "method GET not allowed"},
		{"text/plain", http.MethodPost, valid, []string{"Content-Type: text/plain"}, http.StatusUnsupportedMediaType, "unsupported_media_type", "unsupported content type"},
		{"deflate", http.MethodPost, valid, []string{"Content-Encoding: deflate"}, http.StatusUnsupportedMediaType, "unsupported_media_type", "unsupported content encoding"},
		{"not snappy", http.MethodPost, encodePush(promtailPush()...), nil, http.StatusBadRequest, "bad_request", "could not decompress snappy"},
		{"not protobuf", http.MethodPost, snappyBytes([]byte("\xff\xff\xff")), nil, http.StatusBadRequest, "bad_request", "could not parse protobuf push request"},
		{"not JSON", http.MethodPost, []byte(`{"streams":[{"stream":`), []string{"Content-Type: application/json"}, http.StatusBadRequest, "bad_request", "could not parse JSON push request"},
		{"JSON array", http.MethodPost, []byte(`[]`), []string{"Content-Type: application/json"}, http.StatusBadRequest, "bad_request", `expected an object with a "streams" array`},
		{"bad gzip", http.MethodPost, []byte("not gzip"), []string{"Content-Encoding: gzip"}, http.StatusBadRequest, "bad_request", "could not decompress gzip"},
		{"too large on the wire", http.MethodPost, make([]byte, 2048), nil, http.StatusRequestEntityTooLarge, "too_large", "exceeds the limit of 1024 bytes"},
		{"too large decoded", http.MethodPost, big, nil, http.StatusRequestEntityTooLarge, "too_large", "decompressed request body of"},
		{"too large gunzipped", http.MethodPost, gzipBytes(t, make([]byte, 4096)), []string{"Content-Encoding: gzip"}, http.StatusRequestEntityTooLarge, "too_large", "decompressed request body exceeds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, w, reg := newTest(t, Options{MaxRequestBytes: 1024})
			rec := request(h.Loki(), tc.method, LokiPushPath, tc.body, tc.headers...)
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.msg) {
				t.Fatalf("status %d body %q; want %d containing %q", rec.Code, rec.Body.String(), tc.code, tc.msg)
			}
			if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_requests_total", "protocol=loki,outcome="+tc.outcome); got != 1 {
				t.Errorf("outcome %s counted %v times", tc.outcome, got)
			}
			if len(w.Records()) != 0 || w.Calls() != 0 {
				t.Errorf("a refused request reached the store")
			}
		})
	}
}

func TestLokiStoreFailure(t *testing.T) {
	for _, tc := range []struct {
		err     error
		code    int
		outcome string
	}{
		{errOverloaded, http.StatusTooManyRequests, "overloaded"},
		{fmt.Errorf("disk full"), http.StatusServiceUnavailable, "unavailable"},
	} {
		h, w, reg := newTest(t, Options{RetryAfter: 1500 * time.Millisecond})
		w.FailWith(func(int) error { return tc.err })
		rec := request(h.Loki(), http.MethodPost, LokiPushPath, snappyBytes(encodePush(promtailPush()...)))
		if rec.Code != tc.code {
			t.Fatalf("%v: status %d, want %d", tc.err, rec.Code, tc.code)
		}
		if tc.code == http.StatusTooManyRequests && rec.Header().Get("Retry-After") != "2" {
			t.Errorf("Retry-After %q, want 2 (rounded up)", rec.Header().Get("Retry-After"))
		}
		if strings.Contains(rec.Body.String(), "disk full") {
			t.Errorf("the store's error leaked to the client: %q", rec.Body.String())
		}
		if got := ingestmetricstest.Value(t, reg, "argus_ingest_log_requests_total", "protocol=loki,outcome="+tc.outcome); got != 1 {
			t.Errorf("outcome %s counted %v times", tc.outcome, got)
		}
		if acc := ingestmetricstest.Value(t, reg, "argus_ingest_log_records_accepted_total", "protocol=loki"); acc != 0 {
			t.Errorf("accepted %v records the store refused", acc)
		}
	}
}
