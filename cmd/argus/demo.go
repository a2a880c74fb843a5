package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/argus-obs/argus/examples/shop/shop"
	"github.com/argus-obs/argus/internal/app"
)

// shopServiceCmd is the hidden subcommand that runs one shop service as a
// child process of "argus demo": "argus shop-service frontend
// --inventory.url=...", serving on the listener passed as file descriptor 3.
//
// The services run as child processes, not goroutines, because sdk.Start
// installs process-wide globals (the tracer and logger providers, the
// propagators, slog's default logger, the metrics registry): two services
// in one process would share one service name and one /metrics. Re-executing
// the same binary keeps the demo one command with nothing else to build,
// and gives each service its own process, as in production.
const shopServiceCmd = "shop-service"

// demoConfigName is the policy file the demo writes into its data
// directory: the user's --config, if any, plus the shop's scrape jobs.
const demoConfigName = "demo-config.yml"

func demo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("argus demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf serverFlags
	sf.register(fs, "./argus-demo-data")
	var (
		rate           = fs.Float64("demo.rate", 5, "requests per second the traffic generator sends to the frontend")
		duration       = fs.Duration("demo.duration", 0, "how long the traffic generator runs (0: until the demo is stopped); Argus and the services keep running after it")
		chaosEvery     = fs.Duration("demo.chaos.interval", 2*time.Minute, "how often chaos (latency, 30% errors) is injected into the inventory; 0: never")
		chaosFor       = fs.Duration("demo.chaos.duration", 90*time.Second, "how long each chaos phase lasts unless the demo's alert action resets the inventory first")
		scrapeInterval = fs.Duration("demo.scrape.interval", 5*time.Second, "how often Argus scrapes the services' /metrics")
		frontendAddr   = fs.String("demo.frontend.addr", "127.0.0.1:0", "address of the frontend service (port 0: a free port)")
		inventoryAddr  = fs.String("demo.inventory.addr", "127.0.0.1:0", "address of the inventory service (port 0: a free port)")
		serviceLogs    = fs.Bool("demo.service.logs", false, "copy the services' JSON logs to stderr (they go to Argus either way)")
	)
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	opts, err := sf.options(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "argus demo: %v\n", err)
		return 2
	}
	log := opts.Logger
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The services' listeners are bound first: their addresses go into the
	// scrape jobs, and the children inherit them, so no port can be taken
	// in between.
	var lc net.ListenConfig
	feL, err := lc.Listen(ctx, "tcp", *frontendAddr)
	if err != nil {
		log.Error("cannot start", "error", fmt.Errorf("listen frontend: %w", err))
		return 1
	}
	defer feL.Close()
	invL, err := lc.Listen(ctx, "tcp", *inventoryAddr)
	if err != nil {
		log.Error("cannot start", "error", fmt.Errorf("listen inventory: %w", err))
		return 1
	}
	defer invL.Close()
	feURL, invURL := "http://"+feL.Addr().String(), "http://"+invL.Addr().String()
	// The demo's notifications go to a webhook of its own, which logs
	// them, so the alert's whole loop shows in one terminal.
	notifyL, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		log.Error("cannot start", "error", fmt.Errorf("listen for notifications: %w", err))
		return 1
	}
	notifySrv := &http.Server{Handler: notificationLogger(log.With("component", "demo-notifications")), ReadHeaderTimeout: 10 * time.Second}
	go notifySrv.Serve(notifyL)
	defer notifySrv.Close()

	if err := os.MkdirAll(opts.DataDir, 0o755); err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	cfgPath, err := writeDemoConfig(opts.DataDir, opts.ConfigFile, *scrapeInterval, feL.Addr().String(), invL.Addr().String(),
		"http://"+notifyL.Addr().String()+"/notify")
	if err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	opts.ConfigFile = cfgPath

	a, err := app.New(opts)
	if err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.Shutdown(sctx); err != nil {
			log.Error("shutdown", "error", err)
		}
	}()
	if err := a.Start(ctx); err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	httpAddr, grpcAddr, _ := a.Addrs()

	var logs io.Writer // nil: the children's stdout goes to the null device
	if *serviceLogs {
		logs = stderr
	}
	failed := make(chan error, 2)
	children := &serviceGroup{ctx: ctx, failed: failed, log: log}
	defer children.stop()
	env := serviceEnv(grpcAddr)
	if err := children.start(shop.Inventory, invL, env, logs, stderr); err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	if err := children.start(shop.Frontend, feL, env, logs, stderr, "--inventory.url="+invURL); err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	// The children own their listeners now.
	feL.Close()
	invL.Close()
	for _, u := range []string{invURL, feURL} {
		if err := waitHealthy(ctx, u+"/healthz", 30*time.Second); err != nil {
			log.Error("cannot start", "error", err)
			return 1
		}
	}

	printGuide(stdout, httpAddr, feURL, invURL)
	log.Info("demo is ready", "http", httpAddr, "otlp_grpc", grpcAddr, "frontend", feURL, "inventory", invURL,
		"data_dir", opts.DataDir, "config", cfgPath)

	traffic := &shop.Traffic{
		FrontendURL: feURL, InventoryURL: invURL, Rate: *rate,
		ChaosEvery: *chaosEvery, ChaosFor: *chaosFor,
		Logger: log.With("component", "traffic"),
	}
	tctx, tcancel := context.WithCancel(ctx)
	if *duration > 0 {
		tctx, tcancel = context.WithTimeout(ctx, *duration)
	}
	var twg sync.WaitGroup
	twg.Go(func() {
		traffic.Run(tctx)
		sent, errs := traffic.Stats()
		log.Info("traffic stopped", "requests", sent, "failed", errs)
	})

	code := runServer(ctx, a, log, failed)
	tcancel()
	twg.Wait()
	children.stop()
	return code
}

