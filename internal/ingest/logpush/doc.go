// Package logpush receives logs pushed by the common log shippers and
// writes them through a store.LogWriter. It speaks three protocols, so
// that Promtail, Grafana Alloy, Fluent Bit, Filebeat, Logstash, Vector or
// a plain curl can send to Argus unchanged:
//
//	h, err := logpush.New(logpush.Options{Writer: logs, Logger: log, Registerer: reg})
//	mux.Handle(logpush.LokiPushPath, h.Loki())            // POST /loki/api/v1/push
//	mux.Handle(logpush.JSONLinesPath, h.JSONLines())      // POST /api/argus/v1/logs
//	mux.Handle("/elasticsearch/", http.StripPrefix("/elasticsearch", h.Elasticsearch()))
//
// # Loki push
//
// POST /loki/api/v1/push takes Loki's PushRequest as protobuf
// (application/x-protobuf, always a snappy block, as Promtail and Alloy
// send it) or as JSON (application/json, as Fluent Bit's loki output
// sends it):
//
//	{"streams":[{"stream":{"app":"api","env":"prod"},
//	  "values":[["1700000000000000000","GET /orders 200"],
//	            ["1700000000000000001","GET /orders 500",{"trace_id":"0af7651916cd43dd8448eb211c80319c"}]]}]}
//
// A stream's labels become the resource: every label is a resource
// attribute under its own name, and the service name is the first
// non-empty label of service_name, service, app, application, name,
// app_kubernetes_io_name, container, container_name, component, workload,
// job (Loki 3's discovery order), else "unknown_service". An entry's
// structured metadata becomes its attributes, except: trace_id (traceID,
// traceid) and span_id (spanID, spanid) become the record's TraceID and
// SpanID when they are hex, and level (detected_level, severity) its
// Severity and SeverityText; a level label of the stream applies to the
// entries whose metadata names none. A correlation ID among the
// attributes is lifted with model.LiftCorrelationID.
//
// The answer is Loki's: 204 when every entry was stored. When some were
// refused, the others are still stored and the answer is 400 with one line
// per refusal, in Loki's words, for example
//
//	entry for stream '{app="api"}' has timestamp too old: 2023-01-01T00:00:00Z, oldest acceptable timestamp is: 2024-01-01T00:00:00Z
//	max entry size '262144' bytes exceeded for stream '{app="api"}' while adding an entry with length '300000' bytes
//
// Loki clients do not retry a 400, which is right: the refused entries
// would be refused again. Entries may arrive in any order (Loki's
// unordered writes).
//
// # Elasticsearch bulk
//
// ESHandler takes POST /_bulk and POST /{index}/_bulk, the NDJSON
// action/source pairs Filebeat, Logstash, Vector and Fluent Bit send, and
// answers the requests they make before sending: GET / (cluster info,
// version ElasticsearchVersion), GET /_license, GET /_xpack,
// GET /_cluster/health, and index template, ILM, ingest pipeline, data
// stream and index set-up, which is acknowledged and ignored. index and create
// actions store their document; delete and update actions are refused in
// their item. The answer is Elasticsearch's bulk response, one item per
// action under the action's name, status 201 for a stored document and
// 400 with a mapper_parsing_exception or illegal_argument_exception for a
// refused one.
//
// # JSON lines
//
// POST /api/argus/v1/logs takes one JSON object per line (Vector's http
// sink with codec ndjson, Fluent Bit's http output in json_lines format,
// or curl --data-binary @app.log). A blank line is skipped. A body that
// is one JSON array of objects (Vector's http sink with codec json) is
// taken element by element. The answer is 200 {"accepted":N} when every
// line was stored, else 400
// {"accepted":N,"rejected":M,"errors":[{"line":3,"error":"line 3: invalid JSON: ..."}]}
// listing the first 100 refusals, with every valid line stored.
//
// # Document fields
//
// Bulk documents and JSON lines map to records alike. Nested objects are
// flattened with dots ({"http":{"status":500}} is the attribute
// http.status), arrays are kept as their JSON text (type array), numbers
// as their JSON text typed int or double, booleans as bool, and null
// fields are dropped. Then each field is looked up by its full key. When
// several spellings of one record field are present, the first listed
// wins and the others stay attributes:
//
//	time      @timestamp, timestamp, time, ts, t, date
//	level     log.level, level, severity, severity_text, lvl, loglevel
//	message   message, msg, log, body
//	service   service.name, service_name, service, app
//	trace ID  trace.id, trace_id, traceId, traceID   (when hex)
//	span ID   span.id, span_id, spanId, spanID      (when hex)
//
// A document without a service field gets the service named by the
// request's query parameter service (?service=billing, on either
// endpoint), else its container name (k8s.container.name,
// kubernetes.container.name, kubernetes.container_name, container.name),
// as Loki 3 falls back to a container label, else "unknown_service".
//
// A time is an RFC 3339 string (fractional seconds optional), a date, or
// Unix time as a number or a string of digits in seconds, milliseconds,
// microseconds or nanoseconds, told apart by magnitude; a record without
// one gets the time it arrived. A time that cannot be read refuses the
// record. A level is a name in its common spellings or a pino/bunyan
// number (30 is info, 50 error). The fields that say where a line came
// from make the resource, like a Loki stream's labels, and keep their
// keys: service.version, service.namespace, service.environment,
// service.instance.id, deployment.environment(.name), host.name,
// host.hostname, host, hostname, container.name, container.id,
// container.image.name, the pod, namespace, container and node names of
// Filebeat (kubernetes.pod.name ...), Fluent Bit (kubernetes.pod_name ...)
// and OpenTelemetry (k8s.pod.name ...), event.dataset and
// data_stream.type, .dataset and .namespace; plus, for bulk items,
// es.index, the index the item was sent to. Every other field is an
// attribute, and a correlation ID among them is lifted with
// model.LiftCorrelationID.
//
// # Limits and errors
//
// Input is untrusted. Every body is capped (Options.MaxRequestBytes, 16
// MiB by default) as it arrives and after each decompression; a larger
// one is answered 413. Bodies may be gzip- or snappy-encoded
// (Content-Encoding); another coding or content type is answered 415, a
// wrong method 405. One record is refused on its own, with the others of
// the request stored, when it cannot be decoded, when its line (a Loki
// entry's line, a bulk document's source line, a JSON line) is longer
// than MaxLineBytes, when it has more than MaxAttributes attributes, or
// when its time is older than MaxAge or further ahead than MaxFuture.
// When the store is overloaded (its error wraps store.ErrOverloaded) the
// answer is 429 with Retry-After and nothing of the request is stored, so
// the shipper retries it whole; any other store failure is 503, which
// shippers retry too. Counters under argus_ingest_log_ record what came
// in, what was stored and refused (by reason), and how each request
// ended.
//
// What this package is not: it does not search logs (the Elasticsearch
// handler answers no queries), it keeps no per-stream state (so it does
// not reject out-of-order entries or enforce rate limits), and it does not
// start listeners; internal/app mounts the handlers.
package logpush
