// Command inventory is ServiceB of the example shop: it keeps the stock
// and answers the frontend's stock checks (GET /stock/{id}) and
// reservations (POST /reservations). Its telemetry comes from the Argus
// SDK: traces and logs over OTLP, metrics at /metrics. See package
// github.com/argus-obs/argus/examples/shop/shop for the API.
//
// Run it against an Argus on its default ports:
//
//	go run ./cmd/argus &
//	go run ./examples/shop/inventory
//	curl 127.0.0.1:8081/stock/p-1
//	curl -d '{"latency_ms":300,"error_rate":0.5}' 127.0.0.1:8081/admin/chaos
//	curl -X POST 127.0.0.1:8081/admin/reset
//
// Flag: --addr (default 127.0.0.1:8081). The standard
// OTEL_EXPORTER_OTLP_* variables point the telemetry elsewhere.
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
	addr := flag.String("addr", "127.0.0.1:8081", "address to serve on")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "inventory:", err)
		os.Exit(1)
	}
	if err := shop.Run(ctx, shop.RunOptions{Service: shop.Inventory, Listener: ln}); err != nil {
		fmt.Fprintln(os.Stderr, "inventory:", err)
		os.Exit(1)
	}
}
