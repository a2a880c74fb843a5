// Command logload measures how a log server takes and answers a corpus
// written by bench/logcorpus, so Argus and VictoriaLogs can be compared
// side by side on one machine in one session with the same bytes sent to
// each.
//
// It starts the server command given after "--", waits for it to listen,
// posts the corpus in batches of -batch lines with -senders concurrent
// senders (as fast as the server takes them, or at -rate lines per
// second), retrying a 429, a 5xx or a network error with backoff, then
// waits for the server to settle (its CPU use falls below -settle.cpu of
// a core for -settle.quiet, after at least -settle.min), and reports:
//
//   - lines accepted, from the server's own metrics (-metric, all series
//     summed), never from what the senders counted;
//   - lines per CPU-second of the server process (user+sys from /proc),
//     from the start of the load to the end of the settle time, so
//     flushes and merges after the load are counted; the CPU time of the
//     load alone is reported beside it;
//   - lines per second of wall time during the load;
//   - peak RSS, sampled every 100 ms from the start of the load to the
//     end of the settle time;
//   - bytes per line on disk: the blocks allocated under -data after the
//     settle time, over the lines accepted;
//   - with -query.api, the latency of the benchmark's queries, checked
//     against the answers the manifest gives (see query.go): every line
//     of one correlation ID (one query per needle, up to -needles), the
//     lines holding a planted rare word (-query.runs runs per word), and
//     one service's lines counted by level per minute over the corpus's
//     24 hours (-query.runs runs per service of -count.services); each
//     with the server's CPU time per query beside its latency;
//   - with -force-merge, the disk use again after asking the server to
//     merge everything and waiting for it to settle.
//
// -repeat sends the corpus several times over, for a steady load longer
// than the corpus lasts at -rate (memory over time); it stores every line
// several times, so it runs no queries.
//
// Body formats (-format): jsonl posts the corpus's bytes unchanged as
// newline-delimited JSON; otlp turns each batch into an OTLP logs export
// (protobuf, one resource per service) before posting it, the conversion
// done in the sender, outside the measured process.
//
// Example, for Argus and for VictoriaLogs (ports and paths are examples;
// the data directories must not exist or be empty):
//
//	go run ./bench/logcorpus -o /tmp/logs.ndjson -manifest /tmp/logs.manifest.json
//	go run ./bench/logload -name argus -corpus /tmp/logs.ndjson -manifest /tmp/logs.manifest.json \
//	  -url http://127.0.0.1:17100/api/argus/v1/logs -query.api loki -query.url http://127.0.0.1:17100 \
//	  -metrics http://127.0.0.1:17100/metrics -metric argus_ingest_log_records_accepted_total \
//	  -data /tmp/argus-logs -- /tmp/argus --data.dir=/tmp/argus-logs --http.addr=127.0.0.1:17100 \
//	  --otlp.grpc.addr=127.0.0.1:17101 --otlp.http.addr=127.0.0.1:17102
//	go run ./bench/logload -name victorialogs -corpus /tmp/logs.ndjson -manifest /tmp/logs.manifest.json \
//	  -url 'http://127.0.0.1:17190/insert/jsonline?_stream_fields=service&_time_field=time&_msg_field=msg' \
//	  -query.api logsql -query.url http://127.0.0.1:17190 -metrics http://127.0.0.1:17190/metrics \
//	  -metric vl_rows_ingested_total -data /tmp/vl-logs \
//	  -force-merge http://127.0.0.1:17190/internal/force_merge \
//	  -- victoria-logs -storageDataPath=/tmp/vl-logs -httpListenAddr=127.0.0.1:17190
//
// Each run prints one Markdown table row for docs/benchmarks.md and the
// details on stderr; -out appends every number of the run, as one JSON
// object, to a file.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/argus-obs/argus/bench/internal/measure"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "logload:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "logload: "+format+"\n", args...)
}

// manifest is what logload reads of bench/logcorpus's manifest.
type manifest struct {
	Start    time.Time      `json:"start"`
	End      time.Time      `json:"end"`
	Lines    int            `json:"lines"`
	Bytes    int64          `json:"bytes"`
	Services map[string]int `json:"services"`
	Words    []struct {
		Word     string  `json:"word"`
		Lines    int     `json:"lines"`
		Fraction float64 `json:"fraction"`
	} `json:"words"`
	Needles []struct {
		CorrelationID string `json:"correlation_id"`
		Lines         int    `json:"lines"`
	} `json:"needles"`
}

type options struct {
	name, corpus, manifest, url, format string
	batch, senders, maxLines, repeat    int
	rate                                float64
	metricsURL, metric, dataDir         string
	listen, serverLog                   string
	settleMin, settleQuiet, settleMax   time.Duration
	settleCPU                           float64
	queryAPI, queryURL                  string
	needles, queryRuns                  int
	countServices                       string
	forceMerge                          string
	cpuProfile, heapProfile             string
	profileDelay, profileLength         time.Duration
	out                                 string
	server                              []string
}

