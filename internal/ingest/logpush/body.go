package logpush

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"

	"github.com/klauspost/compress/snappy"
)

// coding is a request's Content-Encoding.
type coding uint8

const (
	codingIdentity coding = iota
	codingGzip
	// codingSnappy is the snappy block format, which Loki clients use for
	// protobuf bodies and Vector for its "snappy" compression; not the
	// framed stream format.
	codingSnappy
)

// acceptEncoding is the Accept-Encoding header of a 415 for an unknown
// coding, as RFC 9110 asks.
const acceptEncoding = "gzip, snappy"

// contentCoding maps a Content-Encoding header to a coding; ok is false
// for codings the handlers do not decode.
func contentCoding(header string) (c coding, ok bool) {
	switch ce := strings.TrimSpace(header); {
	case ce == "" || strings.EqualFold(ce, "identity"):
		return codingIdentity, true
	case strings.EqualFold(ce, "gzip") || strings.EqualFold(ce, "x-gzip"):
		return codingGzip, true
	case strings.EqualFold(ce, "snappy"):
		return codingSnappy, true
	}
	return codingIdentity, false
}

// mediaType returns a Content-Type header's media type in lower case,
// without parameters such as charset.
func mediaType(header string) string {
	mt, _, _ := strings.Cut(header, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// reqBody is a request body read and decoded into pooled buffers. data is
// valid until release.
type reqBody struct {
	data []byte
	bufs [2]*bytes.Buffer
}

func (h *Handlers) release(b *reqBody) {
	for i, buf := range b.bufs {
		if buf != nil {
			h.bodies.PutBuffer(buf)
			b.bufs[i] = nil
		}
	}
	b.data = nil
}

// readBody reads the request body, decoding the coding c, and holds it to
// the size limit both on the wire and after decompression, so that a small
// compressed bomb cannot expand past the limit. It returns a non-zero HTTP
// status and a message when the body cannot be used; the caller releases
// b either way.
func (h *Handlers) readBody(w http.ResponseWriter, req *http.Request, c coding, b *reqBody) (code int, msg string) {
	buf := h.bodies.GetBuffer()
	b.bufs[0] = buf
	if code, msg = h.bodies.ReadBody(w, req, h.maxBytes(), c == codingGzip, buf); code != 0 {
		return code, msg
	}
	b.data = buf.Bytes()
	if c == codingSnappy {
		return h.unsnappy(b)
	}
	return 0, ""
}

// unsnappy replaces b.data by its snappy block decoding, checking the
// decoded length the block declares against the limit before decoding.
func (h *Handlers) unsnappy(b *reqBody) (code int, msg string) {
	n, err := snappy.DecodedLen(b.data)
	if err != nil {
		return http.StatusBadRequest, "could not decompress snappy request body: " + err.Error()
	}
	if limit := h.maxBytes(); int64(n) > limit {
		return http.StatusRequestEntityTooLarge,
			fmt.Sprintf("decompressed request body of %d bytes exceeds the limit of %d bytes", n, limit)
	}
	out := h.bodies.GetBuffer()
	b.bufs[1] = out
	// The decoded bytes live in out's spare capacity: Decode writes into a
	// destination long enough to hold them instead of allocating.
	out.Grow(n)
	data, err := snappy.Decode(out.AvailableBuffer()[:n], b.data)
	if err != nil {
		return http.StatusBadRequest, "could not decompress snappy request body: " + err.Error()
	}
	b.data = data
	return 0, ""
}

// maxErrorMessage caps a message that quotes the request, so a response
// never grows with a hostile body.
const maxErrorMessage = 512

// quoteClip returns b quoted as a Go string, clipped to maxErrorMessage
// bytes, for messages that show what was wrong.
func quoteClip(b []byte) string {
	if len(b) > maxErrorMessage {
		return fmt.Sprintf("%q…", b[:maxErrorMessage])
	}
	return fmt.Sprintf("%q", b)
}
