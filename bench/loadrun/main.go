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
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/argus-obs/argus/bench/internal/measure"
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
	if err := measure.WaitListening(o.endpoint, 60*time.Second); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	// Some servers create the counter with their first span: absent
	// means zero here.
	before, err := measure.MetricSum(o.metricsURL, o.metric, "")
	if errors.Is(err, measure.ErrNoMetric) {
		before, err = 0, nil
	}
	if err != nil {
		return err
	}
	cpu0, err := measure.CPUSeconds(pid)
	if err != nil {
		return err
	}

	peak := measure.SamplePeakRSS(pid)
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
	peakRSS := peak.Stop()

	after, err := measure.MetricSum(o.metricsURL, o.metric, "")
	if err != nil {
		return err
	}
	cpu1, err := measure.CPUSeconds(pid)
	if err != nil {
		return err
	}
	spans := after - before
	cpu := cpu1 - cpu0
	var disk int64
	if o.dataDir != "" {
		disk = measure.DirSize(o.dataDir)
	}
	proto := "grpc"
	if o.http {
		proto = "http"
	}
	fmt.Printf("| %s | %s | %d | %.0f | %.0f | %.1f | %.0f | %.0f | %.1f |\n",
		o.name, proto, o.generators, spans, spans/o.duration.Seconds(), cpu, spans/cpu,
		float64(peakRSS)/(1<<20), float64(disk)/spans)
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
