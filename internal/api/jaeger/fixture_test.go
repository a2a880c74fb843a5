package jaeger

import (
	"context"
	"encoding/hex"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store/memstore"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// base is when the checkout trace starts; the test clock reads an hour
// later.
var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testNow() time.Time { return base.Add(time.Hour) }

func at(offset time.Duration) int64 { return base.Add(offset).UnixNano() }

func traceID(s string) model.TraceID {
	var id model.TraceID
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		panic(err)
	}
	return id
}

func spanID(s string) model.SpanID {
	var id model.SpanID
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		panic(err)
	}
	return id
}

// IDs of the fixture. linkedTrace is never stored: spans only link to it.
var (
	checkoutTrace = traceID("0af7651916cd43dd8448eb211c80319c")
	healthTrace   = traceID("1d1e1f2021222324252627282930313a")
	olderTrace    = traceID("2a2b2c2d2e2f30313233343536373839")
	linkedTrace   = traceID("4bf92f3577b34da6a3ce929d0e0e4736")
	missingTrace  = traceID("ffffffffffffffffffffffffffffff01")

	spanFrontendServer = spanID("b7ad6b7169203331")
	spanFrontendClient = spanID("00f067aa0ba902b7")
	spanInventory      = spanID("5fb397be34d26b51")
	spanRender         = spanID("ad4f7f2ec3b6d1a4")
	spanLinked         = spanID("53995c3f42cd8ad8")
)

// frontendResource and frontendResourceReordered are one resource with
// its attributes in two orders: after Jaeger-style sorting they are one
// process.
var (
	frontendResource = model.Resource{ServiceName: "frontend", Attributes: []model.Attribute{
		model.String("service.version", "1.4.2"),
		model.String("host.name", "web-1"),
		model.String("deployment.environment.name", "demo"),
	}}
	frontendResourceReordered = model.Resource{ServiceName: "frontend", Attributes: []model.Attribute{
		model.String("deployment.environment.name", "demo"),
		model.String("host.name", "web-1"),
		model.String("service.version", "1.4.2"),
	}}
	inventoryResource = model.Resource{ServiceName: "inventory", Attributes: []model.Attribute{
		model.String("host.name", "inv-1"),
		model.Int("process.pid", 4242),
		// Arrays reach the store in either JSON spelling; see value.go.
		{Key: "process.command_args", Type: model.ValueArray, Value: `["inventory","--port","8081"]`},
	}}
	httpScope      = model.Scope{Name: "github.com/argus-obs/argus/sdk/http", Version: "0.3.0"}
	inventoryScope = model.Scope{Name: "inventory/handlers"}
)

