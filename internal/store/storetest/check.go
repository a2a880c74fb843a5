package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
)

// maxDiffs caps the differences one comparison of spans reports, and
// maxTraceDiffs the traces that differ one check reports.
const (
	maxDiffs      = 12
	maxTraceDiffs = 5
)

// writeSpans writes a deep copy of spans, so a store that modifies what it
// is given cannot also corrupt the suite's expectations.
func writeSpans(t *testing.T, s TraceStore, spans []model.Span) {
	t.Helper()
	if err := s.WriteSpans(t.Context(), cloneSpans(spans)); err != nil {
		t.Fatalf("WriteSpans(%d spans): %v", len(spans), err)
	}
}

// getTrace calls GetTrace and checks what any answer must satisfy: no
// error, spans of the asked trace, ordered by start time.
func getTrace(t *testing.T, s TraceStore, id model.TraceID) []model.Span {
	t.Helper()
	spans, err := s.GetTrace(t.Context(), id)
	if err != nil {
		t.Fatalf("GetTrace(%s): %v", id, err)
	}
	if msg := checkTraceSpans(id, spans); msg != "" {
		t.Errorf("GetTrace(%s): %s", id, msg)
	}
	return spans
}

// checkTraceSpans reports what is wrong with spans as the spans of trace id:
// none, a span of another trace, or start times out of order.
func checkTraceSpans(id model.TraceID, spans []model.Span) string {
	if len(spans) == 0 {
		return "no spans"
	}
	for i := range spans {
		if spans[i].TraceID != id {
			return fmt.Sprintf("span %d (%s) has trace ID %s", i, spans[i].SpanID, spans[i].TraceID)
		}
		if i > 0 && spans[i].StartUnixNano < spans[i-1].StartUnixNano {
			return fmt.Sprintf("spans not ordered by start time: span %d (%s) starts at %d, before span %d (%s) at %d",
				i, spans[i].SpanID, spans[i].StartUnixNano, i-1, spans[i-1].SpanID, spans[i-1].StartUnixNano)
		}
	}
	return ""
}

// wantTrace checks that GetTrace returns exactly the spans want (in any
// order of the suite's choosing).
func wantTrace(t *testing.T, s TraceStore, want []model.Span) {
	t.Helper()
	id := want[0].TraceID
	if d := diffSpans(want, getTrace(t, s, id)); d != "" {
		t.Errorf("GetTrace(%s) differs from what was written:\n%s", id, d)
	}
}

// wantTraces checks GetTrace for every trace of traces, in ID order,
// reporting at most a few traces that differ.
func wantTraces(t *testing.T, s TraceStore, traces map[model.TraceID][]model.Span) {
	t.Helper()
	bad := 0
	for _, id := range sortedIDs(traces) {
		if d := diffSpans(traces[id], getTrace(t, s, id)); d != "" {
			if bad++; bad > maxTraceDiffs {
				t.Errorf("GetTrace: more traces differ; not reported")
				return
			}
			t.Errorf("GetTrace(%s) differs from what was written:\n%s", id, d)
		}
	}
}

// wantNotFound checks that GetTrace reports ErrTraceNotFound for id.
func wantNotFound(t *testing.T, s TraceStore, id model.TraceID) {
	t.Helper()
	spans, err := s.GetTrace(t.Context(), id)
	if !errors.Is(err, store.ErrTraceNotFound) {
		t.Errorf("GetTrace(%s) of an unknown trace = %d spans, error %v; want an error wrapping store.ErrTraceNotFound", id, len(spans), err)
	}
}

// findTraces calls FindTraces and checks what any answer must satisfy: no
// error, and each trace's spans belong to it, ordered by start time.
func findTraces(t *testing.T, s TraceStore, q store.TraceQuery) []store.Trace {
	t.Helper()
	got, err := s.FindTraces(t.Context(), q)
	if err != nil {
		t.Fatalf("FindTraces(%s): %v", fmtQuery(q), err)
	}
	for i := range got {
		if msg := checkTraceSpans(got[i].ID, got[i].Spans); msg != "" {
			t.Errorf("FindTraces(%s): trace %d (%s): %s", fmtQuery(q), i, got[i].ID, msg)
		}
	}
	return got
}

