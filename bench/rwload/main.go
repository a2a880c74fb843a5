// Command rwload measures how a server takes Prometheus remote write, so
// Argus and Prometheus can be compared on one machine in one session with
// the same bytes sent to each.
//
// It has two steps. "rwload gen" pre-generates the load into a file:
// remote-write 1.0 requests (snappy-compressed prompb.WriteRequest) for
// every scrape round of a set of series (counters, gauges and classic
// histograms with 10 buckets, with the labels a scrape gives them: job,
// instance, namespace, pod, zone), at a fixed scrape interval, starting a
// few hours in the past at a two-hour boundary, so the TSDB head cuts the
// first two hours into a persistent block while the load runs:
//
//	go run ./bench/rwload gen -file /tmp/rw.load -series 1000000 -interval 60s -span 3h10m
//
// "rwload run" starts the server command given after "--", waits until it
// is ready, sends every round of the file with -concurrency senders (as a
// Prometheus queue manager's shards send; a round is finished before the
// next starts, so each series' samples arrive in time order), retries a
// 5xx, a 429 or a network error with backoff, waits until the TSDB has
// written its first block and a settle time has passed, runs the PromQL
// range queries of query.go against the server's /api/v1/query_range,
// and reports:
//
//   - samples accepted, from the server's own
//     prometheus_tsdb_head_samples_appended_total (what the senders
//     counted as sent and acknowledged is reported beside it);
//   - samples per CPU-second of the server process (user+sys from /proc),
//     over the sending alone and including the settle time, so head
//     compaction after the load is counted;
//   - peak RSS (sampled every 100 ms up to the end of the settle time) per
//     active series (prometheus_tsdb_head_series after the settle time);
//   - bytes per sample on disk: of the whole data directory over the
//     samples accepted, and of the persistent blocks alone over the
//     samples their meta.json counts;
//   - the median, fastest and slowest of -query.runs runs of each query,
//     after one warm-up run, and a digest of each answer, so the servers'
//     answers can be compared.
//
// "rwload query" runs the same queries against servers that already hold
// a load file's data (each restarted on the data directory a run left),
// taking turns query by query, so every server meets the same machine
// load; on a shared machine that compares query speed more fairly than
// runs made an hour apart:
//
//	go run ./bench/rwload query -file /tmp/rw.load \
//	  -url http://127.0.0.1:7070 -url http://127.0.0.1:9090
//
// Example, for Argus and for Prometheus (ports and paths are examples;
// the data directory must not exist or be empty):
//
//	go run ./bench/rwload run -file /tmp/rw.load -name argus \
//	  -url http://127.0.0.1:7070/api/v1/write -data /tmp/argus-data \
//	  -- /tmp/argus --data.dir=/tmp/argus-data --config=bench/rwload/argus.yml
//	go run ./bench/rwload run -file /tmp/rw.load -name prometheus \
//	  -url http://127.0.0.1:9090/api/v1/write -ready http://127.0.0.1:9090/-/ready \
//	  -data /tmp/prom-data -- prometheus --config.file=bench/rwload/prometheus.yml \
//	  --storage.tsdb.path=/tmp/prom-data --web.listen-address=127.0.0.1:9090 \
//	  --web.enable-remote-write-receiver
//
// The configurations argus.yml and prometheus.yml beside this file turn
// off every scrape, Argus's self-scrape included: a scrape appends
// samples at the current time, which would move the TSDB head's
// appendable window past the history the load writes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/argus-obs/argus/bench/internal/measure"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: rwload gen|run|query [flags]; rwload gen -h, rwload run -h, rwload query -h")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = genCmd(os.Args[2:])
	case "run":
		err = runCmd(os.Args[2:])
	case "query":
		err = queryCmd(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: want gen, run or query", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rwload:", err)
		os.Exit(1)
	}
}

