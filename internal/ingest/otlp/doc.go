// Package otlp receives OpenTelemetry traces and logs: it turns OTLP
// export requests, over HTTP (POST /v1/traces and /v1/logs, protobuf or
// JSON, optionally gzipped) and gRPC, into model spans and log records and
// writes them through a store.TraceWriter or store.LogWriter.
//
// A Receiver (traces) and a LogsReceiver (logs) are each built once from
// their options and serve both transports:
//
//	traces, err := otlp.New(otlp.Options{Writer: spanStore, Logger: log, Registerer: reg})
//	logs, err := otlp.NewLogsReceiver(otlp.LogsOptions{Writer: logStore, Logger: log, Registerer: reg})
//	mux.Handle("POST /v1/traces", traces)
//	mux.Handle("POST /v1/logs", logs)
//	ptraceotlp.RegisterGRPCServer(grpcServer, traces.GRPCServer())
//	plogotlp.RegisterGRPCServer(grpcServer, logs.GRPCServer())
//
// Both follow the OTLP specification's rules for what a client may retry,
// through the same transport code, so they answer alike. An item that
// cannot be stored is rejected on its own: a span with an all-zero trace
// or span ID, or ending before it starts; a log record whose body or
// attribute count is over its limit (256 KiB and 128 by default).
// The other items of the request are stored and the response reports the
// rejections as a partial success, with a message that says which item
// was wrong and why. A body that cannot be parsed, is too large or has an
// unsupported type gets a 4xx that clients do not retry. When the store is
// overloaded (its error wraps store.ErrOverloaded) the answer is HTTP 429
// with Retry-After, or gRPC RESOURCE_EXHAUSTED with RetryInfo; any other
// store failure is HTTP 503 or gRPC UNAVAILABLE. Clients retry both.
//
// Log records keep every OTLP field. A record without an event time takes
// its observed time, and one without either the time Argus received it. A
// string body is kept as it is, any other body as JSON text, as
// structured attribute values are. The correlation ID (correlation_id,
// request_id, X-Request-ID, ...) is lifted out of the attributes into its
// own field, so a request can be followed across services.
//
// Input is untrusted: every body is capped in size before and after
// decompression, decoders are fuzzed, and no request can crash the
// process. Counters under argus_ingest_ record what came in and how each
// request ended; the log counters (argus_ingest_log_records_*_total,
// argus_ingest_log_requests_total) are shared with Argus's other log
// ingest paths and tell them apart by protocol ("otlp_grpc", "otlp_http").
//
// What this package is not: it does not start listeners or build the
// grpc.Server (internal/app does), and it takes no metrics: OTLP metrics
// have their own receiver.
package otlp
