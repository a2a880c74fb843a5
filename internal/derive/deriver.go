package derive

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/storage"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
)

// Defaults of the options.
const (
	DefaultInterval            = 15 * time.Second
	DefaultStaleAfter          = 15 * time.Minute
	DefaultMaxSeriesPerService = 2000
	DefaultEdgeWait            = 10 * time.Second
	DefaultMaxPendingEdges     = 10000
)

// Options configures a Deriver. The zero value of every field but
// Appendable works.
type Options struct {
	// Appendable receives the derived samples and their exemplars.
	Appendable storage.AppendableV2
	// Interval is how often the series are written. Zero means
	// DefaultInterval.
	Interval time.Duration
	// StaleAfter is how long a series may go without an observation
	// before it is marked stale and forgotten. Zero means
	// DefaultStaleAfter.
	StaleAfter   time.Duration
	SpanMetrics  SpanMetricsOptions
	ServiceGraph ServiceGraphOptions
	// Logger receives the deriver's events. Nil discards them.
	Logger *slog.Logger
	// Registerer receives the deriver's own metrics. Nil registers none.
	Registerer prometheus.Registerer
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

// SpanMetricsOptions configures the RED metrics of spans.
type SpanMetricsOptions struct {
	Disabled bool
	// Dimensions are span (or resource) attributes added as labels.
	Dimensions []string
	// MaxSeriesPerService caps the label combinations of one service;
	// past it, the service's spans are counted in one overflow series.
	// Zero means DefaultMaxSeriesPerService.
	MaxSeriesPerService int
	// Buckets are the classic histogram bounds in seconds; nil means
	// DefaultDurationBuckets.
	Buckets []float64
}

// ServiceGraphOptions configures the service graph.
type ServiceGraphOptions struct {
	Disabled bool
	// Wait is how long one side of a call waits for the other. Zero means
	// DefaultEdgeWait.
	Wait time.Duration
	// MaxPendingEdges caps the calls waiting for their other side; past
	// it, spans are counted as dropped. Zero means DefaultMaxPendingEdges.
	MaxPendingEdges int
	// PeerAttributes name an uninstrumented callee from its client span;
	// nil means DefaultPeerAttributes.
	PeerAttributes []string
	// Buckets are the latency bounds in seconds; nil means
	// DefaultServiceGraphBuckets.
	Buckets []float64
}

// Deriver turns spans into span metrics and service graph metrics as they
// are ingested, before any sampling, and writes them into the metrics
// store every Interval. Its lifecycle is New, Start, Shutdown; Observe is
// safe for concurrent use.
type Deriver struct {
	app storage.AppendableV2
	log *slog.Logger
	now func() time.Time

	mu         sync.Mutex
	opts       Options       // guarded by mu
	spans      *spanMetrics  // guarded by mu; nil when disabled
	graph      *serviceGraph // guarded by mu; nil when disabled
	lastExpire int64         // guarded by mu

	metrics  *deriverMetrics
	reset    chan struct{} // a new interval is in force
	stop     chan struct{}
	done     chan struct{}
	started  bool
	stopOnce sync.Once
}

type deriverMetrics struct {
	spans     prometheus.Counter
	overflow  *prometheus.CounterVec
	series    prometheus.Gauge
	pending   prometheus.Gauge
	flushes   *prometheus.CounterVec
	refused   prometheus.Counter
	flushTime prometheus.Histogram
}

// New returns a Deriver; it writes nothing until Start.
func New(opts Options) *Deriver {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	d := &Deriver{
		app:   opts.Appendable,
		log:   opts.Logger,
		now:   opts.Now,
		reset: make(chan struct{}, 1),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		metrics: &deriverMetrics{
			spans: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "argus_derive_spans_total", Help: "Spans turned into span metrics and service graph edges.",
			}),
			overflow: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "argus_span_metrics_overflow_spans_total",
				Help: "Spans counted in their service's overflow series because the service has max_series_per_service series.",
			}, []string{"service"}),
			series: prometheus.NewGauge(prometheus.GaugeOpts{
				Name: "argus_derive_series", Help: "Label combinations of span metrics and service graph edges in memory.",
			}),
			pending: prometheus.NewGauge(prometheus.GaugeOpts{
				Name: "argus_service_graph_pending_edges", Help: "Calls waiting for the span of their other side.",
			}),
			flushes: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "argus_derive_flushes_total", Help: "Writes of derived metrics into the metrics store, by result.",
			}, []string{"result"}),
			refused: prometheus.NewCounter(prometheus.CounterOpts{
				Name: "argus_derive_samples_refused_total", Help: "Derived samples the metrics store refused.",
			}),
			flushTime: prometheus.NewHistogram(prometheus.HistogramOpts{
				Name: "argus_derive_flush_duration_seconds", Help: "Time to write the derived metrics.",
				Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
			}),
		},
	}
	if opts.Registerer != nil {
		m := d.metrics
		opts.Registerer.MustRegister(m.spans, m.overflow, m.series, m.pending, m.flushes, m.refused, m.flushTime)
	}
	d.apply(opts)
	return d
}

