package logql

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// windows maps entry times to the step windows of a range aggregation.
// The window of step k is (ts[k]-offset-range, ts[k]-offset]: open on the
// left and closed on the right, as Loki evaluates range aggregations.
// Window edges cut the time line into elementary intervals (b[i-1],
// b[i]]; every window is a run of whole intervals, so the engine counts
// each entry once, in its interval, instead of once per window.
type windows struct {
	b       []int64 // sorted distinct window edges
	lo, hi  []int32 // window k covers intervals lo[k]+1 .. hi[k]
	covered []bool  // interval i lies in some window
	cur     int
}

func newWindows(ts []int64, rng, off int64) *windows {
	w := &windows{b: make([]int64, 0, 2*len(ts))}
	for _, t := range ts {
		w.b = append(w.b, t-off-rng, t-off)
	}
	slices.Sort(w.b)
	w.b = slices.Compact(w.b)
	w.lo = make([]int32, len(ts))
	w.hi = make([]int32, len(ts))
	diff := make([]int32, len(w.b)+1)
	for k, t := range ts {
		lo, _ := slices.BinarySearch(w.b, t-off-rng)
		hi, _ := slices.BinarySearch(w.b, t-off)
		w.lo[k], w.hi[k] = int32(lo), int32(hi)
		diff[lo+1]++
		diff[hi+1]--
	}
	w.covered = make([]bool, len(w.b))
	run := int32(0)
	for i := range w.b {
		run += diff[i]
		w.covered[i] = run > 0
	}
	return w
}

// interval returns the index i of the interval (b[i-1], b[i]] holding t,
// or -1 when t is in no window. Entries arriving in time order cost O(1).
func (w *windows) interval(t int64) int {
	n := len(w.b)
	if t > w.b[n-1] || t <= w.b[0] {
		return -1
	}
	if w.cur > 0 && w.b[w.cur-1] >= t {
		w.cur, _ = slices.BinarySearch(w.b, t)
	}
	for w.b[w.cur] < t {
		w.cur++
	}
	if !w.covered[w.cur] {
		return -1
	}
	return w.cur
}

// intervalCount is the entries (n) and their weight (w: 1 each, or line
// bytes) a series has in one interval.
type intervalCount struct {
	idx int32
	n   int64
	w   int64
}

type tsPoint struct {
	t int64
	v float64
}

// subseries accumulates the entries of one label set (or, before
// merging, of one stream and metadata combination).
type subseries struct {
	labels labels.Labels
	cnt    []intervalCount // counting functions
	pts    []tsPoint       // unwrapped functions
}

// addCount adds n entries of total weight w in interval idx.
func (s *subseries) addCount(idx int, n, w int64) {
	if k := len(s.cnt); k > 0 && s.cnt[k-1].idx == int32(idx) {
		s.cnt[k-1].n += n
		s.cnt[k-1].w += w
		return
	}
	s.cnt = append(s.cnt, intervalCount{idx: int32(idx), n: n, w: w})
}

// rangePlan is what evalRange needs to know about the consumer.
type rangePlan struct {
	// fuse, when non-nil, groups entries straight into the label set
	// of an enclosing "sum by (fuse...)" (additive functions only): the
	// engine then keeps one series per group instead of one per stream.
	fuse []string
	// keepErrors is true when the query asks for __error__ itself, so
	// errored entries are counted rather than failing the query.
	keepErrors bool
}

// isCounting reports whether op counts entries or bytes rather than
// reading unwrapped values.
func isCounting(ra *RangeAggregation) bool { return ra.Unwrap == nil }

// isAdditive reports whether the sum over series of op equals op over
// the union of their entries, so a sum by can be fused into it.
func isAdditive(ra *RangeAggregation) bool {
	switch ra.Op {
	case "count_over_time", "rate", "bytes_over_time", "bytes_rate", "sum_over_time":
		return ra.Grouping == nil
	}
	return false
}

