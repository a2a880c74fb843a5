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
	"fmt"
	"log/slog"
	"net/http"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/storage/remote"

	"github.com/argus-obs/argus/internal/store/metrics"
)

// New returns the remote-write handler, appending to app and registering
// its metrics on reg.
func New(app storage.AppendableV2, reg prometheus.Registerer, log *slog.Logger) http.Handler {
	rejected := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "argus_remote_write_samples_rejected_total",
		Help: "Remote-write 1.0 samples the TSDB refused while the rest of their request was stored, by reason.",
	}, []string{"reason"})
	reg.MustRegister(rejected)
	h := remote.NewWriteHandler(log, reg, metrics.Lenient(app),
		remoteapi.MessageTypes{remoteapi.WriteV1MessageType, remoteapi.WriteV2MessageType}, false, false)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mt, err := remoteapi.ParseProtoMsg(r.Header.Get("Content-Type")); err == nil && mt == remoteapi.WriteV2MessageType {
			h.ServeHTTP(w, r)
			return
		}
		rej := &metrics.Rejections{OnReject: func(reason string) { rejected.WithLabelValues(reason).Inc() }}
		h.ServeHTTP(&reportingWriter{ResponseWriter: w, rej: rej}, r.WithContext(metrics.WithRejections(r.Context(), rej)))
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
