package otlp

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/argus-obs/argus/internal/ingest/ingestmetrics"
)

// encoding is the message encoding of an OTLP/HTTP request, and so of its
// response.
type encoding uint8

const (
	encJSON encoding = iota // also the answer to requests of unknown type
	encProto
)

const (
	contentTypeProto = "application/x-protobuf"
	contentTypeJSON  = "application/json"
)

func (e encoding) contentType() string {
	if e == encProto {
		return contentTypeProto
	}
	return contentTypeJSON
}

// requestEncoding maps a Content-Type header to an encoding, ignoring
// parameters such as charset; ok is false for anything OTLP does not
// define.
func requestEncoding(contentType string) (enc encoding, ok bool) {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(mt)
	switch {
	case strings.EqualFold(mt, contentTypeProto):
		return encProto, true
	case strings.EqualFold(mt, contentTypeJSON):
		return encJSON, true
	}
	return encJSON, false
}

// gzipped reports whether a Content-Encoding header asks for gzip; ok is
// false for codings the receiver does not decode.
func gzipped(contentEncoding string) (gz, ok bool) {
	switch ce := strings.TrimSpace(contentEncoding); {
	case ce == "" || strings.EqualFold(ce, "identity"):
		return false, true
	case strings.EqualFold(ce, "gzip"):
		return true, true
	}
	return false, false
}

// ServeHTTP answers an OTLP/HTTP trace export (POST /v1/traces) as the
// OTLP specification asks: 200 with an ExportTraceServiceResponse in the
// request's encoding, carrying partial_success when some spans were
// rejected; otherwise a 4xx for requests that will never succeed or a
// 429/503 for ones worth retrying, each with a google.rpc.Status body.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	serveHTTP(&r.transport, r, w, req)
}

// unmarshaler is a pdata message that decodes from protobuf and JSON, such
// as ptraceotlp.ExportRequest and plogotlp.ExportRequest.
type unmarshaler interface {
	UnmarshalProto(data []byte) error
	UnmarshalJSON(data []byte) error
}

// marshaler is a pdata message that encodes to protobuf and JSON, such as
// ptraceotlp.ExportResponse.
type marshaler interface {
	MarshalProto() ([]byte, error)
	MarshalJSON() ([]byte, error)
}

// signal is what a receiver plugs into the shared HTTP and gRPC code: how
// to make, measure, store and answer one kind of export request. The
// methods are called concurrently.
type signal[Req unmarshaler, Resp marshaler] interface {
	newRequest() Req
	// requestSize is req's protobuf size, which gRPC holds to the limit.
	requestSize(req Req) int
	// export converts req, counts it and writes the valid items. rejected
	// and message describe the refused ones for a partial success; err is
	// the writer's.
	export(ctx context.Context, p protocol, req Req) (rejected int, message string, err error)
	// response is the answer to a stored request, with partial_success
	// set when rejected > 0.
	response(rejected int, message string) Resp
}

// serveHTTP answers an OTLP/HTTP export of signal s; see
// Receiver.ServeHTTP for what it answers.
func serveHTTP[Req unmarshaler, Resp marshaler](t *transport, s signal[Req, Resp], w http.ResponseWriter, req *http.Request) {
	enc, encOK := requestEncoding(req.Header.Get("Content-Type"))
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		t.httpError(w, enc, http.StatusMethodNotAllowed, ingestmetrics.OutcomeMethodNotAllowed,
			status.New(codes.Unimplemented, "method "+req.Method+" not allowed: OTLP exports use POST"))
		return
	}
	if !encOK {
		t.httpError(w, enc, http.StatusUnsupportedMediaType, ingestmetrics.OutcomeUnsupportedMedia,
			status.Newf(codes.InvalidArgument, "unsupported content type %q: use %s or %s",
				req.Header.Get("Content-Type"), contentTypeProto, contentTypeJSON))
		return
	}
	gz, ok := gzipped(req.Header.Get("Content-Encoding"))
	if !ok {
		// RFC 9110 asks a 415 for an unsupported coding to say which it takes.
		w.Header().Set("Accept-Encoding", "gzip")
		t.httpError(w, enc, http.StatusUnsupportedMediaType, ingestmetrics.OutcomeUnsupportedMedia,
			status.Newf(codes.InvalidArgument, "unsupported content encoding %q: use gzip or none",
				req.Header.Get("Content-Encoding")))
		return
	}

	buf := t.bodies.GetBuffer()
	defer t.bodies.PutBuffer(buf)
	if code, msg := t.bodies.ReadBody(w, req, t.maxBytes.Load(), gz, buf); code != 0 {
		o, c := ingestmetrics.OutcomeBadRequest, codes.InvalidArgument
		if code == http.StatusRequestEntityTooLarge {
			o, c = ingestmetrics.OutcomeTooLarge, codes.ResourceExhausted
		}
		t.httpError(w, enc, code, o, status.New(c, msg))
		return
	}
	if b := t.metrics[protoHTTP].requestBytes; b != nil {
		b.Add(float64(buf.Len()))
	}

	ereq := s.newRequest()
	if err := unmarshalRequest(ereq, enc, buf.Bytes()); err != nil {
		t.httpError(w, enc, http.StatusBadRequest, ingestmetrics.OutcomeBadRequest, status.New(codes.InvalidArgument, err.Error()))
		return
	}

	rejected, message, err := s.export(req.Context(), protoHTTP, ereq)
	if err != nil {
		switch o := t.writeFailure(req.Context(), protoHTTP, err); o {
		case ingestmetrics.OutcomeOverloaded:
			w.Header().Set("Retry-After", strconv.FormatInt(t.retryAfterSeconds(), 10))
			t.httpError(w, enc, http.StatusTooManyRequests, o, t.overloadedStatus())
		default:
			// The store's error stays in the log: it may name files and
			// means nothing to the sender, who only needs to retry.
			t.httpError(w, enc, http.StatusServiceUnavailable, o,
				status.New(codes.Unavailable, t.noun+" could not be stored; retry later"))
		}
		return
	}

	resp := s.response(rejected, message)
	o := ingestmetrics.OutcomeSuccess
	if rejected > 0 {
		o = ingestmetrics.OutcomePartialSuccess
	}
	var body []byte
	if enc == encProto {
		body, err = resp.MarshalProto()
	} else {
		body, err = resp.MarshalJSON()
	}
	if err != nil {
		// The items are stored; failing to describe that must not make the
		// client send them again, so answer 200 without a body.
		t.logger.Error("otlp: encode export response", "err", err)
		body = nil
	}
	t.metrics[protoHTTP].requests[o].Inc()
	w.Header().Set("Content-Type", enc.contentType())
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// overloadedStatus is the answer to a write refused with
// store.ErrOverloaded: RESOURCE_EXHAUSTED with the RetryInfo detail that
// OTLP clients need before they will retry it.
func (t *transport) overloadedStatus() *status.Status {
	st := status.New(codes.ResourceExhausted, "store overloaded; retry later")
	if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(t.retryAfter)}); err == nil {
		st = d
	}
	return st
}

