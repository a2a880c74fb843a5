package sdk

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Bounded buffering, and the gap in the OpenTelemetry SDK it fills.
//
// The SDK's batch processors already bound their queues (MaxQueueSize,
// 2048 by default) and never block the caller: when the queue is full the
// span processor drops the new span and the log processor overwrites the
// oldest record. But the counts of those drops are private: the span
// processor's shows only in its debug logs, the log processor's goes to
// OpenTelemetry's internal logger (silent by default), and both reach
// metrics only through the experimental OTEL_GO_X_OBSERVABILITY
// instrumentation, on a global MeterProvider a Prometheus-scraped service
// does not have. A batch the exporter gave up on is reported, batch by
// batch, through otel.Handle, whose default prints every failure.
//
// So each signal's pipeline is
//
//	gate processor -> OTel batch processor -> counting exporter -> OTLP exporter
//
// The gate admits a span or record only while fewer than the queue size are
// pending between it and the end of an export (counted up on admission,
// down when the exporter returns), so the batch processor's queue, which
// holds a subset of them, never overflows: everything beyond the bound is
// dropped at the gate and counted there. The counting exporter counts what
// failed after the exporter's own retries. The counts go to
// argus_sdk_telemetry_dropped_total and argus_sdk_telemetry_exported_total,
// and the reporter sums them up in one warning at most once per interval,
// on the local JSON log only: a warning about a broken OTLP pipeline is not
// sent into it.

// Signal and reason label values of the drop counter.
const (
	signalTraces = "traces"
	signalLogs   = "logs"

	reasonQueueFull    = "queue_full"
	reasonExportFailed = "export_failed"
	reasonShutdown     = "shutdown"
)

// pipelineStats counts one signal's way to the exporter.
type pipelineStats struct {
	limit     int64
	pending   atomic.Int64 // admitted by the gate, not yet through an export
	abandoned atomic.Bool  // shutdown gave up on pending; later exports are not counted

	dropped atomic.Uint64 // every reason, for the reporter

	queueFull, exportFailed, shutdown, exportedC prometheus.Counter
	wake                                         func()
}

func newPipelineStats(signal string, limit int, wake func()) *pipelineStats {
	return &pipelineStats{
		limit:        int64(limit),
		queueFull:    telemetryDropped.WithLabelValues(signal, reasonQueueFull),
		exportFailed: telemetryDropped.WithLabelValues(signal, reasonExportFailed),
		shutdown:     telemetryDropped.WithLabelValues(signal, reasonShutdown),
		exportedC:    telemetryExported.WithLabelValues(signal),
		wake:         wake,
	}
}

// admit reserves room for one item, or counts it dropped.
func (s *pipelineStats) admit() bool {
	if s.pending.Add(1) > s.limit {
		s.pending.Add(-1)
		s.drop(s.queueFull, 1)
		return false
	}
	return true
}

func (s *pipelineStats) drop(c prometheus.Counter, n int) {
	c.Add(float64(n))
	s.dropped.Add(uint64(n))
	s.wake()
}

// handedOver records that the exporter is done with n admitted items, and
// how the export went.
func (s *pipelineStats) handedOver(n int, err error) {
	if s.abandoned.Load() {
		return // already counted as dropped at shutdown
	}
	s.pending.Add(-int64(n))
	if err != nil {
		s.drop(s.exportFailed, n)
		return
	}
	s.exportedC.Add(float64(n))
}

// abandon counts what is still pending once shutdown gave up on it.
func (s *pipelineStats) abandon() {
	s.abandoned.Store(true)
	if n := s.pending.Swap(0); n > 0 {
		s.drop(s.shutdown, int(n))
	}
}

// spanGate is the gate processor in front of the batch span processor.
type spanGate struct {
	next    sdktrace.SpanProcessor
	stats   *pipelineStats
	stopped atomic.Bool
}

func (g *spanGate) OnStart(ctx context.Context, s sdktrace.ReadWriteSpan) { g.next.OnStart(ctx, s) }

func (g *spanGate) OnEnd(s sdktrace.ReadOnlySpan) {
	// The batch processor ignores unsampled spans and spans after shutdown;
	// so does the gate, or pending would count them forever.
	if !s.SpanContext().IsSampled() || g.stopped.Load() {
		return
	}
	if g.stats.admit() {
		g.next.OnEnd(s)
	}
}

func (g *spanGate) Shutdown(ctx context.Context) error {
	g.stopped.Store(true)
	return g.next.Shutdown(ctx)
}

func (g *spanGate) ForceFlush(ctx context.Context) error { return g.next.ForceFlush(ctx) }