// serviceEnv is the environment of the shop services: the demo's, with
// the OTLP exporters pointed at the demo's Argus and short batch delays,
// so what happens shows up within a second or two.
func serviceEnv(grpcAddr string) []string {
	env := os.Environ()
	env = append(env,
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+grpcAddr,
		"OTEL_EXPORTER_OTLP_PROTOCOL=grpc",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=",
		"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=",
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=",
		"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=",
	)
	for _, kv := range []string{"OTEL_BSP_SCHEDULE_DELAY=1000", "OTEL_BLRP_SCHEDULE_DELAY=1000"} {
		if k, _, _ := strings.Cut(kv, "="); os.Getenv(k) == "" {
			env = append(env, kv)
		}
	}
	return env
}

// serviceGroup is the demo's child processes.
type serviceGroup struct {
	ctx    context.Context
	failed chan<- error
	log    *slog.Logger

	mu    sync.Mutex
	procs []*child
}

type child struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}
}

// start runs "argus shop-service <name> args..." with ln as its file
// descriptor 3. If the child exits before the demo is stopping, the
// error goes to g.failed.
func (g *serviceGroup) start(name string, ln net.Listener, env []string, stdout, stderr io.Writer, args ...string) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	defer f.Close()
	cmd := exec.Command(exe, append([]string{shopServiceCmd, name}, args...)...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.ExtraFiles = []*os.File{f}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, exited: make(chan struct{})}
	g.mu.Lock()
	g.procs = append(g.procs, c)
	g.mu.Unlock()
	go func() {
		err := cmd.Wait()
		close(c.exited)
		if g.ctx.Err() == nil {
			g.failed <- fmt.Errorf("service %s exited: %v", name, err)
		}
	}()
	g.log.Info("started service", "service", name, "pid", cmd.Process.Pid, "addr", ln.Addr().String())
	return nil
}

