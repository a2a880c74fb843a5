package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// batchOfTraces records n single-span traces of service svc starting at
// start, and returns them with their trace IDs.
func batchOfTraces(svc string, n int, start time.Time) ([]sdktrace.ReadOnlySpan, []string) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec),
		sdktrace.WithResource(resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(svc))))
	tr := tp.Tracer("e2e")
	ids := make([]string, n)
	for i := range n {
		_, sp := tr.Start(context.Background(), "work", trace.WithTimestamp(start), trace.WithAttributes(attribute.Int("i", i)))
		sp.End(trace.WithTimestamp(start.Add(time.Duration(i+1) * time.Millisecond)))
		ids[i] = sp.SpanContext().TraceID().String()
	}
	return rec.Ended(), ids
}

func assertTraces(t *testing.T, s *server, ids []string) {
	t.Helper()
	for _, id := range ids {
		var got jaegerResponse[[]jaegerTrace]
		s.getJSON("/jaeger/api/traces/"+id, 200, &got)
		if len(got.Data) != 1 || len(got.Data[0].Spans) != 1 {
			t.Fatalf("trace %s: %+v", id, got.Data)
		}
	}
}

// TestRestartKeepsData stops argus gracefully and starts it again on the
// same data directory.
func TestRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	s := startArgus(t, dir)
	spans, ids := batchOfTraces("restart", 50, time.Now().Add(-time.Minute))
	if err := grpcExporter(t, s).ExportSpans(ctxTimeout(t, 30*time.Second), spans); err != nil {
		t.Fatal(err)
	}
	s.stop()
	s = startArgus(t, dir)
	assertTraces(t, s, ids)
	var services jaegerResponse[[]string]
	s.getJSON("/jaeger/api/services", 200, &services)
	if len(services.Data) != 1 || services.Data[0] != "restart" {
		t.Fatalf("services after restart: %v", services.Data)
	}
}

// TestCrashKeepsAcknowledgedSpans exports batches from several clients
// and kills argus with SIGKILL while they run: every batch argus
// acknowledged must be there after a restart.
func TestCrashKeepsAcknowledgedSpans(t *testing.T) {
	dir := t.TempDir()
	s := startArgus(t, dir)
	var (
		mu    sync.Mutex
		acked []string
		count atomic.Int64
		wg    sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	for w := range 4 {
		exp := grpcExporter(t, s)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				spans, ids := batchOfTraces(fmt.Sprintf("crash-%d", w), 20, time.Now())
				if err := exp.ExportSpans(ctx, spans); err != nil {
					return
				}
				mu.Lock()
				acked = append(acked, ids...)
				mu.Unlock()
				count.Add(1)
			}
		}()
	}
	eventually(t, 30*time.Second, func() error {
		if n := count.Load(); n < 40 {
			return fmt.Errorf("only %d batches acknowledged", n)
		}
		return nil
	})
	s.kill()
	cancel()
	wg.Wait()

	s = startArgus(t, dir)
	mu.Lock()
	defer mu.Unlock()
	t.Logf("checking %d acknowledged traces", len(acked))
	assertTraces(t, s, acked)
}

// TestRetentionDropsOldDays stores spans from five days ago and from now,
// then restarts with a two-day retention: the old day is gone, directory
// and all, and the recent spans remain.
func TestRetentionDropsOldDays(t *testing.T) {
	dir := t.TempDir()
	s := startArgus(t, dir)
	oldSpans, oldIDs := batchOfTraces("retention", 5, time.Now().Add(-5*24*time.Hour))
	newSpans, newIDs := batchOfTraces("retention", 5, time.Now().Add(-time.Minute))
	exp := grpcExporter(t, s)
	ctx := ctxTimeout(t, 30*time.Second)
	if err := exp.ExportSpans(ctx, oldSpans); err != nil {
		t.Fatal(err)
	}
	if err := exp.ExportSpans(ctx, newSpans); err != nil {
		t.Fatal(err)
	}
	assertTraces(t, s, oldIDs)
	s.stop()
	oldDay := filepath.Join(dir, "traces", time.Now().Add(-5*24*time.Hour).UTC().Format(time.DateOnly))
	if _, err := os.Stat(oldDay); err != nil {
		t.Fatalf("old partition not written: %v", err)
	}

	s = startArgus(t, dir, "--retention=2d")
	assertTraces(t, s, newIDs)
	for _, id := range oldIDs {
		s.getJSON("/jaeger/api/traces/"+id, 404, nil)
	}
	if _, err := os.Stat(oldDay); !os.IsNotExist(err) {
		t.Fatalf("expired partition directory still there: %v", err)
	}
}
