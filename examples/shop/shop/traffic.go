package shop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Traffic generates a realistic mix of shop requests against the
// frontend:
//
//   - 45% list the products (five stock checks each);
//   - 35% order one to three of an in-stock product;
//   - 8% order SlowProduct (the slow path through the warehouse);
//   - 7% order SoldOutProduct (409 out of stock);
//   - 5% send a bad order (400).
//
// Every ChaosEvery it injects chaos into the inventory (latency and a 30%
// error rate) for ChaosFor, then resets it; orders meanwhile fail with 502
// and slow down. Each request carries an X-Correlation-ID of the form
// "demo-<n>", so a request is easy to find in the logs.
type Traffic struct {
	// FrontendURL and InventoryURL are the services' base URLs; the
	// inventory's is used for chaos only.
	FrontendURL  string
	InventoryURL string
	// Rate is requests per second. Zero: 5.
	Rate float64
	// ChaosEvery is how often chaos starts; zero: never.
	ChaosEvery time.Duration
	// ChaosFor is how long chaos lasts. Zero: a quarter of ChaosEvery.
	ChaosFor time.Duration
	// Client sends the requests. Nil: a client with a ten-second timeout.
	Client *http.Client
	// Logger reports chaos phases and failures to reach the frontend.
	// Nil: discard.
	Logger *slog.Logger

	sent, failed atomic.Int64
}

// Stats returns how many requests were sent and how many got no answer or
// a 5xx.
func (t *Traffic) Stats() (sent, failed int64) { return t.sent.Load(), t.failed.Load() }

// Run sends requests until ctx ends, each in its own goroutine, and waits
// for those in flight before it returns. It also clears the chaos it
// injected.
func (t *Traffic) Run(ctx context.Context) {
	rate := t.Rate
	if rate <= 0 {
		rate = 5
	}
	client := t.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	log := t.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var wg sync.WaitGroup
	defer wg.Wait()

	if t.ChaosEvery > 0 && t.InventoryURL != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.chaosLoop(ctx, client, log)
		}()
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	var n int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n++
		id := fmt.Sprintf("demo-%d", n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.one(ctx, client, log, id)
		}()
	}
}

func (t *Traffic) chaosLoop(ctx context.Context, client *http.Client, log *slog.Logger) {
	dur := t.ChaosFor
	if dur <= 0 {
		dur = t.ChaosEvery / 4
	}
	every := time.NewTicker(t.ChaosEvery)
	defer every.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-every.C:
		}
		c := Chaos{LatencyMS: 200 + rand.IntN(300), ErrorRate: 0.3}
		log.Info("injecting chaos into the inventory", "latency_ms", c.LatencyMS, "error_rate", c.ErrorRate, "for", dur)
		t.post(ctx, client, t.InventoryURL+"/admin/chaos", c, "")
		select {
		case <-ctx.Done():
		case <-time.After(dur):
		}
		// Reset even when ctx has ended, so the inventory is left clean.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		t.post(rctx, client, t.InventoryURL+"/admin/reset", nil, "")
		cancel()
		log.Info("inventory chaos cleared")
	}
}

// one sends one request of the mix.
func (t *Traffic) one(ctx context.Context, client *http.Client, log *slog.Logger, id string) {
	var status int
	var err error
	switch p := rand.Float64(); {
	case p < 0.45:
		status, err = t.get(ctx, client, t.FrontendURL+"/products", id)
	case p < 0.80:
		ids := []string{"p-1", "p-2", "p-3"}
		status, err = t.post(ctx, client, t.FrontendURL+"/orders", Order{ProductID: ids[rand.IntN(len(ids))], Quantity: 1 + rand.IntN(3)}, id)
	case p < 0.88:
		status, err = t.post(ctx, client, t.FrontendURL+"/orders", Order{ProductID: SlowProduct, Quantity: 1}, id)
	case p < 0.95:
		status, err = t.post(ctx, client, t.FrontendURL+"/orders", Order{ProductID: SoldOutProduct, Quantity: 1}, id)
	default:
		status, err = t.post(ctx, client, t.FrontendURL+"/orders", Order{ProductID: "p-1", Quantity: 0}, id)
	}
	t.sent.Add(1)
	if err != nil || status >= 500 {
		t.failed.Add(1)
	}
	if err != nil && ctx.Err() == nil {
		log.Debug("traffic request failed", "correlation_id", id, "error", err)
	}
}

func (t *Traffic) get(ctx context.Context, client *http.Client, url, id string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	return do(client, req, id)
}

func (t *Traffic) post(ctx context.Context, client *http.Client, url string, body any, id string) (int, error) {
	var r io.Reader = strings.NewReader("")
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, r)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	return do(client, req, id)
}

func do(client *http.Client, req *http.Request, id string) (int, error) {
	if id != "" {
		req.Header.Set("X-Correlation-ID", id)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}
