// Command argus is the Argus observability server: one binary that takes
// in traces (and, as they land, logs and metrics), stores them in its data
// directory, and answers the query APIs Grafana and Jaeger speak.
//
// Usage:
//
//	argus [serve] [flags]   run the server (the default)
//	argus version           print the build
//
// Run "argus serve -h" for the flags.
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
	"syscall"
	"time"

	promodel "github.com/prometheus/common/model"

	"github.com/argus-obs/argus/internal/app"
	"github.com/argus-obs/argus/internal/buildinfo"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(args, stderr)
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
  argus version           print the build

Run "argus serve -h" for the flags.
`)
}

func serve(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("argus serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		opts      app.Options
		retention = promodel.Duration(7 * 24 * time.Hour)
		logLevel  slog.Level
		logFormat string
	)
	fs.StringVar(&opts.HTTPAddr, "http.addr", "127.0.0.1:7070", "address of the HTTP server: web UI, query APIs, OTLP/HTTP, /metrics")
	fs.StringVar(&opts.OTLPGRPCAddr, "otlp.grpc.addr", "127.0.0.1:4317", "address of the OTLP/gRPC receiver")
	fs.StringVar(&opts.OTLPHTTPAddr, "otlp.http.addr", "127.0.0.1:4318", "address of the OTLP/HTTP receiver")
	fs.StringVar(&opts.SyslogAddr, "syslog.addr", "", "address to receive syslog on, over TCP and UDP (RFC 5424 and 3164); empty: off")
	fs.StringVar(&opts.DataDir, "data.dir", "./argus-data", "directory for all stored data")
	fs.Var(&durationFlag{&retention}, "retention", "how long data is kept (Prometheus duration: 12h, 7d, 2w)")
	fs.StringVar(&opts.ConfigFile, "config", "", "YAML policy file (optional); reloaded on SIGHUP and POST /-/reload")
	fs.TextVar(&logLevel, "log.level", slog.LevelInfo, "log level: debug, info, warn, error")
	fs.StringVar(&logFormat, "log.format", "logfmt", "log format: logfmt or json")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "argus serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	hopts := &slog.HandlerOptions{Level: logLevel}
	switch logFormat {
	case "logfmt":
		opts.Logger = slog.New(slog.NewTextHandler(stderr, hopts))
	case "json":
		opts.Logger = slog.New(slog.NewJSONHandler(stderr, hopts))
	default:
		fmt.Fprintf(stderr, "argus serve: --log.format must be logfmt or json, got %q\n", logFormat)
		return 2
	}
	opts.Retention = time.Duration(retention)
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
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	code := 0
loop:
	for {
		select {
		case <-ctx.Done():
			log.Info("shutting down")
			break loop
		case <-hup:
			_ = a.Reload() // logged by Reload
		case err := <-a.Err():
			log.Error("server failed", "error", err)
			code = 1
			break loop
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Shutdown(sctx); err != nil {
		log.Error("shutdown", "error", err)
		code = 1
	}
	return code
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
