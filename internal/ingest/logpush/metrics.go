package logpush

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/argus-obs/argus/internal/ingest/ingestmetrics"
)

// protocol is the push protocol a request spoke; its name is the protocol
// label value.
type protocol uint8

const (
	protoLoki protocol = iota
	protoElasticsearch
	protoJSONLines
	numProtocols
)

var protocolNames = [numProtocols]string{"loki", "elasticsearch", "jsonlines"}

// reason says why a record was refused; its name is the reason label value.
type reason uint8

const (
	reasonInvalid           reason = iota // not decodable, or a field (time, labels) that cannot be used
	reasonTooOld                          // older than Options.MaxAge
	reasonTooNew                          // further ahead than Options.MaxFuture
	reasonLineTooLong                     // longer than Options.MaxLineBytes
	reasonTooManyAttributes               // more than Options.MaxAttributes
	numReasons
)

var reasonNames = [numReasons]string{"invalid", "too_old", "too_new", "line_too_long", "too_many_attributes"}

// metrics holds the counters with every label combination resolved up
// front, so counting on the request path is a few atomic adds and every
// series exists, at zero, before the first request.
type metrics [numProtocols]protocolMetrics

type protocolMetrics struct {
	received prometheus.Counter
	accepted prometheus.Counter
	rejected [numReasons]prometheus.Counter
	requests [ingestmetrics.NumOutcomes]prometheus.Counter
}

// newMetrics resolves the series of the log record families, which
// Argus's other log ingest paths share, registered with reg when it is
// not nil.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	l, err := ingestmetrics.NewLogRecords(reg)
	if err != nil {
		return nil, fmt.Errorf("register log ingest metrics: %w", err)
	}
	var m metrics
	for p := range numProtocols {
		pm := &m[p]
		pn := protocolNames[p]
		pm.received = l.Received.WithLabelValues(pn)
		pm.accepted = l.Accepted.WithLabelValues(pn)
		for r := range numReasons {
			pm.rejected[r] = l.Rejected.WithLabelValues(pn, reasonNames[r])
		}
		for o := range ingestmetrics.NumOutcomes {
			pm.requests[o] = l.Requests.WithLabelValues(pn, o.String())
		}
	}
	return &m, nil
}
