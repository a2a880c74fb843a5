package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestGenerate checks what the benchmarks rely on: the same config gives
// the same bytes, every line is a JSON object with the documented fields
// and a time inside the corpus's range, the manifest's counts are those
// of the lines, and the planted words and needles are where it says.
func TestGenerate(t *testing.T) {
	cfg := Config{Lines: 60_000, Seed: 3, Start: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), Span: 24 * time.Hour, NeedleEvery: 997}
	var a, b bytes.Buffer
	m, err := Generate(&a, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(&b, cfg); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two runs with one config differ")
	}
	if m.Bytes != int64(a.Len()) || m.Lines != cfg.Lines {
		t.Fatalf("manifest says %d lines, %d bytes; wrote %d bytes", m.Lines, m.Bytes, a.Len())
	}
	if per := m.Bytes / int64(m.Lines); per < 250 || per > 380 {
		t.Errorf("%d bytes per line, want about 300", per)
	}

	words := map[string]int{}
	corr := map[string]int{}
	services := map[string]int{}
	levels := map[string]int{}
	sc := bufio.NewScanner(&a)
	sc.Buffer(nil, 1<<16)
	n := 0
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		for _, f := range []string{"time", "level", "msg", "service", "trace_id", "span_id", "correlation_id"} {
			if s, ok := rec[f].(string); !ok || s == "" {
				t.Fatalf("line %d has no %s: %s", n+1, f, sc.Text())
			}
		}
		ts, err := time.Parse(time.RFC3339Nano, rec["time"].(string))
		if err != nil || ts.Before(m.Start) || !ts.Before(m.End) {
			t.Fatalf("line %d: time %v outside [%v, %v)", n+1, rec["time"], m.Start, m.End)
		}
		msg := rec["msg"].(string)
		for _, w := range plantedWords {
			if strings.Contains(msg, w.word) {
				if !strings.Contains(msg, " "+w.word+" ") {
					t.Errorf("line %d: %q not between spaces", n+1, w.word)
				}
				words[w.word]++
			}
		}
		corr[rec["correlation_id"].(string)]++
		services[rec["service"].(string)]++
		levels[rec["level"].(string)]++
		n++
	}
	if n != cfg.Lines {
		t.Fatalf("%d lines, want %d", n, cfg.Lines)
	}
	for _, w := range m.Words {
		if words[w.Word] != w.Lines {
			t.Errorf("%s: manifest says %d lines, found %d", w.Word, w.Lines, words[w.Word])
		}
	}
	if m.Words[1].Word != "zanzibar" || m.Words[1].Lines != cfg.Lines/10_000 {
		t.Errorf("zanzibar in %d lines, want %d", m.Words[1].Lines, cfg.Lines/10_000)
	}
	if len(m.Needles) < 5 {
		t.Fatalf("%d needles", len(m.Needles))
	}
	for _, nd := range m.Needles {
		if corr[nd.CorrelationID] != nd.Lines || nd.Lines == 0 {
			t.Errorf("needle %s: manifest says %d lines, found %d", nd.CorrelationID, nd.Lines, corr[nd.CorrelationID])
		}
	}
	for s, c := range m.Services {
		if services[s] != c {
			t.Errorf("service %s: manifest %d, found %d", s, c, services[s])
		}
	}
	if e := float64(levels["error"]) / float64(n); e < 0.01 || e > 0.02 {
		t.Errorf("error share %.4f, want 1-2%%", e)
	}
}
