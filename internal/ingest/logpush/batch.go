package logpush

import (
	"bytes"
	"slices"

	"github.com/argus-obs/argus/internal/model"
)

// A batch collects the records of one request while it is decoded, then
// turns them into model records in one step.
//
// Decoders do not make a Go string per field: they append the bytes of
// every string to arena and keep its position (a ref). materialize then
// converts the whole arena with one allocation and slices every string out
// of it, so a request costs a handful of allocations however many records
// it holds. The records, attributes and resources it returns live in
// arrays the batch reuses, which the store.LogWriter contract allows: the
// writer keeps nothing of the records after it returns.
type batch struct {
	observed int64 // when the request arrived: every record's ObservedUnixNano
	arena    []byte
	recs     []rec
	attrs    []attr // record attributes; rec.attrs indexes them
	res      []res
	resAttrs []attr // resource attributes; res.attrs indexes them

	// rejected counts refused items, by reason: records, and the bulk
	// actions Argus does not perform.
	rejected [numReasons]int

	out      []model.LogRecord
	outAttrs []model.Attribute
	outRes   []model.Resource

	// Per-protocol scratch, kept here so it is pooled with the batch.
	doc   docParser  // documents of bulk requests and JSON lines
	items []bulkItem // the items of a bulk request
}

// ref locates a string in the batch's arena.
type ref struct{ off, end int }

// span is a range of indices into one of the batch's slices.
type span struct{ start, end int }

func (s span) len() int { return s.end - s.start }

type attr struct {
	key, val ref
	typ      model.ValueType
}

type rec struct {
	time         int64
	severity     model.Severity
	severityText ref
	body         ref
	attrs        span
	traceID      model.TraceID
	spanID       model.SpanID
	res          int // index into batch.res
	dropped      bool
}

type res struct {
	service ref
	attrs   span
}

func (b *batch) add(p []byte) ref {
	off := len(b.arena)
	b.arena = append(b.arena, p...)
	return ref{off, len(b.arena)}
}

func (b *batch) addString(s string) ref {
	off := len(b.arena)
	b.arena = append(b.arena, s...)
	return ref{off, len(b.arena)}
}

func (b *batch) bytes(r ref) []byte { return b.arena[r.off:r.end] }

// reject counts one refused item that never became a record.
func (b *batch) reject(r reason) { b.rejected[r]++ }

// drop refuses a record that was already added.
func (b *batch) drop(i int, r reason) {
	if !b.recs[i].dropped {
		b.recs[i].dropped = true
		b.rejected[r]++
	}
}

// sameResource reports whether resources i and j have the same service and
// attributes, so a decoder can let records share one.
func (b *batch) sameResource(i, j int) bool {
	ri, rj := &b.res[i], &b.res[j]
	if !bytes.Equal(b.bytes(ri.service), b.bytes(rj.service)) || ri.attrs.len() != rj.attrs.len() {
		return false
	}
	for k := range ri.attrs.len() {
		a, c := &b.resAttrs[ri.attrs.start+k], &b.resAttrs[rj.attrs.start+k]
		if a.typ != c.typ || !bytes.Equal(b.bytes(a.key), b.bytes(c.key)) || !bytes.Equal(b.bytes(a.val), b.bytes(c.val)) {
			return false
		}
	}
	return true
}

// dedupLastResource drops the batch's last resource when it equals the
// one before it, so consecutive records of one source share a resource, and
// returns the index records should use.
func (b *batch) dedupLastResource() int {
	last := len(b.res) - 1
	if last > 0 && b.sameResource(last-1, last) {
		r := b.res[last]
		b.resAttrs = b.resAttrs[:r.attrs.start]
		b.res = b.res[:last]
		return last - 1
	}
	return last
}

// sortAttrs sorts attrs by key (stable, so duplicates keep their order).
// Resource attributes are sorted so that two documents naming the same
// source in a different field order make the same resource, and so the
// same stream.
func (b *batch) sortAttrs(attrs []attr) {
	slices.SortStableFunc(attrs, func(x, y attr) int { return bytes.Compare(b.bytes(x.key), b.bytes(y.key)) })
}

