// Package prometheus serves the Prometheus HTTP API (/api/v1/...) over
// Argus's metrics store, so Grafana's Prometheus data source, promtool and
// every other Prometheus client work against Argus unchanged.
//
// It does not re-implement the API: it mounts Prometheus's own handlers
// (package web/api/v1) and query engine, so the JSON shapes, error types,
// parameter parsing and the OTLP receiver are exactly Prometheus's. Remote
// write (/api/v1/write) is mounted beside it by the app, from package
// promremote.
package prometheus

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"time"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/route"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/scrape"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/notifications"
	v1 "github.com/prometheus/prometheus/web/api/v1"

	"github.com/argus-obs/argus/internal/buildinfo"
	"github.com/argus-obs/argus/internal/store/metrics"
)

// Options configures the API. Store is required; the zero value of every
// other field works.
type Options struct {
	Store *metrics.Store
	// Appendable takes the writes of the OTLP receiver. Nil means the
	// store's TSDB.
	Appendable storage.AppendableV2
	// Exemplars answers /api/v1/query_exemplars. Nil means the TSDB's
	// in-memory exemplars.
	Exemplars storage.ExemplarQueryable
	// Targets reports scrape targets for /api/v1/targets. Nil reports none.
	Targets v1.TargetRetriever
	// Rules reports rule groups and alerts for /api/v1/rules and
	// /api/v1/alerts. Nil reports none.
	Rules v1.RulesRetriever
	// Config returns the Prometheus-format configuration in force (its
	// global section and OTLP settings shape what the receivers do). Nil
	// means Prometheus's defaults.
	Config func() config.Config
	// Flags are reported by /api/v1/status/flags.
	Flags map[string]string
	// ListenAddress is the HTTP address, for /api/v1/targets URLs.
	ListenAddress string
	Logger        *slog.Logger
	// Registerer receives the query engine's and receivers' metrics;
	// Gatherer is what /api/v1/status/... reads them from.
	Registerer promclient.Registerer
	Gatherer   promclient.Gatherer
	// QueryTimeout bounds one PromQL evaluation. Zero means 2 minutes,
	// Prometheus's default.
	QueryTimeout time.Duration
}

// API is the Prometheus HTTP API. It is an http.Handler for every path
// under /api/v1/.
type API struct {
	router    *route.Router
	engine    *promql.Engine
	queryable storage.Queryable
}

// New builds the API and its PromQL engine.
func New(opts Options) (*API, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registerer == nil {
		opts.Registerer = promclient.NewRegistry()
	}
	if opts.Gatherer == nil {
		opts.Gatherer = promclient.NewRegistry()
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = 2 * time.Minute
	}
	if opts.Config == nil {
		def := config.DefaultConfig
		opts.Config = func() config.Config { return def }
	}
	p := parser.NewParser(parser.Options{})
	// At most 20 queries run at once, as in Prometheus; the tracker also
	// logs the queries that were running when the process crashed.
	tracker, err := promql.NewActiveQueryTracker(opts.Store.Dir(), 20, opts.Logger)
	if err != nil {
		return nil, err
	}
	engine := promql.NewEngine(promql.EngineOpts{
		Logger:             opts.Logger,
		Reg:                opts.Registerer,
		MaxSamples:         50_000_000,
		Timeout:            opts.QueryTimeout,
		ActiveQueryTracker: tracker,
		LookbackDelta:      5 * time.Minute,
		// A subquery without a step ([1h:]) steps by the global
		// evaluation interval, as in Prometheus.
		NoStepSubqueryIntervalFn: func(int64) int64 {
			return time.Duration(opts.Config().GlobalConfig.EvaluationInterval).Milliseconds()
		},
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		EnablePerStepStats:   true,
		Parser:               p,
	})
	db := opts.Store.DB()
	var appendable storage.AppendableV2 = db
	if opts.Appendable != nil {
		appendable = opts.Appendable
	}
	var exemplars storage.ExemplarQueryable = db
	if opts.Exemplars != nil {
		exemplars = opts.Exemplars
	}
	targets := opts.Targets
	if targets == nil {
		targets = noTargets{}
	}
	rulesRetriever := opts.Rules
	if rulesRetriever == nil {
		rulesRetriever = noRules{}
	}
	info := buildinfo.Get()
	started := time.Now()
	api := v1.NewAPI(
		// Writes (the OTLP receiver) go through metrics.Lenient, so a
		// request keeps its valid samples when some are refused.
		engine, db, metrics.Lenient(appendable), exemplars,
		func(context.Context) v1.ScrapePoolsRetriever { return targetsPools{targets} },
		func(context.Context) v1.TargetRetriever { return targets },
		func(context.Context) v1.AlertmanagerRetriever { return noAlertmanagers{} },
		opts.Config,
		opts.Flags,
		v1.GlobalURLOptions{ListenAddress: opts.ListenAddress, Host: opts.ListenAddress, Scheme: "http"},
		func(f http.HandlerFunc) http.HandlerFunc { return f }, // Argus answers only once its stores are open
		metrics.AdminStats{Store: opts.Store},
		"",    // the TSDB directory: only the admin snapshot endpoint uses it
		false, // admin endpoints (delete series, snapshot) stay off
		false, 0,
		opts.Logger,
		func(context.Context) v1.RulesRetriever { return rulesRetriever },
		5e7, 10, 1048576, // remote read limits, Prometheus's defaults
		false, // not an agent
		nil,   // no CORS
		func() (v1.RuntimeInfo, error) { return runtimeInfo(started), nil },
		&v1.PrometheusVersion{Version: info.Version, Revision: info.Revision, GoVersion: info.GoVersion, BuildDate: info.BuildDate, Branch: "argus"},
		func() []notifications.Notification { return nil },
		func() (<-chan notifications.Notification, func(), bool) { return nil, func() {}, false },
		opts.Gatherer, opts.Registerer,
		nil,   // default stats renderer
		false, // remote write is served by package promremote, which keeps partial 1.0 writes
		remoteapi.MessageTypes{remoteapi.WriteV1MessageType, remoteapi.WriteV2MessageType},
		true,  // OTLP receiver at /api/v1/otlp/v1/metrics
		false, // OTLP delta temporality is not converted
		false, // nor ingested natively
		5*time.Minute,
		false, // no __type__/__unit__ labels
		false, // no metadata from remote write
		nil,   // Prometheus's error codes
		nil,   // no feature registry
		v1.OpenAPIOptions{},
		p,
		false, // no query cost
		opts.QueryTimeout,
	)
	r := route.New().WithPrefix("/api/v1")
	api.Register(r)
	return &API{router: r, engine: engine, queryable: db}, nil
}

