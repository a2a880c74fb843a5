// Package wal is the write-ahead log under Argus's column store: every
// write is appended here, and made durable, before it is acknowledged to a
// client, so an acknowledged write survives kill -9 of the process (and,
// unless Options.NoSync is set, a power failure).
//
// # Using it
//
//	w, err := wal.Open(wal.Options{Dir: dir})
//	// Once, before the first Append: hand every surviving record back.
//	stats, err := w.Replay(func(rec []byte) error { return apply(rec) })
//	// From any number of goroutines:
//	seg, err := w.Append(rec) // durable when it returns
//	// When the records so far are safely in other durable files:
//	seg, err = w.Rotate()
//	err = w.RemoveBefore(seg)
//	err = w.Close()
//
// # Group commit
//
// An fsync costs the same whether it covers one record or a thousand, so
// concurrent Appends share them. Each Append copies its framed record into
// the batch being filled and waits. When no write is in progress, one of
// the waiting callers becomes the leader: it takes the whole batch, writes
// it with one write call and one fsync, without holding the lock, while
// newer Appends fill the next batch. When it is done it wakes the callers
// of its batch and hands leadership to a caller of the next one. There is
// no background goroutine, so nothing needs starting and an idle WAL costs
// nothing. Throughput therefore grows with the number of concurrent
// writers: N writers and one fsync of latency L give about N/L records per
// second.
//
// # Failure
//
// If a write or fsync fails, the callers in that batch get the error and
// the WAL refuses every later Append with ErrFailed. After a failed fsync
// the kernel may have dropped the dirty pages and cleared the error, so a
// retry could "succeed" without the data ever reaching the disk; the only
// safe continuation is a restart that replays what is really on disk.
//
// # Recovery
//
// Replay reads every segment oldest first and yields each record whose
// length and CRC-32C check out. At the first damaged record of a segment
// it stops reading that segment, moves the damaged bytes into the
// quarantine/ subdirectory (and truncates the segment to its intact
// prefix), reports the damage, and goes on with the next segment. New
// records always go to a fresh segment, never after an old tail.
//
// The on-disk format is described in docs/format/wal.md.
package wal