// result is every number of one run, as -out writes it.
type result struct {
	Name          string        `json:"name"`
	Format        string        `json:"format"`
	Batch         int           `json:"batch"`
	Senders       int           `json:"senders"`
	Rate          float64       `json:"rate"`
	When          time.Time     `json:"when"`
	LinesSent     int64         `json:"lines_sent"`
	LinesRefused  int64         `json:"lines_refused"`
	Retries       int64         `json:"retries"`
	Accepted      float64       `json:"lines_accepted"`
	LoadSeconds   float64       `json:"load_seconds"`
	SettleSeconds float64       `json:"settle_seconds"`
	CPULoad       float64       `json:"cpu_seconds_load"`
	CPUTotal      float64       `json:"cpu_seconds_total"`
	LinesPerCPU   float64       `json:"lines_per_cpu_second"`
	LinesPerSec   float64       `json:"lines_per_second"`
	PeakRSS       int64         `json:"peak_rss_bytes"`
	EndRSS        int64         `json:"end_rss_bytes"`
	Disk          int64         `json:"disk_bytes"`
	BytesPerLine  float64       `json:"disk_bytes_per_line"`
	DiskMerged    int64         `json:"disk_bytes_force_merged,omitempty"`
	Queries       *queryResults `json:"queries,omitempty"`
}

