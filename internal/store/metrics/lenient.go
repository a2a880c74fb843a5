package metrics

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// Rejections counts the samples a lenient appender skipped while serving
// one request. It is safe for concurrent use.
type Rejections struct {
	n     atomic.Int64
	first atomic.Value // string: the first refusal, for the client
	// OnReject, when set, is called with the reason of each refusal
	// ("out_of_order", "duplicate", "too_old", "out_of_bounds").
	OnReject func(reason string)

	mu     sync.Mutex
	points map[pointKey]struct{} // guarded by mu
}

// pointKey identifies the data point a sample came from: a classic
// histogram's _bucket, _sum and _count samples (and a summary's
// quantiles) at one time are one OTLP data point.
type pointKey struct {
	series uint64
	t      int64
}

// Count returns how many samples were refused.
func (r *Rejections) Count() int64 { return r.n.Load() }

// DataPoints returns how many data points the refused samples belong to,
// counting the samples of one classic histogram or summary point (its
// buckets or quantiles, _sum and _count at one time) once, as OTLP's
// rejected_data_points counts them.
func (r *Rejections) DataPoints() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return int64(len(r.points))
}

func (r *Rejections) addPoint(ls labels.Labels, t int64) {
	b := labels.NewBuilder(ls).Del(labels.BucketLabel, "quantile")
	name := ls.Get(model.MetricNameLabel)
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			b.Set(model.MetricNameLabel, base)
			break
		}
	}
	k := pointKey{series: b.Labels().Hash(), t: t}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.points == nil {
		r.points = map[pointKey]struct{}{}
	}
	r.points[k] = struct{}{}
}

// First describes the first refused sample.
func (r *Rejections) First() string { s, _ := r.first.Load().(string); return s }

type rejectionsKey struct{}

// WithRejections returns a context under which appenders from Lenient skip
// refused samples and count them in r.
func WithRejections(ctx context.Context, r *Rejections) context.Context {
	return context.WithValue(ctx, rejectionsKey{}, r)
}

// Lenient wraps app so that, for requests whose context carries
// Rejections, a sample the TSDB refuses (out of order, duplicate, too
// old, out of bounds) is skipped and counted instead of failing the whole
// batch: every valid sample of a request is stored. Without Rejections in
// the context it behaves as app.
func Lenient(app storage.AppendableV2) storage.AppendableV2 { return lenientAppendable{app} }

type lenientAppendable struct{ storage.AppendableV2 }

func (l lenientAppendable) AppenderV2(ctx context.Context) storage.AppenderV2 {
	app := l.AppendableV2.AppenderV2(ctx)
	rej, _ := ctx.Value(rejectionsKey{}).(*Rejections)
	ea, ok := app.(storage.ExemplarAppenderV2)
	if rej == nil || !ok {
		return app
	}
	return &lenientAppender{ExemplarAppenderV2: ea, rej: rej}
}

type lenientAppender struct {
	storage.ExemplarAppenderV2
	rej *Rejections
}

func (a *lenientAppender) Append(ref storage.SeriesRef, ls labels.Labels, st, t int64, v float64,
	h *histogram.Histogram, fh *histogram.FloatHistogram, o storage.AOptions) (storage.SeriesRef, error) {
	r, err := a.ExemplarAppenderV2.Append(ref, ls, st, t, v, h, fh, o)
	if reason := rejectReason(err); reason != "" {
		if a.rej.n.Add(1) == 1 {
			a.rej.first.Store(fmt.Sprintf("%v for series %s at %d", err, ls, t))
		}
		a.rej.addPoint(ls, t)
		if a.rej.OnReject != nil {
			a.rej.OnReject(reason)
		}
		return r, nil
	}
	return r, err
}

func rejectReason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, storage.ErrOutOfOrderSample):
		return "out_of_order"
	case errors.Is(err, storage.ErrDuplicateSampleForTimestamp):
		return "duplicate"
	case errors.Is(err, storage.ErrTooOldSample):
		return "too_old"
	case errors.Is(err, storage.ErrOutOfBounds):
		return "out_of_bounds"
	}
	return ""
}
