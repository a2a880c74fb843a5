package otlp

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/argus-obs/argus/internal/ingest/ingestmetrics"
)

// protocol is the transport a request came over; each signal names it in
// its protocol label with its own spelling.
type protocol uint8

const (
	protoGRPC protocol = iota
	protoHTTP
	numProtocols
)

// protocolNames are the protocol label values of the trace counters.
var protocolNames = [numProtocols]string{"grpc", "http"}

// logProtocolNames are the protocol label values of the log counters. Other
// log ingest paths count into the same series under their own protocol,
// so these name OTLP in full.
var logProtocolNames = [numProtocols]string{"otlp_grpc", "otlp_http"}

// metrics holds one receiver's counters with every label combination
// resolved up front, so counting on the request path is a few atomic adds
// and the series exist (at zero) before the first request.
type metrics [numProtocols]signalMetrics

// signalMetrics are the counters of one signal (spans, log records) over
// one protocol.
type signalMetrics struct {
	received     prometheus.Counter
	accepted     prometheus.Counter
	rejected     []prometheus.Counter // indexed by the signal's reject reason
	requests     [ingestmetrics.NumOutcomes]prometheus.Counter
	requestBytes prometheus.Counter // nil when the signal does not count bytes
}

// counterVecs are one signal's metric families. Labels: received and
// accepted {protocol}, rejected {protocol, reason}, requests {protocol,
// outcome}, requestBytes {protocol}.
type counterVecs struct {
	received, accepted, rejected, requests *prometheus.CounterVec
	requestBytes                           *prometheus.CounterVec // optional
}

// newMetrics makes the trace receiver's counters, registered with reg
// when it is not nil.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	v := counterVecs{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_ingest_spans_received_total",
			Help: "Spans received over OTLP, before validation.",
		}, []string{"protocol"}),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_ingest_spans_accepted_total",
			Help: "Spans received over OTLP and stored.",
		}, []string{"protocol"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_ingest_spans_rejected_total",
			Help: "Spans received over OTLP and refused as invalid, by reason. Spans neither accepted nor rejected were refused with a retryable error.",
		}, []string{"protocol", "reason"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_ingest_trace_requests_total",
			Help: "OTLP trace export requests, by how they ended.",
		}, []string{"protocol", "outcome"}),
		requestBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_ingest_trace_request_bytes_total",
			Help: "Bytes of OTLP trace export messages within the size limit, after decompression: the HTTP body, or the protobuf size of a gRPC request.",
		}, []string{"protocol"}),
	}
	if reg != nil {
		for _, c := range []**prometheus.CounterVec{&v.received, &v.accepted, &v.rejected, &v.requests, &v.requestBytes} {
			var err error
			if *c, err = ingestmetrics.Register(reg, *c); err != nil {
				return nil, fmt.Errorf("register otlp ingest metrics: %w", err)
			}
		}
	}
	return v.resolve(&protocolNames, rejectReasonNames[:]), nil
}

// newLogMetrics makes the log receiver's counters, in the log record
// families that Argus's other log ingest paths count into too.
func newLogMetrics(reg prometheus.Registerer) (*metrics, error) {
	l, err := ingestmetrics.NewLogRecords(reg)
	if err != nil {
		return nil, fmt.Errorf("register otlp ingest metrics: %w", err)
	}
	v := counterVecs{received: l.Received, accepted: l.Accepted, rejected: l.Rejected, requests: l.Requests}
	return v.resolve(&logProtocolNames, logRejectReasonNames[:]), nil
}

// resolve resolves every series for the given protocol label values and
// reject reasons.
func (v counterVecs) resolve(protocols *[numProtocols]string, reasons []string) *metrics {
	var m metrics
	for p := range numProtocols {
		sm := &m[p]
		pn := protocols[p]
		sm.received = v.received.WithLabelValues(pn)
		sm.accepted = v.accepted.WithLabelValues(pn)
		sm.rejected = make([]prometheus.Counter, len(reasons))
		for i, reason := range reasons {
			sm.rejected[i] = v.rejected.WithLabelValues(pn, reason)
		}
		for o := range ingestmetrics.NumOutcomes {
			sm.requests[o] = v.requests.WithLabelValues(pn, o.String())
		}
		if v.requestBytes != nil {
			sm.requestBytes = v.requestBytes.WithLabelValues(pn)
		}
	}
	return &m
}
