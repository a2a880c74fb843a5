package otlp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
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
	enc, encOK := requestEncoding(req.Header.Get("Content-Type"))
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		r.httpError(w, enc, http.StatusMethodNotAllowed, outcomeMethodNotAllowed,
			status.New(codes.Unimplemented, "method "+req.Method+" not allowed: OTLP exports use POST"))
		return
	}
	if !encOK {
		r.httpError(w, enc, http.StatusUnsupportedMediaType, outcomeUnsupportedMedia,
			status.Newf(codes.InvalidArgument, "unsupported content type %q: use %s or %s",
				req.Header.Get("Content-Type"), contentTypeProto, contentTypeJSON))
		return
	}
	gz, ok := gzipped(req.Header.Get("Content-Encoding"))
	if !ok {
		// RFC 9110 asks a 415 for an unsupported coding to say which it takes.
		w.Header().Set("Accept-Encoding", "gzip")
		r.httpError(w, enc, http.StatusUnsupportedMediaType, outcomeUnsupportedMedia,
			status.Newf(codes.InvalidArgument, "unsupported content encoding %q: use gzip or none",
				req.Header.Get("Content-Encoding")))
		return
	}

	buf := r.getBuffer()
	defer r.putBuffer(buf)
	if code, msg := r.readBody(w, req, gz, buf); code != 0 {
		o, c := outcomeBadRequest, codes.InvalidArgument
		if code == http.StatusRequestEntityTooLarge {
			o, c = outcomeTooLarge, codes.ResourceExhausted
		}
		r.httpError(w, enc, code, o, status.New(c, msg))
		return
	}
	r.metrics[protoHTTP].requestBytes.Add(float64(buf.Len()))

	ereq := ptraceotlp.NewExportRequest()
	if err := unmarshalRequest(ereq, enc, buf.Bytes()); err != nil {
		r.httpError(w, enc, http.StatusBadRequest, outcomeBadRequest, status.New(codes.InvalidArgument, err.Error()))
		return
	}

	rej, err := r.export(req.Context(), protoHTTP, ereq.Traces())
	if err != nil {
		switch o := r.writeFailure(req.Context(), protoHTTP, err); o {
		case outcomeOverloaded:
			w.Header().Set("Retry-After", strconv.FormatInt(r.retryAfterSeconds(), 10))
			r.httpError(w, enc, http.StatusTooManyRequests, o, r.overloadedStatus())
		default:
			// The store's error stays in the log: it may name files and
			// means nothing to the sender, who only needs to retry.
			r.httpError(w, enc, http.StatusServiceUnavailable, o,
				status.New(codes.Unavailable, "spans could not be stored; retry later"))
		}
		return
	}

	resp := ptraceotlp.NewExportResponse()
	o := outcomeSuccess
	if n := rej.Count(); n > 0 {
		o = outcomePartialSuccess
		ps := resp.PartialSuccess()
		ps.SetRejectedSpans(int64(n))
		ps.SetErrorMessage(rej.Message())
	}
	var body []byte
	if enc == encProto {
		body, err = resp.MarshalProto()
	} else {
		body, err = resp.MarshalJSON()
	}
	if err != nil {
		// The spans are stored; failing to describe that must not make the
		// client send them again, so answer 200 without a body.
		r.logger.Error("otlp: encode export response", "err", err)
		body = nil
	}
	r.metrics[protoHTTP].requests[o].Inc()
	w.Header().Set("Content-Type", enc.contentType())
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// overloadedStatus is the answer to a write refused with
// store.ErrOverloaded: RESOURCE_EXHAUSTED with the RetryInfo detail that
// OTLP clients need before they will retry it.
func (r *Receiver) overloadedStatus() *status.Status {
	st := status.New(codes.ResourceExhausted, "store overloaded; retry later")
	if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(r.retryAfter)}); err == nil {
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
func (r *Receiver) httpError(w http.ResponseWriter, enc encoding, code int, o outcome, st *status.Status) {
	r.metrics[protoHTTP].requests[o].Inc()
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
		r.logger.Error("otlp: encode error status", "err", err)
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

// readBody reads the request body into buf, gunzipping it when gz, and
// holds it to the size limit both on the wire and decompressed, so a small
// gzip bomb cannot expand past the limit. It returns a non-zero HTTP
// status and a message when the body cannot be used.
func (r *Receiver) readBody(w http.ResponseWriter, req *http.Request, gz bool, buf *bytes.Buffer) (code int, msg string) {
	limit := r.MaxRequestBytes()
	if req.ContentLength > limit {
		return http.StatusRequestEntityTooLarge,
			fmt.Sprintf("request body of %d bytes exceeds the limit of %d bytes", req.ContentLength, limit)
	}
	// MaxBytesReader, beyond limiting, tells the server to close the
	// connection rather than drain an oversized body.
	body := &wireReader{r: http.MaxBytesReader(w, req.Body, limit)}
	tooLarge := func() (int, string) {
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds the limit of %d bytes", limit)
	}

	if !gz {
		if req.ContentLength > 0 {
			buf.Grow(int(req.ContentLength))
		}
		if _, err := buf.ReadFrom(body); err != nil {
			if body.tooLarge {
				return tooLarge()
			}
			return http.StatusBadRequest, "could not read request body: " + err.Error()
		}
		return 0, ""
	}

	zr, err := r.gzipReader(body)
	if err == nil {
		// One byte past the limit is enough to know it was exceeded.
		_, err = buf.ReadFrom(io.LimitReader(zr, limit+1))
		r.gzipReaders.Put(zr)
	}
	switch {
	case body.tooLarge:
		return tooLarge()
	case err != nil:
		return http.StatusBadRequest, "could not decompress gzip request body: " + err.Error()
	case int64(buf.Len()) > limit:
		return http.StatusRequestEntityTooLarge,
			fmt.Sprintf("decompressed request body exceeds the limit of %d bytes", limit)
	}
	return 0, ""
}

// wireReader notes when the body limit was hit, because the gzip reader
// may report the truncated stream as corrupt rather than pass the
// MaxBytesError through, and that must still be a 413, not a 400.
type wireReader struct {
	r        io.Reader
	tooLarge bool
}

func (w *wireReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			w.tooLarge = true
		}
	}
	return n, err
}

