// Package jaeger serves Jaeger's query APIs over a store.TraceReader, so
// the Jaeger UI and Grafana's Jaeger data source can browse Argus traces.
//
// One Handler serves two API generations under one prefix (see
// Options.Prefix; the app mounts it at /jaeger):
//
//   - Jaeger's v1 JSON API, which the Jaeger UI and Grafana use:
//     /api/services, /api/services/{service}/operations, /api/operations,
//     /api/traces (search, or lookup with repeated traceID),
//     /api/traces/{traceID} and /api/dependencies. Responses use Jaeger's
//     {"data","total","limit","offset","errors"} envelope and its UI span
//     model, with the tags Jaeger derives from OTLP fields (span.kind,
//     otel.status_code, error, otel.scope.name, ...).
//   - Jaeger's api_v3 HTTP gateway: /api/v3/services, /api/v3/operations,
//     /api/v3/traces, /api/v3/traces/{trace_id} and
//     /api/v3/trace-summaries, with traces as OTLP JSON under "result" and
//     errors as {"error":{"httpCode","message"}}.
//
// Parameters follow Jaeger's query service; where Jaeger is lenient in a
// way that hides mistakes, this package answers 400 naming the parameter
// and the value instead. The handler only reads: it has no archive,
// transform, metrics or deep-dependency endpoints.
package jaeger
