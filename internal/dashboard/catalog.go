package dashboard

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
)

// Services lists the services that have a built-in dashboard: those that
// sent spans. It must be safe for concurrent use.
type Services func(ctx context.Context) ([]string, error)

// Catalog is every dashboard the API serves: the built-ins and those
// loaded from files. The files' dashboards are replaced as a whole on
// config reload (SetFiles); readers see the old set or the new one,
// never a mix. A Catalog is safe for concurrent use.
type Catalog struct {
	services Services
	files    atomic.Pointer[[]*Dashboard] // sorted by title, then id
}

// NewCatalog returns a catalog whose per-service built-ins are for the
// services listed by services (nil: none), and no file dashboards.
func NewCatalog(services Services) *Catalog {
	c := &Catalog{services: services}
	c.files.Store(&[]*Dashboard{})
	return c
}

// SetFiles replaces the dashboards loaded from files. The catalog keeps a
// sorted copy of the slice, and the dashboards themselves, which the
// caller must not modify after.
func (c *Catalog) SetFiles(ds []*Dashboard) {
	sorted := slices.Clone(ds)
	slices.SortStableFunc(sorted, func(a, b *Dashboard) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Title), strings.ToLower(b.Title)), cmp.Compare(a.ID, b.ID))
	})
	c.files.Store(&sorted)
}

// Files returns the dashboards loaded from files, sorted by title.
func (c *Catalog) Files() []*Dashboard { return *c.files.Load() }

// List returns every dashboard's summary: Argus's first, then the
// services' (sorted by service), then the files' (sorted by title).
func (c *Catalog) List(ctx context.Context) ([]Summary, error) {
	services, err := c.listServices(ctx)
	if err != nil {
		return nil, err
	}
	files := c.Files()
	out := make([]Summary, 0, 1+len(services)+len(files))
	out = append(out, Argus().Summary())
	for _, s := range services {
		out = append(out, serviceSummary(s))
	}
	for _, d := range files {
		out = append(out, d.Summary())
	}
	return out, nil
}

// Get returns the dashboard with the given id, or ErrNotFound.
func (c *Catalog) Get(ctx context.Context, id string) (*Dashboard, error) {
	if id == ArgusID {
		return Argus(), nil
	}
	if name, ok := strings.CutPrefix(id, ServiceIDPrefix); ok && name != "" {
		services, err := c.listServices(ctx)
		if err != nil {
			return nil, err
		}
		if slices.Contains(services, name) {
			return Service(name), nil
		}
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	for _, d := range c.Files() {
		if d.ID == id {
			return d, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
}

func (c *Catalog) listServices(ctx context.Context) ([]string, error) {
	if c.services == nil {
		return nil, nil
	}
	services, err := c.services(ctx)
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	services = slices.DeleteFunc(slices.Clone(services), func(s string) bool { return s == "" })
	slices.Sort(services)
	return slices.Compact(services), nil
}
