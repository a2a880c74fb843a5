package logs

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/query/logql"
	"github.com/argus-obs/argus/internal/store/colstore"
	"github.com/argus-obs/argus/internal/store/resource"
)

var _ logql.Querier = (*Store)(nil)

// Window sizing for SelectLogs. Entries must come out in time order, and
// the column store returns a window's rows in storage order, so each
// window is collected and sorted before it is handed out. A window starts
// at 1/64 of the range and grows fourfold while windows come back small,
// so "the newest 100 lines of the last week" reads an hour or two, not the
// week; it shrinks when a window holds more than maxWindowRows, bounding
// the memory of one window.
const (
	minWindow      = int64(time.Minute)
	smallWindow    = 4096
	maxWindowRows  = 256 << 10
	windowsPerSpan = 64
)

// SelectLogs implements logql.Querier. It pushes the engine's hints down to
// the column store: line substrings become a word-bloom-checked filter on
// the body, metadata equalities on trace_id, span_id, correlation_id or an
// attribute become indexed column filters, and only the columns the
// engine reads are decoded.
func (s *Store) SelectLogs(ctx context.Context, p logql.SelectParams, fn func(*logql.Entry) bool) error {
	lo, hi, ok := s.cs.TimeRange()
	if !ok {
		return nil
	}
	lo, hi = max(lo, p.Start), min(hi, p.End-1)
	if lo > hi {
		return nil
	}
	sel := newStreamSelector(p.Matchers)
	q := colstore.Query{Stream: sel.match, Columns: columnsFor(&p)}
	for _, sub := range p.LineContains {
		q.Filters = append(q.Filters, colstore.Filter{Column: colBody, Type: colstore.TypeText, Op: colstore.OpContains, Value: []byte(sub)})
	}
	if len(p.MetadataEquals) > 0 {
		// A condition on a name that is also a label of a selected stream
		// reads the stream label there; such conditions stay with the
		// engine.
		streamNames := map[string]bool{}
		err := s.cs.Streams(ctx, lo, hi, func(ls []colstore.Label) {
			if sel.match(ls) {
				for _, l := range ls {
					streamNames[LabelName(l.Name)] = true
				}
			}
		})
		if err != nil {
			return err
		}
		for _, c := range p.MetadataEquals {
			if f, ok := metadataFilter(c); ok && !streamNames[c.Name] {
				q.Filters = append(q.Filters, f)
			}
		}
	}

	w := windowReader{sel: sel, wantLevel: p.AllMetadata || slices.Contains(p.Metadata, metaLevel) || slices.Contains(p.Metadata, metaDetectedLevel)}
	size := max((hi-lo)/windowsPerSpan, minWindow)
	if p.CountEdges != nil {
		// Counting keeps one number per stream, metadata and interval,
		// however many rows: one window covers the whole range.
		w.edges = p.CountEdges
		size = hi - lo + 1
	}
	for {
		from, to := lo, hi // the window, inclusive
		if p.Direction == logql.Forward {
			to = min(hi, lo+size-1)
		} else {
			from = max(lo, hi-size+1)
		}
		q.MinTime, q.MaxTime = from, to
		n, more, err := w.run(ctx, s.cs, &q, p.Direction, fn)
		if err != nil || !more {
			return err
		}
		if p.Direction == logql.Forward {
			if to >= hi {
				return nil
			}
			lo = to + 1
		} else {
			if from <= lo {
				return nil
			}
			hi = from - 1
		}
		switch {
		case n < smallWindow:
			size = min(size*4, math.MaxInt64/8)
		case n > maxWindowRows:
			size = max(size/2, 1)
		}
	}
}

// columnsFor lists the columns the engine will read, or nil for all.
func columnsFor(p *logql.SelectParams) []string {
	if p.AllMetadata {
		return nil
	}
	cols := []string{}
	if !p.NoLine {
		cols = append(cols, colBody)
	}
	for _, name := range p.Metadata {
		switch name {
		case metaTraceID:
			cols = append(cols, colTraceID)
		case metaSpanID:
			cols = append(cols, colSpanID)
		case metaCorrelationID:
			cols = append(cols, colCorrelationID)
		case metaLevel, metaDetectedLevel:
			cols = append(cols, colSeverity, colSeverityText)
		}
		cols = append(cols, attrPrefix+name) // an attribute may shadow the names above
	}
	return cols
}