// materialize returns the batch's records that were not dropped, as model
// records. Their strings share one allocation; the slices are the batch's
// and valid until reset. Records of one resource share its Attributes
// slice, whose capacity is its length, so appending to one record's copy
// never changes another's. Each record's correlation ID is lifted from its
// attributes.
func (b *batch) materialize() []model.LogRecord {
	s := string(b.arena)
	str := func(r ref) string { return s[r.off:r.end] }

	// Sized up front: sub-slices of outAttrs must not move.
	b.outAttrs = slices.Grow(b.outAttrs[:0], len(b.attrs)+len(b.resAttrs))
	convert := func(as []attr) []model.Attribute {
		start := len(b.outAttrs)
		for _, a := range as {
			b.outAttrs = append(b.outAttrs, model.Attribute{Key: str(a.key), Type: a.typ, Value: str(a.val)})
		}
		return b.outAttrs[start:len(b.outAttrs):len(b.outAttrs)]
	}

	b.outRes = slices.Grow(b.outRes[:0], len(b.res))
	for _, r := range b.res {
		mr := model.Resource{ServiceName: str(r.service)}
		if r.attrs.len() > 0 {
			mr.Attributes = convert(b.resAttrs[r.attrs.start:r.attrs.end])
		}
		b.outRes = append(b.outRes, mr)
	}

	b.out = slices.Grow(b.out[:0], len(b.recs))
	for i := range b.recs {
		r := &b.recs[i]
		if r.dropped {
			continue
		}
		lr := model.LogRecord{
			TimeUnixNano:     r.time,
			ObservedUnixNano: b.observed,
			Severity:         r.severity,
			SeverityText:     str(r.severityText),
			Body:             str(r.body),
			TraceID:          r.traceID,
			SpanID:           r.spanID,
			Resource:         b.outRes[r.res],
		}
		if r.attrs.len() > 0 {
			lr.CorrelationID, lr.Attributes = model.LiftCorrelationID(convert(b.attrs[r.attrs.start:r.attrs.end]))
		}
		b.out = append(b.out, lr)
	}
	return b.out
}

// Pooled batches bigger than these are dropped rather than kept, so one
// huge request does not pin its memory for every later small one.
const (
	maxPooledArena = 4 << 20
	maxPooledRecs  = 64 << 10
)

func (h *Handlers) getBatch() *batch {
	if b, ok := h.batches.Get().(*batch); ok {
		return b
	}
	return new(batch)
}

// putBatch resets b and returns it to the pool. The model records are
// cleared so the pool does not keep the request's strings alive.
func (h *Handlers) putBatch(b *batch) {
	if cap(b.arena) > maxPooledArena || cap(b.recs) > maxPooledRecs || cap(b.out) > maxPooledRecs ||
		cap(b.outAttrs) > 8*maxPooledRecs || cap(b.attrs) > 8*maxPooledRecs {
		return
	}
	clear(b.out)
	clear(b.outAttrs)
	clear(b.outRes)
	clear(b.items)
	*b = batch{
		arena:    b.arena[:0],
		recs:     b.recs[:0],
		attrs:    b.attrs[:0],
		res:      b.res[:0],
		resAttrs: b.resAttrs[:0],
		out:      b.out[:0],
		outAttrs: b.outAttrs[:0],
		outRes:   b.outRes[:0],
		doc:      b.doc,
		items:    b.items[:0],
	}
	h.batches.Put(b)
}

// parseHexID decodes a hex trace or span ID into dst, left-padding short
// IDs with zeros as model.ParseTraceID does (64-bit trace IDs from older
// tracers). It works on bytes so that looking at every record's ID fields
// allocates nothing. An all-zero ID is not an ID: ok is false.
func parseHexID(dst []byte, s []byte) (ok bool) {
	if len(s) == 0 || len(s) > 2*len(dst) {
		return false
	}
	clear(dst)
	// Walk from the last digit, filling dst from its last byte.
	nonZero := false
	for i := 0; i < len(s); i++ {
		c := s[len(s)-1-i]
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		default:
			clear(dst)
			return false
		}
		nonZero = nonZero || v != 0
		if i%2 == 0 {
			dst[len(dst)-1-i/2] = v
		} else {
			dst[len(dst)-1-i/2] |= v << 4
		}
	}
	return nonZero
}
