// Package ui serves the Argus web UI: a single-page app whose sources are in
// web/ and whose build, committed in dist/, is embedded in the binary, so
// `go install` and `go run ./cmd/argus` serve the UI with no Node step.
//
// The app routes in the browser, so every path that is not an asset and not
// an API answers a browser with index.html; the app reads the path and the
// query parameters (time range, filters) from the URL.
package ui

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed dist
var dist embed.FS

// Handler serves the UI. Assets under /assets/ are content-hashed by the
// build and cached for a year; index.html is never cached, so a new
// binary's UI shows at the next load.
type Handler struct {
	assets http.Handler
	files  fs.FS
	index  []byte
}

// New returns the UI handler over the embedded build.
func New() *Handler {
	files, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed directive guarantees dist exists
	}
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		panic("ui: the embedded build has no index.html: " + err.Error())
	}
	return &Handler{assets: http.FileServerFS(files), files: files, index: index}
}

// ServeHTTP serves an asset by its path, and index.html for any other GET
// from a browser (a client-side route such as /traces/abc). Anything else
// gets 404, so a mistyped API path is not answered with a page.
// It is meant as the server's catch-all handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.NotFound(w, r) // no page takes a POST: the path names no endpoint
		return
	}
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	if strings.HasPrefix(name, "assets/") {
		if _, err := fs.Stat(h.files, name); err == nil {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			h.assets.ServeHTTP(w, r)
			return
		}
		http.NotFound(w, r)
		return
	}
	if !WantsHTML(r) {
		http.NotFound(w, r)
		return
	}
	h.ServeIndex(w, r)
}

// ServeIndex writes the app's index.html.
func (h *Handler) ServeIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(h.index))
}

// WantsHTML reports whether r comes from a browser navigating to a page.
func WantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}
