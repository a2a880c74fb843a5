package colstore

import "os"

// applyRetention removes every day partition whose rows are all older
// than the retention period: one directory delete per day, no rewriting.
func (s *Store) applyRetention() {
	if s.opts.Retention <= 0 {
		return
	}
	cutoff := s.opts.Now().Add(-s.opts.Retention).UnixNano()
	s.mu.Lock()
	var expired []*partition
	for day, p := range s.partitions {
		if (day+1)*nanosPerDay <= cutoff {
			expired = append(expired, p)
			delete(s.partitions, day)
		}
	}
	s.mu.Unlock()
	for _, p := range expired {
		p.mu.Lock()
		p.dropped = true
		for _, pt := range p.parts {
			pt.obsolete.Store(true)
			pt.decRef()
		}
		p.parts = nil
		var pending int64
		for _, b := range p.mem {
			pending += int64(len(b.data))
		}
		// Frozen batches belong to an in-flight flush, which accounts for
		// them when it finishes.
		s.memBytes.Add(-pending)
		s.pendingBytes.Add(-pending)
		p.mem = nil
		p.mu.Unlock()
		if err := os.RemoveAll(p.dir); err != nil {
			s.log.Error("remove expired partition", "dir", p.dir, "error", err)
			continue
		}
		s.metrics.partitionsDropped.Inc()
		s.log.Info("retention removed partition", "partition", partitionName(p.day))
	}
}
