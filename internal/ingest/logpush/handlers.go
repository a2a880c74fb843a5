package logpush

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/argus-obs/argus/internal/ingest/httpbody"
	"github.com/argus-obs/argus/internal/ingest/ingestmetrics"
	"github.com/argus-obs/argus/internal/store"
)

// Defaults for the zero values of Options.
const (
	// DefaultMaxRequestBytes caps a request body: Promtail's and Alloy's
	// default batch is 1 MiB, Filebeat's and Vector's a few MiB at most,
	// so 16 MiB leaves room while no request can take much memory.
	DefaultMaxRequestBytes = 16 << 20

	// DefaultMaxLineBytes is Loki's default max_line_size.
	DefaultMaxLineBytes = 256 << 10

	// DefaultMaxAttributes caps the attributes of one record, so that a
	// document with thousands of fields cannot bloat the store's columns.
	DefaultMaxAttributes = 128

	// DefaultMaxFuture is Loki's default creation_grace_period: how far
	// ahead of the server's clock a record's time may be.
	DefaultMaxFuture = 10 * time.Minute

	// DefaultRetryAfter is the delay suggested with a 429. It is short
	// because overload is expected to clear as the store's queue drains,
	// and every shipper adds its own backoff.
	DefaultRetryAfter = 2 * time.Second

	// DefaultElasticsearchVersion is the version the Elasticsearch handler
	// reports. Shippers pick their request format from its major version
	// (8: no mapping types) and some refuse a server older than themselves.
	DefaultElasticsearchVersion = "8.11.0"
)

// UnknownService is the service name of a record whose sender named none,
// as in Loki 3 and the OpenTelemetry resource conventions.
const UnknownService = "unknown_service"

// Options configures the handlers. The zero value works except for
// Writer, which is required.
type Options struct {
	// Writer stores accepted records. Required.
	Writer store.LogWriter

	// Logger receives store failures (at error level) and refused records
	// (at debug level). Nil discards.
	Logger *slog.Logger

	// Registerer gets the metrics. Nil leaves them unregistered (they are
	// still counted).
	Registerer prometheus.Registerer

	// MaxRequestBytes caps a request body, both as it arrives and after
	// each decompression; a larger one is answered 413. Zero or less means
	// DefaultMaxRequestBytes.
	MaxRequestBytes int64

	// MaxLineBytes caps one record: a Loki entry's line, an Elasticsearch
	// document's source line, a JSON line. Longer ones are refused. Zero or
	// less means DefaultMaxLineBytes.
	MaxLineBytes int

	// MaxAttributes caps the attributes of one record (Loki structured
	// metadata, or a document's fields other than the ones mapped to
	// record fields and the resource). Records with more are refused. Zero
	// or less means DefaultMaxAttributes.
	MaxAttributes int

	// MaxAge refuses records whose time is older than now - MaxAge, like
	// Loki's reject_old_samples_max_age. Zero or less means no limit.
	MaxAge time.Duration

	// MaxFuture refuses records whose time is after now + MaxFuture. Zero
	// means DefaultMaxFuture; less than zero means no limit.
	MaxFuture time.Duration

	// RetryAfter is the delay suggested in the Retry-After header of a 429.
	// Zero or less means DefaultRetryAfter.
	RetryAfter time.Duration

	// ElasticsearchVersion is the version number the Elasticsearch
	// handshake reports. Empty means DefaultElasticsearchVersion.
	ElasticsearchVersion string

	// Now is the clock: records without a time get its time, and MaxAge and
	// MaxFuture count from it. Nil means time.Now.
	Now func() time.Time
}

