package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	amalert "github.com/prometheus/alertmanager/alert"
	"github.com/prometheus/alertmanager/api"
	amconfig "github.com/prometheus/alertmanager/config"
	"github.com/prometheus/alertmanager/config/receiver"
	"github.com/prometheus/alertmanager/dispatch"
	"github.com/prometheus/alertmanager/eventrecorder"
	"github.com/prometheus/alertmanager/featurecontrol"
	"github.com/prometheus/alertmanager/inhibit"
	"github.com/prometheus/alertmanager/marker"
	"github.com/prometheus/alertmanager/nflog"
	amnotify "github.com/prometheus/alertmanager/notify"
	"github.com/prometheus/alertmanager/provider/mem"
	"github.com/prometheus/alertmanager/silence"
	"github.com/prometheus/alertmanager/silence/silencepb"
	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/alertmanager/timeinterval"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/route"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/rules"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Notifications routes, groups and delivers alerts inside Argus with
// Alertmanager's own machinery, used as a library: its routing tree
// (group_by, group_wait, group_interval, repeat_interval, continue),
// receivers (webhook, Slack, email and the rest, with their retries),
// inhibition rules, silences and notification log. The configuration is
// Alertmanager's format; silences and alerts are served by Alertmanager's
// API v2 (amtool, Grafana's Alertmanager data source), and the
// notification log and silences are kept in the data directory, every
// change to a silence journaled before it is acknowledged.
//
// Its lifecycle is NewNotifications, Apply (any number of times),
// Shutdown. Notify is the rules engine's NotifyFunc.
type Notifications struct {
	log         *slog.Logger
	externalURL func() *url.URL

	alerts          *mem.Alerts
	silences        *silence.Silences
	silenceJournal  *silenceJournal
	silencer        *silence.Silencer
	notificationLog *nflog.Log
	groupMarker     marker.GroupMarker
	pipelineBuilder *amnotify.PipelineBuilder
	dispatchMetrics *dispatch.DispatcherMetrics
	recorder        eventrecorder.Recorder
	api             *api.API
	handler         http.Handler

	mu         sync.Mutex // serialises Apply and Shutdown
	dispatcher atomic.Pointer[dispatch.Dispatcher]
	inhibitor  atomic.Pointer[inhibit.Inhibitor]
	stopc      chan struct{}
	wg         sync.WaitGroup
	stopped    bool
}

// NotificationsOptions configures Notifications. Dir is required.
type NotificationsOptions struct {
	// Dir holds the silences and the notification log.
	Dir string
	// Retention is how long expired silences and sent notifications are
	// remembered; zero means Alertmanager's 120h.
	Retention time.Duration
	// ExternalURL is Argus's address, for templates and links; called
	// when needed, as the address is known only once Argus listens.
	ExternalURL func() *url.URL
	// Prefix is where the Alertmanager API is mounted ("/alertmanager").
	Prefix     string
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// NewNotifications builds the long-lived parts: alerts, silences and the
// notification log (loaded from Dir), and the API.
func NewNotifications(opts NotificationsOptions) (*Notifications, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	if opts.Retention <= 0 {
		opts.Retention = 120 * time.Hour
	}
	if opts.ExternalURL == nil {
		opts.ExternalURL = func() *url.URL { return &url.URL{} }
	}
	log, reg := opts.Logger, opts.Registerer
	ff, err := featurecontrol.NewFlags(log, "")
	if err != nil {
		return nil, err
	}
	n := &Notifications{
		log:             log,
		externalURL:     opts.ExternalURL,
		groupMarker:     marker.NewGroupMarker(),
		recorder:        eventrecorder.NopRecorder(),
		pipelineBuilder: amnotify.NewPipelineBuilder(reg, ff, eventrecorder.NopRecorder()),
		dispatchMetrics: dispatch.NewDispatcherMetrics(false, reg, ff),
		stopc:           make(chan struct{}),
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	nflogFile := filepath.Join(opts.Dir, "nflog")
	if n.notificationLog, err = nflog.New(nflog.Options{
		SnapshotFile: nflogFile, Retention: opts.Retention, Logger: log.With("component", "nflog"), Metrics: reg,
	}); err != nil {
		return nil, fmt.Errorf("notification log: %w", err)
	}
	silencesFile := filepath.Join(opts.Dir, "silences")
	if n.silences, err = silence.New(silence.Options{
		SnapshotFile: silencesFile, Retention: opts.Retention, Logger: log.With("component", "silences"),
		Metrics: reg, EventRecorder: n.recorder,
	}); err != nil {
		return nil, fmt.Errorf("silences: %w", err)
	}
	if n.silenceJournal, err = openSilenceJournal(n.silences, silencesFile, log.With("component", "silences"), reg); err != nil {
		return nil, fmt.Errorf("silences: %w", err)
	}
	n.silences.SetBroadcast(n.silenceJournal.record)
	// Both are snapshotted every 15 minutes and at shutdown, as in
	// Alertmanager; changes to silences are journaled in between.
	n.wg.Add(2)
	go func() {
		defer n.wg.Done()
		n.notificationLog.Maintenance(15*time.Minute, nflogFile, n.stopc, nil)
	}()
	go func() {
		defer n.wg.Done()
		n.silences.Maintenance(15*time.Minute, silencesFile, n.stopc, func() (int64, error) {
			return n.silenceJournal.snapshot(n.silences, silencesFile)
		})
	}()
	n.silencer = silence.NewSilencer(n.silences, log, n.recorder)
	if n.alerts, err = mem.NewAlerts(context.Background(), 30*time.Minute, 0, n.silencer, log, n.recorder, reg, ff); err != nil {
		n.stop()
		return nil, err
	}
	// Requests to the API are counted by handler and method, as in
	// Alertmanager (the API needs the histogram).
	requestDuration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "alertmanager_http_request_duration_seconds",
		Help:    "Latencies of requests to the Alertmanager API.",
		Buckets: prometheus.DefBuckets,
	}, []string{"handler", "method", "code"})
	if err := reg.Register(requestDuration); err != nil {
		n.stop()
		return nil, err
	}
	n.api, err = api.New(api.Options{
		RequestDuration: requestDuration,
		Alerts:          n.alerts,
		Silences:        n.silences,
		GroupMutedFunc:  n.groupMarker.Muted,
		Logger:          log.With("component", "alertmanager-api"),
		GroupFunc: func(ctx context.Context, rf func(*dispatch.Route) bool, af func(*amalert.Alert, time.Time) bool) (dispatch.AlertGroups, map[model.Fingerprint][]string, error) {
			d := n.dispatcher.Load()
			if d == nil {
				return nil, nil, errors.New("notifications are not configured")
			}
			return d.Groups(ctx, rf, af)
		},
	})
	if err != nil {
		n.stop()
		return nil, err
	}
	n.handler = n.api.Register(route.New(), opts.Prefix)
	return n, nil
}

