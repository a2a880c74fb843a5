// Package logs stores log records in the column store and reads them back
// for LogQL. It implements store.LogWriter and logql.Querier, and answers
// the label, series and correlation lookups of the Loki API.
//
// A record becomes one row: its stream is its resource (laid out by package
// resource, as spans are), its time is the event time, and every other
// field is a column of its own. The body is a text column whose bloom
// filters hold its words; the trace ID, span ID and correlation ID are
// indexed columns, so a lookup by any of them skips almost every block.
// Each attribute is a column named "a." plus its LogQL name.
//
// LogQL sees a stream's labels with their names made Prometheus-safe
// (service.name becomes service_name, as Loki 3 maps OTLP resources), and
// a record's structured metadata as: its attributes (names made safe the
// same way), trace_id, span_id, correlation_id, and level and
// detected_level (the level name of its severity).
package logs

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/argus-obs/argus/internal/model"
	"github.com/argus-obs/argus/internal/store"
	"github.com/argus-obs/argus/internal/store/colstore"
	"github.com/argus-obs/argus/internal/store/resource"
)

// Column names of the log row.
const (
	colBody          = "body"
	colSeverity      = "severity"
	colSeverityText  = "severity_text"
	colTraceID       = "trace_id"
	colSpanID        = "span_id"
	colFlags         = "flags"
	colCorrelationID = "correlation_id"
	colObserved      = "observed_delta" // observed time minus event time
	// colObservedAt holds the observed time itself when every record of a
	// write shares one (a push request's arrival time): the same value
	// row after row compresses to almost nothing, where the differences
	// to each event time would be new numbers of several bytes each.
	colObservedAt   = "observed"
	colScopeName    = "scope_name"
	colScopeVersion = "scope_version"
	colDroppedAttrs = "dropped_attributes"
	// colAttrKeys holds each attribute's original key and value type,
	// written only when some key is not already a valid LogQL name or some
	// value is not a string, so plain records pay nothing for it.
	colAttrKeys = "attr_keys"
	attrPrefix  = "a."
)

// Structured-metadata names LogQL sees besides the attributes.
const (
	metaTraceID       = "trace_id"
	metaSpanID        = "span_id"
	metaCorrelationID = model.CorrelationIDKey
	metaLevel         = "level"
	metaDetectedLevel = "detected_level"
)

// BlockRows is the block size the log store's column store should use:
// a quarter of the column store's default. The query that reads the most
// for the least is a word in a few lines spread over a day: every block
// holding one of them is decoded whole, every column of it, so smaller
// blocks make it about three times cheaper, for about 2 more bytes of
// bloom filters and zstd frames per line on disk (docs/benchmarks.md).
const BlockRows = 2048

// Store is the log store. It is safe for concurrent use.
type Store struct {
	cs *colstore.Store
}

var _ store.LogWriter = (*Store)(nil)

// New returns a log store over an open column store, which the caller
// keeps owning (and closes).
func New(cs *colstore.Store) *Store { return &Store{cs: cs} }

// WriteLogs implements store.LogWriter.
func (s *Store) WriteLogs(ctx context.Context, records []model.LogRecord) error {
	rows := make([]colstore.Row, len(records))
	n := 0
	for i := range records {
		n += maxRecordFields + len(records[i].Attributes)
	}
	enc := encoder{fields: make([]colstore.Field, 0, n), attrCols: map[string]string{}, sharedObserved: len(records) > 1}
	for i := 1; i < len(records) && enc.sharedObserved; i++ {
		enc.sharedObserved = records[i].ObservedUnixNano == records[0].ObservedUnixNano
	}
	for i := range records {
		enc.recordRow(&rows[i], &records[i])
	}
	err := s.cs.Write(ctx, rows)
	if errors.Is(err, colstore.ErrOverloaded) {
		return fmt.Errorf("%w: %w", store.ErrOverloaded, err)
	}
	return err
}

// maxRecordFields is the most fields a log row has besides attributes.
const maxRecordFields = 13

// encoder turns records into rows. Rows of one call share its buffers,
// and what consecutive records share (resource, attribute keys) is
// computed once.
type encoder struct {
	fields   []colstore.Field
	prevRes  *model.Resource
	stream   []colstore.Label
	prevAttr []model.Attribute
	attrKeys string            // encoded keys of prevAttr, "" when not needed
	attrCols map[string]string // attribute key to column name
	// sharedObserved: every record has the same observed time, stored as
	// is (colObservedAt) rather than as a difference (colObserved).
	sharedObserved bool
}

