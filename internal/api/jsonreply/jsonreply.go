// Package jsonreply writes the answers of Argus's own HTTP API
// (/api/argus/...): a JSON value, or an error as {"error": "..."}.
package jsonreply

import (
	"encoding/json"
	"net/http"
)

// Write answers with status and v encoded as JSON.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client is gone if this fails
}

// Error answers with status and {"error": msg}.
func Error(w http.ResponseWriter, status int, msg string) {
	Write(w, status, map[string]string{"error": msg})
}