// spanCounter is the counting exporter behind the batch span processor.
type spanCounter struct {
	next  sdktrace.SpanExporter
	stats *pipelineStats
}

func (c *spanCounter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := c.next.ExportSpans(ctx, spans)
	c.stats.handedOver(len(spans), err)
	return err
}

func (c *spanCounter) Shutdown(ctx context.Context) error { return c.next.Shutdown(ctx) }

// logGate is the gate processor in front of the batch log processor.
type logGate struct {
	next    sdklog.Processor
	stats   *pipelineStats
	stopped atomic.Bool
}

func (g *logGate) Enabled(ctx context.Context, p sdklog.EnabledParameters) bool {
	return g.next.Enabled(ctx, p)
}

func (g *logGate) OnEmit(ctx context.Context, r *sdklog.Record) error {
	if g.stopped.Load() {
		return nil
	}
	if !g.stats.admit() {
		return nil
	}
	return g.next.OnEmit(ctx, r)
}

func (g *logGate) Shutdown(ctx context.Context) error {
	g.stopped.Store(true)
	return g.next.Shutdown(ctx)
}

func (g *logGate) ForceFlush(ctx context.Context) error { return g.next.ForceFlush(ctx) }

// logCounter is the counting exporter behind the batch log processor.
type logCounter struct {
	next  sdklog.Exporter
	stats *pipelineStats
}

func (c *logCounter) Export(ctx context.Context, records []sdklog.Record) error {
	if len(records) == 0 {
		return c.next.Export(ctx, records)
	}
	err := c.next.Export(ctx, records)
	c.stats.handedOver(len(records), err)
	return err
}

func (c *logCounter) Shutdown(ctx context.Context) error   { return c.next.Shutdown(ctx) }
func (c *logCounter) ForceFlush(ctx context.Context) error { return c.next.ForceFlush(ctx) }

// reporter logs the drops (counts since its last report; the totals are in
// argus_sdk_telemetry_dropped_total) and OpenTelemetry errors of the pipelines at most
// once per interval: at once after the first event of a quiet period, then
// at most once per interval while events keep coming, and a last time at
// shutdown. It is also the OpenTelemetry error handler (otel.ErrorHandler),
// so export failures are summarized instead of printed one by one.
type reporter struct {
	log      *slog.Logger
	interval time.Duration
	traces   *pipelineStats
	logs     *pipelineStats

	wakeCh chan struct{}
	stop   chan struct{}
	done   chan struct{}

	errors  atomic.Uint64
	mu      sync.Mutex // guards lastErr
	lastErr error

	// Counts at the last report; touched by the run goroutine only, then by
	// the shutdown that waited for it.
	seenTraces, seenLogs, seenErrors uint64
}

func newReporter(log *slog.Logger, interval time.Duration) *reporter {
	return &reporter{
		log:      log,
		interval: interval,
		wakeCh:   make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
}

func (r *reporter) wake() {
	select {
	case r.wakeCh <- struct{}{}:
	default:
	}
}

// Handle implements otel.ErrorHandler.
func (r *reporter) Handle(err error) {
	if err == nil {
		return
	}
	r.mu.Lock()
	r.lastErr = err
	r.mu.Unlock()
	r.errors.Add(1)
	r.wake()
}

func (r *reporter) run() {
	defer close(r.done)
	t := time.NewTimer(r.interval)
	t.Stop()
	for {
		select {
		case <-r.wakeCh:
		case <-r.stop:
			return
		}
		r.report()
		t.Reset(r.interval)
		select {
		case <-t.C:
		case <-r.stop:
			t.Stop()
			return
		}
	}
}

// shutdown stops the run goroutine, then reports what it had not.
func (r *reporter) shutdown() {
	close(r.stop)
	<-r.done
	r.report()
}

func (r *reporter) report() {
	dt := r.traces.dropped.Load() - r.seenTraces
	dl := r.logs.dropped.Load() - r.seenLogs
	de := r.errors.Load() - r.seenErrors
	if dt == 0 && dl == 0 && de == 0 {
		return
	}
	r.seenTraces += dt
	r.seenLogs += dl
	r.seenErrors += de
	r.mu.Lock()
	last := r.lastErr
	r.mu.Unlock()
	attrs := []slog.Attr{
		slog.Uint64("dropped_spans", dt),
		slog.Uint64("dropped_log_records", dl),
		slog.Uint64("export_errors", de),
	}
	if de > 0 && last != nil {
		attrs = append(attrs, slog.String("last_error", last.Error()))
	}
	r.log.LogAttrs(context.Background(), slog.LevelWarn,
		"telemetry export degraded", attrs...)
}
