package otlpmetrics

import (
	"fmt"
	"mime"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"github.com/argus-obs/argus/internal/store/metrics"
)

// PartialSuccess wraps an OTLP/HTTP metrics handler whose appender is
// metrics.Lenient, so a request with some samples the TSDB refuses (out of
// order, duplicate, too old) stores the rest and is answered, as the OTLP
// specification asks, with 200 and a partial_success naming what was
// dropped. Refusals are counted on reg.
func PartialSuccess(h http.Handler, reg prometheus.Registerer) http.Handler {
	rejected := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "argus_otlp_metrics_samples_rejected_total",
		Help: "OTLP metric samples the TSDB refused while the rest of their request was stored, by reason.",
	}, []string{"reason"})
	reg.MustRegister(rejected)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rej := &metrics.Rejections{OnReject: func(reason string) { rejected.WithLabelValues(reason).Inc() }}
		json := false
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt == "application/json" {
			json = true
		}
		h.ServeHTTP(&partialWriter{ResponseWriter: w, rej: rej, json: json}, r.WithContext(metrics.WithRejections(r.Context(), rej)))
	})
}

// partialWriter replaces a success answer by an ExportMetricsServiceResponse
// carrying partial_success when samples were refused.
type partialWriter struct {
	http.ResponseWriter
	rej         *metrics.Rejections
	json        bool
	replaced    bool
	wroteHeader bool
}

func (w *partialWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	n := w.rej.Count()
	if code >= 300 || n == 0 {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	resp := pmetricotlp.NewExportResponse()
	points := w.rej.DataPoints()
	resp.PartialSuccess().SetRejectedDataPoints(points)
	resp.PartialSuccess().SetErrorMessage(fmt.Sprintf("%d data points (%d samples) rejected (first: %s); the other samples were stored", points, n, w.rej.First()))
	var body []byte
	var err error
	if w.json {
		w.Header().Set("Content-Type", "application/json")
		body, err = resp.MarshalJSON()
	} else {
		w.Header().Set("Content-Type", "application/x-protobuf")
		body, err = resp.MarshalProto()
	}
	if err != nil {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.ResponseWriter.WriteHeader(http.StatusOK)
	w.ResponseWriter.Write(body)
	w.replaced = true
}

func (w *partialWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.replaced {
		return len(b), nil // the partial-success body stands in for it
	}
	return w.ResponseWriter.Write(b)
}
