// Package ingestmetrics holds the metric families several ingest paths
// count into, declared once so they share one registry.
//
// Every log ingest path (OTLP, the log push protocols, syslog) counts
// into the same LogRecords families and tells itself apart by the protocol
// label value, so a dashboard sums or splits them without knowing the
// protocols; the request paths also share the outcome label values,
// Outcome. Two paths, or one rebuilt on a config reload, that register
// the same families on one registry get the collectors already there
// rather than an error: see Register.
//
// The package declares families only. Each ingest path resolves its own
// series (its protocol, reason and outcome label values) up front, so
// counting on the request path stays an atomic add.
package ingestmetrics

import (
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c with reg, or returns the collector already
// registered under the same description when it is also a C, so that
// collectors built twice on one registry (two ingest paths sharing a
// family, a test, an app rebuilt on reload) share their series instead of
// failing. Any other error is reg's, unwrapped, for the caller to wrap.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	var zero C
	return zero, err
}

// LogRecords are the counter families of log ingest, shared by every path
// that takes log records. Their names, help texts and label names are
// fixed: a path that declared them differently could not share the
// registry with the others.
type LogRecords struct {
	// Received counts records received, before validation.
	// Labels: protocol.
	Received *prometheus.CounterVec
	// Accepted counts records received and stored. Labels: protocol.
	Accepted *prometheus.CounterVec
	// Rejected counts records refused as invalid, by reason. Records
	// neither accepted nor rejected were refused with a retryable error.
	// Labels: protocol, reason.
	Rejected *prometheus.CounterVec
	// Requests counts push requests by how they ended, for the paths that
	// take requests. Labels: protocol, outcome.
	Requests *prometheus.CounterVec
}

// NewLogRecords returns the log record families registered with reg, or
// the ones already registered there; with a nil reg they are left
// unregistered. Families without series are not exposed, so a path that
// never counts requests registering Requests changes nothing it exports.
func NewLogRecords(reg prometheus.Registerer) (*LogRecords, error) {
	l := &LogRecords{
		Received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_ingest_log_records_received_total",
			Help: "Log records received, before validation, by protocol.",
		}, []string{"protocol"}),
		Accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_ingest_log_records_accepted_total",
			Help: "Log records received and stored, by protocol.",
		}, []string{"protocol"}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_ingest_log_records_rejected_total",
			Help: "Log records refused, by protocol and reason. Records neither accepted nor rejected were refused with a retryable error.",
		}, []string{"protocol", "reason"}),
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "argus_ingest_log_requests_total",
			Help: "Log push requests, by protocol and how they ended.",
		}, []string{"protocol", "outcome"}),
	}
	if reg == nil {
		return l, nil
	}
	for _, v := range []**prometheus.CounterVec{&l.Received, &l.Accepted, &l.Rejected, &l.Requests} {
		var err error
		if *v, err = Register(reg, *v); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// Outcome is how an ingest request ended; its String form is the outcome
// label value of LogRecords.Requests and of OTLP's trace request counter.
// Each answer an ingest path gives, whatever its protocol's status codes,
// maps to exactly one outcome, so dashboards need not know the protocols.
type Outcome uint8

// The outcomes, with the HTTP status and gRPC code each stands for.
const (
	OutcomeSuccess          Outcome = iota // every item stored
	OutcomePartialSuccess                  // the valid items stored, some refused
	OutcomeBadRequest                      // HTTP 400: the body could not be read or parsed
	OutcomeTooLarge                        // HTTP 413, gRPC RESOURCE_EXHAUSTED without retry
	OutcomeUnsupportedMedia                // HTTP 415: content type or encoding
	OutcomeMethodNotAllowed                // HTTP 405
	OutcomeOverloaded                      // HTTP 429, gRPC RESOURCE_EXHAUSTED with RetryInfo: the store refused with store.ErrOverloaded
	OutcomeUnavailable                     // HTTP 503, gRPC UNAVAILABLE: the store failed otherwise
	OutcomeCanceled                        // the client went away before the write finished
	NumOutcomes                            // the number of outcomes, not one itself
)

var outcomeNames = [NumOutcomes]string{
	"success", "partial_success", "bad_request", "too_large",
	"unsupported_media_type", "method_not_allowed", "overloaded", "unavailable", "canceled",
}

// String returns the outcome label value.
func (o Outcome) String() string {
	if o < NumOutcomes {
		return outcomeNames[o]
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}
