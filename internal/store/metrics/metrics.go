// Package metrics is Argus's metrics store: the Prometheus TSDB, used as a
// library, under the data directory. Argus writes no time-series database
// of its own; everything Prometheus's storage promises (the WAL, head
// compaction into blocks, retention, exemplars) holds here as it does in a
// Prometheus server.
package metrics

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/util/compression"
)

// Options configures a Store. Every field but Dir has a working zero value.
type Options struct {
	// Dir holds the TSDB: its WAL, head chunks and blocks.
	Dir string
	// Retention is how long samples are kept. Zero means Prometheus's
	// default of 15 days.
	Retention time.Duration
	// MaxExemplars is the size of the in-memory exemplar buffer; exemplars
	// are also written to the WAL, so they survive a restart. Zero means
	// DefaultMaxExemplars.
	MaxExemplars int64
	// Logger receives the TSDB's logs. Nil discards them.
	Logger *slog.Logger
	// Registerer receives the TSDB's own metrics (prometheus_tsdb_*).
	// Nil registers nothing.
	Registerer prometheus.Registerer
}

// DefaultMaxExemplars is the exemplar buffer size when none is set,
// Prometheus's own default.
const DefaultMaxExemplars = 100_000

// Store is an open TSDB. The DB is safe for concurrent use.
type Store struct {
	db *tsdb.DB
}

// Open opens or creates the TSDB in opts.Dir, replaying its WAL.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("metrics store: no directory")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	o := tsdb.DefaultOptions()
	retention := 15 * 24 * time.Hour
	if opts.Retention > 0 {
		retention = opts.Retention
	}
	o.RetentionDuration = retention.Milliseconds()
	// As the Prometheus server does: compact blocks up to a tenth of the
	// retention (at most 31 days), so old data is a few large blocks with
	// one index each; and compress the WAL with snappy.
	o.MaxBlockDuration = max(min(31*24*time.Hour, retention/10), 2*time.Hour).Milliseconds()
	o.WALCompression = compression.Snappy
	o.EnableExemplarStorage = true
	o.MaxExemplars = opts.MaxExemplars
	if o.MaxExemplars <= 0 {
		o.MaxExemplars = DefaultMaxExemplars
	}
	// Pushed data (OTLP, remote write from several agents) is often a
	// little late; accept samples up to 10 minutes out of order, as a
	// Prometheus that receives writes is usually configured to.
	o.OutOfOrderTimeWindow = (10 * time.Minute).Milliseconds()
	db, err := tsdb.Open(opts.Dir, opts.Logger, opts.Registerer, o, tsdb.NewDBStats())
	if err != nil {
		return nil, err
	}
	return &Store{db: db}, nil
}

// DB returns the TSDB, for the query engine, the HTTP API and appenders.
func (s *Store) DB() *tsdb.DB { return s.db }

// Dir returns the directory the TSDB lives in.
func (s *Store) Dir() string { return s.db.Dir() }

// Close flushes and closes the TSDB. Later calls return an error.
func (s *Store) Close() error { return s.db.Close() }

// AdminStats adapts the store to what Prometheus's HTTP API reads for
// /api/v1/status/tsdb and the admin endpoints.
type AdminStats struct{ Store *Store }

// CleanTombstones implements the API's TSDBAdminStats.
func (a AdminStats) CleanTombstones() error { return a.Store.db.CleanTombstones() }

// Delete implements the API's TSDBAdminStats.
func (a AdminStats) Delete(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) error {
	return a.Store.db.Delete(ctx, mint, maxt, ms...)
}

// Snapshot implements the API's TSDBAdminStats.
func (a AdminStats) Snapshot(dir string, withHead bool) error {
	return a.Store.db.Snapshot(dir, withHead)
}

// Stats implements the API's TSDBAdminStats.
func (a AdminStats) Stats(statsByLabelName string, limit int) (*tsdb.Stats, error) {
	return a.Store.db.Head().Stats(statsByLabelName, limit), nil
}

// WALReplayStatus implements the API's TSDBAdminStats. Open returns only
// after the replay, so it is always complete.
func (a AdminStats) WALReplayStatus() (tsdb.WALReplayStatus, error) {
	return tsdb.WALReplayStatus{}, nil
}

// BlockMetas implements the API's TSDBAdminStats.
func (a AdminStats) BlockMetas() ([]tsdb.BlockMeta, error) { return a.Store.db.BlockMetas(), nil }