// Handler serves Alertmanager's API v2 under the prefix.
func (n *Notifications) Handler() http.Handler { return n.handler }

// ParseConfig parses an Alertmanager configuration.
func ParseConfig(text string) (*amconfig.Config, error) { return amconfig.Load(text) }

// Apply builds the routing tree, receivers and inhibition rules of conf
// and swaps them in. If conf cannot be built, the running configuration
// stays.
func (n *Notifications) Apply(conf *amconfig.Config) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return nil
	}
	tmpl, err := template.FromGlobs(conf.Templates)
	if err != nil {
		return fmt.Errorf("notification templates: %w", err)
	}
	tmpl.ExternalURL = n.externalURL()
	routes := dispatch.NewRoute(conf.Route, nil)
	used := map[string]bool{}
	routes.Walk(func(r *dispatch.Route) { used[r.RouteOpts.Receiver] = true })
	receivers := map[string][]amnotify.Integration{}
	for _, rcv := range conf.Receivers {
		if !used[rcv.Name] {
			continue
		}
		integrations, err := receiver.BuildReceiverIntegrations(rcv, tmpl, n.log)
		if err != nil {
			return fmt.Errorf("receiver %q: %w", rcv.Name, err)
		}
		receivers[rcv.Name] = integrations
	}
	intervals := map[string][]timeinterval.TimeInterval{}
	for _, ti := range conf.MuteTimeIntervals {
		intervals[ti.Name] = ti.TimeIntervals
	}
	for _, ti := range conf.TimeIntervals {
		intervals[ti.Name] = ti.TimeIntervals
	}

	if old := n.inhibitor.Load(); old != nil {
		old.Stop()
	}
	if old := n.dispatcher.Load(); old != nil {
		old.Stop()
	}
	inhibitor := inhibit.NewInhibitor(n.alerts, conf.InhibitRules, n.log, n.recorder)
	pipeline := n.pipelineBuilder.New(receivers, func() time.Duration { return 0 }, inhibitor, n.silencer,
		timeinterval.NewIntervener(intervals), n.groupMarker, n.notificationLog, nil)
	n.api.Update(conf, func(ctx context.Context, ls model.LabelSet) {
		inhibitor.Mutes(ctx, ls)
		n.silencer.Mutes(ctx, ls)
	})
	timeout := func(d time.Duration) time.Duration { return max(d, amnotify.MinTimeout) }
	dispatcher := dispatch.NewDispatcher(n.alerts, routes, pipeline, n.groupMarker, timeout, 30*time.Second, nil,
		n.log, n.recorder, n.dispatchMetrics, tmpl)
	go inhibitor.Run()
	inhibitor.WaitForLoading()
	n.inhibitor.Store(inhibitor)
	go dispatcher.Run(time.Now())
	dispatcher.WaitForLoading()
	n.dispatcher.Store(dispatcher)
	return nil
}