// stop ends the children: SIGTERM, so they flush their telemetry, then
// SIGKILL after 15 seconds. It is idempotent.
func (g *serviceGroup) stop() {
	g.mu.Lock()
	procs := g.procs
	g.procs = nil
	g.mu.Unlock()
	for _, c := range procs {
		c.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, c := range procs {
		select {
		case <-c.exited:
		case <-time.After(15 * time.Second):
			g.log.Warn("service did not stop; killing it", "service", c.name)
			c.cmd.Process.Kill()
			<-c.exited
		}
	}
}

// waitHealthy polls url until it answers 200.
func waitHealthy(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy after %s: %v", url, timeout, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// demoRules is the demo's alert: the inventory fails more than 10% of its
// requests (from the span metrics Argus derives), for 20 seconds.
const demoRules = `# Written by "argus demo" at every start.
groups:
  - name: shop
    interval: 10s
    rules:
      - alert: InventoryErrors
        expr: |
          sum(rate(traces_span_metrics_calls_total{service_name="inventory",span_kind="SPAN_KIND_SERVER",status_code="STATUS_CODE_ERROR"}[1m]))
            / sum(rate(traces_span_metrics_calls_total{service_name="inventory",span_kind="SPAN_KIND_SERVER"}[1m])) > 0.1
        for: 20s
        labels: {severity: page, service_name: inventory}
        annotations:
          summary: 'inventory fails {{ $value | humanizePercentage }} of its requests'
`

// demoAlerting is the demo's notifications and actions: notifications go
// to the demo's own webhook, and the InventoryErrors alert resets the
// inventory's chaos through its admin endpoint.
const demoAlerting = `
rule_files: [%[1]s]
notifications:
  route:
    receiver: demo
    group_by: [alertname]
    group_wait: 5s
    group_interval: 30s
    repeat_interval: 1h
  receivers:
    - name: demo
      webhook_configs:
        - url: %[2]s
          send_resolved: true
actions:
  definitions:
    - name: reset-inventory
      match: ['alertname="InventoryErrors"']
      http:
        method: POST
        url: http://%[3]s/admin/reset
      cooldown: 1m
      max_runs_per_hour: 30
      timeout: 5s
      retries: 2
`

// writeDemoConfig writes the demo's policy file into dataDir: the user's
// file (if any) with scrape jobs for the two services added, and the
// demo's alert, notifications and action where the user's file has none
// of its own; it returns the file's path. Relative paths in the user's
// file resolve against dataDir from then on.
func writeDemoConfig(dataDir, userConfig string, interval time.Duration, frontend, inventory, notifyURL string) (string, error) {
	var doc yaml.Node
	if userConfig != "" {
		data, err := os.ReadFile(userConfig)
		if err != nil {
			return "", fmt.Errorf("read config: %w", err)
		}
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return "", fmt.Errorf("config %s: %w", userConfig, err)
		}
	}
	if len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return "", fmt.Errorf("config %s: not a YAML mapping", userConfig)
	}
	var jobs yaml.Node
	jobsYAML := fmt.Sprintf(`
- job_name: %s
  scrape_interval: %s
  static_configs: [{targets: [%q]}]
- job_name: %s
  scrape_interval: %s
  static_configs: [{targets: [%q]}]
`, shop.Frontend, interval, frontend, shop.Inventory, interval, inventory)
	if err := yaml.Unmarshal([]byte(jobsYAML), &jobs); err != nil {
		return "", err
	}
	var existing *yaml.Node
	has := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		has[root.Content[i].Value] = true
		if root.Content[i].Value == "scrape_configs" {
			existing = root.Content[i+1]
		}
	}
	if !has["rule_files"] && !has["notifications"] && !has["actions"] {
		const rulesName = "demo-rules.yml"
		if err := os.WriteFile(filepath.Join(dataDir, rulesName), []byte(demoRules), 0o644); err != nil {
			return "", fmt.Errorf("write demo rules: %w", err)
		}
		var alerting yaml.Node
		if err := yaml.Unmarshal([]byte(fmt.Sprintf(demoAlerting, rulesName, notifyURL, inventory)), &alerting); err != nil {
			return "", err
		}
		root.Content = append(root.Content, alerting.Content[0].Content...)
	}
	switch {
	case existing == nil:
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "scrape_configs"}, jobs.Content[0])
	case existing.Kind == yaml.SequenceNode:
		existing.Content = append(existing.Content, jobs.Content[0].Content...)
	default:
		return "", fmt.Errorf("config %s: scrape_configs is not a list", userConfig)
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dataDir, demoConfigName)
	header := "# Written by \"argus demo\" at every start: the shop's scrape jobs, alert, notifications and action"
	if userConfig != "" {
		header += ", added to " + userConfig
	}
	if err := os.WriteFile(path, append([]byte(header+".\n"), out...), 0o644); err != nil {
		return "", fmt.Errorf("write demo config: %w", err)
	}
	return path, nil
}

