package otlp

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/ptrace"

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
	writer     store.TraceWriter
	logger     *slog.Logger
	retryAfter time.Duration
	maxBytes   atomic.Int64
	metrics    *metrics

	// gzipReaders and buffers recycle the memory of decoding HTTP bodies,
	// which would otherwise be allocated afresh for every request.
	gzipReaders sync.Pool // of *gzip.Reader
	buffers     sync.Pool // of *bytes.Buffer
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
		writer:     opts.Writer,
		logger:     opts.Logger,
		retryAfter: opts.RetryAfter,
		metrics:    m,
	}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	if r.retryAfter <= 0 {
		r.retryAfter = DefaultRetryAfter
	}
	r.SetMaxRequestBytes(opts.MaxRequestBytes)
	return r, nil
}

// SetMaxRequestBytes changes the request size limit for requests that
// start after it returns; zero or less restores DefaultMaxRequestBytes.
// It exists because the limit is reloadable policy. The gRPC server's own
// receive limit is fixed when the server is built, so a gRPC request is
// bounded by the smaller of the two.
func (r *Receiver) SetMaxRequestBytes(n int64) {
	if n <= 0 {
		n = DefaultMaxRequestBytes
	}
	r.maxBytes.Store(n)
}

// MaxRequestBytes returns the current request size limit.
func (r *Receiver) MaxRequestBytes() int64 { return r.maxBytes.Load() }

// export converts td, counts what it finds and writes the valid spans.
// The error is the writer's; the rejections are reported either way.
func (r *Receiver) export(ctx context.Context, p protocol, td ptrace.Traces) (Rejections, error) {
	m := &r.metrics[p]
	spans, rej := ConvertTraces(td)
	m.spansReceived.Add(float64(len(spans) + rej.Count()))
	for reason, n := range rej.ByReason {
		if n > 0 {
			m.spansRejected[reason].Add(float64(n))
		}
	}
	if rej.Count() > 0 {
		r.logger.Debug("otlp spans rejected", "protocol", protocolNames[p], "message", rej.Message())
	}
	if len(spans) == 0 {
		return rej, nil
	}
	if err := r.writer.WriteSpans(ctx, spans); err != nil {
		return rej, err
	}
	m.spansAccepted.Add(float64(len(spans)))
	return rej, nil
}

// writeFailure classifies a writer error. Only failures an operator must
// act on are logged above debug level: overload is reported to clients,
// who retry, and a canceled request has no one left to answer.
func (r *Receiver) writeFailure(ctx context.Context, p protocol, err error) outcome {
	switch {
	case errors.Is(err, store.ErrOverloaded):
		r.logger.Debug("otlp spans refused: store overloaded", "protocol", protocolNames[p], "err", err)
		return outcomeOverloaded
	case ctx.Err() != nil:
		r.logger.Debug("otlp spans not stored: request canceled", "protocol", protocolNames[p], "err", err)
		return outcomeCanceled
	default:
		r.logger.Error("otlp spans not stored", "protocol", protocolNames[p], "err", err)
		return outcomeUnavailable
	}
}

// retryAfterSeconds returns the Retry-After header value: whole seconds,
// rounded up, at least one.
func (r *Receiver) retryAfterSeconds() int64 {
	s := int64((r.retryAfter + time.Second - 1) / time.Second)
	return max(s, 1)
}
