package shop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/argus-obs/argus/sdk"
)

// Service names, as they appear in traces, logs and metrics.
const (
	Frontend  = "frontend"
	Inventory = "inventory"
)

// errNoService is returned by Run for a service name it does not know.
var errNoService = errors.New("unknown service")

// RunOptions configures Run.
type RunOptions struct {
	// Service is Frontend or Inventory.
	Service string
	// Listener is where the service serves. Run closes it.
	Listener net.Listener
	// InventoryURL is the inventory's base URL, for the frontend. Empty:
	// DefaultInventoryURL.
	InventoryURL string
	// Telemetry is passed to sdk.Start; its ServiceName is set to Service.
	// The zero value exports over OTLP to wherever the standard
	// OTEL_EXPORTER_OTLP_* variables point, else a local Argus.
	Telemetry sdk.Options
}

// Run is the body of a shop service's main: it starts the SDK (which
// installs process-wide globals, so one process runs one service), serves
// the service on opts.Listener until ctx ends, then lets requests in
// flight finish and flushes the telemetry, each within a few seconds.
func Run(ctx context.Context, opts RunOptions) error {
	var h http.Handler
	switch opts.Service {
	case Frontend:
		h = NewFrontend(FrontendOptions{InventoryURL: opts.InventoryURL})
	case Inventory:
		h = NewInventory(InventoryOptions{})
	default:
		opts.Listener.Close()
		return fmt.Errorf("%w %q: want %s or %s", errNoService, opts.Service, Frontend, Inventory)
	}
	tel := opts.Telemetry
	tel.ServiceName = opts.Service
	shutdown, err := sdk.Start(ctx, tel)
	if err != nil {
		opts.Listener.Close()
		return err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      90 * time.Second, // chaos latency is at most a minute
		IdleTimeout:       time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(opts.Listener) }()
	slog.Info("serving", "addr", opts.Listener.Addr().String(), "inventory_url", opts.InventoryURL)

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	slog.Info("stopped")
	tctx, tcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer tcancel()
	if err := shutdown(tctx); err != nil {
		slog.Warn("telemetry flush incomplete", "error", err)
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}
