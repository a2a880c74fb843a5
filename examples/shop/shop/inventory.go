package shop

import (
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/argus-obs/argus/sdk"
)

// Product is one item of the catalog.
type Product struct {
	ID    string  `json:"id"`
	Name  string  `json:"name"`
	Price float64 `json:"price"`
}

// Catalog is what the shop sells. The inventory stocks every product but
// SoldOutProduct; the stock of SlowProduct is looked up in a remote
// warehouse, which takes SlowLookup.
var Catalog = []Product{
	{ID: "p-1", Name: "Espresso beans, 1 kg", Price: 24.5},
	{ID: "p-2", Name: "Milk frother", Price: 39},
	{ID: "p-3", Name: "Ceramic cup", Price: 9.9},
	{ID: SlowProduct, Name: "Espresso machine (warehouse)", Price: 649},
	{ID: SoldOutProduct, Name: "Limited edition grinder", Price: 299},
}

// Products with a special path through the inventory.
const (
	SlowProduct    = "p-4" // stock lookup takes SlowLookup
	SoldOutProduct = "p-5" // never in stock: orders get 409
)

// SlowLookup is how long the inventory takes to look up SlowProduct.
const SlowLookup = 250 * time.Millisecond

// InventoryOptions configures NewInventory. The zero value works.
type InventoryOptions struct {
	// InitialStock is the stock of every product but SoldOutProduct, and
	// what a product is restocked to when it runs out. Zero: 100.
	InitialStock int
}

// Stock is the inventory's answer to GET /stock/{id}.
type Stock struct {
	ProductID string `json:"product_id"`
	Available int    `json:"available"`
}

// Reservation is the body of POST /reservations, and its answer.
type Reservation struct {
	ID        string `json:"id,omitempty"`
	ProductID string `json:"product_id"`
	Quantity  int    `json:"quantity"`
}

// inventory is ServiceB's state.
type inventory struct {
	initial int

	mu     sync.Mutex
	stock  map[string]int // by product ID; guarded by mu
	nextID int            // guarded by mu
}

// NewInventory returns the inventory service (ServiceB) as an http.Handler,
// wrapped in sdk.Middleware and serving its /metrics.
func NewInventory(opts InventoryOptions) http.Handler {
	if opts.InitialStock <= 0 {
		opts.InitialStock = 100
	}
	inv := &inventory{initial: opts.InitialStock, stock: map[string]int{}}
	for _, p := range Catalog {
		inv.stock[p.ID] = opts.InitialStock
	}
	inv.stock[SoldOutProduct] = 0

	var c chaos
	api := http.NewServeMux()
	api.HandleFunc("GET /stock/{id}", inv.getStock)
	api.HandleFunc("POST /reservations", inv.reserve)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", sdk.MetricsHandler())
	mux.HandleFunc("GET /healthz", healthz)
	c.mountAdmin(mux)
	mux.Handle("/", c.wrap(api))
	return sdk.Middleware(mux)
}

func (inv *inventory) getStock(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == SlowProduct {
		slog.InfoContext(r.Context(), "looking up stock in the remote warehouse", "product_id", id)
		select {
		case <-time.After(SlowLookup):
		case <-r.Context().Done():
			return
		}
	}
	inv.mu.Lock()
	n, ok := inv.stock[id]
	inv.mu.Unlock()
	if !ok {
		slog.WarnContext(r.Context(), "unknown product", "product_id", id)
		writeError(w, r, http.StatusNotFound, fmt.Sprintf("unknown product %q", id))
		return
	}
	slog.InfoContext(r.Context(), "stock checked", "product_id", id, "available", n)
	writeJSON(w, http.StatusOK, Stock{ProductID: id, Available: n})
}

func (inv *inventory) reserve(w http.ResponseWriter, r *http.Request) {
	var res Reservation
	if err := decodeJSON(w, r, &res); err != nil {
		writeError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if res.Quantity <= 0 {
		writeError(w, r, http.StatusBadRequest, "quantity must be positive")
		return
	}
	inv.mu.Lock()
	n, ok := inv.stock[res.ProductID]
	short := ok && n < res.Quantity
	restocked := false
	if ok && !short {
		n -= res.Quantity
		if n == 0 && res.ProductID != SoldOutProduct {
			n, restocked = inv.initial, true
		}
		inv.stock[res.ProductID] = n
		inv.nextID++
		res.ID = fmt.Sprintf("res-%d", inv.nextID)
	}
	inv.mu.Unlock()
	switch {
	case !ok:
		slog.WarnContext(r.Context(), "unknown product", "product_id", res.ProductID)
		writeError(w, r, http.StatusNotFound, fmt.Sprintf("unknown product %q", res.ProductID))
		return
	case short:
		slog.WarnContext(r.Context(), "not enough stock to reserve", "product_id", res.ProductID, "quantity", res.Quantity, "available", n)
		writeError(w, r, http.StatusConflict, "not enough stock")
		return
	}
	slog.InfoContext(r.Context(), "reserved", "reservation_id", res.ID, "product_id", res.ProductID, "quantity", res.Quantity, "left", n)
	if restocked {
		slog.InfoContext(r.Context(), "restocked", "product_id", res.ProductID, "stock", n)
	}
	writeJSON(w, http.StatusCreated, res)
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}
