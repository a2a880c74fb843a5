package storetest_test

import (
	"cmp"
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
	"github.com/argus-obs/argus/internal/store/memstore"
	"github.com/argus-obs/argus/internal/store/storetest"
)

// A suite that never fails proves nothing. TestSuiteCatchesBugs runs the
// suite against stores with one bug each (mutants of memstore) and checks
// that the subtests meant to catch each bug fail, and that variations the
// suite allows (nil for empty, any order of dependencies) pass.
//
// Each mutant runs in a child process, since a failing suite fails the test
// that runs it.
func TestSuiteCatchesBugs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the suite once per mutant")
	}
	for _, m := range mutants {
		t.Run(m.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestMutant$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), "STORETEST_MUTANT="+m.name)
			out, err := cmd.CombinedOutput()
			failed := map[string]bool{}
			for _, sub := range regexp.MustCompile(`(?m)^\s*--- FAIL: TestMutant/(\S+)`).FindAllStringSubmatch(string(out), -1) {
				failed[strings.SplitN(sub[1], "/", 2)[0]] = true
			}
			var exit *exec.ExitError
			switch {
			case err != nil && !errors.As(err, &exit):
				t.Fatalf("running the suite: %v", err)
			case len(m.caughtBy) == 0 && err != nil:
				t.Errorf("the suite rejects an allowed variation; it failed %v:\n%s", keys(failed), tail(out))
			case len(m.caughtBy) > 0 && err == nil:
				t.Errorf("the suite passes a store with this bug; want failures in %v", m.caughtBy)
			}
			for _, name := range m.caughtBy {
				if !failed[name] {
					t.Errorf("subtest %s passes; want it to catch the bug (failed: %v)", name, keys(failed))
				}
			}
		})
	}
}

// TestMutant runs the suite against the mutant named by $STORETEST_MUTANT,
// in the child process TestSuiteCatchesBugs starts.
func TestMutant(t *testing.T) {
	name := os.Getenv("STORETEST_MUTANT")
	if name == "" {
		t.Skip("run by TestSuiteCatchesBugs")
	}
	i := slices.IndexFunc(mutants, func(m mutantSpec) bool { return m.name == name })
	if i < 0 {
		t.Fatalf("no mutant %q", name)
	}
	bug := mutants[i].name
	h := storetest.TraceHarness{
		New: func(*testing.T) storetest.TraceStore { return &mutant{bug: bug} },
	}
	switch bug {
	case "durable":
		h.Reopen = func(_ *testing.T, s storetest.TraceStore) storetest.TraceStore { return s }
	case "forgetOnReopen":
		h.Reopen = func(*testing.T, storetest.TraceStore) storetest.TraceStore { return &mutant{} }
	}
	storetest.TestTraceStore(t, h)
}

type mutantSpec struct {
	name     string
	caughtBy []string // top-level subtests that must fail; none for allowed variations
}

var mutants = []mutantSpec{
	// Bugs.
	{"attributeOrder", []string{"GetTrace", "Values", "Differential"}},
	{"microseconds", []string{"GetTrace", "Differential"}},
	{"lossyBytes", []string{"GetTrace", "Values"}},
	{"dropLinks", []string{"GetTrace", "Values"}},
	{"lastBatchWins", []string{"Batches", "ReadYourWrites", "Differential"}},
	{"retainsInput", []string{"Ownership"}},
	{"lazyVisibility", []string{"ReadYourWrites"}},
	{"dayPartitionMiss", []string{"AcrossDays"}},
	{"nilNotFound", []string{"GetTrace"}},
	{"sharedResults", []string{"Ownership"}},
	{"oldestFirst", []string{"FindTraces", "DefaultLimit", "Differential"}},
	{"ignoreLimit", []string{"FindTraces", "DefaultLimit"}},
	{"defaultLimit10", []string{"DefaultLimit"}},
	{"exclusiveStartMax", []string{"FindTraces", "Batches"}},
	{"rankByEarliestStart", []string{"FindTraces"}},
	{"partialTraces", []string{"FindTraces", "Differential"}},
	{"servicesUnsorted", []string{"Services"}},
	{"servicesWithDupes", []string{"Services"}},
	{"operationsIgnoreKind", []string{"Operations"}},
	{"exclusiveDepsWindow", []string{"Dependencies"}},
	{"depsSwapped", []string{"Dependencies", "Values"}},
	{"forgetOnReopen", []string{"Reopen", "GetTrace", "FindTraces"}},
	// Allowed variations.
	{"emptyToNil", nil},
	{"nilToEmpty", nil},
	{"nilNoMatch", nil},
	{"depsReversed", nil},
	{"durable", nil},
}

