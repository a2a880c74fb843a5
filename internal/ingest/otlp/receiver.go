package otlp

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/argus-obs/argus/internal/ingest/httpbody"
	"github.com/argus-obs/argus/internal/ingest/ingestmetrics"
	"github.com/argus-obs/argus/internal/store"
)

// DefaultMaxRequestBytes is the request size limit used when
// Options.MaxRequestBytes is zero. It is four times the 4 MiB gRPC default
// so that the OpenTelemetry SDKs' default batches (512 spans) fit with
// room to spare, while a single request still cannot take much memory.
const DefaultMaxRequestBytes = 16 << 20

// DefaultRetryAfter is the delay suggested to clients when the store is
// overloaded and Options.RetryAfter is zero. It is short because overload
// is expected to clear as the store's queue drains, and OTLP exporters add
// their own backoff on top.
const DefaultRetryAfter = 2 * time.Second

// Options configures a Receiver. The zero value works except for Writer,
// which is required.
type Options struct {
	// Writer stores accepted spans. Required.
	Writer store.TraceWriter

	// Logger receives store failures. Nil discards.
	Logger *slog.Logger

	// Registerer gets the receiver's metrics. Nil leaves them
	// unregistered (they are still counted).
	Registerer prometheus.Registerer

	// MaxRequestBytes caps a request body both as it arrives and after
	// decompression. Zero or less means DefaultMaxRequestBytes. It can be
	// changed later with Receiver.SetMaxRequestBytes.
	MaxRequestBytes int64

	// RetryAfter is the delay suggested to clients when the store is
	// overloaded: the HTTP Retry-After header (rounded up to whole
	// seconds) and the gRPC RetryInfo detail. Zero or less means
	// DefaultRetryAfter.
	RetryAfter time.Duration
}

// Receiver takes OTLP trace exports over HTTP and gRPC, converts them to
// model spans and writes the valid ones through a store.TraceWriter.
//
// Receiver is an http.Handler for POST /v1/traces; GRPCServer returns its
// gRPC service. Both are safe for concurrent use, share the size limit and
// the metrics, and keep nothing from a request after answering it. A
// Receiver owns no goroutines or connections, so it needs no shutdown:
// stopping the servers it is mounted on is enough.
type Receiver struct {
	transport
	writer store.TraceWriter
}

