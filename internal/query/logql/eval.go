package logql

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
)

// value is an evaluated metric expression: a scalar per step, or a
// matrix.
type value interface{ isValue() }

// scalarValue holds one number per step.
type scalarValue []float64

// matrixValue holds the samples of every step. Samples name their series
// by index (ref) into series, so labels are computed once per series,
// not once per step.
type matrixValue struct {
	series []labels.Labels
	steps  [][]vecSample
	// ordered is set by sort and sort_desc: an instant result keeps the
	// sample order instead of sorting by labels.
	ordered bool
}

type vecSample struct {
	ref int32
	v   float64
}

func (scalarValue) isValue()  {}
func (*matrixValue) isValue() {}

type evaluator struct {
	eng   *Engine
	q     Querier
	ts    []int64 // evaluation times, Unix nanoseconds
	stats *Stats
}

func (e *Engine) execMetric(ctx context.Context, q Querier, expr Expr, p Params) (*Result, error) {
	var ts []int64
	switch {
	case p.Step < 0 || p.Step == 0 && !p.Start.Equal(p.End):
		return nil, fmt.Errorf("%w: zero or negative query resolution step widths are not accepted. Try a positive integer", ErrUnsupported)
	case p.Step == 0:
		ts = []int64{p.End.UnixNano()}
	default:
		if p.End.Before(p.Start) {
			return nil, fmt.Errorf("%w: end timestamp must not be before start time", ErrUnsupported)
		}
		n := int64(p.End.Sub(p.Start)/p.Step) + 1
		if n > int64(e.opts.MaxPoints) {
			return nil, newLimitError("exceeded maximum resolution of %d points per timeseries. Try decreasing the query resolution (?step=XX)", e.opts.MaxPoints)
		}
		start, step := p.Start.UnixNano(), p.Step.Nanoseconds()
		ts = make([]int64, n)
		for i := range ts {
			ts[i] = start + int64(i)*step
		}
	}
	res := &Result{}
	ev := &evaluator{eng: e, q: q, ts: ts, stats: &res.Stats}
	v, err := ev.eval(ctx, expr, rangePlan{})
	if err != nil {
		return nil, err
	}
	instant := p.Step == 0
	switch v := v.(type) {
	case scalarValue:
		if instant {
			res.Type, res.Scalar = ValueScalar, Point{T: ts[0], V: v[0]}
			return res, nil
		}
		pts := make([]Point, len(ts))
		for i, t := range ts {
			pts[i] = Point{T: t, V: v[i]}
		}
		res.Type, res.Matrix = ValueMatrix, []Series{{Labels: labels.EmptyLabels(), Points: pts}}
		return res, nil
	case *matrixValue:
		if instant {
			res.Type = ValueVector
			res.Vector = make([]Sample, 0, len(v.steps[0]))
			for _, s := range v.steps[0] {
				res.Vector = append(res.Vector, Sample{Labels: v.series[s.ref], T: ts[0], V: s.v})
			}
			if !v.ordered {
				slices.SortStableFunc(res.Vector, func(a, b Sample) int { return labels.Compare(a.Labels, b.Labels) })
			}
			if len(res.Vector) > e.opts.MaxSeries {
				return nil, newLimitError("maximum of series (%d) reached for a single query", e.opts.MaxSeries)
			}
			return res, nil
		}
		res.Type = ValueMatrix
		res.Matrix = toMatrix(v, ts)
		if len(res.Matrix) > e.opts.MaxSeries {
			return nil, newLimitError("maximum of series (%d) reached for a single query", e.opts.MaxSeries)
		}
		return res, nil
	}
	return nil, fmt.Errorf("unexpected value %T", v)
}

