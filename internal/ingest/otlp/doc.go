// Package otlp receives OpenTelemetry traces: it turns OTLP export
// requests, over HTTP (POST /v1/traces, protobuf or JSON, optionally
// gzipped) and gRPC, into model spans and writes them through a
// store.TraceWriter.
//
// A Receiver is built once from Options and serves both transports:
//
//	recv, err := otlp.New(otlp.Options{Writer: traces, Logger: log, Registerer: reg})
//	mux.Handle("/v1/traces", recv)
//	ptraceotlp.RegisterGRPCServer(grpcServer, recv.GRPCServer())
//
// It follows the OTLP specification's rules for what a client may retry.
// A span with an all-zero trace or span ID, or ending before it starts, is
// rejected on its own; the other spans of the request are stored and the
// response reports the rejection as a partial success. A body that cannot
// be parsed, is too large or has an unsupported type gets a 4xx that
// clients do not retry. When the store is overloaded (its error wraps
// store.ErrOverloaded) the answer is HTTP 429 with Retry-After, or gRPC
// RESOURCE_EXHAUSTED with RetryInfo; any other store failure is HTTP 503
// or gRPC UNAVAILABLE. Clients retry both.
//
// Input is untrusted: every body is capped in size before and after
// decompression, decoders are fuzzed, and no request can crash the
// process. Counters under argus_ingest_ record what came in and how each
// request ended.
//
// What this package is not: it does not start listeners or build the
// grpc.Server (internal/app does), and it takes only traces; OTLP metrics
// and logs have their own receivers.
package otlp