// wantFind checks that FindTraces(q) returns the traces want, in that
// order, each with all its spans as in written.
func wantFind(t *testing.T, s TraceStore, q store.TraceQuery, written map[model.TraceID][]model.Span, want ...model.TraceID) {
	t.Helper()
	got := findTraces(t, s, q)
	ids := make([]model.TraceID, len(got))
	for i := range got {
		ids[i] = got[i].ID
	}
	if !slices.Equal(ids, want) {
		t.Errorf("FindTraces(%s) = %s; want %s", fmtQuery(q), fmtIDs(ids), fmtIDs(want))
		return
	}
	for i := range got {
		if d := diffSpans(written[got[i].ID], got[i].Spans); d != "" {
			t.Errorf("FindTraces(%s): trace %s differs from what was written:\n%s", fmtQuery(q), got[i].ID, d)
		}
	}
}

// services calls Services and checks that its answer is sorted and
// distinct.
func services(t *testing.T, s TraceStore) []string {
	t.Helper()
	got, err := s.Services(t.Context())
	if err != nil {
		t.Fatalf("Services: %v", err)
	}
	for i := 1; i < len(got); i++ {
		if got[i-1] >= got[i] {
			t.Errorf("Services = %q: not sorted and distinct", got)
			break
		}
	}
	return got
}

// operations calls Operations and checks that its answer is sorted by name
// then kind, and distinct.
func operations(t *testing.T, s TraceStore, q store.OperationQuery) []store.Operation {
	t.Helper()
	got, err := s.Operations(t.Context(), q)
	if err != nil {
		t.Fatalf("Operations(%+v): %v", q, err)
	}
	for i := 1; i < len(got); i++ {
		if compareOperations(got[i-1], got[i]) >= 0 {
			t.Errorf("Operations(%+v) = %v: not sorted by name then kind, and distinct", q, got)
			break
		}
	}
	return got
}

func compareOperations(a, b store.Operation) int {
	return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Kind, b.Kind))
}

// dependencies calls Dependencies and returns its answer sorted by parent
// then child, since its order is not specified. It checks that no edge
// appears twice and none has a zero count.
func dependencies(t *testing.T, s TraceStore, start, end time.Time) []store.DependencyLink {
	t.Helper()
	got, err := s.Dependencies(t.Context(), start, end)
	if err != nil {
		t.Fatalf("Dependencies(%s, %s): %v", start.Format(time.RFC3339Nano), end.Format(time.RFC3339Nano), err)
	}
	got = slices.Clone(got)
	sortLinks(got)
	for i := range got {
		if got[i].CallCount == 0 {
			t.Errorf("Dependencies: edge %s → %s with a zero call count", got[i].Parent, got[i].Child)
		}
		if i > 0 && got[i].Parent == got[i-1].Parent && got[i].Child == got[i-1].Child {
			t.Errorf("Dependencies: edge %s → %s appears twice", got[i].Parent, got[i].Child)
		}
	}
	return got
}

func sortLinks(links []store.DependencyLink) {
	slices.SortFunc(links, func(a, b store.DependencyLink) int {
		return cmp.Or(cmp.Compare(a.Parent, b.Parent), cmp.Compare(a.Child, b.Child))
	})
}

