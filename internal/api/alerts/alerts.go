// Package alerts serves Argus's own alert API, for what Prometheus's API
// does not cover:
//
//	GET  /api/argus/v1/alerts/history   every transition and acknowledgement
//	POST /api/argus/v1/alerts/{fingerprint}/ack   acknowledge an alert
//	GET  /api/argus/v1/actions/runs     the audit log of automated responses
//
// History parameters: start and end (RFC 3339 or Unix seconds), alertname,
// fingerprint, event (pending, firing, resolved, inactive, acknowledged),
// limit (default 1000, at most 10000; the most recent are kept). The
// answer is {"events": [...]}, oldest first.
//
// Runs parameters: start, end, action, alertname, fingerprint, result
// (success, failure, timeout, dry_run, skipped), limit. The answer is
// {"runs": [...]}, oldest first.
//
// An acknowledgement's body is JSON: {"by": "who", "comment": "why"}; by
// is required. The answer is the recorded event; 404 when the fingerprint
// names no alert.
package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/argus-obs/argus/internal/alert"
	"github.com/argus-obs/argus/internal/api/jsonreply"
	"github.com/argus-obs/argus/internal/api/timeparam"
)

// History is what the handler reads and writes.
type History interface {
	Events(ctx context.Context, q alert.Query) ([]alert.Event, error)
	Acknowledge(ctx context.Context, fingerprint, by, comment string) (alert.Event, error)
}

// ActionLog is the audit log of automated responses.
type ActionLog interface {
	Runs(ctx context.Context, q alert.RunQuery) ([]alert.Run, error)
}

// Handler serves the alert API. It is safe for concurrent use.
type Handler struct {
	history History
	actions ActionLog
	log     *slog.Logger
	mux     *http.ServeMux
}

// New returns the handler, mounted at /api/argus/v1/alerts/ and
// /api/argus/v1/actions/.
func New(h History, actions ActionLog, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Handler{history: h, actions: actions, log: log, mux: http.NewServeMux()}
	a.mux.HandleFunc("GET /api/argus/v1/actions/runs", a.serveRuns)
	a.mux.HandleFunc("GET /api/argus/v1/alerts/history", a.serveHistory)
	a.mux.HandleFunc("POST /api/argus/v1/alerts/{fingerprint}/ack", a.serveAck)
	return a
}

// ServeHTTP implements http.Handler.
func (a *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

const maxLimit = 10000

func (a *Handler) serveHistory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var query alert.Query
	var err error
	if query.Start, query.End, query.Limit, err = parseWindow(q); err != nil {
		jsonreply.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	query.AlertName, query.Fingerprint, query.Event = q.Get("alertname"), q.Get("fingerprint"), q.Get("event")
	switch query.Event {
	case "", alert.EventPending, alert.EventFiring, alert.EventResolved, alert.EventInactive, alert.EventAcknowledged:
	default:
		jsonreply.Error(w, http.StatusBadRequest, fmt.Sprintf("invalid event %q: want pending, firing, resolved, inactive or acknowledged", query.Event))
		return
	}
	events, err := a.history.Events(r.Context(), query)
	if err != nil {
		a.log.Error("alert history query failed", "error", err)
		jsonreply.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	if events == nil {
		events = []alert.Event{}
	}
	jsonreply.Write(w, http.StatusOK, map[string]any{"events": events})
}

func (a *Handler) serveRuns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var query alert.RunQuery
	var err error
	if query.Start, query.End, query.Limit, err = parseWindow(q); err != nil {
		jsonreply.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	query.Action, query.AlertName, query.Fingerprint, query.Result = q.Get("action"), q.Get("alertname"), q.Get("fingerprint"), q.Get("result")
	runs, err := a.actions.Runs(r.Context(), query)
	if err != nil {
		a.log.Error("actions audit query failed", "error", err)
		jsonreply.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	if runs == nil {
		runs = []alert.Run{}
	}
	jsonreply.Write(w, http.StatusOK, map[string]any{"runs": runs})
}

func (a *Handler) serveAck(w http.ResponseWriter, r *http.Request) {
	var body struct {
		By      string `json:"by"`
		Comment string `json:"comment"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		jsonreply.Error(w, http.StatusBadRequest, "invalid body: want JSON {\"by\": \"...\", \"comment\": \"...\"}: "+err.Error())
		return
	}
	if body.By == "" || len(body.By) > 256 || len(body.Comment) > 4096 {
		jsonreply.Error(w, http.StatusBadRequest, "\"by\" must be 1 to 256 characters and \"comment\" at most 4096")
		return
	}
	e, err := a.history.Acknowledge(r.Context(), r.PathValue("fingerprint"), body.By, body.Comment)
	switch {
	case errors.Is(err, alert.ErrUnknownAlert):
		jsonreply.Error(w, http.StatusNotFound, fmt.Sprintf("no alert with fingerprint %q", r.PathValue("fingerprint")))
	case err != nil:
		a.log.Error("acknowledge failed", "error", err)
		jsonreply.Error(w, http.StatusInternalServerError, err.Error())
	default:
		jsonreply.Write(w, http.StatusOK, e)
	}
}

// parseWindow reads the start, end and limit parameters both listings
// take; a zero limit means the default.
func parseWindow(q url.Values) (start, end time.Time, limit int, err error) {
	if start, err = timeparam.Parse(q.Get("start")); err != nil {
		return start, end, 0, fmt.Errorf("invalid start: %w", err)
	}
	if end, err = timeparam.Parse(q.Get("end")); err != nil {
		return start, end, 0, fmt.Errorf("invalid end: %w", err)
	}
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > maxLimit {
			return start, end, 0, fmt.Errorf("invalid limit %q: must be 1 to %d", s, maxLimit)
		}
	}
	return start, end, limit, nil
}
