package main

import (
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// TestGenerate writes a small load file, reads it back and checks what
// the TSDB and the queries rely on: sorted, distinct label sets, samples
// in time order per series, counters that never fall, and cumulative
// histogram buckets whose +Inf bucket is the count.
func TestGenerate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rw.load")
	p := plan{Instances: 23, IntervalMs: 15_000, StartMs: 1_700_006_400_000, Rounds: 6, PerRequest: 5, Seed: 7}
	if err := generate(path, p, 3); err != nil {
		t.Fatal(err)
	}
	lf, err := openLoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if lf.plan.RequestsPerRound != 5 || lf.plan.Series() != 23*seriesPerInstance {
		t.Fatalf("plan %+v", lf.plan)
	}
	last := map[string]prompb.Sample{}
	for round := 0; ; round++ {
		reqs, err := lf.nextRound()
		if errors.Is(err, io.EOF) {
			if round != p.Rounds {
				t.Fatalf("%d rounds, want %d", round, p.Rounds)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		seen := 0
		for _, r := range reqs {
			raw, err := snappy.Decode(nil, r.body)
			if err != nil {
				t.Fatal(err)
			}
			var wr prompb.WriteRequest
			if err := wr.Unmarshal(raw); err != nil {
				t.Fatal(err)
			}
			if len(wr.Timeseries) != r.samples {
				t.Fatalf("request has %d series, header says %d", len(wr.Timeseries), r.samples)
			}
			buckets := map[string][]float64{}
			counts := map[string]float64{}
			for _, ts := range wr.Timeseries {
				seen++
				if !slices.IsSortedFunc(ts.Labels, func(a, b prompb.Label) int { return strings.Compare(a.Name, b.Name) }) {
					t.Fatalf("labels not sorted: %v", ts.Labels)
				}
				key := labelString(ts.Labels)
				s := ts.Samples[0]
				if s.Timestamp < p.StartMs+int64(round)*p.IntervalMs || s.Timestamp >= p.StartMs+int64(round+1)*p.IntervalMs {
					t.Fatalf("round %d: %s at %d, outside its round", round, key, s.Timestamp)
				}
				if prev, ok := last[key]; ok {
					if s.Timestamp-prev.Timestamp != p.IntervalMs {
						t.Fatalf("%s: timestamps %d then %d", key, prev.Timestamp, s.Timestamp)
					}
					if name := labelValue(ts.Labels, "__name__"); (strings.HasSuffix(name, "_total") || strings.HasPrefix(name, "request_duration")) && s.Value < prev.Value {
						t.Fatalf("%s: counter fell from %v to %v", key, prev.Value, s.Value)
					}
				} else if round != 0 {
					t.Fatalf("%s: new in round %d", key, round)
				}
				last[key] = s
				hist := labelValue(ts.Labels, "instance") + labelValue(ts.Labels, "handler") + labelValue(ts.Labels, "method")
				switch labelValue(ts.Labels, "__name__") {
				case "request_duration_seconds_bucket":
					buckets[hist] = append(buckets[hist], s.Value)
				case "request_duration_seconds_count":
					counts[hist] = s.Value
				}
			}
			for h, b := range buckets {
				if len(b) != len(les) || !slices.IsSorted(b) || b[len(b)-1] != counts[h] {
					t.Fatalf("histogram %s: buckets %v, count %v", h, b, counts[h])
				}
			}
		}
		if seen != p.Series() {
			t.Fatalf("round %d has %d samples, want %d", round, seen, p.Series())
		}
	}
	if len(last) != p.Series() {
		t.Fatalf("%d distinct series, want %d", len(last), p.Series())
	}
}

// TestQuerySelectors checks that, with the default 5,000 instances, the
// benchmark queries select 1,000 counters and 100 histograms.
func TestQuerySelectors(t *testing.T) {
	counters, buckets := 0, 0
	for i := range 5000 {
		target := targetLabels(i)
		for _, def := range instanceSeries {
			ls := seriesLabels(target, def)
			if labelValue(ls, "job") != "checkout" || labelValue(ls, "zone") != "zone-1" {
				continue
			}
			switch labelValue(ls, "__name__") {
			case "http_requests_total":
				if labelValue(ls, "code") == "200" {
					counters++
				}
			case "request_duration_seconds_bucket":
				if labelValue(ls, "handler") == "/api/cart" && labelValue(ls, "method") == "GET" {
					buckets++
				}
			}
		}
	}
	if counters != 1000 || buckets != 100*len(les) {
		t.Fatalf("%d counters, %d buckets; want 1000 and %d", counters, buckets, 100*len(les))
	}
}

func labelValue(ls []prompb.Label, name string) string {
	for _, l := range ls {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

func labelString(ls []prompb.Label) string {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString(l.Name + "=" + l.Value + ",")
	}
	return b.String()
}