func genCmd(args []string) error {
	fs := flag.NewFlagSet("rwload gen", flag.ContinueOnError)
	file := fs.String("file", "", "load file to write")
	series := fs.Int("series", 1_000_000, "number of series, rounded up to whole instances of 200 series")
	interval := fs.Duration("interval", 60*time.Second, "scrape interval")
	span := fs.Duration("span", 3*time.Hour+10*time.Minute, "time the rounds cover; more than 3h makes the TSDB write its first block")
	batch := fs.Int("batch", 2000, "samples per request, rounded down to whole instances (Prometheus's max_samples_per_send is 2000)")
	seed := fs.Uint64("seed", 1, "seed of the values' noise")
	workers := fs.Int("workers", defaultWorkers(), "goroutines building requests")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" {
		return errors.New("gen: -file is required")
	}
	if *interval < time.Second || *span < *interval {
		return errors.New("gen: want -interval >= 1s and -span >= -interval")
	}
	const block = 2 * time.Hour
	p := plan{
		Instances:  (*series + seriesPerInstance - 1) / seriesPerInstance,
		IntervalMs: interval.Milliseconds(),
		Rounds:     int(*span / *interval),
		PerRequest: max(1, *batch/seriesPerInstance),
		Seed:       *seed,
	}
	// Start at a block boundary, early enough that the last round is in
	// the past: the first block then holds two whole hours of rounds.
	start := time.Now().Add(-*span).Truncate(block)
	p.StartMs = start.UnixMilli()
	fmt.Fprintf(os.Stderr, "rwload: %d series (%d instances), %d rounds every %v from %s to %s, %d samples per request\n",
		p.Series(), p.Instances, p.Rounds, *interval, start.UTC().Format(time.RFC3339),
		time.UnixMilli(p.EndMs()).UTC().Format(time.RFC3339), p.PerRequest*seriesPerInstance)
	return generate(*file, p, *workers)
}

type runOptions struct {
	file        string
	name        string
	url         string
	ready       string
	metrics     string
	query       string
	data        string
	serverLog   string
	concurrency int
	readahead   int
	blocks      int
	settle      time.Duration
	timeout     time.Duration
	queryRuns   int
	querySteps  int
	queryStep   time.Duration
	server      []string
}

func runCmd(args []string) error {
	var o runOptions
	fs := flag.NewFlagSet("rwload run", flag.ContinueOnError)
	fs.StringVar(&o.file, "file", "", "load file written by rwload gen")
	fs.StringVar(&o.name, "name", "server", "name of the server in the report")
	fs.StringVar(&o.url, "url", "http://127.0.0.1:7070/api/v1/write", "the server's remote-write URL")
	fs.StringVar(&o.ready, "ready", "", "URL answering 200 once the server is ready (default: /readyz beside -url)")
	fs.StringVar(&o.metrics, "metrics", "", "URL of the server's Prometheus metrics (default: /metrics beside -url)")
	fs.StringVar(&o.query, "query.url", "", "base URL of the server's Prometheus API (default: the scheme and host of -url)")
	fs.StringVar(&o.data, "data", "", "the server's data directory, measured after the run; must be empty or absent")
	fs.StringVar(&o.serverLog, "server.log", "", "file for the server's output (default: discarded)")
	fs.IntVar(&o.concurrency, "concurrency", 4, "concurrent senders, like a queue manager's shards")
	fs.IntVar(&o.readahead, "readahead", 4, "rounds read from the file ahead of the sending")
	fs.IntVar(&o.blocks, "blocks", 1, "persistent TSDB blocks to wait for after the load (prometheus_tsdb_blocks_loaded)")
	fs.DurationVar(&o.settle, "settle", 30*time.Second, "how long to wait once the blocks are written")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Hour, "limit on the sending")
	fs.IntVar(&o.queryRuns, "query.runs", 20, "timed runs of each query, after one warm-up run; 0 skips the queries")
	fs.IntVar(&o.querySteps, "query.steps", 1000, "steps of each range query")
	fs.DurationVar(&o.queryStep, "query.step", 10*time.Second, "step of the range queries, which end at the end of the load")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.server = fs.Args()
	if o.file == "" || len(o.server) == 0 {
		return errors.New("usage: rwload run -file FILE [flags] -- server command")
	}
	u, err := url.Parse(o.url)
	if err != nil || u.Host == "" {
		return fmt.Errorf("bad -url %q", o.url)
	}
	base := u.Scheme + "://" + u.Host
	if o.ready == "" {
		o.ready = base + "/readyz"
	}
	if o.metrics == "" {
		o.metrics = base + "/metrics"
	}
	if o.query == "" {
		o.query = base
	}
	if o.data != "" {
		if entries, err := os.ReadDir(o.data); err == nil && len(entries) > 0 {
			return fmt.Errorf("data directory %s is not empty", o.data)
		}
	}
	lf, err := openLoadFile(o.file)
	if err != nil {
		return err
	}
	defer lf.Close()
	return run(&o, lf, u.Host, base)
}

