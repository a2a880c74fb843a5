package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/argus-obs/argus/bench/internal/measure"
)

// queryLimit is the most lines a log query asks for, as Grafana's Loki
// data source does by default.
const queryLimit = 1000

// dialect builds the benchmark's queries for one server's API and reads
// its answers.
type dialect interface {
	// needle asks for every line of one correlation ID.
	needle(id string) string
	// word asks for the lines whose message holds a word.
	word(w string) string
	// count asks for one service's lines per level per minute.
	count(service string) string
	// lines counts the log lines of a needle or word answer.
	lines(body []byte) (int, error)
	// total sums every value of every series of a count answer.
	total(body []byte) (float64, error)
}

// loki is the Loki HTTP API with LogQL, as Argus serves it.
type loki struct {
	base       string
	start, end string
}

func (l loki) rangeURL(q string, extra url.Values) string {
	v := url.Values{"query": {q}, "start": {l.start}, "end": {l.end}}
	for k, s := range extra {
		v[k] = s
	}
	return l.base + "/loki/api/v1/query_range?" + v.Encode()
}

func (l loki) needle(id string) string {
	return l.rangeURL(`{service_name=~".+"} | correlation_id="`+id+`"`, url.Values{"limit": {strconv.Itoa(queryLimit)}})
}

// word uses a line filter with the word between spaces: Argus's word
// blooms are consulted only for whole words inside the needle.
func (l loki) word(w string) string {
	return l.rangeURL(`{service_name=~".+"} |= " `+w+` "`, url.Values{"limit": {strconv.Itoa(queryLimit)}})
}

func (l loki) count(service string) string {
	return l.rangeURL(`sum by (level) (count_over_time({service_name="`+service+`"}[1m]))`, url.Values{"step": {"1m"}})
}

func (loki) lines(body []byte) (int, error) {
	var r struct {
		Status string
		Data   struct {
			ResultType string
			Result     []struct {
				Values [][]json.RawMessage
			}
		}
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return 0, err
	}
	if r.Status != "success" || r.Data.ResultType != "streams" {
		return 0, fmt.Errorf("answer %.200s", body)
	}
	n := 0
	for _, s := range r.Data.Result {
		n += len(s.Values)
	}
	return n, nil
}

func (loki) total(body []byte) (float64, error) { return matrixTotal(body) }

// matrixTotal sums a Prometheus-style matrix answer, which both Loki's
// and VictoriaLogs' range statistics use.
func matrixTotal(body []byte) (float64, error) {
	var r struct {
		Status string
		Data   struct {
			ResultType string
			Result     []struct {
				Values [][2]json.RawMessage
			}
		}
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return 0, err
	}
	if r.Status != "success" || r.Data.ResultType != "matrix" {
		return 0, fmt.Errorf("answer %.200s", body)
	}
	var sum float64
	for _, s := range r.Data.Result {
		for _, v := range s.Values {
			var str string
			if err := json.Unmarshal(v[1], &str); err != nil {
				return 0, err
			}
			x, err := strconv.ParseFloat(str, 64)
			if err != nil {
				return 0, err
			}
			sum += x
		}
	}
	return sum, nil
}

// logsql is VictoriaLogs' HTTP API with LogsQL.
type logsql struct {
	base       string
	start, end string
}

func (l logsql) url(path, q string, extra url.Values) string {
	v := url.Values{"query": {q}, "start": {l.start}, "end": {l.end}}
	for k, s := range extra {
		v[k] = s
	}
	return l.base + path + "?" + v.Encode()
}

func (l logsql) needle(id string) string {
	return l.url("/select/logsql/query", `correlation_id:="`+id+`"`, url.Values{"limit": {strconv.Itoa(queryLimit)}})
}

func (l logsql) word(w string) string {
	return l.url("/select/logsql/query", w, url.Values{"limit": {strconv.Itoa(queryLimit)}})
}

// count is the LogsQL form of the LogQL metric query: the same stream
// (the stream fields are service alone), counted by level per step.
func (l logsql) count(service string) string {
	return l.url("/select/logsql/stats_query_range", `_stream:{service="`+service+`"} | stats by (level) count()`,
		url.Values{"step": {"1m"}})
}

