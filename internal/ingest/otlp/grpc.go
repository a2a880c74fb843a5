package otlp

import (
	"context"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc/codes"
	// Importing the gzip codec registers it with gRPC. A gRPC server can
	// only decompress messages with a registered codec, and OTLP exporters
	// commonly send gzip (the Collector's does by default), so without this
	// import their requests fail with UNIMPLEMENTED.
	_ "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
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
	r := g.r
	m := &r.metrics[protoGRPC]
	td := req.Traces()

	size := int64((&ptrace.ProtoMarshaler{}).TracesSize(td))
	if limit := r.MaxRequestBytes(); size > limit {
		m.requests[outcomeTooLarge].Inc()
		// RESOURCE_EXHAUSTED without RetryInfo is what gRPC itself answers
		// for an oversized message, and OTLP clients do not retry it.
		return ptraceotlp.NewExportResponse(), status.Errorf(codes.ResourceExhausted,
			"request of %d bytes exceeds the limit of %d bytes", size, limit)
	}

	m.requestBytes.Add(float64(size))

	rej, err := r.export(ctx, protoGRPC, td)
	if err != nil {
		o := r.writeFailure(ctx, protoGRPC, err)
		m.requests[o].Inc()
		switch o {
		case outcomeOverloaded:
			return ptraceotlp.NewExportResponse(), r.overloadedStatus().Err()
		case outcomeCanceled:
			return ptraceotlp.NewExportResponse(), status.FromContextError(ctx.Err()).Err()
		default:
			return ptraceotlp.NewExportResponse(), status.Error(codes.Unavailable, "spans could not be stored; retry later")
		}
	}

	resp := ptraceotlp.NewExportResponse()
	if n := rej.Count(); n > 0 {
		m.requests[outcomePartialSuccess].Inc()
		ps := resp.PartialSuccess()
		ps.SetRejectedSpans(int64(n))
		ps.SetErrorMessage(rej.Message())
		return resp, nil
	}
	m.requests[outcomeSuccess].Inc()
	return resp, nil
}
