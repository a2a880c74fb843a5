package sdk

import (
	"context"
	"math/rand/v2"

	"go.opentelemetry.io/otel/baggage"
)

// CorrelationHeader is the HTTP header that carries a request's correlation
// ID between services and back to the caller.
const CorrelationHeader = "X-Correlation-ID"

// correlationHeaderKey is CorrelationHeader in the canonical form net/http
// stores header keys in; indexing http.Header with it skips
// canonicalization on the hot path.
const correlationHeaderKey = "X-Correlation-Id"

// CorrelationKey is the name of the correlation ID wherever the SDK records
// it: the W3C baggage member that carries it across services, the span
// attribute, the log attribute (stdout and OTLP), and the key Argus indexes
// log records by.
const CorrelationKey = "correlation_id"

// MaxCorrelationIDLen is the longest correlation ID the SDK accepts from a
// caller, in bytes. Longer ones are replaced.
const MaxCorrelationIDLen = 128

// Reasons an incoming correlation ID is rejected; the reason label of
// argus_sdk_correlation_ids_rejected_total.
const (
	reasonTooLong = "too_long"
	reasonInvalid = "invalid_char"
)

// checkCorrelationID reports why id is not acceptable, or "" if it is. An
// acceptable ID is 1 to MaxCorrelationIDLen bytes of printable ASCII
// without spaces: it is echoed into response headers, written into logs and
// spans, and sent on to other services, so control characters, line breaks
// and non-ASCII bytes never pass.
func checkCorrelationID(id string) string {
	if len(id) > MaxCorrelationIDLen {
		return reasonTooLong
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x21 || c > 0x7e {
			return reasonInvalid
		}
	}
	return ""
}

// ValidCorrelationID reports whether id would be accepted from a caller:
// non-empty, at most MaxCorrelationIDLen bytes, printable ASCII without
// spaces.
func ValidCorrelationID(id string) bool {
	return id != "" && checkCorrelationID(id) == ""
}

// NewCorrelationID returns a fresh random correlation ID, formatted as a
// version 4 UUID ("f47ac10b-58cc-4372-a567-0e02b2c3d479"). Middleware calls
// it for requests that arrive without a usable one.
func NewCorrelationID() string {
	const hexdigits = "0123456789abcdef"
	hi, lo := rand.Uint64(), rand.Uint64()
	hi = hi&^0xf000 | 0x4000     // version 4
	lo = lo&^(0xc<<60) | 0x8<<60 // variant 10
	var b [36]byte
	j := 0
	for i := range 36 {
		switch i {
		case 8, 13, 18, 23:
			b[i] = '-'
			continue
		}
		var nib uint64
		if j < 16 {
			nib = hi >> (60 - 4*j) & 0xf
		} else {
			nib = lo >> (60 - 4*(j-16)) & 0xf
		}
		b[i] = hexdigits[nib]
		j++
	}
	return string(b[:])
}

// ctxKey is the context key of the *requestInfo the SDK keeps per request.
type ctxKey struct{}

// requestInfo is what the SDK knows about the request a context belongs
// to. Middleware embeds it in its per-request state; ContextWithCorrelationID
// makes a bare one.
type requestInfo struct {
	cid string
	srv *serverRequest // the Middleware request; nil outside one
}

func infoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(ctxKey{}).(*requestInfo)
	return info
}

// CorrelationID returns the correlation ID of the request ctx belongs to,
// or "" if there is none. Inside a handler wrapped by Middleware there
// always is one; elsewhere it is the one set by ContextWithCorrelationID, or
// the correlation_id baggage member (if valid) that an upstream service
// propagated.
func CorrelationID(ctx context.Context) string {
	if info := infoFrom(ctx); info != nil {
		return info.cid
	}
	if id := baggage.FromContext(ctx).Member(CorrelationKey).Value(); ValidCorrelationID(id) {
		return id
	}
	return ""
}

// ContextWithCorrelationID returns a copy of ctx that carries id as its
// correlation ID, both for CorrelationID and in the context's baggage, so
// work started outside an HTTP request (a queue consumer, a batch job)
// logs, traces and calls other services under it. It does not validate id;
// see ValidCorrelationID.
func ContextWithCorrelationID(ctx context.Context, id string) context.Context {
	ctx = withCorrelationBaggage(ctx, baggage.FromContext(ctx), id)
	return context.WithValue(ctx, ctxKey{}, &requestInfo{cid: id})
}

// withCorrelationBaggage puts id into the baggage of ctx unless bag
// (ctx's baggage) already has it.
func withCorrelationBaggage(ctx context.Context, bag baggage.Baggage, id string) context.Context {
	if bag.Member(CorrelationKey).Value() == id {
		return ctx
	}
	m, err := baggage.NewMemberRaw(CorrelationKey, id)
	if err != nil {
		return ctx
	}
	bag, err = bag.SetMember(m)
	if err != nil {
		return ctx
	}
	return baggage.ContextWithBaggage(ctx, bag)
}
