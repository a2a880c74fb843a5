// Command logcorpus writes a deterministic corpus of realistic service
// logs, one JSON object per line, for the log benchmarks in
// docs/benchmarks.md. The same flags give the same bytes, so two servers
// can be sent exactly the same load.
//
// The corpus is the logs of a web shop's requests: each request passes
// through several services (frontend, auth, users, search,
// recommendations, inventory, cart, checkout, payments, shipping,
// notifications), each of which logs one to three lines, and all lines of
// a request share one trace ID and one correlation ID (a UUID); each
// service hop has its own span ID. Levels are mostly info, some debug and
// warn, and about 1.5% error. Messages come from 270 templates with
// variable parts: HTTP routes with IDs, durations, user and order IDs, SQL
// statements, error strings such as ECONNRESET and upstream timeouts.
// Lines are about 300 bytes (318 on average):
//
//	{"time":"2026-11-23T09:12:44.123456789Z","level":"info","msg":"reserved 2 units of SKU-04411 for order ORD-0042424242",
//	 "service":"inventory","trace_id":"…32 hex…","span_id":"…16 hex…","correlation_id":"…UUID…",
//	 "http.method":"POST","http.status":200,"duration_ms":12.7,"user_id":"u0123456","order_id":"ORD-0042424242"}
//
// Timestamps span -span (24 hours by default) from -start, busier at
// midday than at midnight, so time-range queries are meaningful; they
// increase from request to request, and the lines of one request are a
// few milliseconds apart.
//
// Planted for queries with a known answer:
//
//   - rare words, each in an exact fraction of the lines, inside the
//     message between spaces ("... routed through zanzibar gateway"):
//     marzipan in 0.1% of lines, zanzibar in 0.01%, quetzal in 0.001%,
//     obsidian in 0.0001%; none of them occurs anywhere else;
//   - needles: every -needle.every'th request; their correlation IDs,
//     trace IDs and line counts are listed in the manifest.
//
// The manifest (-manifest, JSON) records the corpus's time range, line
// and byte counts, lines per service and per level, the planted words
// with their line counts and the needles. bench/logload reads it to build
// its queries and check their answers.
//
// Example (3.2 GB, in about 16 s):
//
//	go run ./bench/logcorpus -lines 10000000 -o /tmp/logs.ndjson -manifest /tmp/logs.manifest.json
//
// By default the corpus covers the previous UTC day, so that servers with
// a retention of a few days and a limit on future timestamps accept all of
// it; pass -start to fix the bytes across days.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "logcorpus:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		cfg      Config
		start    string
		out      string
		manifest string
	)
	flag.IntVar(&cfg.Lines, "lines", 10_000_000, "number of lines to write")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "seed of the random generator")
	flag.StringVar(&start, "start", "", "time of the first line, RFC 3339 (default: the start of the previous UTC day)")
	flag.DurationVar(&cfg.Span, "span", 24*time.Hour, "time the corpus spans")
	flag.IntVar(&cfg.NeedleEvery, "needle.every", 10007, "every n'th request is a needle listed in the manifest")
	flag.StringVar(&out, "o", "-", "output file, - for stdout")
	flag.StringVar(&manifest, "manifest", "", "file to write the manifest (JSON) to")
	flag.Parse()
	if flag.NArg() > 0 {
		return errors.New("unexpected arguments; see -h")
	}
	if start == "" {
		cfg.Start = time.Now().UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)
	} else {
		t, err := time.Parse(time.RFC3339Nano, start)
		if err != nil {
			return fmt.Errorf("-start: %w", err)
		}
		cfg.Start = t.UTC()
	}
	if cfg.Lines <= 0 || cfg.Span < 2*time.Minute || cfg.NeedleEvery <= 0 {
		return errors.New("-lines and -needle.every must be positive, -span at least 2m")
	}

	var w io.Writer = os.Stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	began := time.Now()
	m, err := Generate(bw, cfg)
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if f, ok := w.(*os.File); ok && f != os.Stdout {
		if err := f.Close(); err != nil {
			return err
		}
	}
	took := time.Since(began)
	fmt.Fprintf(os.Stderr, "logcorpus: %d lines, %d bytes (%.0f per line), %d requests, %d needles in %v (%.0f lines/s)\n",
		m.Lines, m.Bytes, float64(m.Bytes)/float64(m.Lines), m.Requests, len(m.Needles), took.Round(time.Millisecond),
		float64(m.Lines)/took.Seconds())
	if manifest != "" {
		b, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(manifest, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}
