package colstore

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the store's Prometheus metrics, labelled with the store's
// name so the traces and logs stores can share a registry.
type metrics struct {
	reg        prometheus.Registerer
	collectors []prometheus.Collector

	rowsWritten       prometheus.Counter
	walBytes          prometheus.Counter
	overloaded        prometheus.Counter
	flushes           prometheus.Counter
	flushErrors       prometheus.Counter
	flushSeconds      prometheus.Histogram
	merges            prometheus.Counter
	mergedRows        prometheus.Counter
	mergeCopiedRows   prometheus.Counter
	mergeErrors       prometheus.Counter
	mergeSeconds      prometheus.Histogram
	searchSeconds     prometheus.Histogram
	quarantined       prometheus.Counter
	corruptBlocks     prometheus.Counter
	walCorrupt        prometheus.Counter
	partitionsDropped prometheus.Counter
}

func newMetrics(s *Store, name string, reg prometheus.Registerer) *metrics {
	labels := prometheus.Labels{"store": name}
	counter := func(n, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "argus", Subsystem: "colstore", Name: n, Help: help, ConstLabels: labels})
	}
	histogram := func(n, help string) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "argus", Subsystem: "colstore", Name: n, Help: help, ConstLabels: labels,
			Buckets:                        prometheus.ExponentialBuckets(0.0005, 4, 10),
			NativeHistogramBucketFactor:    1.1,
			NativeHistogramMaxBucketNumber: 100,
		})
	}
	gauge := func(n, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "argus", Subsystem: "colstore", Name: n, Help: help, ConstLabels: labels}, f)
	}
	m := &metrics{
		reg:               reg,
		rowsWritten:       counter("rows_written_total", "Rows acknowledged by Write."),
		walBytes:          counter("wal_bytes_written_total", "Bytes appended to the write-ahead log."),
		overloaded:        counter("writes_overloaded_total", "Writes refused because too much data waited to be flushed."),
		flushes:           counter("flushes_total", "Memtable flushes that wrote a part."),
		flushErrors:       counter("flush_errors_total", "Flushes that failed and will be retried."),
		flushSeconds:      histogram("flush_duration_seconds", "Time to write one partition's memtable as a part."),
		merges:            counter("merges_total", "Background merges completed."),
		mergedRows:        counter("merged_rows_total", "Rows of the parts background merges replaced."),
		mergeCopiedRows:   counter("merge_copied_rows_total", "Rows background merges copied in blocks as stored, without decoding them."),
		mergeErrors:       counter("merge_errors_total", "Background merges that failed."),
		mergeSeconds:      histogram("merge_duration_seconds", "Time of one background merge."),
		searchSeconds:     histogram("search_duration_seconds", "Time of one search."),
		quarantined:       counter("parts_quarantined_total", "Damaged part files moved to quarantine at start-up."),
		corruptBlocks:     counter("corrupt_blocks_read_total", "Damaged blocks met by searches and skipped."),
		walCorrupt:        counter("wal_corrupt_segments_total", "Write-ahead log segments found damaged at start-up."),
		partitionsDropped: counter("partitions_dropped_total", "Day partitions removed by retention."),
	}
	m.collectors = []prometheus.Collector{
		m.rowsWritten, m.walBytes, m.overloaded, m.flushes, m.flushErrors, m.flushSeconds,
		m.merges, m.mergedRows, m.mergeCopiedRows, m.mergeErrors, m.mergeSeconds, m.searchSeconds,
		m.quarantined, m.corruptBlocks, m.walCorrupt, m.partitionsDropped,
		gauge("parts", "Part files being served.", func() float64 { return float64(s.Stats().Parts) }),
		gauge("part_bytes", "Bytes of the part files being served.", func() float64 { return float64(s.Stats().PartBytes) }),
		gauge("rows", "Rows in served parts.", func() float64 { return float64(s.Stats().PartRows) }),
		gauge("memtable_bytes", "Bytes of rows waiting to be flushed.", func() float64 { return float64(s.pendingBytes.Load()) }),
		gauge("partitions", "Day partitions.", func() float64 { return float64(s.Stats().Partitions) }),
	}
	if reg != nil {
		for _, c := range m.collectors {
			reg.MustRegister(c)
		}
	}
	return m
}

func (m *metrics) unregister() {
	if m.reg == nil {
		return
	}
	for _, c := range m.collectors {
		m.reg.Unregister(c)
	}
}

// Stats is a snapshot of the store's size.
type Stats struct {
	Partitions   int
	Parts        int
	PartRows     uint64
	PartBytes    uint64
	PendingBytes int64 // memtable and data being flushed
}

// Stats returns the store's current size.
func (s *Store) Stats() Stats {
	st := Stats{PendingBytes: s.pendingBytes.Load()}
	s.mu.RLock()
	defer s.mu.RUnlock()
	st.Partitions = len(s.partitions)
	for _, p := range s.partitions {
		p.mu.RLock()
		for _, pt := range p.parts {
			st.Parts++
			st.PartRows += pt.meta.rows
			st.PartBytes += pt.meta.size
		}
		p.mu.RUnlock()
	}
	return st
}
