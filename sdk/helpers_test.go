package sdk_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/argus-obs/argus/sdk"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// spanSink is an in-memory span exporter that, unlike
// tracetest.InMemoryExporter, keeps its spans across Shutdown, so a test can
// flush by shutting down and then look.
type spanSink struct {
	mu    sync.Mutex
	spans []sdktrace.ReadOnlySpan
}

func (s *spanSink) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	s.mu.Lock()
	s.spans = append(s.spans, spans...)
	s.mu.Unlock()
	return nil
}

func (s *spanSink) Shutdown(context.Context) error { return nil }

func (s *spanSink) stubs() tracetest.SpanStubs {
	s.mu.Lock()
	defer s.mu.Unlock()
	return tracetest.SpanStubsFromReadOnlySpans(s.spans)
}

// logSink is an in-memory log exporter. Exporters do not own the records
// they are passed, so it keeps clones.
type logSink struct {
	mu      sync.Mutex
	records []sdklog.Record
}

func (s *logSink) Export(_ context.Context, records []sdklog.Record) error {
	s.mu.Lock()
	for _, r := range records {
		s.records = append(s.records, r.Clone())
	}
	s.mu.Unlock()
	return nil
}

func (s *logSink) Shutdown(context.Context) error   { return nil }
func (s *logSink) ForceFlush(context.Context) error { return nil }

func (s *logSink) all() []sdklog.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sdklog.Record(nil), s.records...)
}

// syncBuffer is a goroutine-safe bytes.Buffer for Options.LogWriter.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines decodes the JSON log lines written so far.
func (b *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// accessLogs returns the access-log lines of route.
func (b *syncBuffer) accessLogs(t *testing.T, route string) []map[string]any {
	var out []map[string]any
	for _, l := range b.lines(t) {
		if l["msg"] == "http request" && l["route"] == route {
			out = append(out, l)
		}
	}
	return out
}

// env is a started SDK with in-memory exporters.
type env struct {
	spans    *spanSink
	logs     *logSink
	out      *syncBuffer
	shutdown func(context.Context) error
}

// start starts the SDK with in-memory exporters (unless opts has its
// own) and a buffer for the JSON log, and shuts it down at the end of the
// test.
func start(t *testing.T, opts sdk.Options) *env {
	t.Helper()
	e := &env{spans: &spanSink{}, logs: &logSink{}, out: &syncBuffer{}}
	if opts.ServiceName == "" {
		opts.ServiceName = "test-svc"
	}
	if opts.SpanExporter == nil && opts.Endpoint == "" {
		opts.SpanExporter = e.spans
	}
	if opts.LogExporter == nil && opts.Endpoint == "" {
		opts.LogExporter = e.logs
	}
	if opts.LogWriter == nil {
		opts.LogWriter = e.out
	}
	shutdown, err := sdk.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	e.shutdown = shutdown
	t.Cleanup(func() { e.flush(t) })
	return e
}

// flush shuts the SDK down, which exports everything buffered.
func (e *env) flush(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// span returns the one span named name.
func (e *env) span(t *testing.T, name string) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	for _, s := range e.spans.stubs() {
		if s.Name == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want 1 span named %q, have %d (all: %v)", name, len(found), spanNames(e.spans.stubs()))
	}
	return found[0]
}

func spanNames(ss tracetest.SpanStubs) []string {
	var names []string
	for _, s := range ss {
		names = append(names, s.Name)
	}
	return names
}

func spanAttr(s tracetest.SpanStub, key string) (string, bool) {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value.String(), true
		}
	}
	return "", false
}
