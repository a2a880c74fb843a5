package loki

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
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

		// One pass over the lines, grouped by the target labels; for
		// aggregateBy=labels each group then counts towards every target
		// label it has (sum by drops the labels a group lacks).
		query := fmt.Sprintf("sum by (%s) (bytes_over_time(%s[%s]))",
			strings.Join(q.targets, ", "), selectorString(q.matchers), model.Duration(step).String())
		p := logql.Params{Query: query, Start: end, End: end}
		if rangeQuery {
			p.Start, p.Step = start, step
		}
		res, err := a.engine.Query(r.Context(), a.reader, p)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		matrix := res.Matrix
		for _, s := range res.Vector {
			matrix = append(matrix, logql.Series{Labels: s.Labels, Points: []logql.Point{{T: s.T, V: s.V}}})
		}
		if q.byLabels {
			matrix = byLabelName(matrix, q.targets)
		}

		// The largest first, then by labels; at most limit.
		type ranked struct {
			s     logql.Series
			total float64
		}
		rs := make([]ranked, len(matrix))
		for i, ser := range matrix {
			rs[i].s = ser
			for _, pt := range ser.Points {
				rs[i].total += pt.V
			}
		}
		slices.SortStableFunc(rs, func(x, y ranked) int {
			if c := cmp.Compare(y.total, x.total); c != 0 {
				return c
			}
			return labels.Compare(x.s.Labels, y.s.Labels)
		})
		matrix = matrix[:0]
		for _, r := range rs[:min(len(rs), q.limit)] {
			matrix = append(matrix, r.s)
		}
		res = &logql.Result{Type: logql.ValueMatrix, Matrix: matrix}
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

// byLabelName folds series grouped by names into one series per name
// (with an empty value) that sums, at each time, the series having it.
func byLabelName(series []logql.Series, names []string) []logql.Series {
	var out []logql.Series
	for _, name := range names {
		at := map[int64]float64{}
		for _, s := range series {
			if s.Labels.Get(name) == "" {
				continue
			}
			for _, pt := range s.Points {
				at[pt.T] += pt.V
			}
		}
		if len(at) == 0 {
			continue
		}
		folded := logql.Series{Labels: labels.FromStrings(name, "")}
		for _, t := range slices.Sorted(maps.Keys(at)) {
			folded.Points = append(folded.Points, logql.Point{T: t, V: at[t]})
		}
		out = append(out, folded)
	}
	return out
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
