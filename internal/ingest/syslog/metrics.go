package syslog

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/argus-obs/argus/internal/ingest/ingestmetrics"
)

// protocolLabel is the protocol label value of the ingest counters, which
// the OTLP logs receiver shares with other values.
const protocolLabel = "syslog"

// reason is why a record was refused; its name is the reason label value.
type reason uint8

const (
	reasonInvalid           reason = iota // the PRI or the octet-counting frame is malformed
	reasonTooLarge                        // longer than Options.MaxMessageBytes
	reasonDroppedOverloaded               // the store could not take it in time (UDP, or at shutdown)
	numReasons
)

var reasonNames = [numReasons]string{"invalid", "too_large", "dropped_overloaded"}

// metrics holds the receiver's series with their labels resolved up
// front, so counting is an atomic add and every series exists at zero.
type metrics struct {
	received    prometheus.Counter
	accepted    prometheus.Counter
	rejected    [numReasons]prometheus.Counter
	connections prometheus.Gauge
}

// newMetrics builds the metrics and registers them on reg (nil leaves
// them unregistered). The counters are the log record families that the
// other log receivers count into too, told apart by the protocol label.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	l, err := ingestmetrics.NewLogRecords(reg)
	if err != nil {
		return nil, fmt.Errorf("register syslog ingest metrics: %w", err)
	}
	connections := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "argus_syslog_connections",
		Help: "Open syslog TCP connections.",
	})
	if reg != nil {
		if connections, err = ingestmetrics.Register(reg, connections); err != nil {
			return nil, fmt.Errorf("register syslog ingest metrics: %w", err)
		}
	}
	m := &metrics{
		received:    l.Received.WithLabelValues(protocolLabel),
		accepted:    l.Accepted.WithLabelValues(protocolLabel),
		connections: connections,
	}
	for r := range numReasons {
		m.rejected[r] = l.Rejected.WithLabelValues(protocolLabel, reasonNames[r])
	}
	return m, nil
}