// toMatrix collects the points of each series, merging series with equal
// labels (set operations may produce them at different steps).
func toMatrix(v *matrixValue, ts []int64) []Series {
	byLabels := map[string]int{}
	refTo := make([]int, len(v.series))
	var out []Series
	for ref, ls := range v.series {
		k := string(ls.Bytes(nil))
		i, ok := byLabels[k]
		if !ok {
			i = len(out)
			byLabels[k] = i
			out = append(out, Series{Labels: ls})
		}
		refTo[ref] = i
	}
	last := make([]int, len(out))
	for i := range last {
		last[i] = -1
	}
	for k, step := range v.steps {
		for _, s := range step {
			i := refTo[s.ref]
			if last[i] == k {
				continue // a second sample for the same labels and step
			}
			last[i] = k
			out[i].Points = append(out[i].Points, Point{T: ts[k], V: s.v})
		}
	}
	out = slices.DeleteFunc(out, func(s Series) bool { return len(s.Points) == 0 })
	slices.SortFunc(out, func(a, b Series) int { return labels.Compare(a.Labels, b.Labels) })
	return out
}

func (ev *evaluator) eval(ctx context.Context, e Expr, plan rangePlan) (value, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch e := e.(type) {
	case *NumberLiteral:
		v := make(scalarValue, len(ev.ts))
		for i := range v {
			v[i] = e.Val
		}
		return v, nil
	case *VectorExpr:
		mv := &matrixValue{series: []labels.Labels{labels.EmptyLabels()}, steps: make([][]vecSample, len(ev.ts))}
		for i := range mv.steps {
			mv.steps[i] = []vecSample{{ref: 0, v: e.Val}}
		}
		return mv, nil
	case *RangeAggregation:
		if !isAdditive(e) {
			plan.fuse = nil
		}
		plan.keepErrors = plan.keepErrors || wantsErrors(e)
		return ev.evalRange(ctx, e, plan)
	case *VectorAggregation:
		return ev.evalVectorAgg(ctx, e)
	case *BinaryExpr:
		return ev.evalBinary(ctx, e)
	case *LabelReplaceExpr:
		return ev.evalLabelReplace(ctx, e)
	}
	return nil, fmt.Errorf("%w: %T is not a metric expression", ErrUnsupported, e)
}

// wantsErrors reports whether a range aggregation's pipeline selects
// errored entries on purpose (a filter on __error__ that rejects the
// empty value), in which case Loki counts them instead of failing.
func wantsErrors(ra *RangeAggregation) bool {
	var in func(f LabelFilter) bool
	in = func(f LabelFilter) bool {
		switch f := f.(type) {
		case *BinaryLabelFilter:
			return in(f.LHS) || in(f.RHS)
		case *StringLabelFilter:
			return f.Matcher.Name == errorLabel && !f.Matcher.Matches("")
		}
		return false
	}
	for _, s := range ra.Log.Stages {
		if lf, ok := s.(*LabelFilterStage); ok && in(lf.Filter) {
			return true
		}
	}
	if ra.Unwrap != nil {
		for _, f := range ra.Unwrap.PostFilters {
			if in(f) {
				return true
			}
		}
	}
	return false
}

func (ev *evaluator) evalMatrix(ctx context.Context, e Expr, plan rangePlan) (*matrixValue, error) {
	v, err := ev.eval(ctx, e, plan)
	if err != nil {
		return nil, err
	}
	mv, ok := v.(*matrixValue)
	if !ok {
		return nil, fmt.Errorf("%w: expected a vector, got a scalar", ErrUnsupported)
	}
	return mv, nil
}

// groupLabels returns the labels a series keeps under g.
func groupLabels(ls labels.Labels, g *Grouping, b *labels.Builder) labels.Labels {
	if g == nil {
		return labels.EmptyLabels()
	}
	b.Reset(ls)
	if g.Without {
		b.Del(g.Labels...)
	} else {
		b.Keep(g.Labels...)
	}
	return b.Labels()
}

type aggAcc struct {
	sum, mean, m2, min, max float64
	count                   float64
	used                    bool
}