// mutant is memstore with one bug. It logs the spans written and loads
// them into a fresh memstore when a read follows a write, so it can keep
// the caller's spans (retainsInput) or drop earlier ones (lastBatchWins).
type mutant struct {
	bug string

	mu      sync.Mutex
	all     []model.Span // guarded by mu
	pending []model.Span // guarded by mu; lazyVisibility's unapplied write
	ref     *memstore.Traces
	cache   map[model.TraceID][]model.Span // guarded by mu; sharedResults
}

func (m *mutant) WriteSpans(_ context.Context, spans []model.Span) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bug != "retainsInput" {
		spans = clone(spans)
	}
	for i := range spans {
		s := &spans[i]
		switch m.bug {
		case "attributeOrder":
			slices.SortStableFunc(s.Attributes, func(a, b model.Attribute) int { return cmp.Compare(a.Key, b.Key) })
		case "microseconds":
			s.StartUnixNano -= s.StartUnixNano % 1000
			s.EndUnixNano -= s.EndUnixNano % 1000
		case "lossyBytes":
			for j := range s.Attributes {
				if s.Attributes[j].Type == model.ValueBytes {
					s.Attributes[j].Value = strings.ToValidUTF8(s.Attributes[j].Value, "\uFFFD")
				}
			}
		case "dropLinks":
			s.Links = nil
		case "lastBatchWins":
			m.all = slices.DeleteFunc(m.all, func(old model.Span) bool { return old.TraceID == s.TraceID })
		}
	}
	if m.bug == "lazyVisibility" {
		m.all = append(m.all, m.pending...)
		m.pending = spans
	} else {
		m.all = append(m.all, spans...)
	}
	m.ref = nil
	return nil
}

// reader returns a memstore holding what was written.
func (m *mutant) reader() *memstore.Traces {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ref == nil {
		m.ref = memstore.NewTraces()
		_ = m.ref.WriteSpans(context.Background(), m.all)
	}
	return m.ref
}

func (m *mutant) GetTrace(ctx context.Context, id model.TraceID) ([]model.Span, error) {
	if m.bug == "sharedResults" {
		m.mu.Lock()
		cached, ok := m.cache[id]
		m.mu.Unlock()
		if ok {
			return cached, nil
		}
	}
	spans, err := m.reader().GetTrace(ctx, id)
	switch {
	case errors.Is(err, store.ErrTraceNotFound) && m.bug == "nilNotFound":
		return nil, nil
	case err != nil:
		return nil, err
	}
	switch m.bug {
	case "sharedResults":
		m.mu.Lock()
		if m.cache == nil {
			m.cache = map[model.TraceID][]model.Span{}
		}
		m.cache[id] = spans
		m.mu.Unlock()
	case "dayPartitionMiss":
		day := time.Unix(0, spans[0].StartUnixNano).UTC().Truncate(24 * time.Hour)
		spans = slices.DeleteFunc(spans, func(s model.Span) bool {
			return !time.Unix(0, s.StartUnixNano).UTC().Truncate(24 * time.Hour).Equal(day)
		})
	case "emptyToNil", "nilToEmpty":
		empties(spans, m.bug == "nilToEmpty")
	}
	return spans, nil
}

func (m *mutant) Services(ctx context.Context) ([]string, error) {
	out, err := m.reader().Services(ctx)
	switch m.bug {
	case "servicesUnsorted":
		slices.Reverse(out)
	case "servicesWithDupes":
		if len(out) > 0 {
			out = append(out[:1], out...)
		}
	}
	return out, err
}

