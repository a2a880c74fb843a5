package logpush

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/argus-obs/argus/internal/model"
)

// This file maps a JSON log document (an Elasticsearch bulk source, or one
// line of newline-delimited JSON) to a record. Nested objects are
// flattened with dots, so {"log":{"level":"info"}} and {"log.level":"info"}
// are the same field, and then each field is looked up by its full key.

// role is what a document field becomes.
type role uint8

const (
	roleAttribute role = iota // an attribute of the record
	roleTime                  // TimeUnixNano
	roleLevel                 // Severity and SeverityText
	roleMessage               // Body
	roleService               // Resource.ServiceName
	roleTraceID               // TraceID
	roleSpanID                // SpanID
	roleResource              // an attribute of the resource
	numRoles
)

// fieldRole returns the role of a flattened key and, for the roles only
// one field can fill, its rank: when a document has several spellings of
// one role, the lowest rank wins and the others stay attributes. ECS names
// (what Filebeat, Logstash and Elastic's loggers write) come before the
// generic spellings of application loggers.
func fieldRole(key []byte) (r role, rank int8) {
	switch string(key) {
	case "@timestamp":
		return roleTime, 0
	case "timestamp": // Vector's default
		return roleTime, 1
	case "time": // Docker, logrus, pino, Fluent Bit's tail
		return roleTime, 2
	case "ts": // zap, go-kit
		return roleTime, 3
	case "t":
		return roleTime, 4
	case "date": // Fluent Bit's http output
		return roleTime, 5

	case "log.level":
		return roleLevel, 0
	case "level":
		return roleLevel, 1
	case "severity":
		return roleLevel, 2
	case "severity_text":
		return roleLevel, 3
	case "lvl":
		return roleLevel, 4
	case "loglevel":
		return roleLevel, 5

	case "message":
		return roleMessage, 0
	case "msg":
		return roleMessage, 1
	case "log": // Docker's and Fluent Bit's raw line
		return roleMessage, 2
	case "body":
		return roleMessage, 3

	case "service.name":
		return roleService, 0
	case "service_name":
		return roleService, 1
	case "service":
		return roleService, 2
	case "app":
		return roleService, 3

	case "trace.id":
		return roleTraceID, 0
	case "trace_id":
		return roleTraceID, 1
	case "traceId":
		return roleTraceID, 2
	case "traceID":
		return roleTraceID, 3

	case "span.id":
		return roleSpanID, 0
	case "span_id":
		return roleSpanID, 1
	case "spanId":
		return roleSpanID, 2
	case "spanID":
		return roleSpanID, 3

	// Fields that say where a line came from rather than what happened:
	// they make the resource (the stream), like Loki's labels, so they
	// must be few and of low cardinality. The set covers ECS (Filebeat,
	// Logstash), OpenTelemetry's names, Fluent Bit's kubernetes filter and
	// the host fields of Vector, pino and bunyan.
	case "service.version", "service.namespace", "service.environment", "service.instance.id",
		"deployment.environment", "deployment.environment.name",
		"host.name", "host.hostname", "host", "hostname",
		"container.name", "container.id", "container.image.name",
		"kubernetes.namespace", "kubernetes.pod.name", "kubernetes.container.name", "kubernetes.node.name",
		"kubernetes.namespace_name", "kubernetes.pod_name", "kubernetes.container_name", "kubernetes.host",
		"k8s.namespace.name", "k8s.pod.name", "k8s.container.name", "k8s.node.name",
		"event.dataset", "data_stream.type", "data_stream.dataset", "data_stream.namespace":
		return roleResource, 0
	}
	return roleAttribute, 0
}

// eligible reports whether a value of type t can fill role r; a field
// that cannot is kept as an attribute.
func eligible(r role, t model.ValueType) bool {
	switch r {
	case roleTime, roleLevel:
		return t == model.ValueString || t == model.ValueInt || t == model.ValueDouble
	case roleMessage, roleService:
		return t != model.ValueArray && t != model.ValueMap
	case roleTraceID, roleSpanID:
		return t == model.ValueString
	}
	return true
}

