// Command argus is the Argus observability server: one binary that takes
// in traces, metrics and logs, stores them in its data directory, answers
// the query APIs Grafana, Jaeger, Prometheus and Loki clients speak, and
// evaluates alerting rules.
//
// Usage:
//
//	argus [serve] [flags]   run the server (the default)
//	argus demo [flags]      run the server with the example shop and traffic
//	argus check rules FILE  validate Prometheus rule files offline
//	argus check config FILE validate a config and the rule and dashboard files it names
//	argus version           print the build
//
// Run "argus serve -h" for the flags; demo takes the same ones, and a few
// of its own ("argus demo -h").
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	promodel "github.com/prometheus/common/model"

	"github.com/argus-obs/argus/internal/app"
	"github.com/argus-obs/argus/internal/buildinfo"
)

func main() {
	setGCPercent()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// setGCPercent sets the garbage collector's target to 75% growth, as the
// Prometheus server does, unless GOGC is set: a little more collector
// CPU for an eighth less peak memory, which for a TSDB head of millions
// of series is most of the process. Argus's hot ingest paths allocate
// little, so the extra collections cost little.
func setGCPercent() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(75)
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args, stderr)
	case "demo":
		return demo(args, stdout, stderr)
	case shopServiceCmd:
		return shopService(args, stderr)
	case "check":
		return check(args, stdout, stderr)
	case "version":
		info := buildinfo.Get()
		fmt.Fprintf(stdout, "argus %s (revision %s, %s)\n", info.Version, info.Revision, info.GoVersion)
		return 0
	case "help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "argus: unknown command %q\n\n", cmd)
		usage(stderr)
		return 2
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage:
  argus [serve] [flags]   run the server (the default)
  argus demo [flags]      run the server with the example shop and traffic
  argus check rules FILE  validate Prometheus rule files offline (as promtool does)
  argus check config FILE validate a config and the rule and dashboard files it names
  argus version           print the build

Run "argus serve -h" for the flags; demo takes the same ones, and a few of
its own ("argus demo -h").
`)
}

// serverFlags are the flags of the server, shared by serve and demo.
type serverFlags struct {
	opts      app.Options
	retention promodel.Duration
	logLevel  slog.Level
	logFormat string
}

// register defines the server's flags on fs; dataDir is the default of
// --data.dir.
func (f *serverFlags) register(fs *flag.FlagSet, dataDir string) {
	f.retention = promodel.Duration(7 * 24 * time.Hour)
	fs.StringVar(&f.opts.HTTPAddr, "http.addr", "127.0.0.1:7070", "address of the HTTP server: web UI, query APIs, OTLP/HTTP, /metrics")
	fs.StringVar(&f.opts.OTLPGRPCAddr, "otlp.grpc.addr", "127.0.0.1:4317", "address of the OTLP/gRPC receiver")
	fs.StringVar(&f.opts.OTLPHTTPAddr, "otlp.http.addr", "127.0.0.1:4318", "address of the OTLP/HTTP receiver")
	fs.StringVar(&f.opts.SyslogAddr, "syslog.addr", "", "address to receive syslog on, over TCP and UDP (RFC 5424 and 3164); empty: off")
	fs.StringVar(&f.opts.DataDir, "data.dir", dataDir, "directory for all stored data")
	fs.Var(&durationFlag{&f.retention}, "retention", "how long data is kept (Prometheus duration: 12h, 7d, 2w)")
	fs.StringVar(&f.opts.ConfigFile, "config", "", "YAML policy file (optional); reloaded on SIGHUP and POST /-/reload")
	fs.TextVar(&f.logLevel, "log.level", slog.LevelInfo, "log level: debug, info, warn, error")
	fs.StringVar(&f.logFormat, "log.format", "logfmt", "log format: logfmt or json")
}

// options completes the app options from the parsed flags: the logger
// (writing to stderr) and the retention.
func (f *serverFlags) options(stderr io.Writer) (app.Options, error) {
	opts := f.opts
	hopts := &slog.HandlerOptions{Level: f.logLevel}
	switch f.logFormat {
	case "logfmt":
		opts.Logger = slog.New(slog.NewTextHandler(stderr, hopts))
	case "json":
		opts.Logger = slog.New(slog.NewJSONHandler(stderr, hopts))
	default:
		return opts, fmt.Errorf("--log.format must be logfmt or json, got %q", f.logFormat)
	}
	opts.Retention = time.Duration(f.retention)
	return opts, nil
}

// parseFlags parses args into fs, reporting errors on stderr. It returns
// the exit code to end with, or -1 to go on.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return 2
	}
	return -1
}

func serve(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("argus serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf serverFlags
	sf.register(fs, "./argus-data")
	if code := parseFlags(fs, args, stderr); code >= 0 {
		return code
	}
	opts, err := sf.options(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "argus serve: %v\n", err)
		return 2
	}
	log := opts.Logger

	a, err := app.New(opts)
	if err != nil {
		log.Error("cannot start", "error", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := a.Start(ctx); err != nil {
		log.Error("cannot start", "error", err)
		a.Shutdown(context.Background())
		return 1
	}
	code := runServer(ctx, a, log, nil)
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Shutdown(sctx); err != nil {
		log.Error("shutdown", "error", err)
		code = 1
	}
	return code
}

// runServer waits until ctx ends, the server fails, or failed (if not
// nil) delivers an error, reloading the config on SIGHUP meanwhile. It
// returns the exit code; it does not shut the server down.
func runServer(ctx context.Context, a *app.App, log *slog.Logger, failed <-chan error) int {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			log.Info("shutting down")
			return 0
		case <-hup:
			_ = a.Reload() // logged by Reload
		case err := <-a.Err():
			log.Error("server failed", "error", err)
			return 1
		case err := <-failed:
			log.Error("demo failed", "error", err)
			return 1
		}
	}
}

// durationFlag adapts a Prometheus duration, which knows days and weeks,
// to the flag package.
type durationFlag struct{ d *promodel.Duration }

func (f *durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	return f.d.String()
}

func (f *durationFlag) Set(s string) error {
	d, err := promodel.ParseDuration(s)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}
