package logqltest

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-obs/argus/internal/query/logql"
)

// RunScripts runs every *.test script in dir as a subtest. newQuerier
// builds the querier under test from the entries loaded so far; it is
// called again after every load.
func RunScripts(t *testing.T, dir string, newQuerier func(t *testing.T, entries []logql.Entry) logql.Querier) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.test"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no *.test scripts in %s", dir)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".test"), func(t *testing.T) {
			RunScript(t, f, newQuerier)
		})
	}
}

// RunScript runs one script file.
func RunScript(t *testing.T, path string, newQuerier func(t *testing.T, entries []logql.Entry) logql.Querier) {
	t.Helper()
	cmds, err := parseScript(path)
	if err != nil {
		t.Fatal(err)
	}
	var entries []logql.Entry
	var q logql.Querier
	opts := logql.EngineOptions{}
	for _, c := range cmds {
		switch c.kind {
		case "load":
			entries = append(entries, c.entries...)
			q = nil
		case "clear":
			entries, q = nil, nil
		case "engine":
			opts = c.opts
		case "eval", "eval_fail":
			if q == nil {
				q = newQuerier(t, entries)
			}
			runEval(t, logql.NewEngine(opts), q, c)
		}
	}
}

type command struct {
	kind   string
	pos    string // file:line
	line   int
	params logql.Params
	mode   string // instant, range, logs
	order  bool
	query  string

	entries []logql.Entry
	opts    logql.EngineOptions

	empty   bool
	errSub  string
	samples []expSample
	scalar  *float64
	series  []expSeries
	streams []expStream
}

type expSample struct {
	labels labels.Labels
	v      float64
}

type expSeries struct {
	labels labels.Labels
	pts    []logql.Point
}

type expStream struct {
	labels  labels.Labels
	entries []expEntry
}

type expEntry struct {
	t              int64
	line           string
	meta, parsed   labels.Labels
	hasMeta, hasPs bool
}