// metadataFilter turns a metadata equality into a column filter. ok is
// false for conditions the column store cannot apply exactly (an empty
// value, the derived level, a trace ID not in LogQL's spelling).
func metadataFilter(c labels.Label) (colstore.Filter, bool) {
	if c.Value == "" {
		return colstore.Filter{}, false
	}
	switch c.Name {
	case metaTraceID:
		id, ok := parseTraceIDLabel(c.Value)
		return colstore.Filter{Column: colTraceID, Type: colstore.TypeID, Op: colstore.OpEqual, Value: id[:]}, ok
	case metaSpanID:
		id, ok := parseSpanIDLabel(c.Value)
		return colstore.Filter{Column: colSpanID, Type: colstore.TypeID, Op: colstore.OpEqual, Value: id[:]}, ok
	case metaCorrelationID:
		return colstore.Filter{Column: colCorrelationID, Type: colstore.TypeString, Op: colstore.OpEqual, Value: []byte(c.Value)}, true
	case metaLevel, metaDetectedLevel:
		return colstore.Filter{}, false
	}
	return colstore.Filter{Column: attrPrefix + c.Name, Type: colstore.TypeString, Op: colstore.OpEqual, Value: []byte(c.Value)}, true
}

// streamSelector matches column-store streams against LogQL matchers and
// keeps each stream's LogQL labels, converted once.
type streamSelector struct {
	matchers []*labels.Matcher
	// last is the most recent stream seen, for the common case of many
	// rows of one stream in a row.
	last     []colstore.Label
	lastInfo streamInfo
	byKey    map[string]streamInfo
	key      []byte
}

type streamInfo struct {
	labels labels.Labels
	ok     bool
	id     int32 // the order in which the selector first saw the stream
}

func newStreamSelector(m []*labels.Matcher) *streamSelector {
	return &streamSelector{matchers: m, byKey: map[string]streamInfo{}}
}

// lookup returns the LogQL labels of a stream and whether it matches.
func (sel *streamSelector) lookup(ls []colstore.Label) (labels.Labels, bool) {
	info := sel.info(ls)
	return info.labels, info.ok
}

// info returns what the selector knows of a stream.
func (sel *streamSelector) info(ls []colstore.Label) streamInfo {
	if sel.last != nil && slices.Equal(sel.last, ls) {
		return sel.lastInfo
	}
	sel.key = sel.key[:0]
	for _, l := range ls {
		sel.key = append(sel.key, l.Name...)
		sel.key = append(sel.key, 0)
		sel.key = append(sel.key, l.Value...)
		sel.key = append(sel.key, 0)
	}
	info, ok := sel.byKey[string(sel.key)]
	if !ok {
		info.labels = StreamLabels(ls)
		info.ok = true
		info.id = int32(len(sel.byKey))
		for _, m := range sel.matchers {
			if !m.Matches(info.labels.Get(m.Name)) {
				info.ok = false
				break
			}
		}
		sel.byKey[string(sel.key)] = info
	}
	// ls may alias memory the column store reuses: keep a copy.
	sel.last = sel.last[:0]
	for _, l := range ls {
		sel.last = append(sel.last, colstore.Label{Name: strings.Clone(l.Name), Value: strings.Clone(l.Value)})
	}
	sel.lastInfo = info
	return info
}

func (sel *streamSelector) match(ls []colstore.Label) bool {
	_, ok := sel.lookup(ls)
	return ok
}

// StreamLabels returns the LogQL labels of a column-store stream: the
// resource's service as service_name and each resource attribute under
// its LogQL name (the first of two attributes whose names collide wins).
func StreamLabels(ls []colstore.Label) labels.Labels {
	b := labels.NewScratchBuilder(len(ls))
	seen := make(map[string]bool, len(ls))
	for _, l := range ls {
		if l.Name == resource.TypesLabel {
			continue
		}
		name := LabelName(l.Name)
		if seen[name] || l.Value == "" {
			continue
		}
		seen[name] = true
		b.Add(name, l.Value)
	}
	b.Sort()
	return b.Labels()
}

// windowReader collects one window's rows as entries, sorts them and hands
// them out. Its buffers are reused from window to window: the engine keeps
// nothing of an entry past its callback.
type windowReader struct {
	sel     *streamSelector
	entries []logql.Entry
	arena   []byte
	order   []int32
	meta    labels.ScratchBuilder
	// cur is the metadata of the current entry; prev and prevLabels the
	// last metadata built, reused when the next entry's is the same (a
	// metric query reading only the level gets a handful of distinct
	// metadata over millions of entries, and so no allocation per entry).
	// Their strings point into the arena: both are reset with it.
	cur, prev  []labels.Label
	prevLabels labels.Labels
	prevOK     bool
	// wantLevel adds level and detected_level to every entry whose
	// record has a severity number or text: its level name ("unknown"
	// for text Argus does not know).
	wantLevel bool
	// line, sev and sevText are read from the current row with cur.
	line    string
	sev     model.Severity
	sevText string
	roles   []fieldRole // of the current block's columns, when counting

	// edges, when set, are the engine's SelectParams.CountEdges: rows are
	// counted per stream, metadata and interval instead of handed over.
	edges    []int64
	groupIDs map[uint64]int32 // stream id << 32 | metadata id -> index in groups
	groups   []countGroup
	memos    [4]rowMemo // the last distinct rows of the block, newest first
	nMemo    int
	metaIDs  map[string]int32 // metadata, length-prefixed names and values -> index in metas
	metas    []labels.Labels
	metaKey  []byte
	interval int // the interval of the last row, tried first for the next
	out      []intervalCount
}