// checkoutSpans is the realistic two-service trace: the frontend's server
// span calls the inventory service through a client span; the inventory
// server span fails; the frontend renders an error page.
func checkoutSpans() []model.Span {
	return []model.Span{
		{
			TraceID: checkoutTrace, SpanID: spanFrontendServer,
			Flags: 0x301, Name: "GET /checkout", Kind: model.SpanKindServer,
			StartUnixNano: at(0), EndUnixNano: at(120*time.Millisecond + 250*time.Microsecond),
			StatusCode: model.StatusError, StatusMessage: "inventory unavailable",
			Attributes: []model.Attribute{
				model.String("http.route", "/checkout"),
				model.String("http.request.method", "GET"),
				model.Int("http.response.status_code", 502),
				model.Bool("user.vip", true),
				model.Double("sampling.ratio", 0.25),
				model.String("correlation.id", "c0ffee-42"),
			},
			Events: []model.Event{{
				TimeUnixNano: at(5 * time.Millisecond), Name: "cache miss",
				Attributes: []model.Attribute{model.String("cache.key", "cart:42"), model.Int("cache.ttl_s", 30)},
			}},
			Resource: frontendResource, Scope: httpScope,
		},
		{
			TraceID: checkoutTrace, SpanID: spanFrontendClient, ParentSpanID: spanFrontendServer,
			Flags: 0x301, Name: "GET inventory /stock", Kind: model.SpanKindClient,
			StartUnixNano: at(10 * time.Millisecond), EndUnixNano: at(100 * time.Millisecond),
			Attributes: []model.Attribute{
				model.String("server.address", "inventory"),
				model.Int("server.port", 8081),
				model.Int("http.response.status_code", 503),
				model.Int("request.seq", 9007199254740993), // beyond JavaScript's exact integers
				{Key: "request.digest", Type: model.ValueBytes, Value: "\x01\x02\xfe\xff"},
				{Key: "feature.flags", Type: model.ValueArray, Value: `[{"stringValue":"new-cart"},{"intValue":"3"},{"boolValue":true}]`},
			},
			Links: []model.Link{{
				TraceID: linkedTrace, SpanID: spanLinked,
				Attributes: []model.Attribute{model.String("link.reason", "retry of")},
			}},
			Resource: frontendResourceReordered, Scope: httpScope,
		},
		{
			TraceID: checkoutTrace, SpanID: spanInventory, ParentSpanID: spanFrontendClient,
			Flags: 0x301, Name: "GET /stock", Kind: model.SpanKindServer,
			StartUnixNano: at(20 * time.Millisecond), EndUnixNano: at(90 * time.Millisecond),
			StatusCode: model.StatusError, StatusMessage: "out of stock",
			TraceState: "argus=1",
			Attributes: []model.Attribute{
				model.String("http.route", "/stock"),
				model.Int("http.response.status_code", 503),
				{Key: "stock.query", Type: model.ValueMap, Value: `{"values":[{"key":"sku","value":{"stringValue":"A-100"}},{"key":"qty","value":{"intValue":"2"}}]}`},
			},
			Events: []model.Event{{
				TimeUnixNano: at(60 * time.Millisecond), Name: "exception",
				Attributes: []model.Attribute{
					model.String("exception.type", "StockError"),
					model.String("exception.message", "sku A-100: 0 left"),
				},
			}},
			Links: []model.Link{
				{TraceID: linkedTrace, SpanID: spanLinked, Attributes: []model.Attribute{model.String("opentracing.ref_type", "child_of")}},
				{TraceID: model.TraceID{}, SpanID: model.SpanID{}}, // empty: dropped from references
			},
			DroppedAttributes: 2,
			Resource:          inventoryResource, Scope: inventoryScope,
		},
		{
			TraceID: checkoutTrace, SpanID: spanRender, ParentSpanID: spanFrontendServer,
			Flags: 0x301, Name: "render error page", Kind: model.SpanKindInternal,
			StartUnixNano: at(101 * time.Millisecond), EndUnixNano: at(119 * time.Millisecond),
			StatusCode: model.StatusOK,
			Resource:   frontendResource, Scope: model.Scope{Name: "frontend/templates", Version: "1"},
		},
	}
}

// healthSpans is an inventory-only trace, 30 minutes after the checkout.
func healthSpans() []model.Span {
	return []model.Span{{
		TraceID: healthTrace, SpanID: spanID("0102030405060708"), Flags: 1,
		Name: "GET /health", Kind: model.SpanKindServer,
		StartUnixNano: at(30 * time.Minute), EndUnixNano: at(30*time.Minute + 2*time.Millisecond),
		Attributes: []model.Attribute{model.String("http.route", "/health"), model.Int("http.response.status_code", 200)},
		Resource:   inventoryResource, Scope: inventoryScope,
	}}
}

// olderSpans is a frontend trace from a day before, outside the default
// search window.
func olderSpans() []model.Span {
	return []model.Span{{
		TraceID: olderTrace, SpanID: spanID("1112131415161718"), Flags: 1,
		Name: "GET /checkout", Kind: model.SpanKindServer,
		StartUnixNano: at(-50 * time.Hour), EndUnixNano: at(-50*time.Hour + 300*time.Millisecond),
		Attributes: []model.Attribute{model.String("http.route", "/checkout"), model.Int("http.response.status_code", 200)},
		Resource:   frontendResource, Scope: httpScope,
	}}
}

func newTestStore(t *testing.T) *memstore.Traces {
	t.Helper()
	mem := memstore.NewTraces()
	for _, spans := range [][]model.Span{checkoutSpans(), healthSpans(), olderSpans()} {
		if err := mem.WriteSpans(context.Background(), spans); err != nil {
			t.Fatal(err)
		}
	}
	return mem
}

// newTestServer serves a Handler over the fixture the way the app mounts
// it: under /jaeger/, with the prefix option set.
func newTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	h, err := New(Options{Reader: newTestStore(t), Prefix: "/jaeger", Now: testNow})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/jaeger/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// serve runs one GET through h without a server.
func serve(h http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

// get fetches path from srv and returns the status and body.
func get(t *testing.T, srv *httptest.Server, path string) (int, []byte) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode < 500 && ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q, want application/json", path, ct)
	}
	return resp.StatusCode, body
}

// checkGolden compares got with testdata/name, or rewrites the file with
// -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the response (run go test -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
