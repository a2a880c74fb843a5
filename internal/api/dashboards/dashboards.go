// Package dashboards serves Argus's dashboards to the web UI:
//
//	GET  /api/argus/v1/dashboards          the list
//	GET  /api/argus/v1/dashboards/{id...}  one dashboard (ids hold '/': service/frontend, file/shop)
//	POST /api/argus/v1/dashboards/import   convert a Grafana dashboard's JSON
//
// The list is {"dashboards": [{"id", "title", "source", "path"?, "tags"?}]}:
// the built-in argus first, then the services' built-ins sorted by
// service, then the files' dashboards sorted by title. One dashboard is
// the JSON of dashboard.Dashboard. An import's body is the JSON Grafana
// exports or its API returns (at most 10 MiB); the answer is
// {"dashboard": <dashboard, source "import">, "warnings": [...]}, the
// warnings saying what could not be carried over. Nothing is stored.
//
// Errors are {"error": "..."}: 404 for an unknown id, 400 for a body that
// is not a Grafana dashboard, 413 for one over the limit.
package dashboards

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/argus-obs/argus/internal/api/jsonreply"
	"github.com/argus-obs/argus/internal/dashboard"
)

// Catalog is where the dashboards come from; *dashboard.Catalog is one.
// It must be safe for concurrent use; what it returns is not modified.
type Catalog interface {
	List(ctx context.Context) ([]dashboard.Summary, error)
	// Get returns an error wrapping dashboard.ErrNotFound for an unknown
	// id.
	Get(ctx context.Context, id string) (*dashboard.Dashboard, error)
}

// MaxImportBytes caps the body of an import.
const MaxImportBytes = 10 << 20

// Handler serves the dashboards API. It is safe for concurrent use.
type Handler struct {
	catalog Catalog
	log     *slog.Logger
	mux     *http.ServeMux
}

// New returns the handler, mounted at /api/argus/v1/dashboards and below;
// log may be nil.
func New(c Catalog, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{catalog: c, log: log, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /api/argus/v1/dashboards", h.serveList)
	h.mux.HandleFunc("GET /api/argus/v1/dashboards/{id...}", h.serveGet)
	h.mux.HandleFunc("POST /api/argus/v1/dashboards/import", h.serveImport)
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) serveList(w http.ResponseWriter, r *http.Request) {
	list, err := h.catalog.List(r.Context())
	if err != nil {
		h.log.Error("list dashboards", "error", err)
		jsonreply.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	if list == nil {
		list = []dashboard.Summary{}
	}
	jsonreply.Write(w, http.StatusOK, map[string]any{"dashboards": list})
}

func (h *Handler) serveGet(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	d, err := h.catalog.Get(r.Context(), id)
	switch {
	case errors.Is(err, dashboard.ErrNotFound):
		jsonreply.Error(w, http.StatusNotFound, fmt.Sprintf("dashboard %q not found", id))
	case err != nil:
		h.log.Error("get dashboard", "id", id, "error", err)
		jsonreply.Error(w, http.StatusInternalServerError, err.Error())
	default:
		jsonreply.Write(w, http.StatusOK, d)
	}
}

func (h *Handler) serveImport(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > MaxImportBytes {
		jsonreply.Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body of %d bytes exceeds the import limit of %d", r.ContentLength, MaxImportBytes))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxImportBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			jsonreply.Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body exceeds the import limit of %d bytes", MaxImportBytes))
			return
		}
		jsonreply.Error(w, http.StatusBadRequest, "read body: "+err.Error())
		return
	}
	if len(body) == 0 {
		jsonreply.Error(w, http.StatusBadRequest, "empty body: want a Grafana dashboard's JSON")
		return
	}
	d, err := dashboard.FromGrafana(body)
	if err != nil {
		jsonreply.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	warnings := d.Warnings
	if warnings == nil {
		warnings = []string{}
	}
	jsonreply.Write(w, http.StatusOK, map[string]any{"dashboard": d, "warnings": warnings})
}