func parseScript(path string) ([]*command, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var cmds []*command
	var cur *command
	var curStream *expStream
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		raw := sc.Text()
		trimmed := strings.TrimSpace(raw)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		pos := fmt.Sprintf("%s:%d", filepath.Base(path), n)
		fail := func(format string, args ...any) error {
			return fmt.Errorf("%s: %s", pos, fmt.Sprintf(format, args...))
		}
		if raw[0] != ' ' && raw[0] != '\t' {
			c, err := parseHeader(trimmed)
			if err != nil {
				return nil, fail("%v", err)
			}
			c.pos, c.line = pos, n
			cmds = append(cmds, c)
			cur, curStream = c, nil
			continue
		}
		if cur == nil {
			return nil, fail("indented line outside a command")
		}
		switch cur.kind {
		case "load":
			e, err := parseEntry(trimmed)
			if err != nil {
				return nil, fail("%v", err)
			}
			cur.entries = append(cur.entries, e)
			continue
		case "eval", "eval_fail":
		default:
			return nil, fail("%s takes no body", cur.kind)
		}
		if cur.query == "" {
			cur.query = trimmed
			continue
		}
		if cur.kind == "eval_fail" {
			sub, ok := strings.CutPrefix(trimmed, "error ")
			if !ok {
				return nil, fail("eval_fail expects: error <substring>")
			}
			cur.errSub = sub
			continue
		}
		if trimmed == "empty" {
			cur.empty = true
			continue
		}
		switch cur.mode {
		case "instant":
			if v, ok := strings.CutPrefix(trimmed, "scalar "); ok {
				f, err := parseValue(v)
				if err != nil {
					return nil, fail("%v", err)
				}
				cur.scalar = &f
				continue
			}
			ls, rest, err := parseLabels(trimmed)
			if err != nil {
				return nil, fail("%v", err)
			}
			v, err := parseValue(strings.TrimSpace(rest))
			if err != nil {
				return nil, fail("%v", err)
			}
			cur.samples = append(cur.samples, expSample{labels: ls, v: v})
		case "range":
			ls, rest, err := parseLabels(trimmed)
			if err != nil {
				return nil, fail("%v", err)
			}
			s := expSeries{labels: ls}
			for _, f := range strings.Fields(rest) {
				ts, vs, ok := strings.Cut(f, ":")
				if !ok {
					return nil, fail("point %q is not <time>:<value>", f)
				}
				t, err := parseTime(ts)
				if err != nil {
					return nil, fail("%v", err)
				}
				v, err := parseValue(vs)
				if err != nil {
					return nil, fail("%v", err)
				}
				s.pts = append(s.pts, logql.Point{T: t, V: v})
			}
			cur.series = append(cur.series, s)
		case "logs":
			if rest, ok := strings.CutPrefix(trimmed, "stream "); ok {
				ls, tail, err := parseLabels(rest)
				if err != nil || strings.TrimSpace(tail) != "" {
					return nil, fail("stream expects a label set: %v", err)
				}
				cur.streams = append(cur.streams, expStream{labels: ls})
				curStream = &cur.streams[len(cur.streams)-1]
				continue
			}
			if curStream == nil {
				return nil, fail("entry before any stream line")
			}
			e, err := parseExpEntry(trimmed)
			if err != nil {
				return nil, fail("%v", err)
			}
			curStream.entries = append(curStream.entries, e)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, c := range cmds {
		if (c.kind == "eval" || c.kind == "eval_fail") && c.query == "" {
			return nil, fmt.Errorf("%s: %s without a query", c.pos, c.kind)
		}
		if c.kind == "eval" && !c.empty && c.scalar == nil && len(c.samples) == 0 && len(c.series) == 0 && len(c.streams) == 0 {
			return nil, fmt.Errorf("%s: eval without expectations (write \"empty\" for an empty result)", c.pos)
		}
		if c.kind == "eval_fail" && c.errSub == "" {
			return nil, fmt.Errorf("%s: eval_fail without an error line", c.pos)
		}
	}
	return cmds, nil
}

func parseHeader(line string) (*command, error) {
	f := strings.Fields(line)
	c := &command{kind: f[0]}
	switch c.kind {
	case "load", "clear":
		if len(f) != 1 {
			return nil, fmt.Errorf("%s takes no arguments", c.kind)
		}
		return c, nil
	case "engine":
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, fmt.Errorf("engine option %q: %v", kv, err)
			}
			switch k {
			case "max_series":
				c.opts.MaxSeries = n
			case "max_entries":
				c.opts.MaxEntries = n
			case "max_points":
				c.opts.MaxPoints = n
			case "max_intermediate_series":
				c.opts.MaxIntermediateSeries = n
			default:
				return nil, fmt.Errorf("unknown engine option %q", k)
			}
		}
		return c, nil
	case "eval", "eval_fail":
	default:
		return nil, fmt.Errorf("unknown command %q", c.kind)
	}
	if len(f) < 2 {
		return nil, fmt.Errorf("%s needs instant, range or logs", c.kind)
	}
	c.mode = f[1]
	args := f[2:]
	c.params.Direction = logql.Backward
	word := func(i int) (string, error) {
		if i >= len(args) {
			return "", fmt.Errorf("missing value after %q", args[i-1])
		}
		return args[i], nil
	}
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "ordered":
			c.order = true
			continue
		}
		v, err := word(i + 1)
		if err != nil {
			return nil, err
		}
		switch args[i] {
		case "at":
			t, err := parseTime(v)
			if err != nil {
				return nil, err
			}
			c.params.Start, c.params.End = time.Unix(0, t), time.Unix(0, t)
		case "from":
			t, err := parseTime(v)
			if err != nil {
				return nil, err
			}
			c.params.Start = time.Unix(0, t)
		case "to":
			t, err := parseTime(v)
			if err != nil {
				return nil, err
			}
			c.params.End = time.Unix(0, t)
		case "step":
			d, err := parseDuration(v)
			if err != nil {
				return nil, err
			}
			c.params.Step = d
		case "interval":
			d, err := parseDuration(v)
			if err != nil {
				return nil, err
			}
			c.params.Interval = d
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, err
			}
			c.params.Limit = n
		case "direction":
			switch v {
			case "forward":
				c.params.Direction = logql.Forward
			case "backward":
				c.params.Direction = logql.Backward
			default:
				return nil, fmt.Errorf("unknown direction %q", v)
			}
		default:
			return nil, fmt.Errorf("unknown eval argument %q", args[i])
		}
		i++
	}
	switch c.mode {
	case "instant", "range", "logs":
	default:
		return nil, fmt.Errorf("unknown eval mode %q", c.mode)
	}
	if c.mode == "range" && c.params.Step <= 0 && c.kind == "eval" {
		return nil, fmt.Errorf("eval range needs a step")
	}
	return c, nil
}