func (r *Receiver) gzipReader(src io.Reader) (*gzip.Reader, error) {
	if zr, ok := r.gzipReaders.Get().(*gzip.Reader); ok {
		if err := zr.Reset(src); err != nil {
			r.gzipReaders.Put(zr)
			return nil, err
		}
		return zr, nil
	}
	return gzip.NewReader(src)
}

// maxPooledBuffer keeps the odd huge request from pinning its buffer in
// the pool for every later small one.
const maxPooledBuffer = 4 << 20

func (r *Receiver) getBuffer() *bytes.Buffer {
	if b, ok := r.buffers.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

func (r *Receiver) putBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBuffer {
		return
	}
	b.Reset()
	r.buffers.Put(b)
}

// unmarshalRequest decodes an export request, saying in the error what
// could not be parsed.
func unmarshalRequest(req ptraceotlp.ExportRequest, enc encoding, data []byte) error {
	if enc == encProto {
		if err := req.UnmarshalProto(data); err != nil {
			return fmt.Errorf("could not parse protobuf ExportTraceServiceRequest: %w", err)
		}
		return nil
	}
	if len(data) == 0 {
		// Unlike protobuf, where it is an empty export, an empty body is
		// not JSON; the parser would call it a NUL byte.
		return errors.New("could not parse JSON ExportTraceServiceRequest: empty body")
	}
	if jsonTooDeep(data, maxJSONDepth) {
		return fmt.Errorf("could not parse JSON ExportTraceServiceRequest: nested deeper than %d levels", maxJSONDepth)
	}
	if err := req.UnmarshalJSON(data); err != nil {
		return fmt.Errorf("could not parse JSON ExportTraceServiceRequest: %w", err)
	}
	return nil
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
