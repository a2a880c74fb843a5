package loki

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-obs/argus/internal/query/logql"
)

// volume answers index/volume (rangeQuery false: one value per series for
// the whole of [start, end]) and index/volume_range (a value per step):
// the bytes of the log lines of the streams the selector in "query"
// matches, aggregated as Loki aggregates them. By default a series per
// combination of values of the labels the selector names; targetLabels
// (comma-separated) names the labels instead; aggregateBy=labels gives
// one series per label name, with an empty value, for the streams that
// have the label. At most limit series (default 100), the largest first.
//
// Loki answers from its index's chunk statistics; Argus reads the lines'
// sizes, so the answer is exact and the cost grows with the bytes in the
// range.
func (a *API) volume(rangeQuery bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			badRequest(w, err)
			return
		}
		q, err := parseVolumeQuery(r)
		if err == nil && q.matchers == nil {
			err = errors.New("missing query parameter")
		}
		var start, end time.Time
		if err == nil {
			start, end, err = a.timeRange(r)
		}
		step := end.Sub(start)
		if err == nil && rangeQuery {
			step, err = parseStep(r.Form.Get("step"), start, end)
		}
		if err != nil {
			badRequest(w, err)
			return
		}
		step = max(step, time.Second)

		// One LogQL query per series grouping: the whole selector by
		// the target labels, or each label alone.
		type job struct {
			query string
			label string // aggregateBy=labels: the label the series stands for
		}
		var jobs []job
		sel := selectorString(q.matchers)
		window := model.Duration(step).String()
		if q.byLabels {
			for _, l := range q.targets {
				ms := slices.Clone(q.matchers)
				if !slices.ContainsFunc(ms, func(m *labels.Matcher) bool { return m.Name == l && !m.Matches("") }) {
					ms = append(ms, labels.MustNewMatcher(labels.MatchRegexp, l, ".+"))
				}
				jobs = append(jobs, job{query: fmt.Sprintf("sum(bytes_over_time(%s[%s]))", selectorString(ms), window), label: l})
			}
		} else {
			jobs = append(jobs, job{query: fmt.Sprintf("sum by (%s) (bytes_over_time(%s[%s]))", strings.Join(q.targets, ", "), sel, window)})
		}
		var matrix []logql.Series
		for _, j := range jobs {
			p := logql.Params{Query: j.query, Start: end, End: end}
			if rangeQuery {
				p.Start, p.Step = start, step
			}
			res, err := a.engine.Query(r.Context(), a.reader, p)
			if err != nil {
				a.fail(w, r, err)
				return
			}
			series := res.Matrix
			for _, s := range res.Vector {
				series = append(series, logql.Series{Labels: s.Labels, Points: []logql.Point{{T: s.T, V: s.V}}})
			}
			for _, s := range series {
				if j.label != "" {
					s.Labels = labels.FromStrings(j.label, "")
				}
				matrix = append(matrix, s)
			}
		}

		// The largest first, then by labels; at most limit.
		total := func(s logql.Series) (v float64) {
			for _, p := range s.Points {
				v += p.V
			}
			return v
		}
		slices.SortStableFunc(matrix, func(x, y logql.Series) int {
			if c := cmp.Compare(total(y), total(x)); c != 0 {
				return c
			}
			return labels.Compare(x.Labels, y.Labels)
		})
		matrix = matrix[:min(len(matrix), q.limit)]
		res := &logql.Result{Type: logql.ValueMatrix, Matrix: matrix}
		if !rangeQuery {
			res = &logql.Result{Type: logql.ValueVector}
			for _, s := range matrix {
				p := s.Points[len(s.Points)-1]
				res.Vector = append(res.Vector, logql.Sample{Labels: s.Labels, T: p.T, V: p.V})
			}
		}
		w.Header().Set("Content-Type", "application/json")
		if err := res.MarshalLoki(w, false); err != nil {
			a.log.Debug("loki api: write response", "err", err)
		}
	}
}

// volumeQuery is what the volume endpoints were asked.
type volumeQuery struct {
	matchers []*labels.Matcher
	targets  []string // the labels to aggregate by, sorted
	byLabels bool     // aggregateBy=labels
	limit    int
}

func parseVolumeQuery(r *http.Request) (volumeQuery, error) {
	q := volumeQuery{limit: 100}
	var err error
	if q.matchers, err = selector(r, "query"); err != nil {
		return q, err
	}
	if s := r.Form.Get("limit"); s != "" {
		if q.limit, err = strconv.Atoi(s); err != nil || q.limit <= 0 {
			return q, fmt.Errorf("invalid limit %q: must be a positive integer", s)
		}
	}
	switch a := r.Form.Get("aggregateBy"); a {
	case "", "series":
	case "labels":
		q.byLabels = true
	default:
		return q, fmt.Errorf("invalid aggregateBy %q: must be series or labels", a)
	}
	if s := r.Form.Get("targetLabels"); s != "" {
		for _, l := range strings.Split(s, ",") {
			l = strings.TrimSpace(l)
			if !model.LegacyValidation.IsValidLabelName(l) {
				return q, fmt.Errorf("invalid targetLabels: %q is not a label name", l)
			}
			q.targets = append(q.targets, l)
		}
	} else {
		for _, m := range q.matchers {
			q.targets = append(q.targets, m.Name)
		}
	}
	slices.Sort(q.targets)
	q.targets = slices.Compact(q.targets)
	return q, nil
}

// selectorString writes matchers as a LogQL stream selector.
func selectorString(ms []*labels.Matcher) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
