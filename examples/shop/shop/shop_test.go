package shop

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// newShop serves an inventory and a frontend that calls it.
func newShop(t *testing.T) (frontend, inventory string) {
	t.Helper()
	inv := httptest.NewServer(NewInventory(InventoryOptions{InitialStock: 3}))
	t.Cleanup(inv.Close)
	fe := httptest.NewServer(NewFrontend(FrontendOptions{InventoryURL: inv.URL}))
	t.Cleanup(fe.Close)
	return fe.URL, inv.URL
}

func call(t *testing.T, method, url, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Correlation-ID", "test-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestShop(t *testing.T) {
	fe, inv := newShop(t)

	status, body, _ := call(t, "GET", fe+"/products", "")
	var products []ProductStock
	if status != 200 || json.Unmarshal([]byte(body), &products) != nil || len(products) != len(Catalog) {
		t.Fatalf("GET /products: %d %s", status, body)
	}
	for _, p := range products {
		if want := map[bool]int{true: 0, false: 3}[p.ID == SoldOutProduct]; p.Available != want {
			t.Errorf("%s: available %d, want %d", p.ID, p.Available, want)
		}
	}

	status, body, hdr := call(t, "POST", fe+"/orders", `{"product_id":"p-1","quantity":2}`)
	var res OrderResult
	if status != 201 || json.Unmarshal([]byte(body), &res) != nil {
		t.Fatalf("order: %d %s", status, body)
	}
	if res.CorrelationID != "test-1" || hdr.Get("X-Correlation-ID") != "test-1" || res.Total != 49 || res.ReservationID == "" {
		t.Errorf("order: %+v, header %q", res, hdr.Get("X-Correlation-ID"))
	}
	// One left; two is too many, one empties the stock and restocks.
	for _, c := range []struct {
		body string
		want int
	}{
		{`{"product_id":"p-1","quantity":2}`, 409},
		{`{"product_id":"p-1","quantity":1}`, 201},
		{`{"product_id":"p-1","quantity":3}`, 201},
		{`{"product_id":"` + SoldOutProduct + `","quantity":1}`, 409},
		{`{"product_id":"nope","quantity":1}`, 404},
		{`{"product_id":"p-1","quantity":0}`, 400},
		{`{"product_id":"p-1","quantity":1,"extra":true}`, 400},
		{`not json`, 400},
	} {
		if status, body, _ := call(t, "POST", fe+"/orders", c.body); status != c.want {
			t.Errorf("order %s: %d %s, want %d", c.body, status, body, c.want)
		}
	}

	start := time.Now()
	if status, body, _ := call(t, "POST", fe+"/orders", `{"product_id":"`+SlowProduct+`","quantity":1}`); status != 201 {
		t.Errorf("slow order: %d %s", status, body)
	}
	if d := time.Since(start); d < SlowLookup {
		t.Errorf("slow order took %s, want at least %s", d, SlowLookup)
	}

	// Chaos on the inventory: every call fails, so orders fail with 502.
	for _, c := range []struct {
		body string
		want int
	}{
		{`{"latency_ms":-1}`, 400},
		{`{"error_rate":1.5}`, 400},
		{`{"latency_ms":10,"error_rate":1}`, 200},
	} {
		if status, body, _ := call(t, "POST", inv+"/admin/chaos", c.body); status != c.want {
			t.Errorf("chaos %s: %d %s, want %d", c.body, status, body, c.want)
		}
	}
	if status, body, _ := call(t, "GET", inv+"/stock/p-1", ""); status != 503 {
		t.Errorf("stock under chaos: %d %s", status, body)
	}
	if status, body, _ := call(t, "POST", fe+"/orders", `{"product_id":"p-2","quantity":1}`); status != 502 {
		t.Errorf("order under chaos: %d %s", status, body)
	}
	if status, _, _ := call(t, "GET", inv+"/metrics", ""); status != 200 {
		t.Errorf("/metrics under chaos: %d", status)
	}
	if status, body, _ := call(t, "POST", inv+"/admin/reset", ""); status != 200 {
		t.Errorf("reset: %d %s", status, body)
	}
	if status, body, _ := call(t, "POST", fe+"/orders", `{"product_id":"p-2","quantity":1}`); status != 201 {
		t.Errorf("order after reset: %d %s", status, body)
	}
}

func TestTraffic(t *testing.T) {
	fe, inv := newShop(t)
	tr := &Traffic{FrontendURL: fe, InventoryURL: inv, Rate: 100, ChaosEvery: 200 * time.Millisecond, ChaosFor: 100 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	tr.Run(ctx)
	sent, failed := tr.Stats()
	if sent < 20 {
		t.Errorf("sent %d requests in a second at 100/s", sent)
	}
	if failed == sent {
		t.Errorf("all %d requests failed", sent)
	}
	// Run clears the chaos it injected.
	if status, body, _ := call(t, "GET", inv+"/stock/p-1", ""); status != 200 {
		t.Errorf("stock after traffic: %d %s", status, body)
	}
}