// printGuide tells a newcomer where to look.
func printGuide(w io.Writer, httpAddr, frontend, inventory string) {
	base := "http://" + httpAddr
	fmt.Fprintf(w, `
Argus demo is running: Argus at %[1]s, the shop's frontend at %[2]s and
inventory at %[3]s, and traffic flowing. Ctrl-C stops everything.

Open %[1]s/ in a browser: services, the service map, traces, logs,
metrics, dashboards and alerts.

Grafana data sources:
  Prometheus  %[1]s
  Jaeger      %[1]s/jaeger
  Loki        %[1]s

Try:
  curl -s %[1]s/jaeger/api/services
  curl -s '%[1]s/jaeger/api/traces?service=frontend&operation=POST%%20/orders&limit=5'
  curl -sG %[1]s/loki/api/v1/query_range --data-urlencode 'query={service_name="inventory"} | level="error"'
  curl -sG %[1]s/api/v1/query --data-urlencode 'query=sum by (job, route, status_class) (rate(http_server_requests_total[1m]))'
  curl -s -D- -d '{"product_id":"p-1","quantity":1}' %[2]s/orders     (note its X-Correlation-ID)
  curl -s %[1]s/api/argus/v1/correlate/<correlation or trace id>
  curl -s -d '{"latency_ms":500,"error_rate":0.5}' %[3]s/admin/chaos
  curl -s -X POST %[3]s/admin/reset

Every two minutes the traffic generator injects errors into the inventory.
Watch the alert loop in this log: the InventoryErrors alert fires (its
error rate, from the span metrics Argus derives), a "notification" line
is logged, the reset-inventory action calls the inventory's /admin/reset,
the error rate recovers and the alert resolves. Each step is also at:
  curl -s %[1]s/api/v1/alerts
  curl -s %[1]s/api/argus/v1/alerts/history
  curl -s %[1]s/api/argus/v1/actions/runs

`, base, frontend, inventory)
}

// shopService is the hidden subcommand the demo runs its services with.
func shopService(args []string, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "argus %s: want a service name\n", shopServiceCmd)
		return 2
	}
	name, args := args[0], args[1:]
	fs := flag.NewFlagSet("argus "+shopServiceCmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	invURL := fs.String("inventory.url", shop.DefaultInventoryURL, "base URL of the inventory service")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	f := os.NewFile(3, "listener")
	if f == nil {
		fmt.Fprintf(stderr, "argus %s: no listener on file descriptor 3\n", shopServiceCmd)
		return 2
	}
	ln, err := net.FileListener(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(stderr, "argus %s: listener on file descriptor 3: %v\n", shopServiceCmd, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := shop.Run(ctx, shop.RunOptions{Service: name, Listener: ln, InventoryURL: *invURL}); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "argus %s %s: %v\n", shopServiceCmd, name, err)
		return 1
	}
	return 0
}

// notificationLogger is the demo's webhook receiver: it logs each alert
// of each notification Argus sends, in Alertmanager's webhook format.
func notificationLogger(log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct {
			Status string `json:"status"`
			Alerts []struct {
				Status      string            `json:"status"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"alerts"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&msg); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, a := range msg.Alerts {
			log.Warn("notification", "status", a.Status, "alertname", a.Labels["alertname"], "summary", a.Annotations["summary"])
		}
	})
}