// result is what one run measured.
type result struct {
	accepted, sent, acked, rejected, retries int64
	sendWall                                 time.Duration
	load                                     float64 // the machine's load average at the end of the sending
	cpuSend, cpuTotal                        float64
	peakRSS, settledRSS                      int64
	headSeries                               int64
	disk                                     int64
	blocks                                   blockStats
	queries                                  []queryResult
}

func run(o *runOptions, lf *loadFile, host, base string) error {
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
	defer srv.Process.Kill()
	pid := srv.Process.Pid
	if err := measure.WaitListening(host, 2*time.Minute); err != nil {
		return err
	}
	if err := waitReady(o.ready, 2*time.Minute); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	const appended, appendedType = "prometheus_tsdb_head_samples_appended_total", `type="float"`
	before, err := measure.MetricSum(o.metrics, appended, appendedType)
	if errors.Is(err, measure.ErrNoMetric) {
		before, err = 0, nil // created with the first sample
	}
	if err != nil {
		return err
	}
	cpu0, err := measure.CPUSeconds(pid)
	if err != nil {
		return err
	}
	peak := measure.SamplePeakRSS(pid)

	var res result
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	s := newSender(o.url, o.concurrency)
	t0 := time.Now()
	fmt.Fprintf(os.Stderr, "rwload: %s: sending %d rounds of %d series\n", o.name, lf.plan.Rounds, lf.plan.Series())
	sendErr := s.run(ctx, lf, o.concurrency, o.readahead)
	res.sendWall = time.Since(t0)
	res.load, _ = measure.LoadAverage()
	cpuSend, err := measure.CPUSeconds(pid)
	if err != nil {
		return err
	}
	if sendErr != nil {
		return sendErr
	}
	fmt.Fprintf(os.Stderr, "rwload: %s: sent in %.0f s; waiting for %d block(s)\n", o.name, res.sendWall.Seconds(), o.blocks)
	if err := waitBlocks(o.metrics, o.blocks, 30*time.Minute); err != nil {
		return err
	}
	time.Sleep(o.settle)
	res.peakRSS = peak.Stop()
	cpuTotal, err := measure.CPUSeconds(pid)
	if err != nil {
		return err
	}
	after, err := measure.MetricSum(o.metrics, appended, appendedType)
	if err != nil {
		return err
	}
	series, err := measure.MetricSum(o.metrics, "prometheus_tsdb_head_series", "")
	if err != nil {
		return err
	}
	res.settledRSS, _ = measure.RSSBytes(pid)
	res.accepted = int64(after - before)
	res.headSeries = int64(series)
	res.cpuSend, res.cpuTotal = cpuSend-cpu0, cpuTotal-cpu0
	res.sent, res.acked = s.stats.sent.Load(), s.stats.acked.Load()
	res.rejected, res.retries = s.stats.rejected.Load(), s.stats.retries.Load()
	if o.data != "" {
		res.disk = measure.DirSize(o.data)
		res.blocks = tsdbBlocks(o.data)
	}

	end := time.UnixMilli(lf.plan.EndMs())
	for _, q := range queries {
		if o.queryRuns <= 0 {
			break
		}
		qr, err := runQuery(context.Background(), o.query, q, end, o.queryStep, o.querySteps, o.queryRuns, true)
		if err != nil {
			return err
		}
		res.queries = append(res.queries, qr)
	}

	report(o, lf.plan, &res, s.stats.firstErr)
	srv.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { srv.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
	}
	return nil
}