func (ev *evaluator) evalVectorAgg(ctx context.Context, va *VectorAggregation) (value, error) {
	var plan rangePlan
	if va.Op == "sum" && (va.Grouping == nil || !va.Grouping.Without) {
		plan.fuse = []string{}
		if va.Grouping != nil {
			plan.fuse = append(plan.fuse, va.Grouping.Labels...)
		}
	}
	if va.Grouping != nil && !va.Grouping.Without && slices.Contains(va.Grouping.Labels, errorLabel) {
		plan.keepErrors = true
	}
	in, err := ev.evalMatrix(ctx, va.Expr, plan)
	if err != nil {
		return nil, err
	}
	switch va.Op {
	case "sort", "sort_desc":
		for _, step := range in.steps {
			slices.SortStableFunc(step, func(a, b vecSample) int {
				c := cmpFloat(a.v, b.v)
				if va.Op == "sort_desc" {
					c = -c
				}
				return c
			})
		}
		in.ordered = true
		return in, nil
	}

	// Group of every input series.
	var b labels.Builder
	gids := make([]int32, len(in.series))
	byKey := map[string]int32{}
	var groups []labels.Labels
	for ref, ls := range in.series {
		g := groupLabels(ls, va.Grouping, &b)
		k := string(g.Bytes(nil))
		id, ok := byKey[k]
		if !ok {
			id = int32(len(groups))
			byKey[k] = id
			groups = append(groups, g)
		}
		gids[ref] = id
	}

	if va.Op == "topk" || va.Op == "bottomk" {
		out := &matrixValue{series: in.series, steps: make([][]vecSample, len(in.steps))}
		for k, step := range in.steps {
			sel := slices.Clone(step)
			slices.SortFunc(sel, func(a, b vecSample) int {
				if c := cmp.Compare(gids[a.ref], gids[b.ref]); c != 0 {
					return c
				}
				c := cmpFloat(a.v, b.v)
				if va.Op == "topk" {
					c = -cmpFloat(a.v, b.v)
				}
				if c != 0 {
					return c
				}
				// Ties: the series with the smaller labels wins, so
				// results do not depend on storage order.
				return labels.Compare(in.series[a.ref], in.series[b.ref])
			})
			n := 0
			for i, s := range sel {
				if i > 0 && gids[s.ref] != gids[sel[i-1].ref] {
					n = 0
				}
				if n < va.Param {
					out.steps[k] = append(out.steps[k], s)
				}
				n++
			}
		}
		return out, nil
	}

	out := &matrixValue{series: groups, steps: make([][]vecSample, len(in.steps))}
	accs := make([]aggAcc, len(groups))
	var touched []int32
	for k, step := range in.steps {
		touched = touched[:0]
		for _, s := range step {
			g := gids[s.ref]
			a := &accs[g]
			if !a.used {
				*a = aggAcc{used: true, min: s.v, max: s.v}
				touched = append(touched, g)
			}
			a.count++
			a.sum += s.v
			delta := s.v - a.mean
			a.mean += delta / a.count
			a.m2 += delta * (s.v - a.mean)
			if s.v < a.min || math.IsNaN(a.min) {
				a.min = s.v
			}
			if s.v > a.max || math.IsNaN(a.max) {
				a.max = s.v
			}
		}
		slices.Sort(touched)
		for _, g := range touched {
			a := &accs[g]
			var v float64
			switch va.Op {
			case "sum":
				v = a.sum
			case "avg":
				v = a.sum / a.count
			case "min":
				v = a.min
			case "max":
				v = a.max
			case "count":
				v = a.count
			case "stdvar":
				v = a.m2 / a.count
			case "stddev":
				v = math.Sqrt(a.m2 / a.count)
			}
			out.steps[k] = append(out.steps[k], vecSample{ref: g, v: v})
			a.used = false
		}
	}
	return out, nil
}

// cmpFloat orders floats ascending with NaN last.
func cmpFloat(a, b float64) int {
	switch {
	case math.IsNaN(a) && math.IsNaN(b):
		return 0
	case math.IsNaN(a):
		return 1
	case math.IsNaN(b):
		return -1
	}
	return cmp.Compare(a, b)
}

// binop applies op; for comparisons keep says whether the comparison
// holds, and v is the left operand (or 0/1 with returnBool).
func binop(op string, a, b float64, returnBool bool) (v float64, keep bool) {
	switch op {
	case "+":
		return a + b, true
	case "-":
		return a - b, true
	case "*":
		return a * b, true
	case "/":
		return a / b, true
	case "%":
		return math.Mod(a, b), true
	case "^":
		return math.Pow(a, b), true
	}
	ok := false
	switch op {
	case "==":
		ok = a == b
	case "!=":
		ok = a != b
	case ">":
		ok = a > b
	case ">=":
		ok = a >= b
	case "<":
		ok = a < b
	case "<=":
		ok = a <= b
	}
	if returnBool {
		if ok {
			return 1, true
		}
		return 0, true
	}
	return a, ok
}