// diffSpans compares two sets of spans of one trace after normalising both
// (sorted by start time then span ID, empty slices as nil) and describes
// their differences, pairing spans by span ID, or returns "" when they are
// equal.
func diffSpans(want, got []model.Span) string {
	want, got = normalize(want), normalize(got)
	if reflect.DeepEqual(want, got) {
		return ""
	}
	var out []string
	if len(want) != len(got) {
		out = append(out, fmt.Sprintf("got %d spans, want %d", len(got), len(want)))
	}
	gotByID := map[model.SpanID]int{}
	for i := range got {
		if _, dup := gotByID[got[i].SpanID]; dup {
			out = append(out, fmt.Sprintf("span %s returned twice", got[i].SpanID))
			continue
		}
		gotByID[got[i].SpanID] = i
	}
	wantIDs := map[model.SpanID]bool{}
	for i := range want {
		wantIDs[want[i].SpanID] = true
		j, ok := gotByID[want[i].SpanID]
		if !ok {
			out = append(out, fmt.Sprintf("missing span %s %q", want[i].SpanID, want[i].Name))
			continue
		}
		diffValues(fmt.Sprintf("span %s", want[i].SpanID), reflect.ValueOf(want[i]), reflect.ValueOf(got[j]), &out)
	}
	for i := range got {
		if !wantIDs[got[i].SpanID] {
			out = append(out, fmt.Sprintf("unexpected span %s %q", got[i].SpanID, got[i].Name))
		}
	}
	return strings.Join(capLines(out), "\n")
}

func capLines(lines []string) []string {
	if len(lines) > maxDiffs {
		lines = append(lines[:maxDiffs], fmt.Sprintf("(and %d more differences)", len(lines)-maxDiffs))
	}
	for i := range lines {
		lines[i] = "\t" + lines[i]
	}
	return lines
}

// diffValues appends to out one line for each leaf where want and got
// differ, named by its path.
func diffValues(path string, want, got reflect.Value, out *[]string) {
	if len(*out) > maxDiffs {
		return
	}
	if want.Type() == reflect.TypeFor[model.Attribute]() {
		w, g := want.Interface().(model.Attribute), got.Interface().(model.Attribute)
		if w != g {
			*out = append(*out, fmt.Sprintf("%s: got %s, want %s", path, fmtAttribute(g), fmtAttribute(w)))
		}
		return
	}
	switch want.Kind() {
	case reflect.Struct:
		for i := range want.NumField() {
			diffValues(path+"."+want.Type().Field(i).Name, want.Field(i), got.Field(i), out)
		}
	case reflect.Slice:
		if want.Len() != got.Len() {
			*out = append(*out, fmt.Sprintf("%s: got %d elements, want %d", path, got.Len(), want.Len()))
		}
		for i := range min(want.Len(), got.Len()) {
			diffValues(fmt.Sprintf("%s[%d]", path, i), want.Index(i), got.Index(i), out)
		}
	default:
		if want.Equal(got) {
			return
		}
		if strings.HasSuffix(path, "UnixNano") {
			*out = append(*out, fmt.Sprintf("%s: got %s, want %s", path, fmtTime(got.Int()), fmtTime(want.Int())))
			return
		}
		*out = append(*out, fmt.Sprintf("%s: got %s, want %s", path, fmtValue(got), fmtValue(want)))
	}
}

// fmtValue formats a leaf value, shortening long strings.
func fmtValue(v reflect.Value) string {
	if v.Kind() == reflect.String {
		return fmtString(v.String())
	}
	return fmt.Sprint(v.Interface())
}

// fmtTime formats Unix nanoseconds, with the time they stand for.
func fmtTime(ns int64) string {
	return fmt.Sprintf("%d (%s)", ns, time.Unix(0, ns).UTC().Format(time.RFC3339Nano))
}

// fmtString quotes s, shortened when long.
func fmtString(s string) string {
	if len(s) > 80 {
		return fmt.Sprintf("%q... (%d bytes)", s[:60], len(s))
	}
	return fmt.Sprintf("%q", s)
}

var valueTypeNames = [...]string{"string", "bool", "int", "double", "bytes", "array", "map"}

// fmtAttribute formats an attribute as key=value(type).
func fmtAttribute(a model.Attribute) string {
	typ := fmt.Sprintf("type %d", a.Type)
	if int(a.Type) < len(valueTypeNames) {
		typ = valueTypeNames[a.Type]
	}
	return fmt.Sprintf("%s=%s(%s)", fmtString(a.Key), fmtString(a.Value), typ)
}

