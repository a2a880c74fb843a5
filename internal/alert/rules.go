// Package alert evaluates alerting and recording rules: Prometheus's
// rule-file format, run by Prometheus's own rules engine over the metrics
// store, so a rule behaves in Argus exactly as it does in Prometheus
// (pending, firing, `for`, `keep_firing_for`, templated labels and
// annotations, ALERTS and ALERTS_FOR_STATE series, the `for` state
// restored after a restart).
package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
)

// RulesOptions configures Rules. Queryable, Appendable and Engine are
// required.
type RulesOptions struct {
	// Queryable is what rule expressions read.
	Queryable storage.Queryable
	// Appendable receives recording rule results and the ALERTS and
	// ALERTS_FOR_STATE series.
	Appendable storage.AppendableV2
	// Engine returns the PromQL engine; it is called at each evaluation,
	// so the engine may be built after Rules.
	Engine func() promql.QueryEngine
	// Logs evaluates the LogQL metric queries of `source: logs` groups at
	// an instant. Nil refuses such groups' evaluations.
	Logs func(ctx context.Context, query string, ts time.Time) (promql.Vector, error)
	// ExternalURL is Argus's address, for the $externalURL template
	// variable and the alerts' generator URL.
	ExternalURL *url.URL
	// History, when set, records every alert transition.
	History *History
	// Notify receives the alerts to send after each evaluation, as
	// Prometheus's notifier would. Nil drops them.
	Notify rules.NotifyFunc
	// Logger receives the rules engine's events. Nil discards them.
	Logger *slog.Logger
	// Registerer receives the rules engine's metrics
	// (prometheus_rule_evaluations_total and friends). Nil registers none.
	Registerer prometheus.Registerer
}

// Rules runs rule groups. Its lifecycle is NewRules, Apply (any number of
// times), Start, Shutdown. Its Manager answers the Prometheus API's
// /api/v1/rules and /api/v1/alerts.
type Rules struct {
	manager  *rules.Manager
	history  *History
	cancel   context.CancelFunc
	started  bool
	stopOnce sync.Once
}

// NewRules returns the rules engine, with no rules loaded.
func NewRules(opts RulesOptions) *Rules {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	notify := opts.Notify
	if notify == nil {
		notify = func(context.Context, string, ...*rules.Alert) {}
	}
	if opts.ExternalURL == nil {
		opts.ExternalURL = &url.URL{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	queryable, engine, logs := opts.Queryable, opts.Engine, opts.Logs
	ld := newLoader()
	m := rules.NewManager(&rules.ManagerOptions{
		ExternalURL:              opts.ExternalURL,
		GroupLoader:              ld,
		RuleDependencyController: noDependencyAnalysis{},
		// A rule's expression arrives as text: those of logs groups go to
		// the LogQL engine.
		QueryFunc: func(ctx context.Context, q string, t time.Time) (promql.Vector, error) {
			if ld.isLogQL(q) {
				if logs == nil {
					return nil, errors.New("rules over logs need the log store")
				}
				return logs(ctx, q, t)
			}
			return rules.EngineQueryFunc(engine(), queryable)(ctx, q, t)
		},
		NotifyFunc:   notify,
		Context:      ctx,
		AppendableV2: opts.Appendable,
		Queryable:    opts.Queryable,
		Logger:       opts.Logger,
		Registerer:   opts.Registerer,
		// Prometheus's defaults: an alert's `for` state is restored after
		// an outage of up to an hour, with ten minutes' grace, and a
		// firing alert is sent again every minute.
		OutageTolerance: time.Hour,
		ForGracePeriod:  10 * time.Minute,
		ResendDelay:     time.Minute,
		Parser:          parser.NewParser(parser.Options{}),
	})
	return &Rules{manager: m, history: opts.History, cancel: cancel}
}

// noDependencyAnalysis leaves the dependencies between a group's rules
// unknown, so they run one after another, as they do anyway without
// concurrent rule evaluation (off, as in Prometheus by default): the
// analysis walks PromQL syntax trees, and a LogQL rule has none.
type noDependencyAnalysis struct{}

func (noDependencyAnalysis) AnalyseRules([]rules.Rule) {}

// Manager returns the rules manager, for the Prometheus API's rules and
// alerts endpoints.
func (r *Rules) Manager() *rules.Manager { return r.manager }

// Apply loads the rule files (paths, already expanded), evaluating groups
// without their own interval every interval. If a file does not load, the
// error lists every problem and the rules in force keep running.
func (r *Rules) Apply(files []string, interval time.Duration) error {
	if errs := CheckFiles(files...); len(errs) > 0 {
		return errors.Join(errs...)
	}
	var iterate rules.GroupEvalIterationFunc
	if r.history != nil {
		iterate = func(ctx context.Context, g *rules.Group, ts time.Time) {
			rules.DefaultEvalIterationFunc(ctx, g, ts)
			r.history.Observe(ctx, g, ts)
		}
	}
	if err := r.manager.Update(interval, files, labels.EmptyLabels(), "", iterate); err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	return nil
}

// Start begins evaluating the loaded groups.
func (r *Rules) Start() {
	r.started = true
	go r.manager.Run()
}

// Shutdown stops every group and waits for evaluations in progress. It is
// idempotent.
func (r *Rules) Shutdown() {
	r.stopOnce.Do(func() {
		if r.started {
			r.manager.Stop()
		}
		r.cancel()
	})
}

// CheckFiles parses and validates rule files as the rules engine loads
// them (Prometheus's format, LogQL in `source: logs` groups), returning
// every problem, each naming its file and, where it can, its line and
// column.
func CheckFiles(files ...string) []error {
	var errs []error
	ld := newLoader()
	for _, f := range files {
		_, fileErrs := ld.Load(f, false, model.UTF8Validation)
		errs = append(errs, fileErrs...)
	}
	return errs
}

// CountRules returns the groups and rules a valid file holds.
func CountRules(file string) (groups, rules int, errs []error) {
	rgs, errs := newLoader().Load(file, false, model.UTF8Validation)
	if len(errs) > 0 {
		return 0, 0, errs
	}
	for _, g := range rgs.Groups {
		groups++
		rules += len(g.Rules)
	}
	return groups, rules, nil
}
