package otlp

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/argus-obs/argus/internal/store"
)

// LogsOptions configures a LogsReceiver. The zero value works except for
// Writer, which is required.
type LogsOptions struct {
	// Writer stores accepted log records. Required.
	Writer store.LogWriter

	// Logger, Registerer, MaxRequestBytes and RetryAfter mean what they
	// mean in Options.
	Logger          *slog.Logger
	Registerer      prometheus.Registerer
	MaxRequestBytes int64
	RetryAfter      time.Duration

	// MaxLineBytes and MaxAttributes are the initial LogLimits; zero means
	// the default. LogsReceiver.SetLimits changes them later.
	MaxLineBytes  int
	MaxAttributes int

	// Now tells the time a request is received, which a record that
	// carries no time of its own is stamped with. Nil means time.Now.
	Now func() time.Time
}

// LogsReceiver takes OTLP log exports over HTTP and gRPC, converts them to
// model log records and writes the valid ones through a store.LogWriter.
//
// It is the log counterpart of Receiver, built on the same transport code,
// so it answers every condition exactly as Receiver does, with
// rejected_log_records in place of rejected_spans. LogsReceiver is an
// http.Handler for POST /v1/logs; GRPCServer returns its gRPC service.
// Both are safe for concurrent use and keep nothing from a request after
// answering it. It owns no goroutines or connections and needs no
// shutdown.
type LogsReceiver struct {
	transport
	writer store.LogWriter
	limits atomic.Pointer[LogLimits] // with defaults applied
	now    func() time.Time
}

// NewLogsReceiver returns a LogsReceiver that writes to opts.Writer. It
// fails when Writer is nil or the metrics cannot be registered.
func NewLogsReceiver(opts LogsOptions) (*LogsReceiver, error) {
	if opts.Writer == nil {
		return nil, errors.New("otlp logs receiver: no log writer")
	}
	m, err := newLogMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	r := &LogsReceiver{
		transport: transport{
			noun:       "log records",
			protocols:  &logProtocolNames,
			metrics:    m,
			logger:     opts.Logger,
			retryAfter: opts.RetryAfter,
		},
		writer: opts.Writer,
		now:    opts.Now,
	}
	if r.now == nil {
		r.now = time.Now
	}
	r.setDefaults(opts.MaxRequestBytes)
	r.SetLimits(LogLimits{MaxLineBytes: opts.MaxLineBytes, MaxAttributes: opts.MaxAttributes})
	return r, nil
}

// SetMaxRequestBytes changes the request size limit as
// Receiver.SetMaxRequestBytes does.
func (r *LogsReceiver) SetMaxRequestBytes(n int64) { r.setMaxRequestBytes(n) }

// MaxRequestBytes returns the current request size limit.
func (r *LogsReceiver) MaxRequestBytes() int64 { return r.maxBytes.Load() }

// SetLimits changes the per-record limits for requests that start after
// it returns; zero fields restore the defaults. Like the size limit, they
// are reloadable policy.
func (r *LogsReceiver) SetLimits(l LogLimits) {
	l = l.withDefaults()
	r.limits.Store(&l)
}

// Limits returns the current per-record limits, defaults filled in.
func (r *LogsReceiver) Limits() LogLimits { return *r.limits.Load() }

// ServeHTTP answers an OTLP/HTTP log export (POST /v1/logs) as
// Receiver.ServeHTTP answers a trace export, with an
// ExportLogsServiceResponse.
func (r *LogsReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	serveHTTP(&r.transport, r, w, req)
}

// GRPCServer returns the OTLP/gRPC log service of r, for
// plogotlp.RegisterGRPCServer, with the same advice on the grpc.Server's
// MaxRecvMsgSize as Receiver.GRPCServer.
func (r *LogsReceiver) GRPCServer() plogotlp.GRPCServer { return &logsGRPCServer{r: r} }

type logsGRPCServer struct {
	plogotlp.UnimplementedGRPCServer
	r *LogsReceiver
}

// Export implements plogotlp.GRPCServer as grpcServer.Export does for
// traces.
func (g *logsGRPCServer) Export(ctx context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	return serveGRPC(ctx, &g.r.transport, g.r, req)
}

// The methods below make LogsReceiver the log signal of the shared
// transport code.

func (r *LogsReceiver) newRequest() plogotlp.ExportRequest { return plogotlp.NewExportRequest() }

func (r *LogsReceiver) requestSize(req plogotlp.ExportRequest) int {
	return (&plog.ProtoMarshaler{}).LogsSize(req.Logs())
}

func (r *LogsReceiver) export(ctx context.Context, p protocol, req plogotlp.ExportRequest) (rejected int, message string, err error) {
	records, rej := ConvertLogs(req.Logs(), r.now(), r.Limits())
	message = rej.Message()
	err = r.countAndWrite(ctx, p, len(records), rej.ByReason[:], message, func(ctx context.Context) error {
		return r.writer.WriteLogs(ctx, records)
	})
	return rej.Count(), message, err
}

func (r *LogsReceiver) response(rejected int, message string) plogotlp.ExportResponse {
	resp := plogotlp.NewExportResponse()
	if rejected > 0 {
		ps := resp.PartialSuccess()
		ps.SetRejectedLogRecords(int64(rejected))
		ps.SetErrorMessage(message)
	}
	return resp
}