func (m *mutant) Operations(ctx context.Context, q store.OperationQuery) ([]store.Operation, error) {
	if m.bug == "operationsIgnoreKind" {
		q.Kind = model.SpanKindUnspecified
	}
	return m.reader().Operations(ctx, q)
}

func (m *mutant) FindTraces(ctx context.Context, q store.TraceQuery) ([]store.Trace, error) {
	limit := cmp.Or(q.Limit, store.DefaultTraceLimit)
	switch m.bug {
	case "ignoreLimit", "rankByEarliestStart":
		q.Limit = 1 << 30
	case "defaultLimit10":
		if q.Limit == 0 {
			q.Limit = 10
		}
	case "exclusiveStartMax":
		if !q.StartMax.IsZero() {
			q.StartMax = q.StartMax.Add(-1)
		}
	}
	out, err := m.reader().FindTraces(ctx, q)
	switch m.bug {
	case "oldestFirst":
		slices.Reverse(out)
	case "rankByEarliestStart":
		sort.SliceStable(out, func(i, j int) bool { return out[i].Spans[0].StartUnixNano > out[j].Spans[0].StartUnixNano })
		out = out[:min(limit, len(out))]
	case "partialTraces":
		for i := range out {
			out[i].Spans = slices.DeleteFunc(out[i].Spans, func(s model.Span) bool { return !store.SpanMatches(&s, &q) })
		}
	case "nilNoMatch":
		if len(out) == 0 {
			out = nil
		}
	case "emptyToNil", "nilToEmpty":
		for i := range out {
			empties(out[i].Spans, m.bug == "nilToEmpty")
		}
	}
	return out, err
}

func (m *mutant) Dependencies(ctx context.Context, start, end time.Time) ([]store.DependencyLink, error) {
	if m.bug == "exclusiveDepsWindow" {
		start = start.Add(1)
	}
	out, err := m.reader().Dependencies(ctx, start, end)
	switch m.bug {
	case "depsSwapped":
		for i := range out {
			out[i].Parent, out[i].Child = out[i].Child, out[i].Parent
		}
	case "depsReversed":
		slices.Reverse(out)
	}
	return out, err
}

// empties turns empty slices into nil, or nil ones into empty ones.
func empties(spans []model.Span, toEmpty bool) {
	fix := func(a []model.Attribute) []model.Attribute {
		if toEmpty && a == nil {
			return []model.Attribute{}
		}
		if !toEmpty && len(a) == 0 {
			return nil
		}
		return a
	}
	for i := range spans {
		s := &spans[i]
		s.Attributes = fix(s.Attributes)
		s.Resource.Attributes = fix(s.Resource.Attributes)
		for j := range s.Events {
			s.Events[j].Attributes = fix(s.Events[j].Attributes)
		}
		for j := range s.Links {
			s.Links[j].Attributes = fix(s.Links[j].Attributes)
		}
		switch {
		case toEmpty && s.Events == nil:
			s.Events = []model.Event{}
		case !toEmpty && len(s.Events) == 0:
			s.Events = nil
		}
		switch {
		case toEmpty && s.Links == nil:
			s.Links = []model.Link{}
		case !toEmpty && len(s.Links) == 0:
			s.Links = nil
		}
	}
}

func clone(spans []model.Span) []model.Span {
	out := make([]model.Span, len(spans))
	for i, s := range spans {
		s.Attributes = slices.Clone(s.Attributes)
		s.Resource.Attributes = slices.Clone(s.Resource.Attributes)
		s.Events = slices.Clone(s.Events)
		for j := range s.Events {
			s.Events[j].Attributes = slices.Clone(s.Events[j].Attributes)
		}
		s.Links = slices.Clone(s.Links)
		for j := range s.Links {
			s.Links[j].Attributes = slices.Clone(s.Links[j].Attributes)
		}
		out[i] = s
	}
	return out
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// tail returns the last lines of a child's output.
func tail(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.Join(lines[max(0, len(lines)-40):], "\n")
}
