package jaeger

import (
	"context"
	"encoding/binary"
	"net/http"
	"testing"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store/memstore"
)

// benchHandler serves one trace of n spans: the checkout fixture's spans
// repeated with fresh span IDs, so resources, scopes and every attribute
// type recur as in a real large trace.
func benchHandler(b *testing.B, n int) *Handler {
	b.Helper()
	proto := checkoutSpans()
	spans := make([]model.Span, n)
	for i := range spans {
		s := proto[i%len(proto)]
		binary.BigEndian.PutUint64(s.SpanID[:], uint64(i+1))
		if i > 0 {
			binary.BigEndian.PutUint64(s.ParentSpanID[:], uint64(i))
		}
		spans[i] = s
	}
	mem := memstore.NewTraces()
	if err := mem.WriteSpans(context.Background(), spans); err != nil {
		b.Fatal(err)
	}
	h, err := New(Options{Reader: mem})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

func BenchmarkGetTrace(b *testing.B) {
	for _, api := range []struct{ name, path string }{
		{"v1", "/api/traces/"},
		{"v3", "/api/v3/traces/"},
	} {
		b.Run(api.name, func(b *testing.B) {
			h := benchHandler(b, 1000)
			path := api.path + checkoutTrace.String()
			b.ReportAllocs()
			for b.Loop() {
				if rec := serve(h, path); rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
		})
	}
}
