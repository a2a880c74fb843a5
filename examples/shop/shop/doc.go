// Package shop is the example shop of Argus's design picture: a frontend
// (ServiceA) that serves a small shop API and calls an inventory
// (ServiceB) over HTTP for stock checks and reservations. Both are
// instrumented with the Argus SDK (github.com/argus-obs/argus/sdk) and
// nothing else: sdk.Middleware around their muxes, sdk.Transport on the
// frontend's client, slog with the request's context for logs, and
// sdk.MetricsHandler at /metrics.
//
// The handlers (NewFrontend, NewInventory) are plain http.Handlers, so
// tests can serve them with httptest. Run starts one service as a process
// would: it calls sdk.Start, serves until its context ends, and flushes
// the telemetry. The commands examples/shop/frontend and
// examples/shop/inventory, and "argus demo", all go through Run.
//
// Traffic is a load generator with a realistic mix of requests (listing,
// orders, a slow path, orders that fail) and periodic chaos on the
// inventory, as "argus demo" runs it.
//
// The frontend's API:
//
//	GET  /products                       the catalog with stock levels
//	POST /orders {product_id, quantity}  201 with the order; 400 bad input,
//	                                     404 unknown product, 409 out of stock,
//	                                     502 when the inventory fails
//
// The inventory's API:
//
//	GET  /stock/{id}                              {product_id, available}
//	POST /reservations {product_id, quantity}     201, or 409 when short
//
// Both serve /metrics, /healthz, POST /admin/chaos {latency_ms,
// error_rate} (every API request then waits latency_ms and fails with 503
// at the given rate, 0 to 1) and POST /admin/reset (no more chaos).
package shop