// New returns a Receiver that writes to opts.Writer. It fails when Writer
// is nil or the metrics cannot be registered.
func New(opts Options) (*Receiver, error) {
	if opts.Writer == nil {
		return nil, errors.New("otlp receiver: no trace writer")
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	r := &Receiver{
		transport: transport{
			noun:       "spans",
			protocols:  &protocolNames,
			metrics:    m,
			logger:     opts.Logger,
			retryAfter: opts.RetryAfter,
		},
		writer: opts.Writer,
	}
	r.setDefaults(opts.MaxRequestBytes)
	return r, nil
}

// SetMaxRequestBytes changes the request size limit for requests that
// start after it returns; zero or less restores DefaultMaxRequestBytes.
// It exists because the limit is reloadable policy. The gRPC server's own
// receive limit is fixed when the server is built, so a gRPC request is
// bounded by the smaller of the two.
func (r *Receiver) SetMaxRequestBytes(n int64) { r.setMaxRequestBytes(n) }

// MaxRequestBytes returns the current request size limit.
func (r *Receiver) MaxRequestBytes() int64 { return r.maxBytes.Load() }

// The methods below make Receiver the trace signal of the shared
// transport code.

func (r *Receiver) newRequest() ptraceotlp.ExportRequest { return ptraceotlp.NewExportRequest() }

func (r *Receiver) requestSize(req ptraceotlp.ExportRequest) int {
	return (&ptrace.ProtoMarshaler{}).TracesSize(req.Traces())
}

// export converts the request, counts what it finds and writes the valid
// spans. The error is the writer's; the rejections are reported either
// way.
func (r *Receiver) export(ctx context.Context, p protocol, req ptraceotlp.ExportRequest) (rejected int, message string, err error) {
	spans, rej := ConvertTraces(req.Traces())
	message = rej.Message()
	err = r.countAndWrite(ctx, p, len(spans), rej.ByReason[:], message, func(ctx context.Context) error {
		return r.writer.WriteSpans(ctx, spans)
	})
	return rej.Count(), message, err
}

func (r *Receiver) response(rejected int, message string) ptraceotlp.ExportResponse {
	resp := ptraceotlp.NewExportResponse()
	if rejected > 0 {
		ps := resp.PartialSuccess()
		ps.SetRejectedSpans(int64(rejected))
		ps.SetErrorMessage(message)
	}
	return resp
}

// transport is what the trace and log receivers share: the size limit,
// retry hint and logger, the request counters, and the pools that recycle
// the memory of decoding HTTP bodies. Its HTTP and gRPC halves are in
// http.go and grpc.go; a receiver plugs its signal into them.
type transport struct {
	noun       string                // what requests carry, plural, for messages: "spans"
	protocols  *[numProtocols]string // protocol label values, also logged
	metrics    *metrics
	logger     *slog.Logger
	retryAfter time.Duration
	maxBytes   atomic.Int64

	// bodies recycles the memory of reading HTTP bodies, which would
	// otherwise be allocated afresh for every request.
	bodies httpbody.Pool
}

// setDefaults replaces zero options with their defaults and sets the
// size limit.
func (t *transport) setDefaults(maxBytes int64) {
	if t.logger == nil {
		t.logger = slog.New(slog.DiscardHandler)
	}
	if t.retryAfter <= 0 {
		t.retryAfter = DefaultRetryAfter
	}
	t.setMaxRequestBytes(maxBytes)
}

func (t *transport) setMaxRequestBytes(n int64) {
	if n <= 0 {
		n = DefaultMaxRequestBytes
	}
	t.maxBytes.Store(n)
}

// countAndWrite counts a converted request, n valid items and the ones
// rejected by reason, and writes the valid ones with write unless there
// are none. The error is write's.
func (t *transport) countAndWrite(ctx context.Context, p protocol, n int, rejected []int, message string, write func(context.Context) error) error {
	m := &t.metrics[p]
	nRejected := 0
	for reason, c := range rejected {
		if c > 0 {
			m.rejected[reason].Add(float64(c))
			nRejected += c
		}
	}
	m.received.Add(float64(n + nRejected))
	if nRejected > 0 {
		t.logger.Debug("otlp "+t.noun+" rejected", "protocol", t.protocols[p], "message", message)
	}
	if n == 0 {
		return nil
	}
	if err := write(ctx); err != nil {
		return err
	}
	m.accepted.Add(float64(n))
	return nil
}

// writeFailure classifies a writer error. Only failures an operator must
// act on are logged above debug level: overload is reported to clients,
// who retry, and a canceled request has no one left to answer.
func (t *transport) writeFailure(ctx context.Context, p protocol, err error) ingestmetrics.Outcome {
	switch {
	case errors.Is(err, store.ErrOverloaded):
		t.logger.Debug("otlp "+t.noun+" refused: store overloaded", "protocol", t.protocols[p], "err", err)
		return ingestmetrics.OutcomeOverloaded
	case ctx.Err() != nil:
		t.logger.Debug("otlp "+t.noun+" not stored: request canceled", "protocol", t.protocols[p], "err", err)
		return ingestmetrics.OutcomeCanceled
	default:
		t.logger.Error("otlp "+t.noun+" not stored", "protocol", t.protocols[p], "err", err)
		return ingestmetrics.OutcomeUnavailable
	}
}

// retryAfterSeconds returns the Retry-After header value: whole seconds,
// rounded up, at least one.
func (t *transport) retryAfterSeconds() int64 {
	s := int64((t.retryAfter + time.Second - 1) / time.Second)
	return max(s, 1)
}
