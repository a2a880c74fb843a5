package otlp

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// protocol is the transport a request came over; its String form is the
// protocol label value.
type protocol uint8

const (
	protoGRPC protocol = iota
	protoHTTP
	numProtocols
)

var protocolNames = [numProtocols]string{"grpc", "http"}

// outcome is how a request ended; its String form is the outcome label
// value. Each HTTP status and gRPC code the receiver answers with maps to
// exactly one outcome, so dashboards need not know either protocol.
type outcome uint8

const (
	outcomeSuccess          outcome = iota // every span stored
	outcomePartialSuccess                  // valid spans stored, some rejected
	outcomeBadRequest                      // HTTP 400: body could not be read or parsed
	outcomeTooLarge                        // HTTP 413, gRPC RESOURCE_EXHAUSTED without retry
	outcomeUnsupportedMedia                // HTTP 415: content type or encoding
	outcomeMethodNotAllowed                // HTTP 405
	outcomeOverloaded                      // HTTP 429, gRPC RESOURCE_EXHAUSTED with RetryInfo
	outcomeUnavailable                     // HTTP 503, gRPC UNAVAILABLE: the store failed
	outcomeCanceled                        // the client went away before the write finished
	numOutcomes
)

var outcomeNames = [numOutcomes]string{
	"success", "partial_success", "bad_request", "too_large",
	"unsupported_media_type", "method_not_allowed", "overloaded", "unavailable", "canceled",
}

// metrics holds the receiver's counters with every label combination
// resolved up front, so counting on the request path is a few atomic adds
// and the series exist (at zero) before the first request.
type metrics [numProtocols]protocolMetrics

type protocolMetrics struct {
	spansReceived prometheus.Counter
	spansAccepted prometheus.Counter
	spansRejected [numRejectReasons]prometheus.Counter
	requests      [numOutcomes]prometheus.Counter
	requestBytes  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	received := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "argus_ingest_spans_received_total",
		Help: "Spans received over OTLP, before validation.",
	}, []string{"protocol"})
	accepted := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "argus_ingest_spans_accepted_total",
		Help: "Spans received over OTLP and stored.",
	}, []string{"protocol"})
	rejected := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "argus_ingest_spans_rejected_total",
		Help: "Spans received over OTLP and refused as invalid, by reason. Spans neither accepted nor rejected were refused with a retryable error.",
	}, []string{"protocol", "reason"})
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "argus_ingest_trace_requests_total",
		Help: "OTLP trace export requests, by how they ended.",
	}, []string{"protocol", "outcome"})
	reqBytes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "argus_ingest_trace_request_bytes_total",
		Help: "Bytes of OTLP trace export messages within the size limit, after decompression: the HTTP body, or the protobuf size of a gRPC request.",
	}, []string{"protocol"})

	if reg != nil {
		var err error
		for _, v := range []**prometheus.CounterVec{&received, &accepted, &rejected, &requests, &reqBytes} {
			if *v, err = register(reg, *v); err != nil {
				return nil, err
			}
		}
	}

	var m metrics
	for p := range numProtocols {
		pm := &m[p]
		pn := protocolNames[p]
		pm.spansReceived = received.WithLabelValues(pn)
		pm.spansAccepted = accepted.WithLabelValues(pn)
		for r := range numRejectReasons {
			pm.spansRejected[r] = rejected.WithLabelValues(pn, r.String())
		}
		for o := range numOutcomes {
			pm.requests[o] = requests.WithLabelValues(pn, outcomeNames[o])
		}
		pm.requestBytes = reqBytes.WithLabelValues(pn)
	}
	return &m, nil
}

// register registers c, or returns the counter already registered under
// the same description, so that two receivers built on one registry (a
// test, or an app rebuilt on reload) share their counters instead of
// failing.
func register(reg prometheus.Registerer, c *prometheus.CounterVec) (*prometheus.CounterVec, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
			return existing, nil
		}
	}
	return nil, fmt.Errorf("register otlp ingest metrics: %w", err)
}
