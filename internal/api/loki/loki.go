// Package loki serves Loki's HTTP query API over the Argus log store, so
// Grafana's Loki data source (Explore, live tail, the log-volume histogram)
// and logcli work against Argus.
//
// Endpoints, under /loki/api/v1 (GET, and POST with a form body where Loki
// takes one):
//
//   - query and query_range: LogQL log and metric queries, answered in
//     Loki's {"status","data":{"resultType","result","stats"}} shape; with
//     the X-Loki-Response-Encoding-Flags: categorize-labels header, entries
//     carry their structured metadata and parsed labels apart from the
//     stream labels, as Loki 3 does.
//   - labels, label/{name}/values and series: stream labels, with match[]
//     (series) or query (labels, values) selectors and start/end.
//   - index/stats: the counts Grafana asks for before a query, from the
//     stream index only (chunks and bytes are not tracked and read zero).
//   - index/volume and index/volume_range: the bytes of the matching
//     streams' lines, aggregated by label as Loki does (what Grafana's
//     Logs Drilldown shows first).
//   - tail: live tail over a WebSocket, as Loki streams it.
//   - status/buildinfo: the Loki API version Argus answers to.
//
// Parameters follow Loki: times as Unix seconds (with a fraction),
// nanoseconds or RFC 3339; step as a duration or seconds; limit defaults
// to 100, direction to backward, end to now, start to an hour before end.
// Errors are plain text with status 400 for bad parameters and queries,
// as Loki answers them.
package loki

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-obs/argus/internal/query/logql"
)

// Reader is what the API reads logs through: the LogQL storage seam and
// the stream index. Times are Unix nanoseconds, both ends inclusive.
type Reader interface {
	logql.Querier
	Series(ctx context.Context, start, end int64, matcherSets [][]*labels.Matcher) ([]labels.Labels, error)
	LabelNames(ctx context.Context, start, end int64, matchers []*labels.Matcher) ([]string, error)
	LabelValues(ctx context.Context, name string, start, end int64, matchers []*labels.Matcher) ([]string, error)
}

// Options configures the API. Reader is required; the zero value of every
// other field works.
type Options struct {
	Reader Reader
	// Engine evaluates LogQL; nil means one with the default limits.
	Engine *logql.Engine
	Logger *slog.Logger
	// Prefix is where the API is mounted, such as "/loki"; the handler
	// strips it.
	Prefix string
	// Now is the clock for default times. Nil means time.Now.
	Now func() time.Time
	// TailInterval is how often a live tail looks for new lines. Zero
	// means one second.
	TailInterval time.Duration
}

// LokiVersion is the Loki release whose API Argus answers as, reported by
// status/buildinfo so clients enable the features of that release.
const LokiVersion = "3.4.0"

// API is the Loki query API. It is an http.Handler, safe for concurrent
// use, and owns no goroutines beyond those of open tail connections.
type API struct {
	reader    Reader
	engine    *logql.Engine
	log       *slog.Logger
	now       func() time.Time
	tailEvery time.Duration
	mux       *http.ServeMux
}

// New returns the API over opts.Reader.
func New(opts Options) (*API, error) {
	if opts.Reader == nil {
		return nil, errors.New("loki api: no reader")
	}
	a := &API{reader: opts.Reader, engine: opts.Engine, log: opts.Logger, now: opts.Now, tailEvery: opts.TailInterval}
	if a.engine == nil {
		a.engine = logql.NewEngine(logql.EngineOptions{})
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.tailEvery <= 0 {
		a.tailEvery = time.Second
	}
	p := strings.TrimSuffix(opts.Prefix, "/") + "/api/v1/"
	mux := http.NewServeMux()
	for _, method := range []string{"GET", "POST"} {
		mux.HandleFunc(method+" "+p+"query", a.query)
		mux.HandleFunc(method+" "+p+"query_range", a.queryRange)
		mux.HandleFunc(method+" "+p+"labels", a.labelNames)
		mux.HandleFunc(method+" "+p+"label", a.labelNames)
		mux.HandleFunc(method+" "+p+"label/{name}/values", a.labelValues)
		mux.HandleFunc(method+" "+p+"series", a.series)
		mux.HandleFunc(method+" "+p+"index/stats", a.indexStats)
		mux.HandleFunc(method+" "+p+"index/volume", a.volume(false))
		mux.HandleFunc(method+" "+p+"index/volume_range", a.volume(true))
	}
	mux.HandleFunc("GET "+p+"tail", a.tail)
	mux.HandleFunc("GET "+p+"status/buildinfo", a.buildInfo)
	mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "unknown Loki API endpoint "+r.URL.Path, http.StatusNotFound)
	})
	a.mux = mux
	return a, nil
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// badRequest answers 400 with err's text, as Loki does for bad parameters
// and queries.
func badRequest(w http.ResponseWriter, err error) {
	http.Error(w, err.Error(), http.StatusBadRequest)
}