// countGroup counts the rows of one stream with one metadata.
type countGroup struct {
	stream, meta int32
	// counts are runs of rows in one interval, in row order: a stream's
	// rows come in time order within a block, so most rows add to the
	// last run.
	counts []intervalCount
}

// intervalCount is n rows of a group in one interval.
type intervalCount struct {
	group, interval int32
	n               int64
}

func (w *windowReader) run(ctx context.Context, cs *colstore.Store, q *colstore.Query, dir logql.Direction, fn func(*logql.Entry) bool) (n int, more bool, err error) {
	if w.edges != nil {
		return w.runCounting(ctx, cs, q, dir, fn)
	}
	w.entries = w.entries[:0]
	w.arena = w.arena[:0]
	w.prevOK = false
	err = cs.Search(ctx, *q, func(r *colstore.Row) bool {
		w.entries = append(w.entries, w.entry(r))
		return true
	})
	if err != nil {
		return 0, false, err
	}
	n = len(w.entries)
	w.order = w.order[:0]
	for i := range w.entries {
		w.order = append(w.order, int32(i))
	}
	slices.SortStableFunc(w.order, func(a, b int32) int {
		c := cmp.Compare(w.entries[a].Time, w.entries[b].Time)
		if dir == logql.Backward {
			c = -c
		}
		return c
	})
	for _, i := range w.order {
		if !fn(&w.entries[i]) {
			return n, false, nil
		}
	}
	return n, true, ctx.Err()
}

