// Package derive computes metrics from spans as they are ingested, before
// any sampling, so a service that only sends traces still gets request
// rate, error rate and latency per operation, and a service graph:
//
//   - span metrics: per service, span name, span kind, status code and
//     configured dimensions, a call counter and a latency histogram
//     (native, with classic buckets beside it), named as the OpenTelemetry
//     Collector's spanmetrics connector names them
//     (traces_span_metrics_calls_total,
//     traces_span_metrics_duration_seconds);
//   - the service graph: client and server spans paired by trace and span
//     ID into caller → callee edges, with Grafana Tempo's metric names
//     (traces_service_graph_request_total and friends); a client span that
//     names an uninstrumented callee (a database, peer.service) becomes an
//     edge to a virtual node.
//
// Every histogram observation keeps its trace and span ID (and the
// correlation ID when the span has one) as an exemplar. The series are
// written into the metrics store every interval as cumulative samples, as
// a scrape of a client library would be, and end with a staleness marker
// once their spans stop.
package derive
