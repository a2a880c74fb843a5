// Package promremote receives Prometheus remote write (1.0 and 2.0) with
// Prometheus's own handler, and changes one thing: a 1.0 request that
// carries some samples the TSDB refuses (out of order, duplicate, too old)
// keeps every other sample, instead of being rolled back whole.
//
// Prometheus rolls such a 1.0 request back, and the sender, told 400,
// drops it: one late sample loses a whole batch of good ones. Remote
// write 2.0 already writes partially, so 2.0 requests pass through as
// Prometheus handles them.
package promremote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/storage/remote"
)

// New returns the remote-write handler, appending to app and registering
// its metrics on reg.
func New(app storage.AppendableV2, reg prometheus.Registerer, log *slog.Logger) http.Handler {
	rejected := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "argus_remote_write_samples_rejected_total",
		Help: "Remote-write 1.0 samples the TSDB refused while the rest of their request was stored, by reason.",
	}, []string{"reason"})
	reg.MustRegister(rejected)
	h := remote.NewWriteHandler(log, reg, lenientAppendable{app},
		remoteapi.MessageTypes{remoteapi.WriteV1MessageType, remoteapi.WriteV2MessageType}, false, false)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mt, err := remoteapi.ParseProtoMsg(r.Header.Get("Content-Type")); err == nil && mt == remoteapi.WriteV2MessageType {
			h.ServeHTTP(w, r)
			return
		}
		st := &rejections{counter: rejected}
		h.ServeHTTP(&reportingWriter{ResponseWriter: w, st: st}, r.WithContext(context.WithValue(r.Context(), rejectionsKey{}, st)))
	})
}

// rejections counts what a lenient appender refused in one request.
type rejections struct {
	n       atomic.Int64
	first   atomic.Value // string
	counter *prometheus.CounterVec
}

type rejectionsKey struct{}

// lenientAppendable gives 1.0 requests (those with rejections in their
// context) an appender that skips refused samples instead of failing.
type lenientAppendable struct{ storage.AppendableV2 }

func (l lenientAppendable) AppenderV2(ctx context.Context) storage.AppenderV2 {
	app := l.AppendableV2.AppenderV2(ctx)
	st, _ := ctx.Value(rejectionsKey{}).(*rejections)
	ea, ok := app.(storage.ExemplarAppenderV2)
	if st == nil || !ok {
		return app
	}
	return &lenientAppender{ExemplarAppenderV2: ea, st: st}
}

type lenientAppender struct {
	storage.ExemplarAppenderV2
	st *rejections
}

func (a *lenientAppender) Append(ref storage.SeriesRef, ls labels.Labels, st, t int64, v float64,
	h *histogram.Histogram, fh *histogram.FloatHistogram, o storage.AOptions) (storage.SeriesRef, error) {
	r, err := a.ExemplarAppenderV2.Append(ref, ls, st, t, v, h, fh, o)
	if reason := rejectReason(err); reason != "" {
		if a.st.n.Add(1) == 1 {
			a.st.first.Store(fmt.Sprintf("%v for series %s at %d", err, ls, t))
		}
		a.st.counter.WithLabelValues(reason).Inc()
		return r, nil // skip this sample, keep the rest of the request
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

// reportingWriter turns the handler's success into a 400 that reports the
// refused samples, as Prometheus reports a rejected request, while saying
// the rest was stored (so a sender does not resend it).
type reportingWriter struct {
	http.ResponseWriter
	st *rejections
}

func (w *reportingWriter) WriteHeader(code int) {
	if code < 300 {
		if n := w.st.n.Load(); n > 0 {
			first, _ := w.st.first.Load().(string)
			http.Error(w.ResponseWriter, fmt.Sprintf("%d samples rejected (first: %s); the other samples were stored", n, first), http.StatusBadRequest)
			return
		}
	}
	w.ResponseWriter.WriteHeader(code)
}
