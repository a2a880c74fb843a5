package logs

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/query/logql"
	"github.com/argus-obs/argus/internal/query/logql/logqltest"
	"github.com/argus-obs/argus/internal/store/colstore"
)

// TestLogQLScripts runs the LogQL engine's scripted tests against the
// column-store log store, with half of each script's entries flushed to a
// part and half in the memtable, so the store's hints, windows and
// stream mapping answer exactly as the reference querier does.
func TestLogQLScripts(t *testing.T) {
	logqltest.RunScripts(t, "../../query/logql/testdata", func(t *testing.T, entries []logql.Entry) logql.Querier {
		cs, err := colstore.Open(colstore.Options{Dir: t.TempDir(), WALNoSync: true, FlushInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cs.Close() })
		s := New(cs)
		recs := make([]model.LogRecord, len(entries))
		for i, e := range entries {
			recs[i] = recordOf(e)
		}
		half := len(recs) / 2
		if err := s.WriteLogs(context.Background(), recs[:half]); err != nil {
			t.Fatal(err)
		}
		if err := cs.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := s.WriteLogs(context.Background(), recs[half:]); err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// recordOf turns a script entry into the record a shipper would send:
// service_name is the service, other stream labels resource attributes,
// metadata the record's attributes, with trace and span IDs in their own
// fields when they are IDs.
func recordOf(e logql.Entry) model.LogRecord {
	r := model.LogRecord{TimeUnixNano: e.Time, Body: e.Line}
	e.Stream.Range(func(l labels.Label) {
		if l.Name == "service_name" {
			r.Resource.ServiceName = l.Value
			return
		}
		r.Resource.Attributes = append(r.Resource.Attributes, model.String(l.Name, l.Value))
	})
	e.Metadata.Range(func(l labels.Label) {
		switch l.Name {
		case "trace_id":
			if id, ok := parseTraceIDLabel(l.Value); ok && !id.IsZero() {
				r.TraceID = id
				return
			}
		case "span_id":
			if id, ok := parseSpanIDLabel(l.Value); ok && !id.IsZero() {
				r.SpanID = id
				return
			}
		case "correlation_id":
			r.CorrelationID = l.Value
			return
		}
		r.Attributes = append(r.Attributes, model.String(l.Name, l.Value))
	})
	return r
}