// normalize returns a deep copy of spans sorted by start time then span
// ID, with empty slices made nil.
func normalize(spans []model.Span) []model.Span {
	out := cloneSpans(spans)
	for i := range out {
		s := &out[i]
		s.Attributes = nilIfEmpty(s.Attributes)
		s.Resource.Attributes = nilIfEmpty(s.Resource.Attributes)
		s.Events = nilIfEmpty(s.Events)
		for j := range s.Events {
			s.Events[j].Attributes = nilIfEmpty(s.Events[j].Attributes)
		}
		s.Links = nilIfEmpty(s.Links)
		for j := range s.Links {
			s.Links[j].Attributes = nilIfEmpty(s.Links[j].Attributes)
		}
	}
	sortSpans(out)
	return nilIfEmpty(out)
}

func nilIfEmpty[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

// sortSpans sorts spans by start time then span ID.
func sortSpans(spans []model.Span) {
	slices.SortFunc(spans, func(a, b model.Span) int {
		return cmp.Or(cmp.Compare(a.StartUnixNano, b.StartUnixNano), slices.Compare(a.SpanID[:], b.SpanID[:]))
	})
}

// cloneSpans deep-copies spans, keeping nil slices nil and empty ones
// empty.
func cloneSpans(spans []model.Span) []model.Span {
	if spans == nil {
		return nil
	}
	out := make([]model.Span, len(spans))
	for i := range spans {
		out[i] = spans[i].Clone()
	}
	return out
}

// byTrace groups spans by trace ID.
func byTrace(spans []model.Span) map[model.TraceID][]model.Span {
	m := map[model.TraceID][]model.Span{}
	for i := range spans {
		m[spans[i].TraceID] = append(m[spans[i].TraceID], spans[i])
	}
	return m
}

func fmtIDs(ids []model.TraceID) string {
	if len(ids) == 0 {
		return "[]"
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = id.String()
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// fmtQuery formats the set fields of q.
func fmtQuery(q store.TraceQuery) string {
	var parts []string
	if q.Service != "" {
		parts = append(parts, fmt.Sprintf("Service:%q", q.Service))
	}
	if q.Operation != "" {
		parts = append(parts, fmt.Sprintf("Operation:%q", q.Operation))
	}
	if len(q.Attributes) > 0 {
		keys := make([]string, 0, len(q.Attributes))
		for k := range q.Attributes {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var kv []string
		for _, k := range keys {
			v := q.Attributes[k]
			if len(v) > 40 {
				v = fmt.Sprintf("%s... (%d bytes)", v[:30], len(v))
			}
			kv = append(kv, fmt.Sprintf("%q=%q", k, v))
		}
		parts = append(parts, "Attributes:{"+strings.Join(kv, " ")+"}")
	}
	if !q.StartMin.IsZero() {
		parts = append(parts, "StartMin:"+q.StartMin.UTC().Format(time.RFC3339Nano))
	}
	if !q.StartMax.IsZero() {
		parts = append(parts, "StartMax:"+q.StartMax.UTC().Format(time.RFC3339Nano))
	}
	if q.DurationMin != 0 {
		parts = append(parts, "DurationMin:"+q.DurationMin.String())
	}
	if q.DurationMax != 0 {
		parts = append(parts, "DurationMax:"+q.DurationMax.String())
	}
	if q.Limit != 0 {
		parts = append(parts, fmt.Sprintf("Limit:%d", q.Limit))
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// op makes an operation, for tables of expected answers.
func op(name string, kind model.SpanKind) store.Operation {
	return store.Operation{Name: name, Kind: kind}
}

// edge makes a dependency link, for tables of expected answers.
func edge(parent, child string, calls uint64) store.DependencyLink {
	return store.DependencyLink{Parent: parent, Child: child, CallCount: calls}
}