func (e *encoder) recordRow(r *colstore.Row, rec *model.LogRecord) {
	if e.prevRes == nil || !resource.Same(e.prevRes, &rec.Resource) {
		e.stream = resource.Labels(&rec.Resource)
		e.prevRes = &rec.Resource
	}
	r.Stream = e.stream
	r.Time = rec.TimeUnixNano
	start := len(e.fields)
	f := append(e.fields, colstore.Field{Name: colBody, Type: colstore.TypeText, Str: rec.Body})
	if rec.Severity != 0 {
		f = append(f, colstore.Field{Name: colSeverity, Type: colstore.TypeInt, Int: int64(rec.Severity)})
	}
	f = colstore.AppendString(f, colSeverityText, rec.SeverityText)
	if !rec.TraceID.IsZero() {
		f = append(f, colstore.Field{Name: colTraceID, Type: colstore.TypeID, Bytes: rec.TraceID[:]})
	}
	if !rec.SpanID.IsZero() {
		f = append(f, colstore.Field{Name: colSpanID, Type: colstore.TypeID, Bytes: rec.SpanID[:]})
	}
	f = colstore.AppendInt(f, colFlags, int64(rec.Flags))
	f = colstore.AppendString(f, colCorrelationID, rec.CorrelationID)
	if rec.ObservedUnixNano != 0 {
		if e.sharedObserved {
			f = colstore.AppendInt(f, colObservedAt, rec.ObservedUnixNano)
		} else {
			f = colstore.AppendInt(f, colObserved, rec.ObservedUnixNano-rec.TimeUnixNano)
		}
	}
	f = colstore.AppendString(f, colScopeName, rec.Scope.Name)
	f = colstore.AppendString(f, colScopeVersion, rec.Scope.Version)
	f = colstore.AppendInt(f, colDroppedAttrs, int64(rec.DroppedAttributes))
	if len(rec.Attributes) > 0 {
		if !model.SameKeys(e.prevAttr, rec.Attributes) {
			e.attrKeys = attrKeysColumn(rec.Attributes)
			e.prevAttr = rec.Attributes
		}
		f = colstore.AppendString(f, colAttrKeys, e.attrKeys)
		for _, a := range rec.Attributes {
			col, ok := e.attrCols[a.Key]
			if !ok {
				col = attrPrefix + LabelName(a.Key)
				e.attrCols[a.Key] = col
			}
			f = append(f, colstore.Field{Name: col, Type: colstore.TypeString, Str: a.Value})
		}
	}
	e.fields = f
	r.Fields = f[start:len(f):len(f)]
}

// attrKeysColumn encodes the original keys and types of attrs (per
// attribute: uvarint key length, key, type byte), or returns "" when every
// key is its own LogQL name and every value a string, which the reader
// then assumes.
func attrKeysColumn(attrs []model.Attribute) string {
	needed := false
	for _, a := range attrs {
		if a.Type != model.ValueString || LabelName(a.Key) != a.Key {
			needed = true
			break
		}
	}
	if !needed {
		return ""
	}
	var b []byte
	for _, a := range attrs {
		b = binary.AppendUvarint(b, uint64(len(a.Key)))
		b = append(b, a.Key...)
		b = append(b, byte(a.Type))
	}
	return string(b)
}

// LabelName turns an attribute key into a LogQL label name the way Loki
// turns OTLP attribute names into labels: every byte that is not an ASCII
// letter, digit or underscore becomes an underscore, and a name starting
// with a digit gets a leading underscore. "service.name" becomes
// "service_name".
func LabelName(key string) string {
	ok := key != "" && !(key[0] >= '0' && key[0] <= '9')
	for i := 0; ok && i < len(key); i++ {
		ok = isLabelByte(key[i])
	}
	if ok {
		return key
	}
	var b strings.Builder
	b.Grow(len(key) + 1)
	if key == "" || (key[0] >= '0' && key[0] <= '9') {
		b.WriteByte('_')
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; isLabelByte(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func isLabelByte(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

// parseTraceIDLabel parses a trace_id metadata value as LogQL shows it: 32
// lower-case hex digits. Any other spelling can never equal a stored
// record's value.
func parseTraceIDLabel(v string) (model.TraceID, bool) {
	var id model.TraceID
	if len(v) != 32 || strings.ToLower(v) != v {
		return id, false
	}
	_, err := hex.Decode(id[:], []byte(v))
	return id, err == nil
}

func parseSpanIDLabel(v string) (model.SpanID, bool) {
	var id model.SpanID
	if len(v) != 16 || strings.ToLower(v) != v {
		return id, false
	}
	_, err := hex.Decode(id[:], []byte(v))
	return id, err == nil
}
