package shop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/argus-obs/argus/sdk"
)

// FrontendOptions configures NewFrontend.
type FrontendOptions struct {
	// InventoryURL is the inventory's base URL. Empty:
	// DefaultInventoryURL.
	InventoryURL string
	// Client calls the inventory. Nil: a client with sdk.Transport and a
	// five-second timeout.
	Client *http.Client
}

// DefaultInventoryURL is where the frontend looks for the inventory when
// no URL is given: the inventory command's default address.
const DefaultInventoryURL = "http://127.0.0.1:8081"

// Order is the body of POST /orders.
type Order struct {
	ProductID string `json:"product_id"`
	Quantity  int    `json:"quantity"`
}

// OrderResult is the frontend's answer to a placed order.
type OrderResult struct {
	OrderID       string  `json:"order_id"`
	ProductID     string  `json:"product_id"`
	Quantity      int     `json:"quantity"`
	Total         float64 `json:"total"`
	ReservationID string  `json:"reservation_id"`
	CorrelationID string  `json:"correlation_id"`
}

// ProductStock is one entry of GET /products.
type ProductStock struct {
	Product
	Available int `json:"available"`
}

// frontend is ServiceA's state.
type frontend struct {
	inventory string
	client    *http.Client
	orders    atomic.Int64
}

// NewFrontend returns the frontend service (ServiceA) as an http.Handler,
// wrapped in sdk.Middleware and serving its /metrics.
func NewFrontend(opts FrontendOptions) http.Handler {
	if opts.InventoryURL == "" {
		opts.InventoryURL = DefaultInventoryURL
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Transport: sdk.Transport(nil), Timeout: 5 * time.Second}
	}
	f := &frontend{inventory: strings.TrimSuffix(opts.InventoryURL, "/"), client: opts.Client}
	var c chaos
	api := http.NewServeMux()
	api.HandleFunc("GET /products", f.products)
	api.HandleFunc("POST /orders", f.order)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", sdk.MetricsHandler())
	mux.HandleFunc("GET /healthz", healthz)
	c.mountAdmin(mux)
	mux.Handle("/", c.wrap(api))
	return sdk.Middleware(mux)
}

func (f *frontend) products(w http.ResponseWriter, r *http.Request) {
	out := make([]ProductStock, 0, len(Catalog))
	for _, p := range Catalog {
		st, status, err := f.stock(r.Context(), p.ID)
		if err != nil {
			slog.ErrorContext(r.Context(), "cannot list products: stock check failed", "product_id", p.ID, "status", status, "error", err)
			writeError(w, r, http.StatusBadGateway, "inventory unavailable")
			return
		}
		out = append(out, ProductStock{Product: p, Available: st.Available})
	}
	slog.InfoContext(r.Context(), "listed products", "count", len(out))
	writeJSON(w, http.StatusOK, out)
}

func (f *frontend) order(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var o Order
	if err := decodeJSON(w, r, &o); err != nil {
		slog.WarnContext(ctx, "order refused", "error", err)
		writeError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if o.ProductID == "" || o.Quantity <= 0 || o.Quantity > 1000 {
		slog.WarnContext(ctx, "order refused: bad product or quantity", "product_id", o.ProductID, "quantity", o.Quantity)
		writeError(w, r, http.StatusBadRequest, "product_id is required and quantity must be 1 to 1000")
		return
	}
	product, ok := findProduct(o.ProductID)
	if !ok {
		slog.WarnContext(ctx, "order refused: unknown product", "product_id", o.ProductID)
		writeError(w, r, http.StatusNotFound, fmt.Sprintf("unknown product %q", o.ProductID))
		return
	}
	st, status, err := f.stock(ctx, o.ProductID)
	if err != nil {
		slog.ErrorContext(ctx, "order failed: stock check failed", "product_id", o.ProductID, "status", status, "error", err)
		writeError(w, r, http.StatusBadGateway, "inventory unavailable")
		return
	}
	if st.Available < o.Quantity {
		slog.WarnContext(ctx, "order refused: out of stock", "product_id", o.ProductID, "quantity", o.Quantity, "available", st.Available)
		writeError(w, r, http.StatusConflict, "out of stock")
		return
	}
	var res Reservation
	status, err = f.call(ctx, http.MethodPost, "/reservations", Reservation{ProductID: o.ProductID, Quantity: o.Quantity}, &res)
	switch {
	case status == http.StatusConflict:
		slog.WarnContext(ctx, "order refused: reservation failed, stock ran out", "product_id", o.ProductID, "quantity", o.Quantity)
		writeError(w, r, http.StatusConflict, "out of stock")
		return
	case err != nil:
		slog.ErrorContext(ctx, "order failed: reservation failed", "product_id", o.ProductID, "status", status, "error", err)
		writeError(w, r, http.StatusBadGateway, "inventory unavailable")
		return
	}
	result := OrderResult{
		OrderID:       fmt.Sprintf("ord-%d", f.orders.Add(1)),
		ProductID:     o.ProductID,
		Quantity:      o.Quantity,
		Total:         float64(o.Quantity) * product.Price,
		ReservationID: res.ID,
		CorrelationID: sdk.CorrelationID(ctx),
	}
	slog.InfoContext(ctx, "order placed", "order_id", result.OrderID, "product_id", o.ProductID,
		"quantity", o.Quantity, "total", result.Total, "reservation_id", res.ID)
	writeJSON(w, http.StatusCreated, result)
}

func findProduct(id string) (Product, bool) {
	for _, p := range Catalog {
		if p.ID == id {
			return p, true
		}
	}
	return Product{}, false
}

func (f *frontend) stock(ctx context.Context, id string) (Stock, int, error) {
	var st Stock
	status, err := f.call(ctx, http.MethodGet, "/stock/"+id, nil, &st)
	return st, status, err
}

// call sends one request to the inventory with the incoming request's
// context (so sdk.Transport propagates the trace and correlation ID) and
// decodes a 2xx answer into out. A non-2xx status is an error; the status
// is returned either way (0 when no answer came).
func (f *frontend) call(ctx context.Context, method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, f.inventory+path, body)
	if err != nil {
		return 0, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		var e errorBody
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return resp.StatusCode, fmt.Errorf("inventory %s %s: %d: %s", method, path, resp.StatusCode, e.Error)
		}
		return resp.StatusCode, fmt.Errorf("inventory %s %s: %d", method, path, resp.StatusCode)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return resp.StatusCode, fmt.Errorf("inventory %s %s: %w", method, path, err)
	}
	return resp.StatusCode, nil
}
