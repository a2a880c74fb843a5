package shop

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Chaos is the fault injection a service's /admin/chaos sets: extra
// latency on every API request, and a rate of requests failed with 503.
type Chaos struct {
	LatencyMS int     `json:"latency_ms"`
	ErrorRate float64 `json:"error_rate"`
}

// maxChaosLatency bounds the injected latency, so a typo cannot hang
// every request for hours.
const maxChaosLatency = 60_000

func (c Chaos) validate() error {
	if c.LatencyMS < 0 || c.LatencyMS > maxChaosLatency {
		return fmt.Errorf("latency_ms must be 0 to %d, got %d", maxChaosLatency, c.LatencyMS)
	}
	if !(c.ErrorRate >= 0 && c.ErrorRate <= 1) {
		return fmt.Errorf("error_rate must be 0 to 1, got %v", c.ErrorRate)
	}
	return nil
}

// chaos holds a service's current fault injection. It is safe for
// concurrent use.
type chaos struct {
	mu  sync.Mutex
	cur Chaos
}

func (c *chaos) get() Chaos {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

func (c *chaos) set(v Chaos) {
	c.mu.Lock()
	c.cur = v
	c.mu.Unlock()
}

// mountAdmin adds /admin/chaos and /admin/reset to mux.
func (c *chaos) mountAdmin(mux *http.ServeMux) {
	mux.HandleFunc("POST /admin/chaos", func(w http.ResponseWriter, r *http.Request) {
		var v Chaos
		if err := decodeJSON(w, r, &v); err != nil {
			writeError(w, r, http.StatusBadRequest, err.Error())
			return
		}
		if err := v.validate(); err != nil {
			writeError(w, r, http.StatusBadRequest, err.Error())
			return
		}
		c.set(v)
		slog.WarnContext(r.Context(), "chaos injected", "latency_ms", v.LatencyMS, "error_rate", v.ErrorRate)
		writeJSON(w, http.StatusOK, v)
	})
	mux.HandleFunc("POST /admin/reset", func(w http.ResponseWriter, r *http.Request) {
		c.set(Chaos{})
		slog.InfoContext(r.Context(), "chaos cleared")
		writeJSON(w, http.StatusOK, Chaos{})
	})
}

// wrap applies the injected latency and errors to every request but
// those of the admin, metrics and health endpoints.
func (c *chaos) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.HasPrefix(p, "/admin/") || p == "/metrics" || p == "/healthz" {
			next.ServeHTTP(w, r)
			return
		}
		cur := c.get()
		if cur.LatencyMS > 0 {
			select {
			case <-time.After(time.Duration(cur.LatencyMS) * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
		if cur.ErrorRate > 0 && rand.Float64() < cur.ErrorRate {
			slog.ErrorContext(r.Context(), "chaos: injected failure", "path", p)
			writeError(w, r, http.StatusServiceUnavailable, "chaos: injected failure")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// maxBody caps the request bodies the services read.
const maxBody = 64 << 10

func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad JSON body: %w", err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, _ *http.Request, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}
