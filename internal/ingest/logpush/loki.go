package logpush

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/argus-obs/argus/internal/ingest/ingestmetrics"
	"github.com/argus-obs/argus/internal/model"
)

// Loki's push request, decoded by hand because Loki (AGPL) cannot be
// imported. Field numbers from Loki's public pkg/push/push.proto:
//
//	message PushRequest   { repeated StreamAdapter streams = 1; }
//	message StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
//	message EntryAdapter  { google.protobuf.Timestamp timestamp = 1; string line = 2;
//	                        repeated LabelPairAdapter structuredMetadata = 3; }
//	message LabelPairAdapter { string name = 1; string value = 2; }
//	message Timestamp     { int64 seconds = 1; int32 nanos = 2; }
//
// Unknown fields (hash, the parsed labels Loki adds internally) are
// skipped, as protobuf decoders do.
const (
	pushStreams        protowire.Number = 1
	streamLabels       protowire.Number = 1
	streamEntries      protowire.Number = 2
	entryTimestamp     protowire.Number = 1
	entryLine          protowire.Number = 2
	entryMetadata      protowire.Number = 3
	labelPairName      protowire.Number = 1
	labelPairValue     protowire.Number = 2
	timestampSeconds   protowire.Number = 1
	timestampNanos     protowire.Number = 2
	maxTimestampSecond                  = 253402300799 // 9999-12-31T23:59:59Z, the protobuf Timestamp limit
)

// lokiServiceLabels are the labels Loki 3 derives service_name from, in
// its order of preference (its default discover_service_name, with
// service_name itself first).
var lokiServiceLabels = [...]string{
	"service_name", "service", "app", "application", "name", "app_kubernetes_io_name",
	"container", "container_name", "component", "workload", "job",
}

// lokiRole is what a structured metadata pair or stream label becomes
// besides an attribute, with its rank among spellings (lowest wins).
func lokiRole(name []byte) (r role, rank int8) {
	switch string(name) {
	case "level":
		return roleLevel, 0
	case "detected_level":
		return roleLevel, 1
	case "severity":
		return roleLevel, 2
	case "trace_id":
		return roleTraceID, 0
	case "traceID":
		return roleTraceID, 1
	case "traceid":
		return roleTraceID, 2
	case "span_id":
		return roleSpanID, 0
	case "spanID":
		return roleSpanID, 1
	case "spanid":
		return roleSpanID, 2
	}
	return roleAttribute, 0
}

// Markers in rec.time of entries the stream's finish refuses, naming the
// stream: one whose timestamp could not be read, and a JSON entry without
// a string line.
const (
	invalidTime  = -1
	invalidEntry = -2
)

// lokiDecoder decodes one push request into a batch.
type lokiDecoder struct {
	b      *batch
	l      *limits
	parser labelParser
	sc     scanner // JSON only

	// errs are the refusals, in Loki's words, for the 400 body; only the
	// first maxListedErrors are kept, more counts the rest.
	errs []string
	more int
}

// labelParser parses a Prometheus label set, {a="b", c="d"}.
type labelParser interface {
	ParseMetric(input string) (labels.Labels, error)
}

func (d *lokiDecoder) refuse(msg string) {
	if len(d.errs) < maxListedErrors {
		d.errs = append(d.errs, msg)
	} else {
		d.more++
	}
}

// errorText is the body of a 400: one refusal per line, as Loki answers.
func (d *lokiDecoder) errorText() string {
	var sb strings.Builder
	for _, e := range d.errs {
		sb.WriteString(e)
		sb.WriteByte('\n')
	}
	if d.more > 0 {
		fmt.Fprintf(&sb, "... and %d more\n", d.more)
	}
	return sb.String()
}

// decodeProto decodes a (decompressed) protobuf PushRequest. Its error
// means the body is not a PushRequest; the batch is then unusable.
func (d *lokiDecoder) decodeProto(data []byte) error {
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
		if num == pushStreams && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(data)
			if n < 0 {
				return protowire.ParseError(n)
			}
			if err := d.protoStream(v); err != nil {
				return err
			}
			data = data[n:]
			continue
		}
		if n = protowire.ConsumeFieldValue(num, typ, data); n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
	}
	return nil
}