func report(o *runOptions, p plan, r *result, firstErr string) {
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	fmt.Printf("server %s: %d series, %d rounds every %v, concurrency %d\n",
		o.name, p.Series(), p.Rounds, time.Duration(p.IntervalMs)*time.Millisecond, o.concurrency)
	fmt.Printf("  samples: accepted %d (server's count), sent %d, acknowledged %d, refused %d, retries %d\n",
		r.accepted, r.sent, r.acked, r.rejected, r.retries)
	if firstErr != "" {
		fmt.Printf("  first refusal: %s\n", firstErr)
	}
	fmt.Printf("  sending: %.1f s, %.0f samples/s; server CPU %.1f s sending, %.1f s with the settle time\n",
		r.sendWall.Seconds(), float64(r.accepted)/r.sendWall.Seconds(), r.cpuSend, r.cpuTotal)
	fmt.Printf("  samples per CPU-second: %.0f sending, %.0f with the settle time; machine load average %.1f at the end of the sending\n",
		float64(r.accepted)/r.cpuSend, float64(r.accepted)/r.cpuTotal, r.load)
	fmt.Printf("  RSS: peak %.0f MiB, settled %.0f MiB; active series %d; peak bytes per active series %.0f\n",
		mib(r.peakRSS), mib(r.settledRSS), r.headSeries, float64(r.peakRSS)/float64(r.headSeries))
	if o.data != "" {
		fmt.Printf("  disk: data directory %.1f MiB, %.3f bytes/sample accepted; %d block(s) %.1f MiB, %d samples, %d series, %.3f bytes/sample\n",
			mib(r.disk), float64(r.disk)/float64(r.accepted), r.blocks.blocks, mib(r.blocks.bytes),
			r.blocks.samples, r.blocks.series, float64(r.blocks.bytes)/float64(r.blocks.samples))
	}
	var qcols []string
	for _, q := range r.queries {
		fmt.Printf("  query %s: median %.1f ms (fastest %.1f, slowest %.1f) over %d runs; %d series, %d points, digest %s\n",
			q.name, ms(q.median), ms(q.fastest), ms(q.slowest), o.queryRuns, q.series, q.points, q.digest)
		qcols = append(qcols, fmt.Sprintf("%.1f", ms(q.median)))
	}
	// One row for docs/benchmarks.md.
	fmt.Printf("| %s | %d | %d | %.1f | %.0f | %.0f | %.0f | %.0f | %.0f | %.3f | %.3f | %s |\n",
		o.name, r.headSeries, r.accepted, r.cpuTotal, float64(r.accepted)/r.cpuSend, float64(r.accepted)/r.cpuTotal,
		mib(r.peakRSS), float64(r.peakRSS)/float64(r.headSeries), mib(r.settledRSS),
		float64(r.blocks.bytes)/float64(r.blocks.samples), float64(r.disk)/float64(r.accepted),
		strings.Join(qcols, " | "))
}

// urlList is a repeatable string flag.
type urlList []string

func (l *urlList) String() string     { return strings.Join(*l, ",") }
func (l *urlList) Set(s string) error { *l = append(*l, s); return nil }

func queryCmd(args []string) error {
	fs := flag.NewFlagSet("rwload query", flag.ContinueOnError)
	file := fs.String("file", "", "load file whose data the servers hold (for the time range)")
	var urls urlList
	fs.Var(&urls, "url", "base URL of a server's Prometheus API; repeat for each server")
	runs := fs.Int("runs", 20, "timed runs of each query on each server, after one warm-up run")
	steps := fs.Int("steps", 1000, "steps of each range query")
	step := fs.Duration("step", 10*time.Second, "step of the range queries, which end at the end of the load")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *file == "" || len(urls) == 0 || *runs < 1 {
		return errors.New("usage: rwload query -file FILE -url URL [-url URL ...]")
	}
	lf, err := openLoadFile(*file)
	if err != nil {
		return err
	}
	lf.Close()
	end := time.UnixMilli(lf.plan.EndMs())
	for _, q := range queries {
		// One warm-up run each, then the servers take turns.
		took := make([][]time.Duration, len(urls))
		results := make([]queryResult, len(urls))
		for i, u := range urls {
			if results[i], err = runQuery(context.Background(), u, q, end, *step, *steps, 0, true); err != nil {
				return fmt.Errorf("%s: %w", u, err)
			}
		}
		for range *runs {
			for i, u := range urls {
				r, err := runQuery(context.Background(), u, q, end, *step, *steps, 1, false)
				if err != nil {
					return fmt.Errorf("%s: %w", u, err)
				}
				took[i] = append(took[i], r.median)
			}
		}
		for i, u := range urls {
			med, fastest, slowest := spread(took[i])
			fmt.Printf("query %s at %s: median %.1f ms (fastest %.1f, slowest %.1f) over %d runs; %d series, %d points, digest %s\n",
				q.name, u, ms(med), ms(fastest), ms(slowest), *runs, results[i].series, results[i].points, results[i].digest)
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// waitReady waits until url answers 200.
func waitReady(url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if _, err := get(context.Background(), url); err == nil {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("server not ready at %s after %v", url, timeout)
}

// waitBlocks waits until the server reports at least n persistent blocks.
func waitBlocks(metrics string, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		v, err := measure.MetricSum(metrics, "prometheus_tsdb_blocks_loaded", "")
		if err == nil && int(v) >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d blocks after %v (%v)", int(v), timeout, err)
		}
		time.Sleep(time.Second)
	}
}