func (logsql) lines(body []byte) (int, error) {
	n := 0
	for line := range bytes.Lines(body) {
		if len(bytes.TrimSpace(line)) > 0 {
			if line[0] != '{' {
				return 0, fmt.Errorf("answer %.200s", body)
			}
			n++
		}
	}
	return n, nil
}

func (logsql) total(body []byte) (float64, error) { return matrixTotal(body) }

// timed is the latencies of one kind of query.
type timed struct {
	Name  string  `json:"name"`
	Runs  int     `json:"runs"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
	Wrong int     `json:"wrong"` // answers that differed from the manifest
	// CPU is the server's CPU time per measured run, in milliseconds
	// (user+sys of its process over all measured runs, divided by their
	// number): unlike latency, it does not depend on what else the
	// machine runs, and it counts every core a server searches with.
	CPU     float64         `json:"cpu_ms"`
	samples []time.Duration // in the order run
	cpu     float64         // seconds, over the measured runs
}

func (t *timed) add(d time.Duration) { t.samples = append(t.samples, d) }

func (t *timed) finish() {
	s := slices.Clone(t.samples)
	slices.Sort(s)
	t.Runs = len(s)
	if len(s) == 0 {
		return
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	// Nearest rank.
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.999999) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	t.P50, t.P99, t.Max = ms(rank(0.50)), ms(rank(0.99)), ms(s[len(s)-1])
	t.CPU = 1000 * t.cpu / float64(len(s))
}

// get runs one query and returns its answer and how long it took, from
// sending the request to reading the last byte of the answer.
func get(client *http.Client, u string) ([]byte, time.Duration, error) {
	began := time.Now()
	resp, err := client.Get(u)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	took := time.Since(began)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("%s: %d %.300s", u, resp.StatusCode, body)
	}
	return body, took, nil
}

// queryResults are the measured queries of one run.
type queryResults struct {
	Needle timed   `json:"needle"`
	Words  []timed `json:"words"`
	Count  []timed `json:"count"`
}

// runQueries measures the needle, word and count queries of the server
// process pid against what the manifest says the answers are. Each query
// is run once, unmeasured, before its measured runs.
func runQueries(d dialect, pid int, m *manifest, needles, runs int, services []string) (*queryResults, error) {
	client := &http.Client{Timeout: 10 * time.Minute}
	var res queryResults
	check := func(t *timed, u string, want float64, read func([]byte) (float64, error), measured bool) error {
		var cpu0 float64
		if measured {
			var err error
			if cpu0, err = measure.CPUSeconds(pid); err != nil {
				return err
			}
		}
		body, took, err := get(client, u)
		if err != nil {
			return err
		}
		if measured {
			cpu1, err := measure.CPUSeconds(pid)
			if err != nil {
				return err
			}
			t.cpu += cpu1 - cpu0
		}
		got, err := read(body)
		if err != nil {
			return fmt.Errorf("%s: %w", u, err)
		}
		if measured {
			t.add(took)
			if got != want {
				t.Wrong++
				logf("query %s: %v results, want %v", u, got, want)
			}
		}
		return nil
	}
	lines := func(b []byte) (float64, error) { n, err := d.lines(b); return float64(n), err }

	res.Needle.Name = "needle: one correlation ID"
	ns := m.Needles[:min(needles, len(m.Needles))]
	if len(ns) > 0 {
		if err := check(&res.Needle, d.needle(ns[0].CorrelationID), 0, lines, false); err != nil {
			return nil, err
		}
	}
	for _, n := range ns {
		if err := check(&res.Needle, d.needle(n.CorrelationID), float64(n.Lines), lines, true); err != nil {
			return nil, err
		}
	}
	res.Needle.finish()

	for _, w := range m.Words {
		t := timed{Name: fmt.Sprintf("word %s (%d lines, %.4f%%)", w.Word, w.Lines, 100*w.Fraction)}
		want := float64(min(w.Lines, queryLimit))
		for i := range runs + 1 {
			if err := check(&t, d.word(w.Word), want, lines, i > 0); err != nil {
				return nil, err
			}
		}
		t.finish()
		res.Words = append(res.Words, t)
	}

	for _, s := range services {
		t := timed{Name: "count by level per minute, service " + s}
		for i := range runs + 1 {
			if err := check(&t, d.count(s), float64(m.Services[s]), d.total, i > 0); err != nil {
				return nil, err
			}
		}
		t.finish()
		res.Count = append(res.Count, t)
	}
	return &res, nil
}
