package otlp

import (
	"context"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc/codes"
	// Importing the gzip codec registers it with gRPC. A gRPC server can
	// only decompress messages with a registered codec, and OTLP exporters
	// commonly send gzip (the Collector's does by default), so without this
	// import their requests fail with UNIMPLEMENTED.
	_ "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"

	"github.com/argus-obs/argus/internal/ingest/ingestmetrics"
)

// GRPCServer returns the OTLP/gRPC trace service of r, for
// ptraceotlp.RegisterGRPCServer. The caller builds the grpc.Server and
// should set its MaxRecvMsgSize to at least MaxRequestBytes: gRPC enforces
// that limit before decoding (and after decompression), while the service
// enforces the current, reloadable limit itself.
func (r *Receiver) GRPCServer() ptraceotlp.GRPCServer { return &grpcServer{r: r} }

type grpcServer struct {
	ptraceotlp.UnimplementedGRPCServer
	r *Receiver
}

// Export implements ptraceotlp.GRPCServer with the same conversion and
// partial-success answer as the HTTP handler. Overload is
// RESOURCE_EXHAUSTED with RetryInfo, which OTLP clients retry; any other
// store failure is UNAVAILABLE, which they retry too.
func (g *grpcServer) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	return serveGRPC(ctx, &g.r.transport, g.r, req)
}

// serveGRPC answers an OTLP/gRPC export of signal s; see
// grpcServer.Export for what it answers.
func serveGRPC[Req unmarshaler, Resp marshaler](ctx context.Context, t *transport, s signal[Req, Resp], req Req) (Resp, error) {
	m := &t.metrics[protoGRPC]
	size := int64(s.requestSize(req))
	if limit := t.maxBytes.Load(); size > limit {
		m.requests[ingestmetrics.OutcomeTooLarge].Inc()
		// RESOURCE_EXHAUSTED without RetryInfo is what gRPC itself answers
		// for an oversized message, and OTLP clients do not retry it.
		return s.response(0, ""), status.Errorf(codes.ResourceExhausted,
			"request of %d bytes exceeds the limit of %d bytes", size, limit)
	}
	if m.requestBytes != nil {
		m.requestBytes.Add(float64(size))
	}

	rejected, message, err := s.export(ctx, protoGRPC, req)
	if err != nil {
		o := t.writeFailure(ctx, protoGRPC, err)
		m.requests[o].Inc()
		switch o {
		case ingestmetrics.OutcomeOverloaded:
			return s.response(0, ""), t.overloadedStatus().Err()
		case ingestmetrics.OutcomeCanceled:
			return s.response(0, ""), status.FromContextError(ctx.Err()).Err()
		default:
			return s.response(0, ""), status.Error(codes.Unavailable, t.noun+" could not be stored; retry later")
		}
	}

	o := ingestmetrics.OutcomeSuccess
	if rejected > 0 {
		o = ingestmetrics.OutcomePartialSuccess
	}
	m.requests[o].Inc()
	return s.response(rejected, message), nil
}
