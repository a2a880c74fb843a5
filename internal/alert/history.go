package alert

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/rules"

	"github.com/argus-obs/argus/internal/store/colstore"
)

// The events of an alert's history.
const (
	EventPending  = "pending"  // the condition holds, `for` has not passed
	EventFiring   = "firing"   // the condition has held for `for`
	EventResolved = "resolved" // a firing alert's condition no longer holds
	// EventInactive: a pending alert's condition stopped holding before
	// it fired (Prometheus drops such an alert without resolving it).
	EventInactive = "inactive"
	// EventAcknowledged: someone took the alert on.
	EventAcknowledged = "acknowledged"
)

// Event is one entry of an alert's history.
type Event struct {
	Time time.Time `json:"time"`
	// Event is one of the Event* constants.
	Event     string `json:"event"`
	AlertName string `json:"alertname"`
	// Fingerprint identifies the alert: a hash of its labels, as
	// Alertmanager computes it, in hex.
	Fingerprint string            `json:"fingerprint"`
	Group       string            `json:"group,omitempty"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// Value is the expression's value at the transition; null when it
	// is not a finite number or not known (acknowledgements).
	Value    *float64   `json:"value"`
	ActiveAt *time.Time `json:"activeAt,omitempty"`
	// By and Comment are set for acknowledgements.
	By      string `json:"by,omitempty"`
	Comment string `json:"comment,omitempty"`
}

// Columns of a history row; its stream is the alert name.
const (
	colEvent       = "event"
	colFingerprint = "fingerprint"
	colGroup       = "group"
	colLabels      = "labels"
	colAnnotations = "annotations"
	colValue       = "value"
	colHasValue    = "has_value"
	colActiveAt    = "active_at"
	colBy          = "by"
	colComment     = "comment"
)

// History keeps every transition of every alert (pending, firing,
// resolved) and every acknowledgement in the column store, so the
// history survives restarts and crashes: a transition is on disk before
// the evaluation that found it ends. It is safe for concurrent use.
type History struct {
	cs  *colstore.Store
	log *slog.Logger
	now func() time.Time

	mu sync.Mutex
	// states is the last recorded state of each alert not yet settled
	// (pending, firing, or resolved while its rule still reports it).
	states map[string]alertState // by fingerprint; guarded by mu
	// evaluated marks the groups evaluated since start-up: on its first
	// evaluation, Prometheus reports a firing alert whose `for` state it
	// restored as pending, which is not a transition.
	evaluated map[string]bool // guarded by mu

	onEvents func([]Event) // set before the first evaluation
}

// OnEvents sets a function called with every batch of events once they
// are recorded (the automated responses). Call it before rules run.
func (h *History) OnEvents(fn func([]Event)) { h.onEvents = fn }

// alertState is what the history remembers of an unsettled alert. A
// resolved alert stays while its rule still reports it (Prometheus keeps
// it for 15 minutes), so it is not recorded again.
type alertState struct {
	event  string
	group  string
	name   string
	labels map[string]string
	seen   bool // reported by the latest evaluation of its group
}

// NewHistory returns the history over an open column store, which the
// caller keeps owning, and loads the last state of every unsettled alert.
func NewHistory(ctx context.Context, cs *colstore.Store, log *slog.Logger) (*History, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &History{cs: cs, log: log, now: time.Now, states: map[string]alertState{}, evaluated: map[string]bool{}}
	last := map[string]Event{}
	err := h.search(ctx, colstore.Query{Columns: []string{colEvent, colFingerprint, colGroup, colLabels}}, func(e Event) bool {
		if e.Event != EventAcknowledged {
			if prev, ok := last[e.Fingerprint]; !ok || !e.Time.Before(prev.Time) {
				last[e.Fingerprint] = e
			}
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("load alert history: %w", err)
	}
	for fp, e := range last {
		if e.Event == EventPending || e.Event == EventFiring {
			h.states[fp] = alertState{event: e.Event, group: e.Group, name: e.AlertName, labels: e.Labels}
		}
	}
	return h, nil
}

// Fingerprint is how an alert is named in the history and the API.
func Fingerprint(ls labels.Labels) string { return fmt.Sprintf("%016x", ls.Hash()) }

// Observe records the transitions a group's evaluation at ts made. It is
// called after every evaluation of every group.
func (h *History) Observe(ctx context.Context, g *rules.Group, ts time.Time) {
	// Groups are told apart by name (Prometheus allows one name in two
	// files; their alerts' histories would then mix).
	group := g.Name()
	var events []Event
	h.mu.Lock()
	firstEval := !h.evaluated[group]
	h.evaluated[group] = true
	for fp, st := range h.states {
		if st.group == group {
			st.seen = false
			h.states[fp] = st
		}
	}
	for _, rule := range g.AlertingRules() {
		rule.ForEachActiveAlert(func(a *rules.Alert) {
			fp := Fingerprint(a.Labels)
			event := EventPending
			switch a.State {
			case rules.StateFiring:
				event = EventFiring
			case rules.StateInactive:
				event = EventResolved
			}
			prev, known := h.states[fp]
			if event == EventResolved && !known {
				return // resolved before this process knew it, or already settled
			}
			if firstEval && prev.event == EventFiring && event == EventPending {
				event = EventFiring // a restored alert: no transition
			}
			st := alertState{event: event, group: group, name: prev.name, labels: prev.labels, seen: true}
			if prev.event != event {
				e := eventOf(a, event, g.Name(), ts)
				events = append(events, e)
				st.name, st.labels = e.AlertName, e.Labels
			}
			h.states[fp] = st
		})
	}
	for fp, st := range h.states {
		if st.group != group || st.seen {
			continue
		}
		// Gone from its rule: a pending alert whose condition stopped
		// holding, a resolved one past Prometheus's retention of it, or
		// the alert of a rule that no longer exists.
		delete(h.states, fp)
		e := Event{Time: ts, AlertName: st.name, Fingerprint: fp, Group: g.Name(), Labels: st.labels}
		switch st.event {
		case EventPending:
			e.Event = EventInactive
			events = append(events, e)
		case EventFiring:
			e.Event = EventResolved
			events = append(events, e)
		}
	}
	h.mu.Unlock()
	if len(events) == 0 {
		return
	}
	if err := h.write(ctx, events); err != nil {
		h.log.Error("alert history: could not record transitions", "events", len(events), "error", err)
	}
	if h.onEvents != nil {
		h.onEvents(events)
	}
}

func eventOf(a *rules.Alert, event, group string, ts time.Time) Event {
	e := Event{
		Time: ts, Event: event, AlertName: a.Labels.Get("alertname"), Fingerprint: Fingerprint(a.Labels),
		Group: group, Labels: a.Labels.Map(), Annotations: a.Annotations.Map(),
	}
	if !math.IsNaN(a.Value) && !math.IsInf(a.Value, 0) {
		v := a.Value
		e.Value = &v
	}
	if !a.ActiveAt.IsZero() {
		at := a.ActiveAt.UTC()
		e.ActiveAt = &at
	}
	return e
}

// ErrUnknownAlert is returned by Acknowledge for a fingerprint that names
// no alert in the history.
var ErrUnknownAlert = errors.New("no alert with this fingerprint")

// Acknowledge records that by took the alert with fingerprint fp on.
func (h *History) Acknowledge(ctx context.Context, fp, by, comment string) (Event, error) {
	var last *Event
	err := h.search(ctx, colstore.Query{Filters: []colstore.Filter{
		{Column: colFingerprint, Type: colstore.TypeString, Op: colstore.OpEqual, Value: []byte(fp)},
	}}, func(e Event) bool {
		if e.Event != EventAcknowledged && e.AlertName != "" && (last == nil || !e.Time.Before(last.Time)) {
			c := e
			last = &c
		}
		return true
	})
	if err != nil {
		return Event{}, err
	}
	if last == nil {
		return Event{}, ErrUnknownAlert
	}
	e := Event{
		Time: h.now().UTC(), Event: EventAcknowledged, AlertName: last.AlertName, Fingerprint: fp,
		Group: last.Group, Labels: last.Labels, By: by, Comment: comment,
	}
	if err := h.write(ctx, []Event{e}); err != nil {
		return Event{}, err
	}
	if h.onEvents != nil {
		h.onEvents([]Event{e})
	}
	return e, nil
}

func (h *History) write(ctx context.Context, events []Event) error {
	rows := make([]colstore.Row, len(events))
	for i, e := range events {
		lbls, _ := json.Marshal(e.Labels)
		var fields []colstore.Field
		fields = colstore.AppendString(fields, colEvent, e.Event)
		fields = colstore.AppendString(fields, colFingerprint, e.Fingerprint)
		fields = colstore.AppendString(fields, colGroup, e.Group)
		fields = append(fields, colstore.Field{Name: colLabels, Type: colstore.TypeBytes, Bytes: lbls})
		if len(e.Annotations) > 0 {
			ann, _ := json.Marshal(e.Annotations)
			fields = append(fields, colstore.Field{Name: colAnnotations, Type: colstore.TypeBytes, Bytes: ann})
		}
		if e.Value != nil {
			fields = append(fields, colstore.Field{Name: colValue, Type: colstore.TypeInt, Int: int64(math.Float64bits(*e.Value))},
				colstore.Field{Name: colHasValue, Type: colstore.TypeInt, Int: 1})
		}
		if e.ActiveAt != nil {
			fields = colstore.AppendInt(fields, colActiveAt, e.ActiveAt.UnixNano())
		}
		fields = colstore.AppendString(fields, colBy, e.By)
		fields = colstore.AppendString(fields, colComment, e.Comment)
		rows[i] = colstore.Row{Stream: []colstore.Label{{Name: "alertname", Value: e.AlertName}}, Time: e.Time.UnixNano(), Fields: fields}
	}
	return h.cs.Write(ctx, rows)
}

// Query selects history events. Zero fields do not constrain.
type Query struct {
	Start, End  time.Time
	AlertName   string
	Fingerprint string
	Event       string
	// Limit caps the events returned, the most recent kept; zero means
	// 1000.
	Limit int
}

// Events returns the events q selects, oldest first.
func (h *History) Events(ctx context.Context, q Query) ([]Event, error) {
	cq := colstore.Query{}
	if !q.Start.IsZero() {
		cq.MinTime = q.Start.UnixNano()
	}
	if !q.End.IsZero() {
		cq.MaxTime = q.End.UnixNano()
	}
	if q.AlertName != "" {
		name := q.AlertName
		cq.Stream = func(ls []colstore.Label) bool { return len(ls) > 0 && ls[0].Value == name }
	}
	if q.Fingerprint != "" {
		cq.Filters = append(cq.Filters, colstore.Filter{Column: colFingerprint, Type: colstore.TypeString, Op: colstore.OpEqual, Value: []byte(q.Fingerprint)})
	}
	if q.Event != "" {
		cq.Filters = append(cq.Filters, colstore.Filter{Column: colEvent, Type: colstore.TypeString, Op: colstore.OpEqual, Value: []byte(q.Event)})
	}
	var out []Event
	if err := h.search(ctx, cq, func(e Event) bool { out = append(out, e); return true }); err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b Event) int { return a.Time.Compare(b.Time) })
	limit := cmp.Or(q.Limit, 1000)
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, nil
}

func (h *History) search(ctx context.Context, q colstore.Query, fn func(Event) bool) error {
	var decodeErr error
	err := h.cs.Search(ctx, q, func(r *colstore.Row) bool {
		// A row's strings live only as long as this call: each is copied.
		e := Event{Time: time.Unix(0, r.Time).UTC()}
		if len(r.Stream) > 0 {
			e.AlertName = strings.Clone(r.Stream[0].Value)
		}
		var value float64
		hasValue := false
		for _, f := range r.Fields {
			switch f.Name {
			case colEvent:
				e.Event = strings.Clone(f.Str)
			case colFingerprint:
				e.Fingerprint = strings.Clone(f.Str)
			case colGroup:
				e.Group = strings.Clone(f.Str)
			case colLabels:
				if err := json.Unmarshal(f.Bytes, &e.Labels); err != nil {
					decodeErr = fmt.Errorf("alert history: labels of a %s event: %w", e.Event, err)
					return false
				}
			case colAnnotations:
				if err := json.Unmarshal(f.Bytes, &e.Annotations); err != nil {
					decodeErr = fmt.Errorf("alert history: annotations: %w", err)
					return false
				}
			case colValue:
				value = math.Float64frombits(uint64(f.Int))
			case colHasValue:
				hasValue = f.Int == 1
			case colActiveAt:
				at := time.Unix(0, f.Int).UTC()
				e.ActiveAt = &at
			case colBy:
				e.By = strings.Clone(f.Str)
			case colComment:
				e.Comment = strings.Clone(f.Str)
			}
		}
		if hasValue {
			e.Value = &value
		}
		return fn(e)
	})
	return cmp.Or(err, decodeErr)
}
