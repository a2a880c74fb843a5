package httpbody

import (
	"bytes"
	"compress/gzip"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// gzipBytes returns b gzip-compressed. Writes to a bytes.Buffer do not
// fail, so neither does the gzip writer.
func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

// onlyReader hides the body's type, so the request does not know its
// length, as with a chunked upload.
type onlyReader struct{ io.Reader }

func TestReadBody(t *testing.T) {
	const limit = 1024
	text := []byte(strings.Repeat("a line of text\n", 50)) // 750 bytes
	noise := make([]byte, 4*limit)                         // gzip cannot shrink it
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	for _, tc := range []struct {
		name    string
		body    []byte
		gz      bool
		unsized bool // no Content-Length
		code    int
		msg     string
	}{
		{name: "plain", body: text},
		{name: "plain unsized", body: text, unsized: true},
		{name: "empty", body: nil},
		{name: "plain too large", body: make([]byte, limit+1), code: 413, msg: "request body of 1025 bytes exceeds the limit of 1024 bytes"},
		{name: "plain unsized too large", body: make([]byte, limit+1), unsized: true, code: 413, msg: "request body exceeds the limit of 1024 bytes"},
		{name: "gzip", body: gzipBytes(text), gz: true},
		{name: "gzip unsized", body: gzipBytes(text), gz: true, unsized: true},
		{name: "gzip at the limit", body: gzipBytes(make([]byte, limit)), gz: true},
		{name: "gzip bomb", body: gzipBytes(make([]byte, limit+1)), gz: true, code: 413, msg: "decompressed request body exceeds the limit of 1024 bytes"},
		// The cap cuts the stream short, which gzip may call corrupt: it
		// is still a body over the limit.
		{name: "gzip unsized too large", body: gzipBytes(noise), gz: true, unsized: true, code: 413, msg: "request body exceeds the limit of 1024 bytes"},
		{name: "gzip corrupt", body: []byte("not gzip at all"), gz: true, code: 400, msg: "could not decompress gzip request body: "},
		{name: "gzip truncated", body: gzipBytes(text)[:20], gz: true, code: 400, msg: "could not decompress gzip request body: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader = bytes.NewReader(tc.body)
			if tc.unsized {
				body = onlyReader{body}
			}
			req := httptest.NewRequest(http.MethodPost, "/", body)
			if tc.unsized && req.ContentLength != -1 {
				t.Fatalf("ContentLength %d for an unsized body", req.ContentLength)
			}
			var p Pool
			buf := p.GetBuffer()
			defer p.PutBuffer(buf)
			code, msg := p.ReadBody(httptest.NewRecorder(), req, limit, tc.gz, buf)
			if code != tc.code || !strings.HasPrefix(msg, tc.msg) || (tc.code == 0) != (msg == "") {
				t.Fatalf("ReadBody = %d %q, want %d %q", code, msg, tc.code, tc.msg)
			}
			if code != 0 {
				return
			}
			want := tc.body
			if tc.gz {
				zr, err := gzip.NewReader(bytes.NewReader(tc.body))
				if err != nil {
					t.Fatal(err)
				}
				if want, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("read %d bytes %.40q, want %d bytes %.40q", buf.Len(), buf.Bytes(), len(want), want)
			}
		})
	}
}

// TestPoolReuse checks that the pool hands back emptied buffers, drops
// huge ones, and that one Pool reads many gzip bodies in turn.
func TestPoolReuse(t *testing.T) {
	var p Pool
	b := p.GetBuffer()
	b.WriteString("left over")
	p.PutBuffer(b)
	if b := p.GetBuffer(); b.Len() != 0 {
		t.Errorf("a recycled buffer holds %q", b.Bytes())
	}
	p.PutBuffer(bytes.NewBuffer(make([]byte, 0, maxPooledBuffer+1))) // dropped, not kept

	for i := range 3 {
		text := strings.Repeat("x", 100*(i+1))
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(gzipBytes([]byte(text))))
		buf := p.GetBuffer()
		if code, msg := p.ReadBody(httptest.NewRecorder(), req, 1<<20, true, buf); code != 0 {
			t.Fatalf("request %d: %d %s", i, code, msg)
		}
		if buf.String() != text {
			t.Fatalf("request %d read %d bytes, want %d", i, buf.Len(), len(text))
		}
		p.PutBuffer(buf)
	}
}

// nopResponse is a ResponseWriter that allocates nothing.
type nopResponse struct{}

func (nopResponse) Header() http.Header         { return http.Header{} }
func (nopResponse) WriteHeader(int)             {}
func (nopResponse) Write(p []byte) (int, error) { return len(p), nil }

// TestReadBodyAllocations holds reading a body, once the pools are warm,
// to the few small allocations of wrapping the request body: neither the
// buffer nor the gzip reader (tens of kilobytes) is allocated again.
func TestReadBodyAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are slow to measure")
	}
	text := []byte(strings.Repeat("a line of text\n", 1000))
	for _, tc := range []struct {
		name string
		body []byte
		gz   bool
	}{
		{"plain", text, false},
		{"gzip", gzipBytes(text), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Pool
			r := bytes.NewReader(tc.body)
			req := httptest.NewRequest(http.MethodPost, "/", r)
			read := func() {
				_, _ = r.Seek(0, io.SeekStart)
				req.Body = io.NopCloser(r)
				buf := p.GetBuffer()
				if code, msg := p.ReadBody(nopResponse{}, req, 1<<20, tc.gz, buf); code != 0 {
					t.Fatalf("%d %s", code, msg)
				}
				p.PutBuffer(buf)
			}
			read() // warm the pools
			allocs := testing.AllocsPerRun(50, read)
			t.Logf("%v allocations per body", allocs)
			if allocs > 4 {
				t.Errorf("%v allocations per body, want at most 4", allocs)
			}
		})
	}
}
