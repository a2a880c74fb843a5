// Package promremote receives Prometheus remote write (1.0 and 2.0) with
// Prometheus's own handler, and changes two things. A 1.0 request that
// carries some samples the TSDB refuses (out of order, duplicate, too old)
// keeps every other sample, instead of being rolled back whole. And a 1.0
// request of float samples alone, what senders send nearly always, is
// decoded by a path of its own into reused buffers (fast.go), which
// stores and answers the same at a fraction of the allocations.
//
// Prometheus rolls such a 1.0 request back, and the sender, told 400,
// drops it: one late sample loses a whole batch of good ones. Remote
// write 2.0 already writes partially, so 2.0 requests pass through as
// Prometheus handles them.
package promremote

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/storage/remote"

	"github.com/argus-obs/argus/internal/store/metrics"
)

// New returns the remote-write handler, appending to app and registering
// its metrics on reg.
func New(app storage.AppendableV2, reg prometheus.Registerer, log *slog.Logger) http.Handler {
	return newHandler(app, reg, log, true)
}

// newHandler is New, with the fast path for 1.0 requests or without it
// (for tests that compare the two).
func newHandler(app storage.AppendableV2, reg prometheus.Registerer, log *slog.Logger, fast bool) http.Handler {
	rejected := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "argus_remote_write_samples_rejected_total",
		Help: "Remote-write 1.0 samples the TSDB refused while the rest of their request was stored, by reason.",
	}, []string{"reason"})
	reg.MustRegister(rejected)
	lenient := metrics.Lenient(app)
	h := remote.NewWriteHandler(log, reg, lenient,
		remoteapi.MessageTypes{remoteapi.WriteV1MessageType, remoteapi.WriteV2MessageType}, false, false)
	var v1 http.Handler = h
	if fast {
		v1 = &fastWriter{app: lenient, stock: h, now: time.Now}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct := r.Header.Get("Content-Type")
		if ct == "" {
			ct = "application/x-protobuf"
		}
		mt, err := remoteapi.ParseProtoMsg(ct)
		if err != nil || mt != remoteapi.WriteV1MessageType {
			h.ServeHTTP(w, r) // 2.0, or a content type it refuses
			return
		}
		rej := &metrics.Rejections{OnReject: func(reason string) { rejected.WithLabelValues(reason).Inc() }}
		v1.ServeHTTP(&reportingWriter{ResponseWriter: w, rej: rej}, r.WithContext(metrics.WithRejections(r.Context(), rej)))
	})
}

// reportingWriter turns the handler's success into a 400 that reports the
// refused samples, as Prometheus reports a rejected request, while saying
// the rest was stored (so a sender does not resend it).
type reportingWriter struct {
	http.ResponseWriter
	rej *metrics.Rejections
}

func (w *reportingWriter) WriteHeader(code int) {
	if n := w.rej.Count(); code < 300 && n > 0 {
		http.Error(w.ResponseWriter, fmt.Sprintf("%d samples rejected (first: %s); the other samples were stored", n, w.rej.First()), http.StatusBadRequest)
		return
	}
	w.ResponseWriter.WriteHeader(code)
}