func (d *lokiDecoder) protoStream(data []byte) error {
	first := len(d.b.recs)
	var lbls []byte
	haveLabels := false
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
		if typ == protowire.BytesType && (num == streamLabels || num == streamEntries) {
			v, n := protowire.ConsumeBytes(data)
			if n < 0 {
				return protowire.ParseError(n)
			}
			data = data[n:]
			if num == streamLabels {
				lbls, haveLabels = v, true
			} else if err := d.protoEntry(v); err != nil {
				return err
			}
			continue
		}
		if n = protowire.ConsumeFieldValue(num, typ, data); n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
	}

	// The labels may follow the entries on the wire, so the stream's
	// resource is made, and its entries checked, only now.
	b := d.b
	ls := span{start: len(b.resAttrs)}
	if !haveLabels || len(lbls) == 0 {
		d.badStream(first, "error at least one label pair is required per stream")
		return nil
	}
	parsed, err := d.parser.ParseMetric(string(lbls))
	if err != nil {
		d.badStream(first, fmt.Sprintf("error parsing labels '%s' with error: %v", clip(lbls), err))
		return nil
	}
	parsed.Range(func(l labels.Label) {
		b.resAttrs = append(b.resAttrs, attr{key: b.addString(l.Name), val: b.addString(l.Value)})
	})
	ls.end = len(b.resAttrs)
	d.finishStream(first, ls)
	return nil
}

func (d *lokiDecoder) protoEntry(data []byte) error {
	b := d.b
	rc := rec{attrs: span{start: len(b.attrs)}}
	var sec uint64
	var nanos uint64
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
		if typ != protowire.BytesType || num < entryTimestamp || num > entryMetadata {
			if n = protowire.ConsumeFieldValue(num, typ, data); n < 0 {
				return protowire.ParseError(n)
			}
			data = data[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(data)
		if n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
		switch num {
		case entryTimestamp:
			// Repeated occurrences of a message field merge, field by field.
			if err := decodeTimestamp(v, &sec, &nanos); err != nil {
				return err
			}
		case entryLine:
			rc.body = b.add(v)
		case entryMetadata:
			a, err := decodeLabelPair(b, v)
			if err != nil {
				return err
			}
			b.attrs = append(b.attrs, a)
		}
	}
	rc.attrs.end = len(b.attrs)
	// Seconds and nanos are int64 and int32 on the wire: a negative value
	// arrives as a huge unsigned one.
	switch {
	case sec == 0 && nanos == 0:
		rc.time = 0 // none given: the stream's finish gives it the arrival time
	case sec > maxTimestampSecond || nanos >= 1e9 || sec > (1<<63-1-nanos)/1e9:
		rc.time = invalidTime
	default:
		rc.time = int64(sec*1e9 + nanos)
	}
	d.liftMetadata(&rc)
	b.recs = append(b.recs, rc)
	return nil
}

func decodeTimestamp(data []byte, sec, nanos *uint64) error {
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
		if typ == protowire.VarintType && (num == timestampSeconds || num == timestampNanos) {
			v, n := protowire.ConsumeVarint(data)
			if n < 0 {
				return protowire.ParseError(n)
			}
			data = data[n:]
			if num == timestampSeconds {
				*sec = v
			} else {
				*nanos = uint64(uint32(v)) // int32: the upper bits are sign extension
				if int32(v) < 0 {
					*nanos = 1e9 // out of range, refused
				}
			}
			continue
		}
		if n = protowire.ConsumeFieldValue(num, typ, data); n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
	}
	return nil
}