func parseDuration(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	d, err := model.ParseDuration(s)
	return time.Duration(d), err
}

func parseTime(s string) (int64, error) {
	if d, err := parseDuration(s); err == nil {
		return int64(d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, fmt.Errorf("bad time %q: want a duration since the epoch or RFC 3339", s)
	}
	return t.UnixNano(), nil
}

func parseValue(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("bad value %q", s)
	}
	return v, nil
}

// parseLabels reads {name="value", ...} at the start of s.
func parseLabels(s string) (labels.Labels, string, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") {
		return labels.EmptyLabels(), s, fmt.Errorf("expected '{' in %q", s)
	}
	s = strings.TrimSpace(s[1:])
	var b labels.ScratchBuilder
	for {
		if strings.HasPrefix(s, "}") {
			b.Sort()
			return b.Labels(), s[1:], nil
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return labels.EmptyLabels(), s, fmt.Errorf("expected name=\"value\" in %q", s)
		}
		name := strings.TrimSpace(s[:eq])
		rest := strings.TrimSpace(s[eq+1:])
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return labels.EmptyLabels(), s, fmt.Errorf("bad label value in %q", rest)
		}
		v, _ := strconv.Unquote(q)
		b.Add(name, v)
		s = strings.TrimSpace(rest[len(q):])
		s = strings.TrimSpace(strings.TrimPrefix(s, ","))
	}
}

// parseEntry reads a load line: <time> {stream} [{metadata}] <line>.
func parseEntry(s string) (logql.Entry, error) {
	ts, rest, _ := strings.Cut(s, " ")
	t, err := parseTime(ts)
	if err != nil {
		return logql.Entry{}, err
	}
	stream, rest, err := parseLabels(rest)
	if err != nil {
		return logql.Entry{}, err
	}
	meta := labels.EmptyLabels()
	rest = strings.TrimSpace(rest)
	if strings.HasPrefix(rest, "{") {
		if meta, rest, err = parseLabels(rest); err != nil {
			return logql.Entry{}, err
		}
	}
	line, err := unquoteLine(strings.TrimSpace(rest))
	if err != nil {
		return logql.Entry{}, err
	}
	return logql.Entry{Time: t, Line: line, Stream: stream, Metadata: meta}, nil
}

func unquoteLine(s string) (string, error) {
	q, err := strconv.QuotedPrefix(s)
	if err != nil || strings.TrimSpace(s[len(q):]) != "" {
		return "", fmt.Errorf("line must be one Go string literal: %s", s)
	}
	return strconv.Unquote(q)
}