// docField is one leaf of a document, decoded into the batch's arena.
type docField struct {
	key, val ref
	typ      model.ValueType
	role     role
	rank     int8
}

// docParser decodes JSON documents into a batch. It is reused for every
// document of a request; its slices keep their capacity.
type docParser struct {
	sc     scanner
	key    []byte // the flattened key of the value being read
	fields []docField
	best   [numRoles]int // index into fields of each role's chosen field, or -1
}

// docDefaults are what a document gets when it does not say.
type docDefaults struct {
	service string // the service of a document that names none; "" to discover it
	index   []byte // the Elasticsearch index: resource attribute es.index
}

// esIndexKey is the resource attribute holding the index a bulk item was
// sent to.
const esIndexKey = "es.index"

// errNotObject is the error for a JSON value that is not an object.
var errNotObject = errors.New("not a JSON object")

// parse decodes the JSON object in line into p.fields, appending its
// strings to b's arena. On error the arena is rolled back.
func (p *docParser) parse(b *batch, line []byte) error {
	mark := len(b.arena)
	p.sc.reset(line)
	p.fields = p.fields[:0]
	p.key = p.key[:0]
	if p.sc.peek() != '{' {
		if p.sc.atEnd() {
			return errors.New("empty document")
		}
		p.sc.skipValue()
		if p.sc.err != nil {
			return p.sc.err
		}
		return errNotObject
	}
	p.object(b)
	if p.sc.err == nil && !p.sc.atEnd() {
		p.sc.failChar()
	}
	if p.sc.err != nil {
		b.arena = b.arena[:mark]
		return p.sc.err
	}
	return nil
}

// object reads an object's members; the opening brace is next.
func (p *docParser) object(b *batch) {
	p.sc.beginObject()
	for first := true; p.sc.more('}', &first); {
		n := len(p.key)
		if n > 0 {
			p.key = append(p.key, '.')
		}
		p.key = p.sc.key(p.key)
		p.value(b)
		p.key = p.key[:n]
	}
}

func (p *docParser) value(b *batch) {
	sc := &p.sc
	switch sc.peek() {
	case '{':
		// An empty object has no leaves to flatten into; it is kept as
		// {} so the field is not lost.
		save := sc.pos
		sc.pos++
		if sc.peek() == '}' {
			sc.pos++
			p.leaf(b, model.ValueMap, b.addString("{}"))
			return
		}
		sc.pos = save
		p.object(b)
	case '[':
		off := len(b.arena)
		b.arena = sc.appendCompact(b.arena)
		p.leaf(b, model.ValueArray, ref{off, len(b.arena)})
	case '"':
		off := len(b.arena)
		b.arena = sc.appendString(b.arena)
		p.leaf(b, model.ValueString, ref{off, len(b.arena)})
	case 't':
		if sc.literal("true") {
			p.leaf(b, model.ValueBool, b.addString("true"))
		}
	case 'f':
		if sc.literal("false") {
			p.leaf(b, model.ValueBool, b.addString("false"))
		}
	case 'n':
		sc.literal("null") // null fields are dropped
	default:
		text, isInt := sc.number()
		if sc.err != nil {
			return
		}
		typ := model.ValueDouble
		if isInt && fitsInt64(text) {
			typ = model.ValueInt
		}
		p.leaf(b, typ, b.add(text))
	}
}

func (p *docParser) leaf(b *batch, typ model.ValueType, val ref) {
	if p.sc.err != nil {
		return
	}
	r, rank := fieldRole(p.key)
	if !eligible(r, typ) {
		r, rank = roleAttribute, 0
	}
	p.fields = append(p.fields, docField{key: b.add(p.key), val: val, typ: typ, role: r, rank: rank})
}

// fitsInt64 reports whether an integer literal is within int64.
func fitsInt64(text []byte) bool {
	digits := len(text)
	if text[0] == '-' {
		digits--
	}
	if digits < 19 {
		return true
	}
	_, err := strconv.ParseInt(string(text), 10, 64)
	return err == nil
}