func decodeLabelPair(b *batch, data []byte) (attr, error) {
	var name, value []byte
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return attr{}, protowire.ParseError(n)
		}
		data = data[n:]
		if typ == protowire.BytesType && (num == labelPairName || num == labelPairValue) {
			v, n := protowire.ConsumeBytes(data)
			if n < 0 {
				return attr{}, protowire.ParseError(n)
			}
			data = data[n:]
			if num == labelPairName {
				name = v
			} else {
				value = v
			}
			continue
		}
		if n = protowire.ConsumeFieldValue(num, typ, data); n < 0 {
			return attr{}, protowire.ParseError(n)
		}
		data = data[n:]
	}
	return attr{key: b.add(name), val: b.add(value)}, nil
}

// liftMetadata moves the level, trace ID and span ID of an entry's
// structured metadata into the record's own fields. A trace or span ID
// that is not hex stays an attribute.
func (d *lokiDecoder) liftMetadata(rc *rec) {
	b := d.b
	var best [numRoles]int
	var bestRank [numRoles]int8
	for i := range best {
		best[i] = -1
	}
	for i := rc.attrs.start; i < rc.attrs.end; i++ {
		r, rank := lokiRole(b.bytes(b.attrs[i].key))
		if r == roleAttribute {
			continue
		}
		if best[r] < 0 || rank < bestRank[r] {
			best[r], bestRank[r] = i, rank
		}
	}
	if i := best[roleTraceID]; i >= 0 && !parseHexID(rc.traceID[:], b.bytes(b.attrs[i].val)) {
		best[roleTraceID] = -1
	}
	if i := best[roleSpanID]; i >= 0 && !parseHexID(rc.spanID[:], b.bytes(b.attrs[i].val)) {
		best[roleSpanID] = -1
	}
	if i := best[roleLevel]; i >= 0 {
		rc.severityText = b.attrs[i].val
		rc.severity = parseLevel(b.bytes(rc.severityText))
	}
	if best[roleLevel] < 0 && best[roleTraceID] < 0 && best[roleSpanID] < 0 {
		return
	}
	// Compact the attributes in place, without the lifted ones.
	w := rc.attrs.start
	for i := rc.attrs.start; i < rc.attrs.end; i++ {
		if i == best[roleLevel] || i == best[roleTraceID] || i == best[roleSpanID] {
			continue
		}
		b.attrs[w] = b.attrs[i]
		w++
	}
	b.attrs = b.attrs[:w]
	rc.attrs.end = w
}

// badStream refuses every entry of a stream from first on, with one
// message for them all.
func (d *lokiDecoder) badStream(first int, msg string) {
	n := len(d.b.recs) - first
	d.b.recs = d.b.recs[:first]
	d.b.rejected[reasonInvalid] += n
	if n > 0 {
		d.refuse(msg)
	}
}

