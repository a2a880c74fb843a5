package logqltest

import (
	"context"
	"slices"

	"github.com/argus-obs/argus/internal/query/logql"
)

// MemQuerier is the reference logql.Querier: a slice of entries in
// memory. It honours the matchers, the [Start, End) window and the
// direction, and ignores every hint, so a store's results can be checked
// against it. It is safe for concurrent use once built.
type MemQuerier struct {
	entries []logql.Entry // by time; equal times in load order
}

// NewMemQuerier returns a querier over a copy of entries.
func NewMemQuerier(entries []logql.Entry) *MemQuerier {
	es := slices.Clone(entries)
	slices.SortStableFunc(es, func(a, b logql.Entry) int {
		switch {
		case a.Time < b.Time:
			return -1
		case a.Time > b.Time:
			return 1
		}
		return 0
	})
	return &MemQuerier{entries: es}
}

// SelectLogs implements logql.Querier. Entries with equal times come in
// load order, reversed for Backward.
func (m *MemQuerier) SelectLogs(ctx context.Context, p logql.SelectParams, fn func(*logql.Entry) bool) error {
	lo, _ := slices.BinarySearchFunc(m.entries, p.Start, func(e logql.Entry, t int64) int { return cmpInt(e.Time, t) })
	hi, _ := slices.BinarySearchFunc(m.entries, p.End, func(e logql.Entry, t int64) int { return cmpInt(e.Time, t) })
	if hi < lo {
		return nil
	}
	var e logql.Entry // reused: the engine may not keep it
	visit := func(i int) bool {
		for _, mt := range p.Matchers {
			if !mt.Matches(m.entries[i].Stream.Get(mt.Name)) {
				return true
			}
		}
		e = m.entries[i]
		return fn(&e)
	}
	if p.Direction == logql.Forward {
		for i := lo; i < hi; i++ {
			if i%1024 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			if !visit(i) {
				return nil
			}
		}
		return nil
	}
	for i := hi - 1; i >= lo; i-- {
		if i%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if !visit(i) {
			return nil
		}
	}
	return nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