func (ev *evaluator) evalBinary(ctx context.Context, be *BinaryExpr) (value, error) {
	lv, err := ev.eval(ctx, be.LHS, rangePlan{})
	if err != nil {
		return nil, err
	}
	rv, err := ev.eval(ctx, be.RHS, rangePlan{})
	if err != nil {
		return nil, err
	}
	ls, lScalar := lv.(scalarValue)
	rs, rScalar := rv.(scalarValue)
	switch {
	case lScalar && rScalar:
		out := make(scalarValue, len(ls))
		for i := range ls {
			out[i], _ = binop(be.Op, ls[i], rs[i], true)
		}
		return out, nil
	case lScalar || rScalar:
		var mv *matrixValue
		var sc scalarValue
		if lScalar {
			mv, sc = rv.(*matrixValue), ls
		} else {
			mv, sc = lv.(*matrixValue), rs
		}
		out := &matrixValue{series: mv.series, steps: make([][]vecSample, len(mv.steps))}
		for k, step := range mv.steps {
			for _, s := range step {
				a, b := s.v, sc[k]
				if lScalar {
					a, b = b, a
				}
				v, keep := binop(be.Op, a, b, be.Bool)
				if !keep {
					continue
				}
				if isComparison(be.Op) && !be.Bool {
					v = s.v // the vector's value, whichever side it is on
				}
				out.steps[k] = append(out.steps[k], vecSample{ref: s.ref, v: v})
			}
		}
		return out, nil
	}
	l, r := lv.(*matrixValue), rv.(*matrixValue)
	if isSetOp(be.Op) {
		return setOp(be, l, r), nil
	}
	return vectorBinop(be, l, r)
}

// signatures computes the matching key of every series of mv.
func signatures(mv *matrixValue, m *VectorMatching) []string {
	out := make([]string, len(mv.series))
	var names []string
	if m != nil {
		names = slices.Sorted(slices.Values(m.Labels))
	}
	for i, ls := range mv.series {
		switch {
		case m == nil:
			out[i] = string(ls.Bytes(nil))
		case m.On:
			out[i] = string(ls.BytesWithLabels(nil, names...))
		default:
			out[i] = string(ls.BytesWithoutLabels(nil, names...))
		}
	}
	return out
}

func setOp(be *BinaryExpr, l, r *matrixValue) *matrixValue {
	lsig, rsig := signatures(l, be.Matching), signatures(r, be.Matching)
	off := int32(len(l.series))
	out := &matrixValue{series: append(slices.Clone(l.series), r.series...), steps: make([][]vecSample, len(l.steps))}
	for k := range l.steps {
		rset := map[string]bool{}
		for _, s := range r.steps[k] {
			rset[rsig[s.ref]] = true
		}
		switch be.Op {
		case "and":
			for _, s := range l.steps[k] {
				if rset[lsig[s.ref]] {
					out.steps[k] = append(out.steps[k], s)
				}
			}
		case "unless":
			for _, s := range l.steps[k] {
				if !rset[lsig[s.ref]] {
					out.steps[k] = append(out.steps[k], s)
				}
			}
		case "or":
			lset := map[string]bool{}
			for _, s := range l.steps[k] {
				lset[lsig[s.ref]] = true
				out.steps[k] = append(out.steps[k], s)
			}
			for _, s := range r.steps[k] {
				if !lset[rsig[s.ref]] {
					out.steps[k] = append(out.steps[k], vecSample{ref: s.ref + off, v: s.v})
				}
			}
		}
	}
	return out
}