// finishStream gives the entries from first on the stream's resource
// (its labels, ls, already in b.resAttrs and sorted) and refuses the ones
// the limits do not allow.
func (d *lokiDecoder) finishStream(first int, ls span) {
	b, l := d.b, d.l
	if ls.len() == 0 {
		b.resAttrs = b.resAttrs[:ls.start]
		d.badStream(first, "error at least one label pair is required per stream")
		return
	}
	labelsOf := b.resAttrs[ls.start:ls.end]

	rs := res{attrs: ls, service: b.addString(UnknownService)}
	found := false
	for _, name := range lokiServiceLabels {
		for _, a := range labelsOf {
			if string(b.bytes(a.key)) == name && a.val.end > a.val.off {
				rs.service, found = a.val, true
				break
			}
		}
		if found {
			break
		}
	}
	// A level label applies to the entries whose metadata names none.
	var level ref
	var sev model.Severity
	levelRank := int8(-1)
	for _, a := range labelsOf {
		if r, rank := lokiRole(b.bytes(a.key)); r == roleLevel && (levelRank < 0 || rank < levelRank) {
			level, levelRank = a.val, rank
		}
	}
	if levelRank >= 0 {
		sev = parseLevel(b.bytes(level))
	}
	b.res = append(b.res, rs)
	ri := b.dedupLastResource()

	var name string // the stream as Loki shows it, made when first needed
	streamName := func() string {
		if name == "" {
			name = formatLabels(b, labelsOf)
		}
		return name
	}
	for i := first; i < len(b.recs); i++ {
		rc := &b.recs[i]
		rc.res = ri
		if levelRank >= 0 && rc.severity == model.SeverityUnspecified && rc.severityText.end == rc.severityText.off {
			rc.severity, rc.severityText = sev, level
		}
		switch rc.time {
		case invalidTime:
			b.drop(i, reasonInvalid)
			d.refuse(fmt.Sprintf("entry for stream '%s' has an invalid timestamp", streamName()))
			continue
		case invalidEntry:
			b.drop(i, reasonInvalid)
			d.refuse(fmt.Sprintf("entry for stream '%s' is not [\"<unix epoch in nanoseconds>\", \"<log line>\"]", streamName()))
			continue
		}
		if rc.time == 0 {
			rc.time = l.now
		}
		if why, ok := l.checkTime(rc.time); !ok {
			b.drop(i, why)
			if why == reasonTooOld {
				d.refuse(fmt.Sprintf("entry for stream '%s' has timestamp too old: %s, oldest acceptable timestamp is: %s",
					streamName(), formatTime(rc.time), formatTime(l.minTime)))
			} else {
				d.refuse(fmt.Sprintf("entry for stream '%s' has timestamp too new: %s", streamName(), formatTime(rc.time)))
			}
			continue
		}
		if n := rc.body.end - rc.body.off; n > l.maxLine {
			b.drop(i, reasonLineTooLong)
			d.refuse(fmt.Sprintf("max entry size '%d' bytes exceeded for stream '%s' while adding an entry with length '%d' bytes",
				l.maxLine, streamName(), n))
			continue
		}
		if n := rc.attrs.len(); n > l.maxAttrs {
			b.drop(i, reasonTooManyAttributes)
			d.refuse(fmt.Sprintf("stream '%s' has too many structured metadata labels: '%d', limit: '%d'",
				streamName(), n, l.maxAttrs))
		}
	}
}

// formatLabels renders labels as Prometheus and Loki print a label set:
// {app="api", job="shop"}.
func formatLabels(b *batch, ls []attr) string {
	out := []byte{'{'}
	for i, a := range ls {
		if i > 0 {
			out = append(out, ", "...)
		}
		out = append(out, b.bytes(a.key)...)
		out = append(out, '=')
		out = strconv.AppendQuote(out, string(b.bytes(a.val)))
	}
	return string(append(out, '}'))
}

// clip shortens a label string quoted in a message.
func clip(b []byte) string {
	if len(b) > maxErrorMessage {
		return string(b[:maxErrorMessage]) + "…"
	}
	return string(b)
}

var errNotPushRequest = errors.New(`expected an object with a "streams" array`)

// decodeJSON decodes a JSON push request:
//
//	{"streams":[{"stream":{"app":"api"},"values":[["<ns>","line"],["<ns>","line",{"k":"v"}]]}]}
//
// Its error means the body does not have that shape.
func (d *lokiDecoder) decodeJSON(data []byte) error {
	sc := &d.sc
	sc.reset(data)
	if sc.peek() != '{' {
		if sc.atEnd() {
			return errors.New("empty body")
		}
		return errNotPushRequest
	}
	var key []byte
	sc.beginObject()
	for first := true; sc.more('}', &first); {
		key = sc.key(key[:0])
		if string(key) != "streams" {
			sc.skipValue()
			continue
		}
		if sc.peek() != '[' {
			return errNotPushRequest
		}
		sc.beginArray()
		for first := true; sc.more(']', &first); {
			if sc.peek() != '{' {
				return fmt.Errorf("stream at offset %d is not an object", sc.pos)
			}
			if err := d.jsonStream(); err != nil {
				return err
			}
		}
	}
	if sc.err == nil && !sc.atEnd() {
		sc.failChar()
	}
	return sc.err
}