// Notify returns the rules engine's NotifyFunc: each alert it hands over
// (firing, or resolved) goes to the dispatcher.
func (n *Notifications) Notify() rules.NotifyFunc {
	return func(ctx context.Context, expr string, alerts ...*rules.Alert) {
		now := time.Now()
		generator := n.externalURL().String() + "/graph?g0.expr=" + url.QueryEscape(expr) + "&g0.tab=1"
		out := make([]*amalert.Alert, 0, len(alerts))
		for _, a := range alerts {
			am := &amalert.Alert{
				Alert: model.Alert{
					Labels:       labelSet(a.Labels),
					Annotations:  labelSet(a.Annotations),
					StartsAt:     a.FiredAt,
					EndsAt:       a.ValidUntil,
					GeneratorURL: generator,
				},
				UpdatedAt: now,
			}
			if !a.ResolvedAt.IsZero() {
				am.EndsAt = a.ResolvedAt
			}
			out = append(out, am)
		}
		if err := n.alerts.Put(ctx, out...); err != nil {
			n.log.Error("notifications: could not queue alerts", "alerts", len(out), "error", err)
		}
	}
}

func labelSet(ls labels.Labels) model.LabelSet {
	out := make(model.LabelSet, ls.Len())
	ls.Range(func(l labels.Label) { out[model.LabelName(l.Name)] = model.LabelValue(l.Value) })
	return out
}

// ackAnnotation marks the silences that stand for acknowledgements, with
// the fingerprint of the acknowledged alert.
const ackAnnotation = "argus.acknowledged_fingerprint"

// maxAckSilence bounds an acknowledgement's silence when the alert's
// resolution is never seen (the rule was removed while it fired).
const maxAckSilence = 24 * time.Hour

// OnEvents mutes acknowledged alerts: an acknowledgement becomes a
// silence matching the alert's labels exactly, created by whoever
// acknowledged it, which is expired when the alert resolves. So an
// acknowledged alert stops repeating, its resolution is still sent, and
// a new firing notifies again.
func (n *Notifications) OnEvents(events []Event) {
	ctx := context.Background()
	for _, e := range events {
		switch e.Event {
		case EventAcknowledged:
			if len(e.Labels) == 0 {
				continue
			}
			sil := &silencepb.Silence{
				StartsAt:    timestamppb.New(time.Now()),
				EndsAt:      timestamppb.New(time.Now().Add(maxAckSilence)),
				CreatedBy:   e.By,
				Comment:     strings.TrimSpace("acknowledged: " + e.Comment),
				Annotations: map[string]string{ackAnnotation: e.Fingerprint},
			}
			for name, value := range e.Labels {
				sil.Matchers = append(sil.Matchers, &silencepb.Matcher{Type: silencepb.Matcher_EQUAL, Name: name, Pattern: value})
			}
			sil.MatcherSets = []*silencepb.MatcherSet{{Matchers: sil.Matchers}}
			if err := n.silences.Set(ctx, sil); err != nil {
				n.log.Error("notifications: could not mute an acknowledged alert", "fingerprint", e.Fingerprint, "error", err)
			}
		case EventResolved, EventInactive:
			active, _, err := n.silences.Query(ctx, silence.QState(silence.SilenceStateActive, silence.SilenceStatePending))
			if err != nil {
				n.log.Error("notifications: could not list silences", "error", err)
				continue
			}
			for _, sil := range active {
				if sil.Annotations[ackAnnotation] == e.Fingerprint {
					if err := n.silences.Expire(ctx, sil.Id); err != nil {
						n.log.Error("notifications: could not end an acknowledgement's silence", "id", sil.Id, "error", err)
					}
				}
			}
		}
	}
}

// Shutdown stops dispatching and snapshots the silences and the
// notification log. It is idempotent.
func (n *Notifications) Shutdown() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		return
	}
	n.stopped = true
	if d := n.dispatcher.Load(); d != nil {
		d.Stop()
	}
	if i := n.inhibitor.Load(); i != nil {
		i.Stop()
	}
	n.alerts.Close()
	n.stop()
}

func (n *Notifications) stop() {
	close(n.stopc)
	n.wg.Wait()
	if err := n.silenceJournal.close(); err != nil {
		n.log.Error("notifications: closing the silence journal", "error", err)
	}
}