// apply puts options in force. Series whose labels the new options would
// not produce age out as stale.
func (d *Deriver) apply(opts Options) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.StaleAfter <= 0 {
		opts.StaleAfter = DefaultStaleAfter
	}
	old := d.opts
	d.opts = opts
	if opts.SpanMetrics.Disabled {
		d.spans = nil
	} else if d.spans == nil || !sameSpanMetrics(old.SpanMetrics, opts.SpanMetrics) {
		next := newSpanMetrics(opts.SpanMetrics, d.reportOverflow)
		if d.spans != nil {
			// Keep the series already counting: their values must not go
			// back to zero. New label combinations follow the new options;
			// a series whose labels they still make is found under the key
			// they give it, so it keeps counting rather than being made
			// anew, from zero, under the same labels.
			for k, s := range d.spans.series {
				if nk, ok := next.keyOf(s.calls.labels); ok {
					k = nk
				}
				next.series[k] = s
			}
			next.perService = d.spans.perService
			next.overflowed = d.spans.overflowed
		}
		d.spans = next
	}
	if opts.ServiceGraph.Disabled {
		d.graph = nil
	} else if d.graph == nil {
		d.graph = newServiceGraph(opts.ServiceGraph)
	} else {
		ng := newServiceGraph(opts.ServiceGraph)
		ng.pending, ng.edges, ng.unpaired, ng.dropped = d.graph.pending, d.graph.edges, d.graph.unpaired, d.graph.dropped
		d.graph = ng
	}
}

func sameSpanMetrics(a, b SpanMetricsOptions) bool {
	return a.Disabled == b.Disabled && a.MaxSeriesPerService == b.MaxSeriesPerService &&
		slices.Equal(a.Dimensions, b.Dimensions) && slices.Equal(a.Buckets, b.Buckets)
}

// ApplyOptions puts new options in force (a config reload). Appendable,
// Logger, Registerer and Now are kept from New.
func (d *Deriver) ApplyOptions(opts Options) {
	d.mu.Lock()
	opts.Appendable, opts.Logger, opts.Registerer, opts.Now = d.opts.Appendable, d.opts.Logger, d.opts.Registerer, d.opts.Now
	d.mu.Unlock()
	d.apply(opts)
	select {
	case d.reset <- struct{}{}:
	default:
	}
}

// reportOverflow is called, with d.mu held, the first time a service
// reaches its series limit.
func (d *Deriver) reportOverflow(service string) {
	d.log.Warn("span metrics: service reached max_series_per_service; its new label combinations are counted in one overflow series",
		"service", service, "max_series_per_service", d.spans.maxSeries, "overflow_label", LabelOverflow+`="true"`)
}

// Observe derives metrics from spans that were just stored. It does not
// keep the spans or anything they reference.
func (d *Deriver) Observe(spans []model.Span) {
	now := d.now().UnixMilli()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.spans == nil && d.graph == nil {
		return
	}
	for i := range spans {
		sp := &spans[i]
		corrID := correlationOf(sp)
		if d.spans != nil {
			if svc := d.spans.observe(sp, corrID, now); svc != "" {
				d.metrics.overflow.WithLabelValues(svc).Inc()
			}
		}
		if d.graph != nil {
			d.graph.observe(sp, corrID, now)
		}
	}
	if d.graph != nil {
		d.graph.ownPending()
	}
	// Settle the calls whose other side is overdue about once a second.
	if d.graph != nil && now-d.lastExpire >= 1000 {
		d.graph.expire(now)
		d.lastExpire = now
	}
	d.metrics.spans.Add(float64(len(spans)))
}

// Start writes the derived series every Interval until Shutdown.
func (d *Deriver) Start(context.Context) {
	d.started = true
	go d.loop()
}

func (d *Deriver) loop() {
	defer close(d.done)
	d.mu.Lock()
	interval := d.opts.Interval
	d.mu.Unlock()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-d.reset:
			d.mu.Lock()
			interval = d.opts.Interval
			d.mu.Unlock()
			tick.Reset(interval)
		case <-tick.C:
			d.Flush(context.Background())
		}
	}
}

// Flush settles overdue calls and writes every derived series now.
func (d *Deriver) Flush(ctx context.Context) error {
	start := time.Now()
	d.mu.Lock()
	now := d.now().UnixMilli()
	staleBefore := now - d.opts.StaleAfter.Milliseconds()
	w := &flushWriter{app: d.app.AppenderV2(ctx)}
	series := 0
	if d.graph != nil {
		d.graph.expire(now)
		d.lastExpire = now
		d.graph.flush(w, now, staleBefore)
		series += len(d.graph.edges)
		d.metrics.pending.Set(float64(len(d.graph.pending)))
	}
	if d.spans != nil {
		d.spans.flush(w, now, staleBefore)
		series += len(d.spans.series)
	}
	d.mu.Unlock()
	d.metrics.series.Set(float64(series))
	err := w.app.Commit()
	d.metrics.refused.Add(float64(w.refused))
	d.metrics.flushTime.Observe(time.Since(start).Seconds())
	if w.firstErr != nil {
		d.log.Warn("derived metrics: samples refused by the metrics store", "refused", w.refused, "of", w.samples, "first_error", w.firstErr)
	}
	if err != nil {
		d.metrics.flushes.WithLabelValues("failure").Inc()
		d.log.Error("derived metrics: write failed", "error", err)
		return err
	}
	d.metrics.flushes.WithLabelValues("success").Inc()
	return nil
}

// Shutdown stops the periodic writes and writes once more, so spans
// observed before Shutdown are counted. It is idempotent.
func (d *Deriver) Shutdown(ctx context.Context) error {
	var err error
	d.stopOnce.Do(func() {
		close(d.stop)
		if d.started {
			<-d.done
		}
		err = d.Flush(ctx)
	})
	return err
}

// Writer stores spans with Next and then derives metrics from them.
type Writer struct {
	Next    store.TraceWriter
	Deriver *Deriver
}

// WriteSpans implements store.TraceWriter. Spans are derived from only
// once they are stored, so a refused write is not counted.
func (w Writer) WriteSpans(ctx context.Context, spans []model.Span) error {
	if err := w.Next.WriteSpans(ctx, spans); err != nil {
		return err
	}
	w.Deriver.Observe(spans)
	return nil
}