// finish turns the parsed fields into a record of b. When the record
// must be refused it returns the reason and a message, and adds nothing.
func (p *docParser) finish(b *batch, l *limits, def *docDefaults) (r reason, msg string, ok bool) {
	for i := range p.best {
		p.best[i] = -1
	}
	for i := range p.fields {
		f := &p.fields[i]
		if f.role == roleAttribute || f.role == roleResource {
			continue
		}
		if j := p.best[f.role]; j < 0 || f.rank < p.fields[j].rank {
			p.best[f.role] = i
		}
	}
	// A chosen field that turns out unusable (an ID that is not hex) stays
	// an attribute: unchoose it.
	var rc rec
	if i := p.best[roleTraceID]; i >= 0 && !parseHexID(rc.traceID[:], b.bytes(p.fields[i].val)) {
		p.best[roleTraceID] = -1
	}
	if i := p.best[roleSpanID]; i >= 0 && !parseHexID(rc.spanID[:], b.bytes(p.fields[i].val)) {
		p.best[roleSpanID] = -1
	}

	if i := p.best[roleTime]; i >= 0 {
		f := &p.fields[i]
		t, err := parseTime(b.bytes(f.val), f.typ)
		if err != nil {
			return reasonInvalid, fmt.Sprintf("invalid time in field %q: %v", b.bytes(f.key), err), false
		}
		rc.time = t
	}
	if rc.time == 0 {
		rc.time = l.now
	}
	if why, ok := l.checkTime(rc.time); !ok {
		return why, timeMessage(why, rc.time, l), false
	}

	nAttrs := 0
	for i := range p.fields {
		if p.fields[i].role != roleResource && !p.chosen(i) {
			nAttrs++
		}
	}
	if nAttrs > l.maxAttrs {
		return reasonTooManyAttributes, fmt.Sprintf("document has %d attributes; limit %d", nAttrs, l.maxAttrs), false
	}

	if i := p.best[roleLevel]; i >= 0 {
		f := &p.fields[i]
		rc.severityText = f.val
		rc.severity = parseSeverity(b.bytes(f.val), f.typ)
	}
	if i := p.best[roleMessage]; i >= 0 {
		rc.body = p.fields[i].val
	}

	rc.attrs.start = len(b.attrs)
	for i := range p.fields {
		f := &p.fields[i]
		if f.role != roleResource && !p.chosen(i) {
			b.attrs = append(b.attrs, attr{key: f.key, val: f.val, typ: f.typ})
		}
	}
	rc.attrs.end = len(b.attrs)

	var rs res
	rs.attrs.start = len(b.resAttrs)
	for i := range p.fields {
		f := &p.fields[i]
		if f.role == roleResource {
			b.resAttrs = append(b.resAttrs, attr{key: f.key, val: f.val, typ: f.typ})
		}
	}
	if def.index != nil {
		b.resAttrs = append(b.resAttrs, attr{key: b.addString(esIndexKey), val: b.add(def.index)})
	}
	rs.attrs.end = len(b.resAttrs)
	switch i := p.best[roleService]; {
	case i >= 0 && p.fields[i].val.end > p.fields[i].val.off:
		rs.service = p.fields[i].val
	case def.service != "":
		rs.service = b.addString(def.service)
	default:
		rs.service = discoverService(b, b.resAttrs[rs.attrs.start:rs.attrs.end])
	}
	b.sortAttrs(b.resAttrs[rs.attrs.start:rs.attrs.end])
	b.res = append(b.res, rs)
	rc.res = b.dedupLastResource()

	b.recs = append(b.recs, rc)
	return 0, "", true
}

// serviceFallbacks are the resource attributes that name a service when a
// document has no service field, as Loki 3 falls back to a container
// label: the container name in the spellings of OpenTelemetry, Filebeat,
// Fluent Bit and Docker.
var serviceFallbacks = [...]string{
	"k8s.container.name", "kubernetes.container.name", "kubernetes.container_name", "container.name",
}