func vectorBinop(be *BinaryExpr, l, r *matrixValue) (*matrixValue, error) {
	lsig, rsig := signatures(l, be.Matching), signatures(r, be.Matching)
	card := ""
	if be.Matching != nil {
		card = be.Matching.Card
	}
	// The "one" side is indexed by signature; the "many" side is walked.
	many, one, manySig, oneSig := l, r, lsig, rsig
	if card == "group_right" {
		many, one, manySig, oneSig = r, l, rsig, lsig
	}
	var b labels.Builder
	out := &matrixValue{steps: make([][]vecSample, len(l.steps))}
	refs := map[[2]int32]int32{} // (many ref, one ref) -> result ref
	byLabels := map[string]int32{}
	resultRef := func(mref, oref int32) int32 {
		if id, ok := refs[[2]int32{mref, oref}]; ok {
			return id
		}
		b.Reset(many.series[mref])
		switch {
		case card == "":
			if be.Matching != nil && be.Matching.On {
				b.Keep(be.Matching.Labels...)
			} else if be.Matching != nil {
				b.Del(be.Matching.Labels...)
			}
		default:
			oneLs := one.series[oref]
			for _, n := range be.Matching.Include {
				b.Set(n, oneLs.Get(n))
			}
		}
		ls := b.Labels()
		k := string(ls.Bytes(nil))
		id, ok := byLabels[k]
		if !ok {
			id = int32(len(out.series))
			byLabels[k] = id
			out.series = append(out.series, ls)
		}
		refs[[2]int32{mref, oref}] = id
		return id
	}
	for k := range l.steps {
		oneBySig := map[string]vecSample{}
		for _, s := range one.steps[k] {
			sig := oneSig[s.ref]
			if _, dup := oneBySig[sig]; dup {
				return nil, fmt.Errorf("%w: found duplicate series for the match group %s on the %s hand-side of the operation; many-to-many matching not allowed: matching labels must be unique on one side",
					ErrUnsupported, one.series[s.ref], map[bool]string{true: "left", false: "right"}[card == "group_right"])
			}
			oneBySig[sig] = s
		}
		seenMany := map[string]bool{}
		seenOut := map[int32]bool{}
		for _, ms := range many.steps[k] {
			sig := manySig[ms.ref]
			os, ok := oneBySig[sig]
			if !ok {
				continue
			}
			if card == "" {
				if seenMany[sig] {
					return nil, fmt.Errorf("%w: multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)", ErrUnsupported)
				}
				seenMany[sig] = true
			}
			vl, vr := ms.v, os.v
			if card == "group_right" {
				vl, vr = vr, vl
			}
			v, keep := binop(be.Op, vl, vr, be.Bool)
			if !keep {
				continue
			}
			id := resultRef(ms.ref, os.ref)
			if seenOut[id] {
				return nil, fmt.Errorf("%w: multiple matches for labels: grouping labels must ensure unique matches", ErrUnsupported)
			}
			seenOut[id] = true
			out.steps[k] = append(out.steps[k], vecSample{ref: id, v: v})
		}
	}
	return out, nil
}

func (ev *evaluator) evalLabelReplace(ctx context.Context, e *LabelReplaceExpr) (value, error) {
	in, err := ev.evalMatrix(ctx, e.Expr, rangePlan{})
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile("^(?s:" + e.Regex + ")$")
	if err != nil {
		return nil, err
	}
	var b labels.Builder
	out := &matrixValue{steps: make([][]vecSample, len(in.steps))}
	byLabels := map[string]int32{}
	refs := make([]int32, len(in.series))
	for ref, ls := range in.series {
		src := ls.Get(e.Src)
		nls := ls
		if idx := re.FindStringSubmatchIndex(src); idx != nil {
			res := string(re.ExpandString(nil, e.Replacement, src, idx))
			b.Reset(ls)
			b.Set(e.Dst, res) // an empty value deletes the label
			nls = b.Labels()
		}
		k := string(nls.Bytes(nil))
		id, ok := byLabels[k]
		if !ok {
			id = int32(len(out.series))
			byLabels[k] = id
			out.series = append(out.series, nls)
		}
		refs[ref] = id
	}
	for k, step := range in.steps {
		for _, s := range step {
			out.steps[k] = append(out.steps[k], vecSample{ref: refs[s.ref], v: s.v})
		}
	}
	return out, nil
}