// str copies s into the arena and returns a string over the copy. The
// string stays valid after the arena grows (it keeps the old array alive)
// and until the arena is reset for the next window.
func (w *windowReader) str(s string) string {
	if s == "" {
		return ""
	}
	start := len(w.arena)
	w.arena = append(w.arena, s...)
	b := w.arena[start:len(w.arena):len(w.arena)]
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func (w *windowReader) entry(r *colstore.Row) logql.Entry {
	e := logql.Entry{Time: r.Time}
	e.Stream, _ = w.sel.lookup(r.Stream)
	e.Line = w.collectMeta(r)
	if !w.prevOK || !slices.Equal(w.cur, w.prev) {
		w.meta.Reset()
		for _, l := range w.cur {
			w.meta.Add(l.Name, l.Value)
		}
		w.prevLabels = w.meta.Labels()
		w.prev = append(w.prev[:0], w.cur...)
		w.prevOK = true
	}
	e.Metadata = w.prevLabels
	return e
}

// runCounting counts the window's rows per stream, metadata and interval
// and hands each count over as one entry at the end of its interval, in
// dir order. n is the number of rows.
func (w *windowReader) runCounting(ctx context.Context, cs *colstore.Store, q *colstore.Query, dir logql.Direction, fn func(*logql.Entry) bool) (n int, more bool, err error) {
	if w.groupIDs == nil {
		w.groupIDs = map[uint64]int32{}
		w.metaIDs = map[string]int32{}
	}
	clear(w.groupIDs)
	w.groups = w.groups[:0]
	err = cs.SearchBlocks(ctx, *q, func(b *colstore.Block) bool {
		n += w.countBlock(b)
		return true
	})
	if err != nil {
		return 0, false, err
	}
	// One entry per group and interval, in interval order.
	w.out = w.out[:0]
	for _, g := range w.groups {
		w.out = append(w.out, g.counts...)
	}
	slices.SortFunc(w.out, func(a, b intervalCount) int {
		c := cmp.Compare(a.interval, b.interval)
		if dir == logql.Backward {
			c = -c
		}
		if c == 0 {
			c = cmp.Compare(a.group, b.group)
		}
		return c
	})
	streams := make([]labels.Labels, len(w.sel.byKey))
	for _, info := range w.sel.byKey {
		streams[info.id] = info.labels
	}
	for i := 0; i < len(w.out); {
		c := w.out[i]
		for i++; i < len(w.out) && w.out[i].group == c.group && w.out[i].interval == c.interval; i++ {
			c.n += w.out[i].n
		}
		g := &w.groups[c.group]
		e := logql.Entry{Time: w.edges[c.interval], Stream: streams[g.stream], Metadata: w.metas[g.meta], Count: c.n}
		if !fn(&e) {
			return n, false, nil
		}
	}
	return n, true, ctx.Err()
}

// countBlock counts the block's selected rows per stream, metadata and
// interval, and returns how many there were. A row whose column values
// equal those of one of the last few distinct rows of the block joins
// its group without its metadata being built: a block's lines take turns
// among a handful of levels.
func (w *windowReader) countBlock(b *colstore.Block) int {
	stream := w.sel.info(b.Stream).id
	w.roles = w.roles[:0]
	for _, c := range b.Columns {
		w.roles = append(w.roles, roleOf(c.Name))
	}
	w.nMemo = 0 // memos point into the previous block
	n := 0
rows:
	for i, t := range b.Times {
		if b.Selected != nil && !b.Selected[i] {
			continue
		}
		n++
		for k := range w.nMemo {
			if w.memos[k].matches(b, i) {
				w.add(w.memos[k].group, t)
				if k > 0 {
					w.memos[0], w.memos[k] = w.memos[k], w.memos[0]
				}
				continue rows
			}
		}
		w.arena = w.arena[:0] // the metadata's strings are copied when kept
		w.beginMeta()
		for ci := range b.Columns {
			c := &b.Columns[ci]
			if c.Type == colstore.TypeInt {
				w.field(w.roles[ci], "", c.Ints[i], nil)
				continue
			}
			v := c.Values[i]
			w.field(w.roles[ci], unsafe.String(unsafe.SliceData(v), len(v)), 0, v)
		}
		w.endMeta()
		gi := w.group(stream, w.internMeta())
		w.add(gi, t)
		// Remember the row, newest first, forgetting the oldest.
		k := min(w.nMemo, len(w.memos)-1)
		w.nMemo = k + 1
		w.memos[k].set(b, i, gi)
		w.memos[0], w.memos[k] = w.memos[k], w.memos[0]
	}
	return n
}

// rowMemo is the column values of a row and the group they put it in.
type rowMemo struct {
	ints  []int64
	vals  [][]byte // they point into the block
	group int32
}

// set remembers row i of b, which is in group.
func (m *rowMemo) set(b *colstore.Block, i int, group int32) {
	m.ints, m.vals, m.group = m.ints[:0], m.vals[:0], group
	for ci := range b.Columns {
		c := &b.Columns[ci]
		if c.Type == colstore.TypeInt {
			m.ints = append(m.ints, c.Ints[i])
			m.vals = append(m.vals, nil)
		} else {
			m.ints = append(m.ints, 0)
			m.vals = append(m.vals, c.Values[i])
		}
	}
}

// matches reports whether row i of b has the remembered row's values.
func (m *rowMemo) matches(b *colstore.Block, i int) bool {
	for ci := range b.Columns {
		c := &b.Columns[ci]
		if c.Type == colstore.TypeInt {
			if c.Ints[i] != m.ints[ci] {
				return false
			}
		} else if !bytes.Equal(c.Values[i], m.vals[ci]) {
			return false
		}
	}
	return true
}

// group returns the group of stream and metadata meta, made if new.
func (w *windowReader) group(stream, meta int32) int32 {
	key := uint64(stream)<<32 | uint64(uint32(meta))
	gi, ok := w.groupIDs[key]
	if !ok {
		gi = int32(len(w.groups))
		w.groups = append(w.groups, countGroup{stream: stream, meta: meta})
		w.groupIDs[key] = gi
	}
	return gi
}

// add counts a row at time t in group gi.
func (w *windowReader) add(gi int32, t int64) {
	g := &w.groups[gi]
	interval := int32(w.intervalOf(t))
	if k := len(g.counts) - 1; k >= 0 && g.counts[k].interval == interval {
		g.counts[k].n++
		return
	}
	g.counts = append(g.counts, intervalCount{group: gi, interval: interval, n: 1})
}

// internMeta returns the index in w.metas of the metadata in w.cur,
// keeping a copy of it if it is new.
func (w *windowReader) internMeta() int32 {
	w.metaKey = w.metaKey[:0]
	for _, l := range w.cur {
		w.metaKey = binary.AppendUvarint(w.metaKey, uint64(len(l.Name)))
		w.metaKey = append(w.metaKey, l.Name...)
		w.metaKey = binary.AppendUvarint(w.metaKey, uint64(len(l.Value)))
		w.metaKey = append(w.metaKey, l.Value...)
	}
	if id, ok := w.metaIDs[string(w.metaKey)]; ok {
		return id
	}
	w.meta.Reset()
	for _, l := range w.cur {
		w.meta.Add(strings.Clone(l.Name), strings.Clone(l.Value))
	}
	id := int32(len(w.metas))
	w.metas = append(w.metas, w.meta.Labels())
	w.metaIDs[string(w.metaKey)] = id
	return id
}

// intervalOf returns i such that edges[i-1] < t <= edges[i]. Rows of a
// stream come in time order, so the last answer is tried first.
func (w *windowReader) intervalOf(t int64) int {
	if i := w.interval; i > 0 && i < len(w.edges) && w.edges[i-1] < t && t <= w.edges[i] {
		return i
	}
	w.interval, _ = slices.BinarySearch(w.edges, t)
	return w.interval
}

// collectMeta sets w.cur to the row's metadata, sorted by name, and
// returns its line; strings are copied into the arena.
func (w *windowReader) collectMeta(r *colstore.Row) (line string) {
	w.beginMeta()
	for i := range r.Fields {
		f := &r.Fields[i]
		w.field(roleOf(f.Name), f.Str, f.Int, f.Bytes)
	}
	w.endMeta()
	return w.line
}

// The meaning of a column to LogQL.
const (
	roleNone uint8 = iota
	roleBody
	roleSeverity
	roleSeverityText
	roleTraceID
	roleSpanID
	roleCorrelationID
	roleAttr // an attribute: structured metadata under its name
)

// fieldRole is the meaning of a column, and the metadata name of an
// attribute column.
type fieldRole struct {
	kind uint8
	name string
}

// roleOf says what a column of the log store means.
func roleOf(column string) fieldRole {
	switch column {
	case colBody:
		return fieldRole{kind: roleBody}
	case colSeverity:
		return fieldRole{kind: roleSeverity}
	case colSeverityText:
		return fieldRole{kind: roleSeverityText}
	case colTraceID:
		return fieldRole{kind: roleTraceID}
	case colSpanID:
		return fieldRole{kind: roleSpanID}
	case colCorrelationID:
		return fieldRole{kind: roleCorrelationID}
	}
	if name, ok := strings.CutPrefix(column, attrPrefix); ok {
		return fieldRole{kind: roleAttr, name: name}
	}
	return fieldRole{}
}

// beginMeta starts reading a row's fields into w.cur, w.line and the
// severity.
func (w *windowReader) beginMeta() {
	w.cur = w.cur[:0]
	w.line, w.sev, w.sevText = "", 0, ""
}

// field reads one field of the row: str for string columns, num for
// integer ones, raw for IDs.
func (w *windowReader) field(role fieldRole, str string, num int64, raw []byte) {
	switch role.kind {
	case roleBody:
		w.line = w.str(str)
	case roleSeverity:
		w.sev = model.Severity(num)
	case roleSeverityText:
		w.sevText = str
	case roleTraceID:
		w.addMeta(metaTraceID, w.hex(raw))
	case roleSpanID:
		w.addMeta(metaSpanID, w.hex(raw))
	case roleCorrelationID:
		w.addMeta(metaCorrelationID, w.str(str))
	case roleAttr:
		w.addMeta(role.name, w.str(str))
	}
}

// endMeta adds the level and sorts w.cur by name.
func (w *windowReader) endMeta() {
	if w.wantLevel && (w.sev != 0 || w.sevText != "") {
		rec := model.LogRecord{Severity: w.sev, SeverityText: w.sevText}
		level := rec.Level()
		w.addMeta(metaDetectedLevel, level) // in name order: often nothing to sort
		w.addMeta(metaLevel, level)
	}
	byName := func(a, b labels.Label) int { return strings.Compare(a.Name, b.Name) }
	if !slices.IsSortedFunc(w.cur, byName) {
		slices.SortFunc(w.cur, byName)
	}
}

// addMeta adds a metadata label unless the name is taken or the value
// empty (LogQL treats an empty label as absent).
func (w *windowReader) addMeta(name, value string) {
	if value == "" || slices.ContainsFunc(w.cur, func(l labels.Label) bool { return l.Name == name }) {
		return
	}
	w.cur = append(w.cur, labels.Label{Name: name, Value: value})
}

func (w *windowReader) hex(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	const digits = "0123456789abcdef"
	start := len(w.arena)
	for _, c := range b {
		w.arena = append(w.arena, digits[c>>4], digits[c&0xf])
	}
	v := w.arena[start:len(w.arena):len(w.arena)]
	return unsafe.String(unsafe.SliceData(v), len(v))
}