// Handlers receives logs pushed in the Loki, Elasticsearch bulk and JSON
// lines protocols and writes them through a store.LogWriter.
//
// Its handlers are safe for concurrent use, share the limits and the
// metrics, and keep nothing from a request after answering it. Handlers
// owns no goroutines or connections, so it needs no shutdown: stopping
// the server it is mounted on is enough.
type Handlers struct {
	writer     store.LogWriter
	logger     *slog.Logger
	metrics    *metrics
	now        func() time.Time
	sizes      atomic.Pointer[Limits] // reloadable; defaults applied
	maxAge     time.Duration
	maxFuture  time.Duration // < 0: no limit
	retryAfter string        // the Retry-After header value
	esVersion  string
	labels     labelParser // Loki stream labels

	// esSeq numbers Elasticsearch bulk items: their _seq_no and the
	// generated part of their _id. esIDPrefix makes IDs differ between
	// runs.
	esSeq      atomic.Uint64
	esIDPrefix uint64

	// bodies and batches recycle the memory of decoding requests, which
	// would otherwise be allocated afresh for every one.
	bodies  httpbody.Pool
	batches sync.Pool // of *batch
}

// New returns Handlers that write to opts.Writer. It fails when Writer is
// nil or the metrics cannot be registered.
func New(opts Options) (*Handlers, error) {
	if opts.Writer == nil {
		return nil, errors.New("log push handlers: no log writer")
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, err
	}
	h := &Handlers{
		writer:    opts.Writer,
		logger:    opts.Logger,
		metrics:   m,
		now:       opts.Now,
		maxAge:    opts.MaxAge,
		maxFuture: opts.MaxFuture,
		esVersion: opts.ElasticsearchVersion,
		labels:    parser.NewParser(parser.Options{}),
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.SetLimits(Limits{MaxRequestBytes: opts.MaxRequestBytes, MaxLineBytes: opts.MaxLineBytes, MaxAttributes: opts.MaxAttributes})
	if h.maxFuture == 0 {
		h.maxFuture = DefaultMaxFuture
	}
	if h.esVersion == "" {
		h.esVersion = DefaultElasticsearchVersion
	}
	retry := opts.RetryAfter
	if retry <= 0 {
		retry = DefaultRetryAfter
	}
	// Whole seconds, rounded up, at least one.
	h.retryAfter = strconv.FormatInt(max(int64((retry+time.Second-1)/time.Second), 1), 10)
	h.esIDPrefix = uint64(h.now().UnixNano())
	return h, nil
}

// Limits are the size limits of Options that can change while the
// handlers serve (on a config reload). Zero or less means the default.
type Limits struct {
	MaxRequestBytes int64
	MaxLineBytes    int
	MaxAttributes   int
}

// SetLimits puts new size limits in force for the requests that arrive
// after it.
func (h *Handlers) SetLimits(l Limits) {
	if l.MaxRequestBytes <= 0 {
		l.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if l.MaxLineBytes <= 0 {
		l.MaxLineBytes = DefaultMaxLineBytes
	}
	if l.MaxAttributes <= 0 {
		l.MaxAttributes = DefaultMaxAttributes
	}
	h.sizes.Store(&l)
}

func (h *Handlers) maxBytes() int64 { return h.sizes.Load().MaxRequestBytes }

// limits are the checks every record goes through, with the time window
// fixed when the request arrives.
type limits struct {
	now      int64 // Unix nanoseconds; the time of records that have none
	minTime  int64 // oldest acceptable time
	maxTime  int64 // newest acceptable time
	maxLine  int
	maxAttrs int
}

func (h *Handlers) limits() limits {
	now := h.now()
	sizes := h.sizes.Load()
	l := limits{
		now:      now.UnixNano(),
		minTime:  math.MinInt64,
		maxTime:  math.MaxInt64,
		maxLine:  sizes.MaxLineBytes,
		maxAttrs: sizes.MaxAttributes,
	}
	if h.maxAge > 0 {
		l.minTime = now.Add(-h.maxAge).UnixNano()
	}
	if h.maxFuture >= 0 {
		l.maxTime = now.Add(h.maxFuture).UnixNano()
	}
	return l
}

// checkTime returns why a record of time t must be refused, or ok.
func (l *limits) checkTime(t int64) (r reason, ok bool) {
	switch {
	case t < l.minTime:
		return reasonTooOld, false
	case t > l.maxTime:
		return reasonTooNew, false
	}
	return 0, true
}

// formatTime is how refusal messages show times: RFC 3339 in UTC, as Loki
// does.
func formatTime(unixNano int64) string {
	return time.Unix(0, unixNano).UTC().Format(time.RFC3339Nano)
}

// write stores the valid records of b and counts the request's records.
// ok is false when the writer failed; o then says how (overloaded,
// canceled or unavailable) and nothing of b was stored.
func (h *Handlers) write(ctx context.Context, p protocol, b *batch) (accepted int, o ingestmetrics.Outcome, ok bool) {
	m := &h.metrics[p]
	records := b.materialize()
	rejected := 0
	for r, n := range b.rejected {
		if n > 0 {
			m.rejected[r].Add(float64(n))
			rejected += n
		}
	}
	m.received.Add(float64(len(records) + rejected))
	if len(records) > 0 {
		if err := h.writer.WriteLogs(ctx, records); err != nil {
			return 0, h.writeFailure(ctx, p, err), false
		}
		m.accepted.Add(float64(len(records)))
	}
	if rejected > 0 {
		return len(records), ingestmetrics.OutcomePartialSuccess, true
	}
	return len(records), ingestmetrics.OutcomeSuccess, true
}

// writeFailure classifies a writer error. Only failures an operator must
// act on are logged above debug level: overload is reported to clients,
// who retry, and a canceled request has no one left to answer.
func (h *Handlers) writeFailure(ctx context.Context, p protocol, err error) ingestmetrics.Outcome {
	switch {
	case errors.Is(err, store.ErrOverloaded):
		h.logger.Debug("log push refused: store overloaded", "protocol", protocolNames[p], "err", err)
		return ingestmetrics.OutcomeOverloaded
	case ctx.Err() != nil:
		h.logger.Debug("log push not stored: request canceled", "protocol", protocolNames[p], "err", err)
		return ingestmetrics.OutcomeCanceled
	default:
		h.logger.Error("log push not stored", "protocol", protocolNames[p], "err", err)
		return ingestmetrics.OutcomeUnavailable
	}
}

// failureStatus is the HTTP status of a write failure's outcome; it sets
// Retry-After for overload.
func (h *Handlers) failureStatus(w http.ResponseWriter, o ingestmetrics.Outcome) int {
	if o == ingestmetrics.OutcomeOverloaded {
		w.Header().Set("Retry-After", h.retryAfter)
		return http.StatusTooManyRequests
	}
	return http.StatusServiceUnavailable
}

// count counts a finished request under o.
func (h *Handlers) count(p protocol, o ingestmetrics.Outcome) { h.metrics[p].requests[o].Inc() }

// Loki returns the handler for Loki's push API, POST /loki/api/v1/push.
func (h *Handlers) Loki() http.Handler { return http.HandlerFunc(h.serveLoki) }

// JSONLines returns the handler for newline-delimited JSON,
// POST /api/argus/v1/logs.
func (h *Handlers) JSONLines() http.Handler { return http.HandlerFunc(h.serveJSONLines) }

// Elasticsearch returns the handler for the Elasticsearch bulk API and the
// handshakes shippers make before using it.
func (h *Handlers) Elasticsearch() *ESHandler { return &ESHandler{h: h} }

// Paths where the handlers are usually mounted.
const (
	// LokiPushPath is Loki's push endpoint, which Promtail, Grafana Alloy
	// and Fluent Bit's loki output post to.
	LokiPushPath = "/loki/api/v1/push"
	// JSONLinesPath is Argus's own endpoint for newline-delimited JSON.
	JSONLinesPath = "/api/argus/v1/logs"
)