// discoverService returns the first non-empty serviceFallbacks attribute
// among attrs, else UnknownService.
func discoverService(b *batch, attrs []attr) ref {
	for _, key := range serviceFallbacks {
		for _, a := range attrs {
			if a.val.end > a.val.off && string(b.bytes(a.key)) == key {
				return a.val
			}
		}
	}
	return b.addString(UnknownService)
}

// chosen reports whether field i fills a record field (and so is not an
// attribute).
func (p *docParser) chosen(i int) bool {
	f := &p.fields[i]
	return f.role != roleAttribute && f.role != roleResource && p.best[f.role] == i
}

// timeMessage describes a time outside the accepted window, in Loki's
// words.
func timeMessage(why reason, t int64, l *limits) string {
	if why == reasonTooOld {
		return fmt.Sprintf("timestamp too old: %s, oldest acceptable timestamp is: %s", formatTime(t), formatTime(l.minTime))
	}
	return fmt.Sprintf("timestamp too new: %s, newest acceptable timestamp is: %s", formatTime(t), formatTime(l.maxTime))
}

// parseSeverity maps a level field to a severity: a level name in any of
// its common spellings, or a number as pino and bunyan write them (10
// trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal). Anything else
// is SeverityUnspecified; the record keeps the text as its SeverityText.
func parseSeverity(val []byte, typ model.ValueType) model.Severity {
	if typ == model.ValueInt {
		switch string(val) {
		case "10":
			return model.SeverityTrace
		case "20":
			return model.SeverityDebug
		case "30":
			return model.SeverityInfo
		case "40":
			return model.SeverityWarn
		case "50":
			return model.SeverityError
		case "60":
			return model.SeverityFatal
		}
		return model.SeverityUnspecified
	}
	return parseLevel(val)
}

