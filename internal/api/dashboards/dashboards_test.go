package dashboards

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/argus-obs/argus/internal/dashboard"
)

// newServer serves a real catalog: services frontend and inventory, and
// one file dashboard.
func newServer(t *testing.T, services func(context.Context) ([]string, error)) *httptest.Server {
	t.Helper()
	c := dashboard.NewCatalog(services)
	d, errs := dashboard.Parse("dashboards/shop.yml", []byte("title: Shop\ntags: [shop]\npanels:\n  - expr: up\n"))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	c.SetFiles([]*dashboard.Dashboard{d})
	srv := httptest.NewServer(New(c, nil))
	t.Cleanup(srv.Close)
	return srv
}

func shopServices(context.Context) ([]string, error) { return []string{"inventory", "frontend"}, nil }

func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusMethodNotAllowed && ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, url, ct)
	}
	return resp.StatusCode, string(b)
}

func TestList(t *testing.T) {
	srv := newServer(t, shopServices)
	code, body := do(t, "GET", srv.URL+"/api/argus/v1/dashboards", "")
	want := `{"dashboards":[` +
		`{"id":"argus","title":"Argus","source":"builtin","tags":["argus"]},` +
		`{"id":"service/frontend","title":"Service frontend","source":"builtin","tags":["service"]},` +
		`{"id":"service/inventory","title":"Service inventory","source":"builtin","tags":["service"]},` +
		`{"id":"file/shop","title":"Shop","source":"file","path":"dashboards/shop.yml","tags":["shop"]}]}` + "\n"
	if code != 200 || body != want {
		t.Errorf("%d %s\nwant %s", code, body, want)
	}
}

func TestGet(t *testing.T) {
	srv := newServer(t, shopServices)
	for _, id := range []string{"argus", "service/frontend", "file/shop"} {
		code, body := do(t, "GET", srv.URL+"/api/argus/v1/dashboards/"+id, "")
		var d dashboard.Dashboard
		if err := json.Unmarshal([]byte(body), &d); code != 200 || err != nil || d.ID != id || len(d.Panels) == 0 {
			t.Errorf("%s: %d %v %s", id, code, err, body)
		}
	}
	for _, id := range []string{"service/nope", "nope", "file/shop/x", "import"} {
		code, body := do(t, "GET", srv.URL+"/api/argus/v1/dashboards/"+id, "")
		want := `{"error":"dashboard \"` + id + `\" not found"}` + "\n"
		if code != 404 || body != want {
			t.Errorf("%s: %d %s, want 404 %s", id, code, body, want)
		}
	}
}

func TestCatalogFailure(t *testing.T) {
	srv := newServer(t, func(context.Context) ([]string, error) { return nil, errors.New("trace store closed") })
	for _, path := range []string{"", "/service/frontend"} {
		code, body := do(t, "GET", srv.URL+"/api/argus/v1/dashboards"+path, "")
		if code != 500 || !strings.Contains(body, `"error":"list services: trace store closed"`) {
			t.Errorf("%q: %d %s", path, code, body)
		}
	}
	// What does not need the services still answers.
	if code, _ := do(t, "GET", srv.URL+"/api/argus/v1/dashboards/file/shop", ""); code != 200 {
		t.Errorf("file dashboard: %d", code)
	}
}

func TestImport(t *testing.T) {
	srv := newServer(t, shopServices)
	data, err := os.ReadFile("../../dashboard/testdata/grafana-shop.json")
	if err != nil {
		t.Fatal(err)
	}
	code, body := do(t, "POST", srv.URL+"/api/argus/v1/dashboards/import", `{"dashboard": `+string(data)+`, "meta": {}}`)
	var resp struct {
		Dashboard dashboard.Dashboard `json:"dashboard"`
		Warnings  []string            `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(body), &resp); code != 200 || err != nil {
		t.Fatalf("%d %v %s", code, err, body)
	}
	if resp.Dashboard.ID != "import/shop-overview" || resp.Dashboard.Source != "import" || len(resp.Dashboard.Panels) != 12 ||
		len(resp.Warnings) != len(resp.Dashboard.Warnings) || len(resp.Warnings) == 0 {
		t.Errorf("import: %+v", resp)
	}
	// Without warnings, the list is there and empty.
	code, body = do(t, "POST", srv.URL+"/api/argus/v1/dashboards/import", `{"title": "T", "panels": []}`)
	if code != 200 || !strings.HasSuffix(body, `"warnings":[]}`+"\n") {
		t.Errorf("no warnings: %d %s", code, body)
	}

	for _, tc := range []struct {
		body string
		code int
		want string
	}{
		{"", 400, `{"error":"empty body: want a Grafana dashboard's JSON"}`},
		{"{not json", 400, `{"error":"not a Grafana dashboard: not valid JSON: invalid character 'n' looking for beginning of object key string"}`},
		{`{"name": "x"}`, 400, `{"error":"not a Grafana dashboard: it has no title, panels or rows"}`},
		{`{"title": "` + strings.Repeat("x", MaxImportBytes) + `"}`, 413, `{"error":"body of 10485773 bytes exceeds the import limit of 10485760"}`},
	} {
		code, body := do(t, "POST", srv.URL+"/api/argus/v1/dashboards/import", tc.body)
		if code != tc.code || body != tc.want+"\n" {
			t.Errorf("%.40q: %d %s, want %d %s", tc.body, code, body, tc.code, tc.want)
		}
	}
	// A body of unknown length is cut at the limit too.
	req, _ := http.NewRequest("POST", srv.URL+"/api/argus/v1/dashboards/import", io.MultiReader(strings.NewReader(`{"title": "`), strings.NewReader(strings.Repeat("x", MaxImportBytes))))
	req.ContentLength = -1
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != 413 {
		t.Errorf("chunked body over the limit: %d", resp2.StatusCode)
	}
	if code, _ := do(t, "DELETE", srv.URL+"/api/argus/v1/dashboards/import", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE: %d", code)
	}
}
