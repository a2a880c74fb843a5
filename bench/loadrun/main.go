// Command loadrun measures how a trace server takes load from
// OpenTelemetry's own generator, telemetrygen, so servers can be compared
// side by side on one machine in one run.
//
// It starts the server command given after "--", waits for it to listen,
// runs telemetrygen against it at full speed for a while, waits for the
// server to settle (flushes, merges), and reports:
//
//   - spans the server accepted, read from its own Prometheus metrics
//     (never what the generator claims to have sent);
//   - spans per CPU-second of the server process (user+sys from /proc,
//     including the settle time, so deferred work is counted);
//   - peak and final RSS;
//   - bytes on disk under the data directory after the settle time.
//
// Example, for Argus:
//
//	go run ./bench/loadrun -name argus -telemetrygen $(which telemetrygen) \
//	  -endpoint 127.0.0.1:4317 -metrics http://127.0.0.1:7070/metrics \
//	  -metric argus_ingest_spans_accepted_total -data /tmp/argus-data \
//	  -- argus --data.dir=/tmp/argus-data
//
// The peer servers (Jaeger, VictoriaTraces) are built from their own
// repositories and started the same way; docs/benchmarks.md lists the
// runs and their results.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadrun:", err)
		os.Exit(1)
	}
}

type options struct {
	name         string
	telemetrygen string
	endpoint     string
	http         bool
	httpPath     string
	metricsURL   string
	metric       string
	dataDir      string
	duration     time.Duration
	settle       time.Duration
	generators   int
	batch        int
	rate         int
	server       []string
}

func run() error {
	var o options
	flag.StringVar(&o.name, "name", "server", "name of the server in the report")
	flag.StringVar(&o.telemetrygen, "telemetrygen", "telemetrygen", "path of the telemetrygen binary")
	flag.StringVar(&o.endpoint, "endpoint", "127.0.0.1:4317", "OTLP endpoint (host:port) of the server")
	flag.BoolVar(&o.http, "http", false, "send OTLP/HTTP instead of OTLP/gRPC")
	flag.StringVar(&o.httpPath, "http.path", "/v1/traces", "URL path for OTLP/HTTP")
	flag.StringVar(&o.metricsURL, "metrics", "", "URL of the server's Prometheus metrics")
	flag.StringVar(&o.metric, "metric", "", "metric counting accepted spans; all its series are summed")
	flag.StringVar(&o.dataDir, "data", "", "the server's data directory, measured after the run")
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "how long the generators run")
	flag.DurationVar(&o.settle, "settle", 20*time.Second, "how long to wait after the load for flushes and merges")
	flag.IntVar(&o.generators, "generators", 1, "number of telemetrygen processes")
	flag.IntVar(&o.batch, "batch", 2048, "spans per export batch")
	flag.IntVar(&o.rate, "rate", 0, "traces per second per generator (2 spans each); 0 is as fast as possible")
	flag.Parse()
	o.server = flag.Args()
	if len(o.server) == 0 || o.metricsURL == "" || o.metric == "" {
		return errors.New("usage: loadrun -metrics URL -metric NAME [flags] -- server command")
	}

	srv := exec.Command(o.server[0], o.server[1:]...)
	srv.Stdout, srv.Stderr = nil, nil
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start server: %w", err)
	}
	defer srv.Process.Kill()
	pid := srv.Process.Pid
	if err := waitListening(o.endpoint, 60*time.Second); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	// Some servers create the counter with their first span: absent
	// means zero here.
	before, err := accepted(o.metricsURL, o.metric)
	if errors.Is(err, errNoMetric) {
		before, err = 0, nil
	}
	if err != nil {
		return err
	}
	cpu0, err := cpuSeconds(pid)
	if err != nil {
		return err
	}

	peak := &peakRSS{pid: pid}
	stopSampling := peak.sample()
	ctx, cancel := context.WithTimeout(context.Background(), o.duration+30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, o.generators)
	for range o.generators {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := generate(ctx, &o); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	time.Sleep(o.settle)
	stopSampling()

	after, err := accepted(o.metricsURL, o.metric)
	if err != nil {
		return err
	}
	cpu1, err := cpuSeconds(pid)
	if err != nil {
		return err
	}
	spans := after - before
	cpu := cpu1 - cpu0
	var disk int64
	if o.dataDir != "" {
		disk = dirSize(o.dataDir)
	}
	proto := "grpc"
	if o.http {
		proto = "http"
	}
	fmt.Printf("| %s | %s | %d | %.0f | %.0f | %.1f | %.0f | %.0f | %.1f |\n",
		o.name, proto, o.generators, spans, spans/o.duration.Seconds(), cpu, spans/cpu,
		float64(peak.max)/(1<<20), float64(disk)/spans)
	srv.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { srv.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
	}
	return nil
}

// generate runs one telemetrygen for the configured duration.
func generate(ctx context.Context, o *options) error {
	args := []string{"traces", "--otlp-insecure", "--otlp-endpoint", o.endpoint,
		"--workers", "1", "--batch-size", strconv.Itoa(o.batch), "--rate", strconv.Itoa(o.rate),
		"--duration", o.duration.String()}
	if o.http {
		args = append(args, "--otlp-http", "--otlp-http-url-path", o.httpPath)
	}
	cmd := exec.CommandContext(ctx, o.telemetrygen, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("telemetrygen: %w\n%s", err, lastLines(string(out), 5))
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func waitListening(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("server not listening on %s after %v", addr, timeout)
}

var errNoMetric = errors.New("metric not found")

// accepted sums every series of metric at url.
func accepted(url, metric string) (float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var sum float64
	found := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, metric) {
			continue
		}
		rest := line[len(metric):]
		if rest != "" && rest[0] != '{' && rest[0] != ' ' {
			continue // a longer metric name
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		// The value follows the labels (which may contain spaces).
		if i := strings.LastIndex(line, "}"); i >= 0 {
			fields = strings.Fields(line[i+1:])
		} else {
			fields = fields[1:]
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, fmt.Errorf("metric line %q: %w", line, err)
		}
		sum += v
		found = true
	}
	if !found {
		return 0, fmt.Errorf("%w: %s at %s", errNoMetric, metric, url)
	}
	return sum, sc.Err()
}

// cpuSeconds is the user+system CPU time of a process, from /proc.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may
	// contain spaces.
	s := string(b)
	f := strings.Fields(s[strings.LastIndex(s, ")")+2:])
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	const clockTicks = 100 // USER_HZ on Linux
	return (utime + stime) / clockTicks, nil
}

func rssBytes(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmRSS")
}

// peakRSS samples a process's RSS every 100ms, keeping the largest.
type peakRSS struct {
	pid int
	max int64
}

func (p *peakRSS) sample() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if r, err := rssBytes(p.pid); err == nil {
				p.max = max(p.max, r)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// dirSize is the disk space the files under dir take: allocated blocks,
// as du counts them, so a sparse preallocated file counts for what it
// holds, not for its apparent size.
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				if st, ok := info.Sys().(*syscall.Stat_t); ok {
					n += st.Blocks * 512
				} else {
					n += info.Size()
				}
			}
		}
		return nil
	})
	return n
}
