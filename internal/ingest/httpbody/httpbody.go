// Package httpbody reads HTTP request bodies that are capped in size and
// may be gzip-compressed, into pooled buffers, for the ingest handlers.
//
// A body is held to its limit both as sent and after decompression, so a
// small gzip bomb cannot expand past it, and a body over the limit is
// always a 413, even when the cap cuts a gzip stream short and the
// decompressor calls it corrupt. Once the pools are warm, reading a body
// allocates no buffer and no gzip reader.
//
//	var bodies httpbody.Pool // one per handler, shared by its requests
//
//	buf := bodies.GetBuffer()
//	defer bodies.PutBuffer(buf)
//	if code, msg := bodies.ReadBody(w, req, limit, gz, buf); code != 0 {
//		http.Error(w, msg, code)
//		return
//	}
//	// buf.Bytes() is the decoded body.
//
// What this package is not: it does not choose a coding from the request's
// headers (each protocol accepts its own set) nor write the error answer
// (each protocol has its own format).
package httpbody

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// Pool recycles the buffers and gzip readers of reading request bodies,
// which would otherwise be allocated afresh for every request. The zero
// value is ready to use. A Pool is safe for concurrent use and must not
// be copied after first use.
type Pool struct {
	buffers     sync.Pool // of *bytes.Buffer
	gzipReaders sync.Pool // of *gzip.Reader
}

// maxPooledBuffer keeps the odd huge request from pinning its buffer in
// the pool for every later small one.
const maxPooledBuffer = 4 << 20

// GetBuffer returns an empty buffer, from the pool when it has one. The
// caller owns it until it hands it back with PutBuffer.
func (p *Pool) GetBuffer() *bytes.Buffer {
	if b, ok := p.buffers.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

// PutBuffer empties b and returns it to the pool, unless it has grown past
// a size worth keeping. The caller must not use b, or any slice of its
// bytes, afterwards.
func (p *Pool) PutBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBuffer {
		return
	}
	b.Reset()
	p.buffers.Put(b)
}

// ReadBody reads req's body into buf, gunzipping it when gz is set, and
// holds it to limit bytes both on the wire and decompressed. It returns
// 0 and "" when buf holds the whole body; otherwise an HTTP status, 413
// for a body over the limit or 400 for one that could not be read or
// decompressed, and a message for the client. buf may then hold part of
// the body.
//
// w is the response the body belongs to: http.MaxBytesReader uses it to
// have the server close the connection rather than drain an oversized
// body.
func (p *Pool) ReadBody(w http.ResponseWriter, req *http.Request, limit int64, gz bool, buf *bytes.Buffer) (code int, msg string) {
	if req.ContentLength > limit {
		return http.StatusRequestEntityTooLarge,
			fmt.Sprintf("request body of %d bytes exceeds the limit of %d bytes", req.ContentLength, limit)
	}
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

	zr, err := p.gzipReader(body)
	if err == nil {
		// One byte past the limit is enough to know it was exceeded.
		_, err = buf.ReadFrom(io.LimitReader(zr, limit+1))
		p.gzipReaders.Put(zr)
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

// gzipReader returns a gzip reader over src, from the pool when it has
// one; the caller puts it back in p.gzipReaders when done.
func (p *Pool) gzipReader(src io.Reader) (*gzip.Reader, error) {
	if zr, ok := p.gzipReaders.Get().(*gzip.Reader); ok {
		if err := zr.Reset(src); err != nil {
			p.gzipReaders.Put(zr)
			return nil, err
		}
		return zr, nil
	}
	return gzip.NewReader(src)
}