func run() error {
	var o options
	flag.StringVar(&o.name, "name", "server", "name of the server in the report")
	flag.StringVar(&o.corpus, "corpus", "", "corpus file written by bench/logcorpus")
	flag.StringVar(&o.manifest, "manifest", "", "its manifest")
	flag.StringVar(&o.url, "url", "", "URL the batches are posted to")
	flag.StringVar(&o.format, "format", "jsonl", "body format: jsonl or otlp")
	flag.IntVar(&o.batch, "batch", 2000, "lines per request")
	flag.IntVar(&o.senders, "senders", 4, "concurrent senders")
	flag.Float64Var(&o.rate, "rate", 0, "lines per second over all senders; 0 is as fast as the server takes them")
	flag.IntVar(&o.maxLines, "lines", 0, "send only the first n lines of the corpus; 0 sends all")
	flag.IntVar(&o.repeat, "repeat", 1, "send the corpus (or its first -lines) this many times, for long steady loads; no queries then")
	flag.StringVar(&o.metricsURL, "metrics", "", "URL of the server's Prometheus metrics")
	flag.StringVar(&o.metric, "metric", "", "metric counting accepted lines; all its series are summed")
	flag.StringVar(&o.dataDir, "data", "", "the server's data directory, measured after the settle time")
	flag.StringVar(&o.listen, "listen", "", "address to wait for before sending (default: the host of -url)")
	flag.StringVar(&o.serverLog, "server.log", "", "file for the server's output (default: discarded)")
	flag.DurationVar(&o.settleMin, "settle.min", 15*time.Second, "shortest wait after the load")
	flag.DurationVar(&o.settleQuiet, "settle.quiet", 15*time.Second, "the server is settled when it has been quiet this long")
	flag.DurationVar(&o.settleMax, "settle.max", 15*time.Minute, "longest wait after the load")
	flag.Float64Var(&o.settleCPU, "settle.cpu", 0.05, "quiet is below this many CPU-seconds per second")
	flag.StringVar(&o.queryAPI, "query.api", "", "query dialect after the load: loki or logsql; empty runs no queries")
	flag.StringVar(&o.queryURL, "query.url", "", "base URL of the query API")
	flag.IntVar(&o.needles, "needles", 100, "needle queries, each for a different correlation ID")
	flag.IntVar(&o.queryRuns, "query.runs", 20, "measured runs of each word and count query")
	flag.StringVar(&o.countServices, "count.services", "checkout,frontend", "services of the count queries, comma-separated")
	flag.StringVar(&o.forceMerge, "force-merge", "", "URL that makes the server merge all its data, requested after the queries")
	flag.StringVar(&o.cpuProfile, "profile.cpu", "", "file for a CPU profile of the server taken during the load (from -query.url/debug/pprof/profile)")
	flag.StringVar(&o.heapProfile, "profile.heap", "", "file for a heap profile of the server taken at the end of the load")
	flag.DurationVar(&o.profileDelay, "profile.delay", 10*time.Second, "time into the load the CPU profile starts")
	flag.DurationVar(&o.profileLength, "profile.seconds", 20*time.Second, "length of the CPU profile")
	flag.StringVar(&o.out, "out", "", "file to append the run's numbers to, one JSON object per run")
	flag.Parse()
	o.server = flag.Args()
	if len(o.server) == 0 || o.corpus == "" || o.manifest == "" || o.url == "" || o.metricsURL == "" || o.metric == "" {
		return errors.New("usage: logload -corpus FILE -manifest FILE -url URL -metrics URL -metric NAME [flags] -- server command")
	}
	if o.repeat > 1 && o.queryAPI != "" {
		return errors.New("-repeat stores every line several times: the manifest's answers would be wrong, so it takes no -query.api")
	}
	if o.format != "jsonl" && o.format != "otlp" {
		return fmt.Errorf("-format %q: want jsonl or otlp", o.format)
	}
	var m manifest
	if b, err := os.ReadFile(o.manifest); err != nil {
		return err
	} else if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("%s: %w", o.manifest, err)
	}
	var d dialect
	start, end := m.Start.Format(time.RFC3339Nano), m.End.Format(time.RFC3339Nano)
	switch o.queryAPI {
	case "":
	case "loki":
		d = loki{base: o.queryURL, start: start, end: end}
	case "logsql":
		d = logsql{base: o.queryURL, start: start, end: end}
	default:
		return fmt.Errorf("-query.api %q: want loki or logsql", o.queryAPI)
	}
	if o.listen == "" {
		u, err := url.Parse(o.url)
		if err != nil {
			return err
		}
		o.listen = u.Host
	}

	srv := exec.Command(o.server[0], o.server[1:]...)
	if o.serverLog != "" {
		f, err := os.Create(o.serverLog)
		if err != nil {
			return err
		}
		defer f.Close()
		srv.Stdout, srv.Stderr = f, f
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start server: %w", err)
	}
	defer stop(srv)
	pid := srv.Process.Pid
	if err := measure.WaitListening(o.listen, 60*time.Second); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	// Some servers create the counter with their first line: absent
	// means zero here.
	before, err := measure.MetricSum(o.metricsURL, o.metric, "")
	if errors.Is(err, measure.ErrNoMetric) {
		before, err = 0, nil
	}
	if err != nil {
		return err
	}

	res := result{Name: o.name, Format: o.format, Batch: o.batch, Senders: o.senders, Rate: o.rate, When: time.Now().UTC()}
	cpu0, err := measure.CPUSeconds(pid)
	if err != nil {
		return err
	}
	peak := measure.SamplePeakRSS(pid)
	s := newSender(o.url, o.format, o.batch, o.senders, o.rate, o.maxLines, o.repeat)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	profDone := make(chan error, 1)
	if o.cpuProfile != "" {
		go func() {
			select {
			case <-time.After(o.profileDelay):
			case <-ctx.Done():
				profDone <- ctx.Err()
				return
			}
			profDone <- fetch(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", o.queryURL, int(o.profileLength.Seconds())), o.cpuProfile)
		}()
	} else {
		profDone <- nil
	}
	loadStart := time.Now()
	progress := time.NewTicker(10 * time.Second)
	sendDone := make(chan error, 1)
	go func() { sendDone <- s.run(ctx, o.corpus) }()
wait:
	for {
		select {
		case err := <-sendDone:
			if err != nil {
				return err
			}
			break wait
		case <-progress.C:
			cpu, _ := measure.CPUSeconds(pid)
			rss, _ := measure.RSSBytes(pid)
			logf("%s: %d lines acknowledged, %.0f lines/s, %.1f CPU s, RSS %d MiB, peak %d MiB", o.name, s.sent.Load(),
				float64(s.sent.Load())/time.Since(loadStart).Seconds(), cpu-cpu0, rss>>20, peak.Max()>>20)
		}
	}
	progress.Stop()
	res.LoadSeconds = time.Since(loadStart).Seconds()
	cpuLoad, err := measure.CPUSeconds(pid)
	if err != nil {
		return err
	}
	if o.heapProfile != "" {
		if err := fetch(o.queryURL+"/debug/pprof/heap", o.heapProfile); err != nil {
			logf("heap profile: %v", err)
		}
	}
	if err := <-profDone; err != nil {
		logf("CPU profile: %v", err)
	}
	res.LinesSent, res.LinesRefused, res.Retries = s.sent.Load(), s.rejected.Load(), s.retries.Load()
	logf("%s: load done in %.1f s: %d lines acknowledged, %d refused, %d retries; settling",
		o.name, res.LoadSeconds, res.LinesSent, res.LinesRefused, res.Retries)

	settleStart := time.Now()
	if err := settle(pid, o.settleMin, o.settleQuiet, o.settleMax, o.settleCPU); err != nil {
		return err
	}
	res.SettleSeconds = time.Since(settleStart).Seconds()
	res.PeakRSS = peak.Stop()
	res.EndRSS, _ = measure.RSSBytes(pid)
	cpu1, err := measure.CPUSeconds(pid)
	if err != nil {
		return err
	}
	after, err := measure.MetricSum(o.metricsURL, o.metric, "")
	if err != nil {
		return err
	}
	res.Accepted = after - before
	res.CPULoad, res.CPUTotal = cpuLoad-cpu0, cpu1-cpu0
	res.LinesPerCPU = res.Accepted / res.CPUTotal
	res.LinesPerSec = res.Accepted / res.LoadSeconds
	if o.dataDir != "" {
		res.Disk = measure.DirSize(o.dataDir)
		res.BytesPerLine = float64(res.Disk) / res.Accepted
	}
	logf("%s: settled after %.0f s: %.0f lines accepted, %.1f CPU s (%.1f during the load), %.0f lines per CPU-second, peak RSS %d MiB, %.1f bytes per line on disk",
		o.name, res.SettleSeconds, res.Accepted, res.CPUTotal, res.CPULoad, res.LinesPerCPU, res.PeakRSS>>20, res.BytesPerLine)

	if d != nil {
		services := strings.Split(o.countServices, ",")
		q, err := runQueries(d, pid, &m, o.needles, o.queryRuns, services)
		if err != nil {
			return err
		}
		res.Queries = q
		for _, t := range append(append([]timed{q.Needle}, q.Words...), q.Count...) {
			logf("%s: %s: %d runs, p50 %.1f ms, p99 %.1f ms, max %.1f ms, server CPU %.1f ms per run, %d wrong answers",
				o.name, t.Name, t.Runs, t.P50, t.P99, t.Max, t.CPU, t.Wrong)
		}
	}
	if o.forceMerge != "" {
		if err := fetch(o.forceMerge, ""); err != nil {
			return fmt.Errorf("force merge: %w", err)
		}
		time.Sleep(time.Second)
		if err := settle(pid, 5*time.Second, o.settleQuiet, o.settleMax, o.settleCPU); err != nil {
			return err
		}
		res.DiskMerged = measure.DirSize(o.dataDir)
		logf("%s: after a forced merge: %.1f bytes per line on disk", o.name, float64(res.DiskMerged)/res.Accepted)
	}

	fmt.Println(row(&res))
	if o.out != "" {
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		f, err := os.OpenFile(o.out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := f.Write(append(b, '\n')); err != nil {
			return err
		}
	}
	return nil
}

// row is the run as a Markdown table row: server, format, lines
// accepted, lines/s, CPU seconds, lines per CPU-second, peak RSS in MiB,
// bytes per line on disk, then the query latencies in ms: needle p50 and
// p99, the 0.01% word's p50, the first count query's p50.
func row(r *result) string {
	s := fmt.Sprintf("| %s | %s | %.0f | %.0f | %.1f | %.0f | %.0f | %.1f |",
		r.Name, r.Format, r.Accepted, r.LinesPerSec, r.CPUTotal, r.LinesPerCPU, float64(r.PeakRSS)/(1<<20), r.BytesPerLine)
	if q := r.Queries; q != nil {
		word := ""
		for _, w := range q.Words {
			if strings.Contains(w.Name, "zanzibar") {
				word = fmt.Sprintf("%.0f", w.P50)
			}
		}
		count := ""
		if len(q.Count) > 0 {
			count = fmt.Sprintf("%.0f", q.Count[0].P50)
		}
		s += fmt.Sprintf(" %.0f | %.0f | %s | %s |", q.Needle.P50, q.Needle.P99, word, count)
	}
	return s
}

// settle waits until the server has used less than cpu CPU-seconds per
// second over the last quiet period, and at least least.
func settle(pid int, least, quiet, most time.Duration, cpu float64) error {
	began := time.Now()
	type sample struct {
		at  time.Time
		cpu float64
	}
	var samples []sample
	for {
		c, err := measure.CPUSeconds(pid)
		if err != nil {
			return err
		}
		now := time.Now()
		samples = append(samples, sample{now, c})
		if now.Sub(began) >= least {
			// The oldest sample at least quiet ago.
			for i := len(samples) - 1; i >= 0; i-- {
				if now.Sub(samples[i].at) >= quiet {
					if (c-samples[i].cpu)/now.Sub(samples[i].at).Seconds() < cpu {
						return nil
					}
					break
				}
			}
		}
		if now.Sub(began) > most {
			logf("not settled after %v; measuring anyway", most)
			return nil
		}
		time.Sleep(time.Second)
	}
}

// fetch GETs url and writes the answer to file ("" discards it).
func fetch(url, file string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return fmt.Errorf("%s: %d %s", url, resp.StatusCode, b)
	}
	var w io.Writer = io.Discard
	if file != "" {
		f, err := os.Create(file)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

// stop ends the server: SIGTERM, and SIGKILL if it has not exited in a
// minute.
func stop(srv *exec.Cmd) {
	_ = srv.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = srv.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		_ = srv.Process.Kill()
		<-done
	}
}
