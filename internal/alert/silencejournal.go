package alert

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/prometheus/alertmanager/silence"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/argus-obs/argus/internal/store/colstore/wal"
)

// silenceJournal makes each change to the silences durable before the
// change is acknowledged.
//
// Alertmanager writes its silences to a snapshot every 15 minutes and at
// shutdown; in between, its cluster peers hold them. A single Argus has
// no peer, so a crash would lose every silence (and acknowledgement) of
// the last 15 minutes. Alertmanager hands each change to its broadcast
// hook, under its lock, as the bytes it would gossip to a peer; the
// journal appends those bytes to a write-ahead log (the column store's,
// docs/format/wal.md) before Set or Expire return. At startup the
// snapshot is loaded and the log is merged into it, as a peer's gossip
// would be.
//
// A snapshot first rotates the log, then writes the snapshot, then
// deletes the segments before the rotation: whatever they held was in
// memory before the snapshot began, so the snapshot has it.
type silenceJournal struct {
	wal    *wal.WAL
	log    *slog.Logger
	errors prometheus.Counter
}

// openSilenceJournal opens the log next to the snapshot file, merges what
// it holds into s and, if it held anything, writes a snapshot that covers
// it.
func openSilenceJournal(s *silence.Silences, snapshot string, log *slog.Logger, reg prometheus.Registerer) (*silenceJournal, error) {
	j := &silenceJournal{
		log: log,
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "argus_alert_silence_journal_errors_total",
			Help: "Changes to silences that could not be written to the journal (they are kept in memory and in the next snapshot).",
		}),
	}
	if err := reg.Register(j.errors); err != nil {
		return nil, err
	}
	var err error
	if j.wal, err = wal.Open(wal.Options{Dir: snapshot + ".wal", Logger: log}); err != nil {
		return nil, err
	}
	stats, err := j.wal.Replay(func(rec []byte) error {
		if err := s.Merge(rec); err != nil {
			return fmt.Errorf("silence journal: a change does not decode: %w", err)
		}
		return nil
	})
	if err == nil && stats.Records > 0 {
		log.Info("replayed the silence journal", "changes", stats.Records)
		_, err = j.snapshot(s, snapshot)
	}
	if err != nil {
		j.wal.Close()
		return nil, err
	}
	return j, nil
}

// record appends one change and returns once it is durable. It is
// Alertmanager's broadcast hook, so it runs before Set or Expire return.
func (j *silenceJournal) record(change []byte) {
	if _, err := j.wal.Append(change); err != nil {
		// The change stays in memory and goes into the next snapshot.
		j.errors.Inc()
		j.log.Error("could not write a silence change to the journal", "err", err)
	}
}

// snapshot collects expired silences, writes the snapshot and deletes the
// journal it covers. It is the silences' maintenance function.
func (j *silenceJournal) snapshot(s *silence.Silences, path string) (int64, error) {
	if _, err := s.GC(); err != nil {
		return 0, err
	}
	seg, err := j.wal.Rotate()
	if err != nil {
		return 0, err
	}
	size, err := writeFileAtomic(path, func(w io.Writer) (int64, error) { return s.Snapshot(w) })
	if err != nil {
		return size, err
	}
	return size, j.wal.RemoveBefore(seg)
}

// close closes the journal.
func (j *silenceJournal) close() error { return j.wal.Close() }

// writeFileAtomic writes path through a temporary file that is synced and
// renamed over it, so a crash leaves the old file or the new one.
func writeFileAtomic(path string, write func(io.Writer) (int64, error)) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name()) // fails once renamed
	size, err := write(tmp)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err == nil {
		err = wal.SyncDir(filepath.Dir(path))
	}
	return size, err
}