// maxErrorMessage caps error messages, which may quote the request (the
// JSON parser shows the bytes around an error), so a response never
// grows with a hostile body.
const maxErrorMessage = 1024

// httpError answers with a google.rpc.Status body in the request's
// encoding and counts the request under o.
func (t *transport) httpError(w http.ResponseWriter, enc encoding, code int, o ingestmetrics.Outcome, st *status.Status) {
	t.metrics[protoHTTP].requests[o].Inc()
	p := st.Proto()
	p.Message = cleanMessage(p.Message)
	var body []byte
	var err error
	if enc == encProto {
		body, err = proto.Marshal(p)
	} else {
		body, err = protojson.Marshal(p)
	}
	if err != nil {
		t.logger.Error("otlp: encode error status", "err", err)
		body = nil
	}
	w.Header().Set("Content-Type", enc.contentType())
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// cleanMessage makes msg safe for a protobuf string field, which must be
// valid UTF-8, and short.
func cleanMessage(msg string) string {
	msg = strings.ToValidUTF8(msg, "\uFFFD")
	if len(msg) > maxErrorMessage {
		msg = strings.ToValidUTF8(msg[:maxErrorMessage], "") + "…"
	}
	return msg
}

// unmarshalRequest decodes an export request, saying in the error what
// could not be parsed.
func unmarshalRequest(req unmarshaler, enc encoding, data []byte) error {
	if enc == encProto {
		if err := req.UnmarshalProto(data); err != nil {
			return fmt.Errorf("could not parse protobuf %s: %w", requestName(req), err)
		}
		return nil
	}
	if len(data) == 0 {
		// Unlike protobuf, where it is an empty export, an empty body is
		// not JSON; the parser would call it a NUL byte.
		return fmt.Errorf("could not parse JSON %s: empty body", requestName(req))
	}
	if jsonTooDeep(data, maxJSONDepth) {
		return fmt.Errorf("could not parse JSON %s: nested deeper than %d levels", requestName(req), maxJSONDepth)
	}
	if err := req.UnmarshalJSON(data); err != nil {
		return fmt.Errorf("could not parse JSON %s: %w", requestName(req), err)
	}
	return nil
}

// requestName is the protobuf message name of req, which parse errors
// give so a sender knows what was expected.
func requestName(req unmarshaler) string {
	if _, ok := req.(plogotlp.ExportRequest); ok {
		return "ExportLogsServiceRequest"
	}
	return "ExportTraceServiceRequest"
}

// maxJSONDepth bounds the nesting of a JSON request. pdata's JSON decoder
// recurses once per level with no limit of its own: a 16 MiB body of
// nested array values grows one goroutine's stack to 128 MiB, and at eight
// times that Go's stack limit kills the process, which no recover can
// catch. A real request needs about ten levels plus three per level of
// nested attribute value; 256 is the protobuf decoder's limit of 100
// nested messages with room to spare.
const maxJSONDepth = 256

// jsonTooDeep reports whether data nests objects and arrays deeper than
// limit. It only counts brackets outside strings; whether the JSON is
// otherwise valid is the decoder's business.
func jsonTooDeep(data []byte, limit int) bool {
	depth := 0
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > limit {
				return true
			}
		case '}', ']':
			depth--
		}
	}
	return false
}