// fail answers an error from the engine or store with the status Loki
// uses: 400 for the query's fault, 499-like cancellation as 503, and 500
// otherwise.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case logql.IsBadData(err):
		badRequest(w, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		http.Error(w, "query canceled or timed out: "+err.Error(), http.StatusServiceUnavailable)
	default:
		a.log.Error("loki api", "path", r.URL.Path, "err", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func (a *API) query(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		badRequest(w, err)
		return
	}
	ts, err := parseTime(r.Form.Get("time"), a.now())
	if err != nil {
		badRequest(w, fmt.Errorf("invalid time: %w", err))
		return
	}
	p, err := logParams(r)
	if err != nil {
		badRequest(w, err)
		return
	}
	p.Start, p.End = ts, ts
	a.run(w, r, p)
}

func (a *API) queryRange(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		badRequest(w, err)
		return
	}
	start, end, err := a.timeRange(r)
	if err != nil {
		badRequest(w, err)
		return
	}
	p, err := logParams(r)
	if err != nil {
		badRequest(w, err)
		return
	}
	p.Start, p.End = start, end
	if p.Step, err = parseStep(r.Form.Get("step"), start, end); err != nil {
		badRequest(w, err)
		return
	}
	if s := r.Form.Get("interval"); s != "" {
		if p.Interval, err = parseDuration(s); err != nil {
			badRequest(w, fmt.Errorf("invalid interval: %w", err))
			return
		}
	}
	a.run(w, r, p)
}

// logParams reads the parameters query and query_range share.
func logParams(r *http.Request) (logql.Params, error) {
	p := logql.Params{Query: r.Form.Get("query"), Limit: 100, Direction: logql.Backward}
	if p.Query == "" {
		return p, errors.New("missing query parameter")
	}
	if s := r.Form.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return p, fmt.Errorf("invalid limit %q: must be a positive integer", s)
		}
		p.Limit = n
	}
	switch d := strings.ToLower(r.Form.Get("direction")); d {
	case "", "backward":
	case "forward":
		p.Direction = logql.Forward
	default:
		return p, fmt.Errorf("invalid direction %q: must be forward or backward", d)
	}
	return p, nil
}

func (a *API) run(w http.ResponseWriter, r *http.Request, p logql.Params) {
	res, err := a.engine.Query(r.Context(), a.reader, p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	categorize := strings.Contains(r.Header.Get("X-Loki-Response-Encoding-Flags"), "categorize-labels")
	w.Header().Set("Content-Type", "application/json")
	if err := res.MarshalLoki(w, categorize); err != nil {
		a.log.Debug("loki api: write response", "err", err)
	}
}

// timeRange reads start and end with Loki's defaults: end now, start an
// hour before end.
func (a *API) timeRange(r *http.Request) (start, end time.Time, err error) {
	if end, err = parseTime(r.Form.Get("end"), a.now()); err != nil {
		return start, end, fmt.Errorf("invalid end: %w", err)
	}
	if start, err = parseTime(r.Form.Get("start"), end.Add(-time.Hour)); err != nil {
		return start, end, fmt.Errorf("invalid start: %w", err)
	}
	if end.Before(start) {
		return start, end, errors.New("end timestamp must not be before start time")
	}
	return start, end, nil
}

// parseTime reads a Loki timestamp: Unix seconds with a fraction
// ("1700000000.5"), an integer of Unix seconds (at most 10 digits) or
// nanoseconds, or RFC 3339. Empty means def.
func parseTime(s string, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	if strings.Contains(s, ".") {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			sec, frac := math.Modf(f)
			return time.Unix(int64(sec), int64(math.Round(frac*1e9))), nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if len(strings.TrimPrefix(s, "-")) <= 10 {
			return time.Unix(n, 0), nil
		}
		return time.Unix(0, n), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a Unix timestamp nor RFC 3339", s)
	}
	return t, nil
}

// parseStep reads step as a duration ("15s", "1m") or seconds ("15",
// "0.5"). Empty means Loki's default: the range over 250 points, at least
// one second.
func parseStep(s string, start, end time.Time) (time.Duration, error) {
	if s == "" {
		return max(end.Sub(start)/250, time.Second).Truncate(time.Second), nil
	}
	d, err := parseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid step: %w", err)
	}
	if d <= 0 {
		return 0, errors.New("zero or negative query resolution step widths are not accepted. Try a positive integer")
	}
	return d, nil
}

func parseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.Abs(f*1e9) > math.MaxInt64 {
			return 0, fmt.Errorf("%q is out of range", s)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := model.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration", s)
	}
	return time.Duration(d), nil
}

// rangeNanos reads start and end for the index endpoints, with the same
// defaults as queries.
func (a *API) rangeNanos(r *http.Request) (start, end int64, err error) {
	s, e, err := a.timeRange(r)
	return s.UnixNano(), e.UnixNano(), err
}

func writeData(w http.ResponseWriter, data any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": data})
}

// selector parses an optional stream selector parameter ("query" for
// labels and values).
func selector(r *http.Request, param string) ([]*labels.Matcher, error) {
	q := r.Form.Get(param)
	if q == "" {
		return nil, nil
	}
	m, err := logql.ParseSelector(q)
	if err != nil {
		return nil, fmt.Errorf("invalid %s: %w", param, err)
	}
	return m, nil
}

// indexParams reads what the index endpoints share: start and end (with
// the query defaults) and an optional stream selector in "query". It
// answers 400 itself and returns ok false on a bad parameter.
func (a *API) indexParams(w http.ResponseWriter, r *http.Request) (start, end int64, m []*labels.Matcher, ok bool) {
	err := r.ParseForm()
	if err == nil {
		start, end, err = a.rangeNanos(r)
	}
	if err == nil {
		m, err = selector(r, "query")
	}
	if err != nil {
		badRequest(w, err)
		return 0, 0, nil, false
	}
	return start, end, m, true
}

func (a *API) labelNames(w http.ResponseWriter, r *http.Request) {
	start, end, m, ok := a.indexParams(w, r)
	if !ok {
		return
	}
	names, err := a.reader.LabelNames(r.Context(), start, end, m)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeData(w, names)
}

func (a *API) labelValues(w http.ResponseWriter, r *http.Request) {
	start, end, m, ok := a.indexParams(w, r)
	if !ok {
		return
	}
	vals, err := a.reader.LabelValues(r.Context(), r.PathValue("name"), start, end, m)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeData(w, vals)
}

func (a *API) series(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		badRequest(w, err)
		return
	}
	start, end, err := a.rangeNanos(r)
	if err != nil {
		badRequest(w, err)
		return
	}
	var sets [][]*labels.Matcher
	for _, q := range append(r.Form["match[]"], r.Form["match"]...) {
		m, err := logql.ParseSelector(q)
		if err != nil {
			badRequest(w, fmt.Errorf("invalid match[] %q: %w", q, err))
			return
		}
		sets = append(sets, m)
	}
	series, err := a.reader.Series(r.Context(), start, end, sets)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]map[string]string, len(series))
	for i, s := range series {
		out[i] = s.Map()
	}
	writeData(w, out)
}

// indexStats answers what Grafana asks before running a query: how much
// data a selector covers. Argus counts the matching streams; it keeps no
// chunk or byte counts per stream, so those read zero.
func (a *API) indexStats(w http.ResponseWriter, r *http.Request) {
	start, end, m, ok := a.indexParams(w, r)
	if !ok {
		return
	}
	series, err := a.reader.Series(r.Context(), start, end, [][]*labels.Matcher{m})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]int{"streams": len(series), "chunks": 0, "entries": 0, "bytes": 0})
}

func (a *API) buildInfo(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"version": LokiVersion, "revision": "argus", "branch": "argus", "buildUser": "", "buildDate": "", "goVersion": "",
	})
}