// parseExpEntry reads an expected entry: <time> <line> [meta {..}] [parsed {..}].
func parseExpEntry(s string) (expEntry, error) {
	ts, rest, _ := strings.Cut(s, " ")
	t, err := parseTime(ts)
	if err != nil {
		return expEntry{}, err
	}
	rest = strings.TrimSpace(rest)
	q, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return expEntry{}, fmt.Errorf("expected a line literal in %q", rest)
	}
	e := expEntry{t: t}
	e.line, _ = strconv.Unquote(q)
	rest = strings.TrimSpace(rest[len(q):])
	for rest != "" {
		kw, tail, _ := strings.Cut(rest, " ")
		ls, after, err := parseLabels(tail)
		if err != nil {
			return expEntry{}, err
		}
		switch kw {
		case "meta":
			e.meta, e.hasMeta = ls, true
		case "parsed":
			e.parsed, e.hasPs = ls, true
		default:
			return expEntry{}, fmt.Errorf("unknown entry annotation %q", kw)
		}
		rest = strings.TrimSpace(after)
	}
	return e, nil
}

func runEval(t *testing.T, eng *logql.Engine, q logql.Querier, c *command) {
	t.Helper()
	p := c.params
	p.Query = c.query
	res, err := eng.Query(context.Background(), q, p)
	if c.kind == "eval_fail" {
		if err == nil {
			t.Errorf("%s: %s: expected an error containing %q, got none", c.pos, c.query, c.errSub)
		} else if !strings.Contains(err.Error(), c.errSub) {
			t.Errorf("%s: %s: expected an error containing %q, got %q", c.pos, c.query, c.errSub, err)
		}
		return
	}
	if err != nil {
		t.Errorf("%s: %s: unexpected error: %v", c.pos, c.query, err)
		return
	}
	var problems []string
	switch c.mode {
	case "instant":
		problems = checkInstant(c, res)
	case "range":
		problems = checkRange(c, res)
	case "logs":
		problems = checkLogs(c, res)
	}
	for _, pr := range problems {
		t.Errorf("%s: %s: %s", c.pos, c.query, pr)
	}
}

func almostEqual(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	if a == b {
		return true
	}
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

func checkInstant(c *command, res *logql.Result) []string {
	if c.scalar != nil {
		if res.Type != logql.ValueScalar {
			return []string{fmt.Sprintf("want a scalar, got %s", res.Type)}
		}
		if !almostEqual(res.Scalar.V, *c.scalar) {
			return []string{fmt.Sprintf("scalar: want %v, got %v", *c.scalar, res.Scalar.V)}
		}
		return nil
	}
	if res.Type != logql.ValueVector {
		return []string{fmt.Sprintf("want a vector, got %s", res.Type)}
	}
	got := make([]expSample, len(res.Vector))
	for i, s := range res.Vector {
		got[i] = expSample{labels: s.Labels, v: s.V}
		if s.T != c.params.End.UnixNano() {
			return []string{fmt.Sprintf("sample %s at %d, want the query time %d", s.Labels, s.T, c.params.End.UnixNano())}
		}
	}
	want := slices.Clone(c.samples)
	if !c.order {
		byLabels := func(a, b expSample) int { return labels.Compare(a.labels, b.labels) }
		slices.SortFunc(got, byLabels)
		slices.SortFunc(want, byLabels)
	}
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = labels.Equal(got[i].labels, want[i].labels) && almostEqual(got[i].v, want[i].v)
	}
	if ok {
		return nil
	}
	return []string{fmt.Sprintf("vector mismatch\nwant:\n%s\ngot:\n%s", fmtSamples(want), fmtSamples(got))}
}

func fmtSamples(ss []expSample) string {
	var b strings.Builder
	for _, s := range ss {
		fmt.Fprintf(&b, "  %s %v\n", s.labels, s.v)
	}
	if len(ss) == 0 {
		b.WriteString("  (empty)\n")
	}
	return b.String()
}