// parseLevel is model.ParseLevel for bytes. It lower-cases short names
// itself, on the stack, because ParseLevel's strings.ToLower allocates
// for every upper-case INFO or ERROR.
func parseLevel(val []byte) model.Severity {
	var buf [16]byte
	if len(val) > len(buf) {
		return model.SeverityUnspecified // no level name is that long
	}
	for i, c := range val {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	s, _ := model.ParseLevel(string(buf[:len(val)]))
	return s
}

// parseTime reads a time field: an RFC 3339 string (with or without
// fractional seconds; a space for the T and a missing zone, meaning UTC,
// are accepted), a date, or Unix time as a number or a string of digits,
// in seconds, milliseconds, microseconds or nanoseconds told apart by
// magnitude. An empty string or zero means no time. Times before 1970 or
// past 2262 (beyond int64 nanoseconds) are errors.
func parseTime(val []byte, typ model.ValueType) (int64, error) {
	if typ != model.ValueString {
		return parseUnixNumber(val)
	}
	if len(val) == 0 {
		return 0, nil
	}
	if isDigit(val[0]) && (len(val) < 5 || val[4] != '-') {
		return parseUnixNumber(val)
	}
	return parseRFC3339(val)
}

var errTimeRange = errors.New("time before 1970 or after 2262")

// parseUnixNumber reads a non-negative decimal number, possibly with a
// fraction or an exponent, as Unix time whose unit follows from its
// magnitude: below 1e11 seconds (until the year 5138), below 1e14
// milliseconds, below 1e17 microseconds, else nanoseconds.
func parseUnixNumber(val []byte) (int64, error) {
	bad := func() (int64, error) { return 0, fmt.Errorf("not a time: %s", quoteClip(val)) }
	if len(val) == 0 {
		return bad()
	}
	if val[0] == '-' {
		return 0, errTimeRange
	}
	intPart, frac := val, []byte(nil)
	for i, c := range val {
		if c == '.' {
			intPart, frac = val[:i], val[i+1:]
			break
		}
		if c == 'e' || c == 'E' {
			return parseUnixFloat(val)
		}
	}
	if len(intPart) == 0 || len(intPart) > 19 {
		return bad()
	}
	for _, c := range frac {
		if !isDigit(c) {
			if c == 'e' || c == 'E' {
				return parseUnixFloat(val)
			}
			return bad()
		}
	}
	var n uint64
	for _, c := range intPart {
		if !isDigit(c) {
			return bad()
		}
		n = n*10 + uint64(c-'0')
	}
	var scale uint64 // nanoseconds per unit
	var fracDigits int
	switch {
	case n < 1e11:
		scale, fracDigits = 1e9, 9
	case n < 1e14:
		scale, fracDigits = 1e6, 6
	case n < 1e17:
		scale, fracDigits = 1e3, 3
	default:
		scale, fracDigits = 1, 0
	}
	if n > (1<<63-1)/scale {
		return 0, errTimeRange
	}
	ns := n * scale
	var f uint64
	for i := range fracDigits {
		f *= 10
		if i < len(frac) {
			f += uint64(frac[i] - '0')
		}
	}
	ns += f
	if ns > 1<<63-1 {
		return 0, errTimeRange
	}
	return int64(ns), nil
}

// parseUnixFloat handles the rare exponent form (1.7e9) of Unix seconds
// or milliseconds.
func parseUnixFloat(val []byte) (int64, error) {
	f, err := strconv.ParseFloat(string(val), 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("not a time: %s", quoteClip(val))
	}
	switch {
	case f < 1e11:
		f *= 1e9
	case f < 1e14:
		f *= 1e6
	case f < 1e17:
		f *= 1e3
	}
	if f >= 1<<63 {
		return 0, errTimeRange
	}
	return int64(f), nil
}

// parseRFC3339 parses YYYY-MM-DD, or YYYY-MM-DD[T ]hh:mm:ss[.f...][Z|±hh:mm|±hhmm]
// (UTC when the zone is missing), without allocating: time.Parse would
// cost an allocation per record for its string argument.
func parseRFC3339(s []byte) (int64, error) {
	bad := func() (int64, error) { return 0, fmt.Errorf("not an RFC 3339 time: %s", quoteClip(s)) }
	num := func(b []byte) (int, bool) {
		n := 0
		for _, c := range b {
			if !isDigit(c) {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return bad()
	}
	year, ok1 := num(s[0:4])
	month, ok2 := num(s[5:7])
	day, ok3 := num(s[8:10])
	if !ok1 || !ok2 || !ok3 || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) {
		return bad()
	}
	var hour, minute, sec, nsec, offset int
	if rest := s[10:]; len(rest) > 0 {
		if len(rest) < 9 || (rest[0] != 'T' && rest[0] != 't' && rest[0] != ' ') || rest[3] != ':' || rest[6] != ':' {
			return bad()
		}
		var ok4, ok5, ok6 bool
		hour, ok4 = num(rest[1:3])
		minute, ok5 = num(rest[4:6])
		sec, ok6 = num(rest[7:9])
		if !ok4 || !ok5 || !ok6 || hour > 23 || minute > 59 || sec > 59 {
			return bad()
		}
		rest = rest[9:]
		if len(rest) > 0 && (rest[0] == '.' || rest[0] == ',') {
			i := 1
			for i < len(rest) && isDigit(rest[i]) {
				if i <= 9 {
					nsec = nsec*10 + int(rest[i]-'0')
				}
				i++
			}
			if i == 1 {
				return bad()
			}
			for d := i; d <= 9; d++ {
				nsec *= 10
			}
			rest = rest[i:]
		}
		switch {
		case len(rest) == 0:
		case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
		case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':',
			len(rest) == 5 && (rest[0] == '+' || rest[0] == '-'):
			hh, ok7 := num(rest[1:3])
			mm, ok8 := num(rest[len(rest)-2:])
			if !ok7 || !ok8 || hh > 23 || mm > 59 {
				return bad()
			}
			offset = (hh*60 + mm) * 60
			if rest[0] == '-' {
				offset = -offset
			}
		default:
			return bad()
		}
	}
	// Unix nanoseconds fit int64 from 1677 to 2262; a time before 1970 is
	// refused anyway.
	if year < 1970 || year > 2261 {
		return 0, errTimeRange
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC).Unix() - int64(offset)
	if t < 0 {
		return 0, errTimeRange
	}
	return t*1e9 + int64(nsec), nil
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
