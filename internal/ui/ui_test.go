package ui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path, accept string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestHandler(t *testing.T) {
	h := New()

	// A client-side route gets the app.
	res := get(t, h, "/traces/0af7651916cd43dd8448eb211c80319c?from=now-1h", "text/html,application/xhtml+xml")
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `<div id="app">`) {
		t.Fatalf("client route: status %d, body %.200q", res.StatusCode, body)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("index Cache-Control = %q, want no-cache", cc)
	}

	// Every asset the index names is served and cached for good.
	for _, ref := range strings.Split(string(body), `"/assets/`)[1:] {
		name := "/assets/" + ref[:strings.IndexByte(ref, '"')]
		res := get(t, h, name, "*/*")
		if res.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", name, res.StatusCode)
		}
		if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("%s: Cache-Control = %q", name, cc)
		}
	}

	// A missing asset or a non-browser request for a page is a 404, not the app.
	if res := get(t, h, "/assets/nope.js", "*/*"); res.StatusCode != http.StatusNotFound {
		t.Errorf("missing asset: status %d, want 404", res.StatusCode)
	}
	if res := get(t, h, "/api/v2/nothing", "application/json"); res.StatusCode != http.StatusNotFound {
		t.Errorf("API client on an unknown path: status %d, want 404", res.StatusCode)
	}

	req := httptest.NewRequest(http.MethodPost, "/services", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound {
		t.Errorf("POST: status %d, want 404", rec.Code)
	}
}
