package dashboard

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
)

func TestCatalog(t *testing.T) {
	services := []string{"inventory", "frontend", "", "frontend"}
	var fail error
	c := NewCatalog(func(context.Context) ([]string, error) { return services, fail })
	c.SetFiles([]*Dashboard{
		{ID: "file/z", Title: "zebra", Source: SourceFile, Path: "z.yml"},
		{ID: "file/a", Title: "Zoo", Source: SourceFile, Path: "a.yml", Tags: []string{"t"}},
		{ID: "file/m", Title: "Middle", Source: SourceFile, Path: "m.yml"},
	})
	ctx := context.Background()
	list, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	// Argus first, services sorted, files by title (case aside).
	if want := []string{"argus", "service/frontend", "service/inventory", "file/m", "file/z", "file/a"}; !slices.Equal(ids, want) {
		t.Errorf("ids %q, want %q", ids, want)
	}
	if s := list[len(list)-1]; s.Title != "Zoo" || s.Source != SourceFile || s.Path != "a.yml" || !slices.Equal(s.Tags, []string{"t"}) {
		t.Errorf("summary %+v", s)
	}
	for _, id := range []string{"argus", "service/frontend", "file/m"} {
		if d, err := c.Get(ctx, id); err != nil || d.ID != id {
			t.Errorf("Get(%q) = %v, %v", id, d, err)
		}
	}
	for _, id := range []string{"service/nope", "service/", "file/nope", "nope", ""} {
		if _, err := c.Get(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q): %v, want ErrNotFound", id, err)
		}
	}
	fail = errors.New("store closed")
	if _, err := c.List(ctx); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("List with a failing service list: %v", err)
	}
	if _, err := c.Get(ctx, "service/frontend"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Get with a failing service list: %v", err)
	}

	// A reload swaps the files whole, while readers read.
	fail = nil
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if n := len(c.Files()); n != 3 && n != 1 {
					t.Errorf("%d files: a mix of two sets", n)
					return
				}
			}
		})
	}
	c.SetFiles([]*Dashboard{{ID: "file/new", Title: "New"}})
	wg.Wait()
	if _, err := c.Get(ctx, "file/m"); !errors.Is(err, ErrNotFound) {
		t.Errorf("file/m after reload: %v", err)
	}
	if _, err := NewCatalog(nil).List(ctx); err != nil {
		t.Errorf("no service list: %v", err)
	}
}
