// Package colstore is Argus's column store: the storage engine that traces
// and logs share.
//
// The engine knows nothing of spans or log lines. It stores rows: a stream
// (the labels of the resource that produced the row, such as the service
// name), a timestamp, and typed fields. Signal stores (packages
// store/traces and store/logs) map their records onto rows.
//
// Data flows like this:
//
//	Write ─> write-ahead log (group commit; acknowledged = durable)
//	      ─> memtable of the row's day partition (queryable at once)
//	      ─> flush: an immutable part file, rows sorted by stream then time,
//	         cut into blocks; inside a block every field is its own column,
//	         encoded by type and compressed with zstd
//	      ─> background merges of small parts into larger ones
//	      ─> retention: a whole day partition is removed at once
//
// Every block carries its time range, per-column min/max for integers, and
// a bloom filter over the exact values of its string and ID columns, so a
// search for a trace ID or an attribute value skips almost every block
// without an inverted index. Search hands out the matching rows one by
// one; SearchBlocks hands out each block's matching rows column by
// column, for callers that aggregate. The on-disk format is described in
// docs/format/colstore.md; the write-ahead log in docs/format/wal.md.
package colstore
