package sdk_test

import (
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/argus-obs/argus/sdk"
	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
)

// TestOTLPLogs checks the slog -> OpenTelemetry bridge: every record is
// exported with the trace context of its context, the correlation ID, its
// attributes (groups as dotted keys) and the service's resource.
func TestOTLPLogs(t *testing.T) {
	e := start(t, sdk.Options{ServiceName: "bridge-svc", LogLevel: slog.LevelDebug})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /logs", func(w http.ResponseWriter, r *http.Request) {
		logger := slog.Default().With("user", "ann").WithGroup("order").With("id", 42)
		logger.InfoContext(r.Context(), "order placed",
			slog.Group("item", "sku", "s-1", "qty", 2),
			"total", 9.5, "paid", true, "took", 3*time.Millisecond, "err", errors.New("late"))
		slog.DebugContext(r.Context(), "debug line")
		io.WriteString(w, "ok")
	})
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/logs", nil)
	req.Header.Set("X-Correlation-ID", "log-cid")
	sdk.Middleware(mux).ServeHTTP(rec, req)
	slog.Warn("no context") // no trace, no correlation ID
	log.Print("from the log package")
	e.flush(t)

	server := e.span(t, "GET /logs")
	records := map[string]sdklog.Record{}
	for _, r := range e.logs.all() {
		records[r.Body().AsString()] = r
	}
	placed, ok := records["order placed"]
	if !ok {
		t.Fatalf("no exported record %q; have %v", "order placed", records)
	}
	if placed.TraceID() != server.SpanContext.TraceID() || placed.SpanID() != server.SpanContext.SpanID() {
		t.Errorf("record trace %s/%s, want the server span %s/%s", placed.TraceID(), placed.SpanID(),
			server.SpanContext.TraceID(), server.SpanContext.SpanID())
	}
	if placed.Severity() != otellog.SeverityInfo || placed.SeverityText() != "INFO" {
		t.Errorf("severity %v %q", placed.Severity(), placed.SeverityText())
	}
	if got, _ := placed.Resource().Set().Value("service.name"); got.AsString() != "bridge-svc" {
		t.Errorf("resource service.name = %q", got.AsString())
	}
	attrs := map[string]attribute.Value{}
	placed.WalkAttributes(func(kv attribute.KeyValue) bool {
		attrs[string(kv.Key)] = kv.Value
		return true
	})
	for k, want := range map[string]attribute.Value{
		"user":           attribute.StringValue("ann"),
		"order.id":       attribute.Int64Value(42),
		"order.item.sku": attribute.StringValue("s-1"),
		"order.item.qty": attribute.Int64Value(2),
		"order.total":    attribute.Float64Value(9.5),
		"order.paid":     attribute.BoolValue(true),
		"order.took":     attribute.Int64Value(int64(3 * time.Millisecond)),
		"order.err":      attribute.StringValue("late"),
		"correlation_id": attribute.StringValue("log-cid"),
	} {
		if got, ok := attrs[k]; !ok || got != want {
			t.Errorf("attribute %s = %v, want %v (all: %v)", k, got.String(), want.String(), attrs)
		}
	}

	if d, ok := records["debug line"]; !ok || d.Severity() != otellog.SeverityDebug {
		t.Errorf("debug record: %v (present %v)", d.Severity(), ok)
	}
	access, ok := records["http request"]
	if !ok || access.SpanID() != server.SpanContext.SpanID() {
		t.Errorf("access log record missing or not in the server span")
	}
	if w, ok := records["no context"]; !ok || w.TraceID().IsValid() || w.Severity() != otellog.SeverityWarn {
		t.Errorf("context-free record: %+v", w)
	} else {
		w.WalkAttributes(func(kv attribute.KeyValue) bool {
			if kv.Key == "correlation_id" {
				t.Errorf("a record without context has correlation_id %v", kv.Value.String())
			}
			return true
		})
	}
	if _, ok := records["from the log package"]; !ok {
		t.Error("the standard log package's output was not bridged")
	}

	// The same record on stdout: the context fields stay at the top level
	// even inside a group.
	var line map[string]any
	for _, l := range e.out.lines(t) {
		if l["msg"] == "order placed" {
			line = l
		}
	}
	if line == nil {
		t.Fatal("no JSON line for the record")
	}
	order, _ := line["order"].(map[string]any)
	if line["trace_id"] != server.SpanContext.TraceID().String() || line["correlation_id"] != "log-cid" ||
		line["service"] != "bridge-svc" || line["user"] != "ann" || order["id"] != float64(42) {
		t.Errorf("JSON line = %v", line)
	}
}

func TestLogLevel(t *testing.T) {
	level := new(slog.LevelVar)
	level.Set(slog.LevelWarn)
	e := start(t, sdk.Options{LogLevel: level})
	slog.Info("hidden")
	slog.Warn("shown")
	level.Set(slog.LevelInfo)
	slog.Info("shown too")
	e.flush(t)
	var msgs []string
	for _, l := range e.out.lines(t) {
		msgs = append(msgs, l["msg"].(string))
	}
	var exported []string
	for _, r := range e.logs.all() {
		exported = append(exported, r.Body().AsString())
	}
	for _, got := range [][]string{msgs, exported} {
		if len(got) != 2 || got[0] != "shown" || got[1] != "shown too" {
			t.Errorf("logged %q, want [shown, shown too]", got)
		}
	}
}