// Close releases the engine's query tracker.
func (a *API) Close() error { return a.engine.Close() }

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.router.ServeHTTP(w, r) }

// RangeQuery evaluates a PromQL range query in process, for the APIs
// answered from metrics (Jaeger's Service Performance Monitoring, the
// service graph).
func (a *API) RangeQuery(ctx context.Context, query string, start, end time.Time, step time.Duration) (promql.Matrix, error) {
	q, err := a.engine.NewRangeQuery(ctx, a.queryable, nil, query, start, end, step)
	if err != nil {
		return nil, err
	}
	v, err := run(ctx, q)
	if err != nil {
		return nil, err
	}
	m, ok := v.(promql.Matrix)
	if !ok {
		return nil, fmt.Errorf("range query %s: result is a %s", query, v.Type())
	}
	return m, nil
}

// InstantQuery evaluates a PromQL instant query in process. The result
// is a promql.Vector, a promql.Scalar, or for a range selector such as
// x[5m] a promql.Matrix of the raw samples.
func (a *API) InstantQuery(ctx context.Context, query string, ts time.Time) (parser.Value, error) {
	q, err := a.engine.NewInstantQuery(ctx, a.queryable, nil, query, ts)
	if err != nil {
		return nil, err
	}
	return run(ctx, q)
}

// run executes q and returns a result that outlives it: closing a query
// returns its point slices to the engine's pools, so they are copied.
func run(ctx context.Context, q promql.Query) (parser.Value, error) {
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, res.Err
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		return slices.Clone(v), nil
	case promql.Matrix:
		return cloneMatrix(v), nil
	}
	return res.Value, nil
}

// cloneMatrix copies the point slices that closing a query returns to
// the engine's pools.
func cloneMatrix(m promql.Matrix) promql.Matrix {
	out := make(promql.Matrix, len(m))
	for i, s := range m {
		out[i] = promql.Series{Metric: s.Metric, Floats: slices.Clone(s.Floats), Histograms: slices.Clone(s.Histograms)}
	}
	return out
}

// Engine returns the PromQL engine, for rules and other in-process users.
func (a *API) Engine() *promql.Engine { return a.engine }

func runtimeInfo(started time.Time) v1.RuntimeInfo {
	cwd, _ := os.Getwd()
	host, _ := os.Hostname()
	return v1.RuntimeInfo{
		StartTime:      started,
		CWD:            cwd,
		Hostname:       host,
		GoroutineCount: runtime.NumGoroutine(),
		GOMAXPROCS:     runtime.GOMAXPROCS(0),
		GOMEMLIMIT:     debugMemoryLimit(),
		GOGC:           os.Getenv("GOGC"),
		GODEBUG:        os.Getenv("GODEBUG"),
	}
}

type noTargets struct{}

func (noTargets) TargetsActive() map[string][]*scrape.Target  { return nil }
func (noTargets) TargetsDropped() map[string][]*scrape.Target { return nil }
func (noTargets) TargetsDroppedCounts() map[string]int        { return nil }
func (noTargets) ScrapePoolConfig(string) (*config.ScrapeConfig, error) {
	return nil, errNoScrapePool
}

// targetsPools lists the scrape pools of a target retriever.
type targetsPools struct{ t v1.TargetRetriever }

func (p targetsPools) ScrapePools() []string {
	var pools []string
	for pool := range p.t.TargetsActive() {
		pools = append(pools, pool)
	}
	return pools
}

type noRules struct{}

func (noRules) RuleGroups() []*rules.Group           { return nil }
func (noRules) AlertingRules() []*rules.AlertingRule { return nil }

type noAlertmanagers struct{}

func (noAlertmanagers) Alertmanagers() []*url.URL        { return nil }
func (noAlertmanagers) DroppedAlertmanagers() []*url.URL { return nil }