func checkRange(c *command, res *logql.Result) []string {
	if res.Type != logql.ValueMatrix {
		return []string{fmt.Sprintf("want a matrix, got %s", res.Type)}
	}
	got := make([]expSeries, len(res.Matrix))
	for i, s := range res.Matrix {
		got[i] = expSeries{labels: s.Labels, pts: s.Points}
	}
	want := slices.Clone(c.series)
	byLabels := func(a, b expSeries) int { return labels.Compare(a.labels, b.labels) }
	slices.SortFunc(got, byLabels)
	slices.SortFunc(want, byLabels)
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = labels.Equal(got[i].labels, want[i].labels) && len(got[i].pts) == len(want[i].pts)
		for j := 0; ok && j < len(got[i].pts); j++ {
			ok = got[i].pts[j].T == want[i].pts[j].T && almostEqual(got[i].pts[j].V, want[i].pts[j].V)
		}
	}
	if ok {
		return nil
	}
	return []string{fmt.Sprintf("matrix mismatch\nwant:\n%s\ngot:\n%s", fmtSeries(want), fmtSeries(got))}
}

func fmtSeries(ss []expSeries) string {
	var b strings.Builder
	for _, s := range ss {
		fmt.Fprintf(&b, "  %s", s.labels)
		for _, p := range s.pts {
			fmt.Fprintf(&b, " %s:%v", time.Duration(p.T), p.V)
		}
		b.WriteByte('\n')
	}
	if len(ss) == 0 {
		b.WriteString("  (empty)\n")
	}
	return b.String()
}

func checkLogs(c *command, res *logql.Result) []string {
	if res.Type != logql.ValueStreams {
		return []string{fmt.Sprintf("want streams, got %s", res.Type)}
	}
	got := make([]expStream, len(res.Streams))
	for i, s := range res.Streams {
		es := make([]expEntry, len(s.Entries))
		for j, e := range s.Entries {
			es[j] = expEntry{t: e.Time, line: e.Line, meta: e.StructuredMetadata, parsed: e.Parsed}
		}
		got[i] = expStream{labels: s.Labels, entries: es}
	}
	want := slices.Clone(c.streams)
	byLabels := func(a, b expStream) int { return labels.Compare(a.labels, b.labels) }
	slices.SortFunc(got, byLabels)
	slices.SortFunc(want, byLabels)
	// Entries with equal times may come in any order.
	for i := range got {
		normalizeTies(got[i].entries)
	}
	for i := range want {
		want[i].entries = slices.Clone(want[i].entries)
		normalizeTies(want[i].entries)
	}
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = labels.Equal(got[i].labels, want[i].labels) && len(got[i].entries) == len(want[i].entries)
		for j := 0; ok && j < len(got[i].entries); j++ {
			g, w := got[i].entries[j], want[i].entries[j]
			ok = g.t == w.t && g.line == w.line &&
				(!w.hasMeta || labels.Equal(g.meta, w.meta)) &&
				(!w.hasPs || labels.Equal(g.parsed, w.parsed))
		}
	}
	if ok {
		return nil
	}
	return []string{fmt.Sprintf("streams mismatch\nwant:\n%s\ngot:\n%s", fmtStreams(want, true), fmtStreams(got, false))}
}

// normalizeTies sorts runs of entries with equal times by line.
func normalizeTies(es []expEntry) {
	for i := 0; i < len(es); {
		j := i + 1
		for j < len(es) && es[j].t == es[i].t {
			j++
		}
		slices.SortStableFunc(es[i:j], func(a, b expEntry) int { return strings.Compare(a.line, b.line) })
		i = j
	}
}

func fmtStreams(ss []expStream, want bool) string {
	var b strings.Builder
	for _, s := range ss {
		fmt.Fprintf(&b, "  stream %s\n", s.labels)
		for _, e := range s.entries {
			fmt.Fprintf(&b, "    %s %q", time.Duration(e.t), e.line)
			if !want || e.hasMeta {
				fmt.Fprintf(&b, " meta %s", e.meta)
			}
			if !want || e.hasPs {
				fmt.Fprintf(&b, " parsed %s", e.parsed)
			}
			b.WriteByte('\n')
		}
	}
	if len(ss) == 0 {
		b.WriteString("  (empty)\n")
	}
	return b.String()
}
