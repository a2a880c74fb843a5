// Command frontend is ServiceA of the example shop: a small shop API
// (GET /products, POST /orders) that calls the inventory over HTTP for
// stock checks and reservations. Its telemetry comes from the Argus SDK:
// traces and logs over OTLP, metrics at /metrics. See package
// github.com/argus-obs/argus/examples/shop/shop for the API.
//
// Run it beside the inventory, against an Argus on its default ports:
//
//	go run ./cmd/argus &
//	go run ./examples/shop/inventory &
//	go run ./examples/shop/frontend
//	curl 127.0.0.1:8080/products
//	curl -d '{"product_id":"p-1","quantity":2}' 127.0.0.1:8080/orders
//
// Flags: --addr (default 127.0.0.1:8080) and --inventory.url (default
// http://127.0.0.1:8081). The standard OTEL_EXPORTER_OTLP_* variables
// point the telemetry elsewhere. "go run ./cmd/argus demo" runs all of
// this, with traffic, in one command.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/argus-obs/argus/examples/shop/shop"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to serve on")
	invURL := flag.String("inventory.url", shop.DefaultInventoryURL, "base URL of the inventory service")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "frontend:", err)
		os.Exit(1)
	}
	if err := shop.Run(ctx, shop.RunOptions{Service: shop.Frontend, Listener: ln, InventoryURL: *invURL}); err != nil {
		fmt.Fprintln(os.Stderr, "frontend:", err)
		os.Exit(1)
	}
}