func (d *lokiDecoder) jsonStream() error {
	sc, b := &d.sc, d.b
	first := len(b.recs)
	ls := span{start: len(b.resAttrs), end: -1}
	var key []byte
	sc.beginObject()
	for firstKey := true; sc.more('}', &firstKey); {
		key = sc.key(key[:0])
		switch {
		case string(key) == "stream" && sc.peek() == '{':
			// A repeated "stream" key replaces the first, as in
			// encoding/json.
			b.resAttrs = b.resAttrs[:ls.start]
			sc.beginObject()
			for first := true; sc.more('}', &first); {
				off := len(b.arena)
				b.arena = sc.key(b.arena)
				k := ref{off, len(b.arena)}
				v, ok := d.jsonScalar()
				if ok {
					b.resAttrs = append(b.resAttrs, attr{key: k, val: v})
				}
			}
			ls.end = len(b.resAttrs)
		case string(key) == "values" && sc.peek() == '[':
			sc.beginArray()
			for first := true; sc.more(']', &first); {
				if err := d.jsonEntry(); err != nil {
					return err
				}
			}
		default:
			sc.skipValue()
		}
	}
	if sc.err != nil {
		return sc.err
	}
	if ls.end < 0 {
		ls.end = ls.start
	}
	// JSON objects are unordered; sort the labels as a parsed label set
	// is, so equal streams make equal resources.
	b.sortAttrs(b.resAttrs[ls.start:ls.end])
	d.finishStream(first, ls)
	return nil
}

// jsonEntry decodes one ["<ns>", "line"] or ["<ns>", "line", {metadata}]
// value.
func (d *lokiDecoder) jsonEntry() error {
	sc, b := &d.sc, d.b
	if sc.peek() != '[' {
		return fmt.Errorf("entry at offset %d is not an array", sc.pos)
	}
	rc := rec{attrs: span{start: len(b.attrs), end: len(b.attrs)}}
	sc.beginArray()
	haveLine := false
	for i, first := 0, true; sc.more(']', &first); i++ {
		switch i {
		case 0:
			rc.time = d.jsonTimestamp()
		case 1:
			if sc.peek() == '"' {
				off := len(b.arena)
				b.arena = sc.appendString(b.arena)
				rc.body, haveLine = ref{off, len(b.arena)}, true
			} else {
				sc.skipValue()
			}
		case 2:
			if sc.peek() != '{' {
				sc.skipValue()
				continue
			}
			sc.beginObject()
			for first := true; sc.more('}', &first); {
				off := len(b.arena)
				b.arena = sc.key(b.arena)
				k := ref{off, len(b.arena)}
				if v, ok := d.jsonScalar(); ok {
					b.attrs = append(b.attrs, attr{key: k, val: v})
				}
			}
			rc.attrs.end = len(b.attrs)
		default:
			sc.skipValue()
		}
	}
	if sc.err != nil {
		return sc.err
	}
	if !haveLine {
		rc.time = invalidEntry
	}
	d.liftMetadata(&rc)
	b.recs = append(b.recs, rc)
	return nil
}

// jsonTimestamp reads an entry's time: nanoseconds since the epoch, as a
// string of digits (Loki's form) or a number. It returns invalidTime for
// anything else.
func (d *lokiDecoder) jsonTimestamp() int64 {
	sc := &d.sc
	var digits []byte
	switch c := sc.peek(); {
	case c == '"':
		s := sc.pos + 1
		sc.skipString()
		if sc.err != nil {
			return invalidTime
		}
		digits = sc.data[s : sc.pos-1]
	case c == '-' || isDigit(c):
		text, isInt := sc.number()
		if !isInt {
			return invalidTime
		}
		digits = text
	default:
		sc.skipValue()
		return invalidTime
	}
	if len(digits) == 0 || len(digits) > 19 {
		return invalidTime
	}
	var n uint64
	for _, c := range digits {
		if !isDigit(c) {
			return invalidTime
		}
		n = n*10 + uint64(c-'0')
	}
	if n > 1<<63-1 {
		return invalidTime
	}
	return int64(n)
}