func (ev *evaluator) evalRange(ctx context.Context, ra *RangeAggregation, plan rangePlan) (*matrixValue, error) {
	stages := ra.Log.Stages
	if plan.fuse != nil {
		stages = pruneDrops(stages, plan.fuse)
	}
	pl, err := compilePipeline(stages)
	if err != nil {
		return nil, err
	}
	var post []labelPredicate
	if ra.Unwrap != nil {
		for _, f := range ra.Unwrap.PostFilters {
			pf, err := compileLabelFilter(f)
			if err != nil {
				return nil, err
			}
			post = append(post, pf)
		}
	}
	rng, off := ra.Range.Nanoseconds(), ra.Offset.Nanoseconds()
	w := newWindows(ev.ts, rng, off)

	// How entries are keyed into series.
	var group []string // projection labels (fused sum by, or range by)
	project := false
	switch {
	case plan.fuse != nil:
		group, project = plan.fuse, true
	case ra.Grouping != nil && !ra.Grouping.Without:
		group, project = ra.Grouping.Labels, true
	}
	group = slices.Compact(slices.Sorted(slices.Values(group)))
	without := []string(nil)
	if ra.Grouping != nil && ra.Grouping.Without {
		without = ra.Grouping.Labels
	}
	needLS := pl.usesLabels || ra.Unwrap != nil || without != nil
	for _, g := range group {
		if strings.HasSuffix(g, extractedSuffix) || strings.HasPrefix(g, "__") {
			needLS = true
		}
	}
	fast := !needLS && !project // key on raw stream and metadata bytes

	sp := SelectParams{
		Start:     w.b[0] + 1,
		End:       w.b[len(w.b)-1] + 1,
		Matchers:  ra.Log.Matchers,
		Direction: Forward,
		NoLine:    !pl.readsLine && ra.Op != "bytes_over_time" && ra.Op != "bytes_rate",
	}
	sp.LineContains, sp.MetadataEquals = selectHints(ra.Log.Matchers, ra.Log.Stages)
	if plan.fuse != nil {
		sp.Metadata, sp.AllMetadata = metadataNeeded(ra, plan.fuse)
	} else {
		sp.AllMetadata = true
	}
	counting := isCounting(ra)
	bytesOp := ra.Op == "bytes_over_time" || ra.Op == "bytes_rate"
	if counting && !bytesOp && sp.NoLine && !sp.AllMetadata {
		// Entries that differ only in time within an interval count the
		// same: the store may hand them over as one.
		sp.CountEdges = w.b
	}

	series := map[string]*subseries{}
	var key, sbuf, mbuf []byte
	var sb labels.ScratchBuilder
	var ps procState
	var failure error
	maxSeries := ev.eng.opts.MaxIntermediateSeries
	stats := ev.stats
	calls := 0
	err = ev.q.SelectLogs(ctx, sp, func(e *Entry) bool {
		n := max(e.Count, 1)
		stats.EntriesScanned += n
		stats.BytesScanned += int64(len(e.Line))
		if calls++; calls%ctxCheckEvery == 0 {
			if failure = ctx.Err(); failure != nil {
				return false
			}
		}
		idx := w.interval(e.Time)
		if idx < 0 {
			return true
		}
		if !pl.process(e, &ps, needLS) {
			return true
		}
		st := &pl.st
		var v float64
		if ra.Unwrap != nil {
			raw, _ := st.get(ra.Unwrap.Label)
			if raw == "" {
				return true
			}
			var cerr error
			v, cerr = convertUnwrap(ra.Unwrap.Conv, raw)
			if cerr != nil {
				st.setErr(errSampleExtraction, cerr.Error())
			}
			for _, f := range post {
				if !f(st) {
					return true
				}
			}
			// The unwrapped label is not part of the series.
			st.del(ra.Unwrap.Label)
		}
		if needLS && !plan.keepErrors {
			if kind, bad := st.get(errorLabel); bad {
				failure = pipelineError(st.labels(&sb, nil).String(), kind)
				return false
			}
		}
		// Series key.
		key = key[:0]
		switch {
		case fast:
			// Labels.Bytes overwrites its buffer, so copy through two.
			sbuf = e.Stream.Bytes(sbuf)
			mbuf = e.Metadata.Bytes(mbuf)
			key = append(key, sbuf...)
			key = append(key, 0xfd)
			key = append(key, mbuf...)
		case project:
			for _, g := range group {
				key = append(key, projectValue(g, e, st, needLS)...)
				key = append(key, 0xff)
			}
		default:
			for _, n := range without {
				st.del(n)
			}
			key = st.appendKey(key)
		}
		ss := series[string(key)]
		if ss == nil {
			if len(series) >= maxSeries {
				failure = newLimitError("maximum number of series (%d) reached for a single query", maxSeries)
				return false
			}
			ss = &subseries{}
			switch {
			case project:
				sb.Reset()
				for _, g := range group {
					if v := projectValue(g, e, st, needLS); v != "" {
						sb.Add(g, strings.Clone(v))
					}
				}
				ss.labels = sb.Labels()
			case fast:
				st.reset(e)
				ss.labels = st.labels(&sb, nil)
			default:
				ss.labels = st.labels(&sb, nil)
			}
			series[string(key)] = ss
		}
		if counting {
			wt := n
			if bytesOp {
				wt = int64(len(ps.line))
			}
			ss.addCount(idx, n, wt)
		} else {
			ss.pts = append(ss.pts, tsPoint{t: e.Time, v: v})
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("select logs: %w", err)
	}
	if failure != nil {
		return nil, failure
	}

	// Merge subseries whose final label sets are equal.
	merged := map[string]*subseries{}
	var out []*subseries
	for _, ss := range series {
		k := string(ss.labels.Bytes(nil))
		if m := merged[k]; m != nil {
			m.cnt = append(m.cnt, ss.cnt...)
			m.pts = append(m.pts, ss.pts...)
			continue
		}
		merged[k] = ss
		out = append(out, ss)
	}
	mv := &matrixValue{steps: make([][]vecSample, len(ev.ts))}
	slices.SortFunc(out, func(a, b *subseries) int { return labels.Compare(a.labels, b.labels) })
	rangeSec := float64(rng) / float64(time.Second)
	var scratch []float64
	for ref, ss := range out {
		mv.series = append(mv.series, ss.labels)
		if counting {
			slices.SortStableFunc(ss.cnt, func(a, b intervalCount) int { return int(a.idx) - int(b.idx) })
			j0, j1 := 0, 0
			var n, wsum int64
			for k := range ev.ts {
				for j1 < len(ss.cnt) && ss.cnt[j1].idx <= w.hi[k] {
					n += ss.cnt[j1].n
					wsum += ss.cnt[j1].w
					j1++
				}
				for j0 < j1 && ss.cnt[j0].idx <= w.lo[k] {
					n -= ss.cnt[j0].n
					wsum -= ss.cnt[j0].w
					j0++
				}
				if n == 0 {
					continue
				}
				var v float64
				switch ra.Op {
				case "count_over_time", "absent_over_time":
					v = float64(n)
				case "rate":
					v = float64(n) / rangeSec
				case "bytes_over_time":
					v = float64(wsum)
				case "bytes_rate":
					v = float64(wsum) / rangeSec
				}
				mv.steps[k] = append(mv.steps[k], vecSample{ref: int32(ref), v: v})
			}
			continue
		}
		slices.SortStableFunc(ss.pts, func(a, b tsPoint) int {
			switch {
			case a.t < b.t:
				return -1
			case a.t > b.t:
				return 1
			}
			return 0
		})
		j0, j1 := 0, 0
		for k, t := range ev.ts {
			lo, hi := t-off-rng, t-off
			for j1 < len(ss.pts) && ss.pts[j1].t <= hi {
				j1++
			}
			for j0 < j1 && ss.pts[j0].t <= lo {
				j0++
			}
			if j1 == j0 {
				continue
			}
			var v float64
			v, scratch = rangeFunc(ra, ss.pts[j0:j1], rangeSec, scratch)
			mv.steps[k] = append(mv.steps[k], vecSample{ref: int32(ref), v: v})
		}
	}
	if ra.Op == "absent_over_time" {
		return absentOverTime(ra, mv), nil
	}
	return mv, nil
}

// pruneDrops removes the drop stages that cannot change a fused
// aggregation's answer: they drop no grouping label, and drop __error__
// only where no earlier stage can set it. Grafana's log volume query,
// sum by (level) (count_over_time({...} | drop __error__ [1m])), then
// needs no per-entry label set.
func pruneDrops(stages []Stage, group []string) []Stage {
	var out []Stage
	canFail := false
	for _, s := range stages {
		switch s := s.(type) {
		case *DropStage:
			keep := false
			for _, l := range s.Labels {
				if slices.Contains(group, l.Name) || canFail && (l.Name == errorLabel || l.Name == errorDetailsLabel) {
					keep = true
				}
			}
			if !keep {
				continue
			}
		case *ParserStage, *LineFormatStage:
			canFail = true
		case *LabelFormatStage:
			canFail = true
		case *LabelFilterStage:
			canFail = canFail || canFilterFail(s.Filter)
		}
		out = append(out, s)
	}
	return out
}

// projectValue is the value of grouping label name for the entry: read
// from the label set when it was built, else from the stream labels and
// then the structured metadata.
func projectValue(name string, e *Entry, st *labelState, fromLS bool) string {
	if fromLS {
		v, _ := st.get(name)
		return v
	}
	if v := e.Stream.Get(name); v != "" {
		return v
	}
	return e.Metadata.Get(name)
}

// metadataNeeded lists the labels a fused range aggregation reads: the
// grouping labels and every label its pipeline reads. all is true when a
// stage may read any label (templates).
func metadataNeeded(ra *RangeAggregation, group []string) (names []string, all bool) {
	names = append(names, group...)
	var fromFilter func(f LabelFilter)
	fromFilter = func(f LabelFilter) {
		switch f := f.(type) {
		case *BinaryLabelFilter:
			fromFilter(f.LHS)
			fromFilter(f.RHS)
		case *StringLabelFilter:
			names = append(names, f.Matcher.Name)
		case *NumericLabelFilter:
			names = append(names, f.Name)
		case *IPLabelFilter:
			names = append(names, f.Name)
		}
	}
	for _, s := range ra.Log.Stages {
		switch s := s.(type) {
		case *LabelFilterStage:
			fromFilter(s.Filter)
		case *LineFormatStage:
			return nil, true
		case *LabelFormatStage:
			for _, it := range s.Items {
				if !it.Rename {
					return nil, true
				}
				names = append(names, it.Value)
			}
		case *DropStage:
			for _, l := range s.Labels {
				names = append(names, l.Name)
			}
		case *KeepStage:
			for _, l := range s.Labels {
				names = append(names, l.Name)
			}
		}
	}
	if ra.Unwrap != nil {
		names = append(names, ra.Unwrap.Label)
		for _, f := range ra.Unwrap.PostFilters {
			fromFilter(f)
		}
	}
	// Metadata that collides with a stream label is renamed
	// name_extracted; the store knows it by its own name.
	for _, n := range names {
		if base, ok := strings.CutSuffix(n, extractedSuffix); ok {
			names = append(names, base)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), false
}

func convertUnwrap(conv, raw string) (float64, error) {
	switch conv {
	case "duration", "duration_seconds":
		d, err := time.ParseDuration(raw)
		if err != nil {
			return 0, err
		}
		return d.Seconds(), nil
	case "bytes":
		b, err := ParseBytes(raw)
		if err != nil {
			return 0, fmt.Errorf("%w: %q", err, raw)
		}
		return float64(b), nil
	}
	return strconv.ParseFloat(raw, 64)
}

// rangeFunc computes an unwrapped range function over the points of one
// window, in time order.
func rangeFunc(ra *RangeAggregation, pts []tsPoint, rangeSec float64, scratch []float64) (float64, []float64) {
	switch ra.Op {
	case "sum_over_time", "rate":
		var s float64
		for _, p := range pts {
			s += p.v
		}
		if ra.Op == "rate" {
			s /= rangeSec
		}
		return s, scratch
	case "avg_over_time":
		var s float64
		for _, p := range pts {
			s += p.v
		}
		return s / float64(len(pts)), scratch
	case "min_over_time":
		m := pts[0].v
		for _, p := range pts[1:] {
			if p.v < m || math.IsNaN(m) {
				m = p.v
			}
		}
		return m, scratch
	case "max_over_time":
		m := pts[0].v
		for _, p := range pts[1:] {
			if p.v > m || math.IsNaN(m) {
				m = p.v
			}
		}
		return m, scratch
	case "first_over_time":
		return pts[0].v, scratch
	case "last_over_time":
		return pts[len(pts)-1].v, scratch
	case "stdvar_over_time", "stddev_over_time":
		var mean, aux, count float64
		for _, p := range pts {
			count++
			delta := p.v - mean
			mean += delta / count
			aux += delta * (p.v - mean)
		}
		v := aux / count
		if ra.Op == "stddev_over_time" {
			v = math.Sqrt(v)
		}
		return v, scratch
	case "quantile_over_time":
		scratch = scratch[:0]
		for _, p := range pts {
			scratch = append(scratch, p.v)
		}
		return quantile(*ra.Param, scratch), scratch
	}
	return math.NaN(), scratch
}

// quantile is PromQL's: linear interpolation between the closest ranks.
func quantile(q float64, vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	if q < 0 {
		return math.Inf(-1)
	}
	if q > 1 {
		return math.Inf(1)
	}
	slices.Sort(vs)
	n := float64(len(vs))
	rank := q * (n - 1)
	lower := math.Max(0, math.Floor(rank))
	upper := math.Min(n-1, lower+1)
	weight := rank - math.Floor(rank)
	return vs[int(lower)]*(1-weight) + vs[int(upper)]*weight
}

// absentOverTime turns the per-series counts of mv into absent_over_time:
// 1 at the steps where no series has entries, labelled with the
// selector's equality matchers (as PromQL's absent does).
func absentOverTime(ra *RangeAggregation, mv *matrixValue) *matrixValue {
	var sb labels.ScratchBuilder
	seen := map[string]int{}
	for _, m := range ra.Log.Matchers {
		if m.Type == labels.MatchEqual {
			seen[m.Name]++
		}
	}
	for _, m := range ra.Log.Matchers {
		if m.Type == labels.MatchEqual && seen[m.Name] == 1 {
			sb.Add(m.Name, m.Value)
		}
	}
	sb.Sort()
	out := &matrixValue{series: []labels.Labels{sb.Labels()}, steps: make([][]vecSample, len(mv.steps))}
	for k, s := range mv.steps {
		if len(s) == 0 {
			out.steps[k] = []vecSample{{ref: 0, v: 1}}
		}
	}
	return out
}
