// Package otlpmetrics serves OTLP metrics over gRPC by handing each export
// to the OTLP/HTTP receiver of Prometheus's HTTP API (the one behind
// /v1/metrics), so both transports share one translation (Prometheus's
// own: resource attributes to target_info, service.name and
// service.instance.id to job and instance, units and _total suffixes,
// classic and exponential histograms, exemplars) and one set of rules for
// what is stored and what is refused.
package otlpmetrics

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"

	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Receiver is the OTLP/gRPC metrics service. It is safe for concurrent use.
type Receiver struct {
	pmetricotlp.UnimplementedGRPCServer

	handler http.Handler
	log     *slog.Logger
}

// New returns a receiver that passes exports to handler, an OTLP/HTTP
// metrics handler.
func New(handler http.Handler, log *slog.Logger) *Receiver {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Receiver{handler: handler, log: log}
}

// Export implements pmetricotlp.GRPCServer.
func (r *Receiver) Export(ctx context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	body, err := req.MarshalProto()
	if err != nil {
		return pmetricotlp.NewExportResponse(), status.Error(codes.Internal, err.Error())
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, "/v1/metrics", bytes.NewReader(body))
	if err != nil {
		return pmetricotlp.NewExportResponse(), status.Error(codes.Internal, err.Error())
	}
	hreq.Header.Set("Content-Type", "application/x-protobuf")
	var w responseRecorder
	r.handler.ServeHTTP(&w, hreq)
	msg := strings.TrimSpace(w.body.String())
	switch code := w.status(); {
	case code < 300:
		// The HTTP answer may carry a partial success; pass it on.
		resp := pmetricotlp.NewExportResponse()
		if w.body.Len() > 0 && resp.UnmarshalProto(w.body.Bytes()) != nil {
			resp = pmetricotlp.NewExportResponse()
		}
		return resp, nil
	case code == http.StatusRequestEntityTooLarge:
		return pmetricotlp.NewExportResponse(), status.Error(codes.InvalidArgument, msg)
	case code < 500:
		// Permanent for this data (malformed, out of order, too old): a
		// retry would fail the same way, so tell the client not to.
		return pmetricotlp.NewExportResponse(), status.Error(codes.InvalidArgument, msg)
	default:
		r.log.Error("store OTLP metrics", "status", code, "error", msg)
		return pmetricotlp.NewExportResponse(), status.Error(codes.Unavailable, "metrics could not be stored; retry later")
	}
}

// responseRecorder keeps what the HTTP handler answered.
type responseRecorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (w *responseRecorder) Header() http.Header {
	if w.header == nil {
		w.header = http.Header{}
	}
	return w.header
}

func (w *responseRecorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *responseRecorder) Write(b []byte) (int, error) {
	if w.body.Len() < 64<<10 { // a status message or partial success is all we keep
		w.body.Write(b[:min(len(b), 64<<10-w.body.Len())])
	}
	return len(b), nil
}

func (w *responseRecorder) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}