// jsonScalar reads a label or metadata value into the arena: a string as
// is, a number or boolean as its text. ok is false for null; objects and
// arrays are kept as their JSON text.
func (d *lokiDecoder) jsonScalar() (v ref, ok bool) {
	sc, b := &d.sc, d.b
	off := len(b.arena)
	switch sc.peek() {
	case '"':
		b.arena = sc.appendString(b.arena)
	case '{', '[':
		b.arena = sc.appendCompact(b.arena)
	case 't':
		if sc.literal("true") {
			b.arena = append(b.arena, "true"...)
		}
	case 'f':
		if sc.literal("false") {
			b.arena = append(b.arena, "false"...)
		}
	case 'n':
		sc.literal("null")
		return ref{}, false
	default:
		text, _ := sc.number()
		b.arena = append(b.arena, text...)
	}
	return ref{off, len(b.arena)}, sc.err == nil
}

// lokiType maps the content types Loki takes to whether they are JSON.
// Like Loki, a request without a type is taken as protobuf.
func lokiType(header string) (json, ok bool) {
	switch mediaType(header) {
	case "application/x-protobuf", "":
		return false, true
	case "application/json":
		return true, true
	}
	return false, false
}

func (h *Handlers) serveLoki(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.lokiError(w, http.StatusMethodNotAllowed, ingestmetrics.OutcomeMethodNotAllowed,
			"method "+req.Method+" not allowed: push logs with POST")
		return
	}
	isJSON, ok := lokiType(req.Header.Get("Content-Type"))
	if !ok {
		h.lokiError(w, http.StatusUnsupportedMediaType, ingestmetrics.OutcomeUnsupportedMedia,
			fmt.Sprintf("unsupported content type %q: use application/x-protobuf (snappy) or application/json",
				req.Header.Get("Content-Type")))
		return
	}
	c, ok := contentCoding(req.Header.Get("Content-Encoding"))
	if !ok {
		w.Header().Set("Accept-Encoding", acceptEncoding)
		h.lokiError(w, http.StatusUnsupportedMediaType, ingestmetrics.OutcomeUnsupportedMedia,
			fmt.Sprintf("unsupported content encoding %q: use gzip, snappy or none", req.Header.Get("Content-Encoding")))
		return
	}

	var body reqBody
	defer h.release(&body)
	code, msg := h.readBody(w, req, c, &body)
	// A protobuf push is always a snappy block, whatever Content-Encoding
	// says beyond it; one that said snappy was decoded already.
	if code == 0 && !isJSON && c != codingSnappy {
		code, msg = h.unsnappy(&body)
	}
	if code != 0 {
		o := ingestmetrics.OutcomeBadRequest
		if code == http.StatusRequestEntityTooLarge {
			o = ingestmetrics.OutcomeTooLarge
		}
		h.lokiError(w, code, o, msg)
		return
	}

	b := h.getBatch()
	defer h.putBatch(b)
	l := h.limits()
	b.observed = l.now
	d := lokiDecoder{b: b, l: &l, parser: h.labels}
	var err error
	if isJSON {
		if err = d.decodeJSON(body.data); err != nil {
			err = fmt.Errorf("could not parse JSON push request: %w", err)
		}
	} else if err = d.decodeProto(body.data); err != nil {
		err = fmt.Errorf("could not parse protobuf push request: %w", err)
	}
	if err != nil {
		h.lokiError(w, http.StatusBadRequest, ingestmetrics.OutcomeBadRequest, err.Error())
		return
	}

	_, o, ok := h.write(req.Context(), protoLoki, b)
	if !ok {
		h.lokiError(w, h.failureStatus(w, o), o, "logs could not be stored; retry later")
		return
	}
	h.count(protoLoki, o)
	if o == ingestmetrics.OutcomePartialSuccess {
		// Loki's answer to a push with invalid entries: 400, every valid
		// entry stored, the refusals listed. Clients do not retry a 400.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(d.errorText()))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// lokiError answers a push that stored nothing with a plain-text message,
// as Loki does, and counts it under o.
func (h *Handlers) lokiError(w http.ResponseWriter, code int, o ingestmetrics.Outcome, msg string) {
	h.count(protoLoki, o)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(strings.ToValidUTF8(msg, "\uFFFD") + "\n"))
}
