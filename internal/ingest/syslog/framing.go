package syslog

import (
	"bytes"
	"errors"
	"io"
)

// errBadFrame is returned by framer.next when an octet-counted stream
// breaks its framing: a MSG-LEN that is not a number, or a stream that
// ends inside a frame. The stream cannot be resynchronised; the
// connection is closed.
var errBadFrame = errors.New("bad octet-counted frame")

// framing is how a TCP connection delimits messages (RFC 6587).
type framing uint8

const (
	framingUnknown        framing = iota // not yet seen a byte
	framingOctetCounting                 // "MSG-LEN SP SYSLOG-MSG"
	framingNonTransparent                // messages end with LF (or NUL)
)

// maxLenDigits bounds MSG-LEN: a count of a billion or more is no
// syslog message, so the sender's framing cannot be trusted.
const maxLenDigits = 9

// minFrameBuf is the smallest buffer a framer reads into, large enough
// for an octet-counting header whatever the message size limit.
const minFrameBuf = 64

// framer splits a TCP byte stream into syslog messages. The framing is
// detected from the first byte: a digit means octet counting, anything
// else newline-terminated messages. Its buffer starts small and grows to
// the size limit only when a message needs it, so idle connections cost
// little.
type framer struct {
	r     io.Reader
	max   int // longest message accepted
	limit int // largest buffer: max+1 bytes tell a message too long
	buf   []byte
	start int // buf[start:end] is read but not yet returned
	end   int
	mode  framing
	err   error // the read error, returned once buffered data is used up
}

func newFramer(r io.Reader, maxBytes int) *framer {
	limit := max(maxBytes+1, minFrameBuf)
	return &framer{r: r, max: maxBytes, limit: limit, buf: make([]byte, min(limit, 4096))}
}

// next returns the next message. The slice is valid until the next call.
// tooLarge reports a message longer than the limit, which was skipped
// (frame is nil). At the end of the stream err is the reader's error
// (io.EOF, a timeout); it is errBadFrame when octet counting broke down.
// A last message without its terminator is returned before the end.
func (f *framer) next() (frame []byte, tooLarge bool, err error) {
	if f.mode == framingUnknown {
		for f.start == f.end {
			if err := f.fill(); err != nil {
				return nil, false, err
			}
		}
		if c := f.buf[f.start]; c >= '1' && c <= '9' {
			f.mode = framingOctetCounting
		} else {
			f.mode = framingNonTransparent
		}
	}
	if f.mode == framingOctetCounting {
		return f.nextCounted()
	}
	return f.nextLine()
}

// fill reads more data after buf[end], compacting or growing the buffer
// when it is full.
func (f *framer) fill() error {
	if f.err != nil {
		return f.err
	}
	if f.start == f.end {
		f.start, f.end = 0, 0
	}
	if f.end == len(f.buf) {
		if f.start > 0 {
			f.end = copy(f.buf, f.buf[f.start:f.end])
			f.start = 0
		} else {
			if len(f.buf) >= f.limit {
				// Callers never let unread data reach the limit.
				return errors.New("syslog framer: buffer full")
			}
			nb := make([]byte, min(2*len(f.buf), f.limit))
			f.end = copy(nb, f.buf[f.start:f.end])
			f.start, f.buf = 0, nb
		}
	}
	n, err := f.r.Read(f.buf[f.end:])
	f.end += n
	if err != nil {
		f.err = err
		if n > 0 {
			return nil
		}
	}
	return err
}

// indexDelim returns the index of the first LF or NUL in b, or -1.
func indexDelim(b []byte) int {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		i = len(b)
	}
	if j := bytes.IndexByte(b[:i], 0); j >= 0 {
		return j
	}
	if i == len(b) {
		return -1
	}
	return i
}

// nextLine returns the next LF- or NUL-terminated message (terminator
// dropped). A message longer than the limit is skipped up to its
// terminator, so the stream resynchronises on the next message.
func (f *framer) nextLine() ([]byte, bool, error) {
	scanned := 0 // buf[start:start+scanned] holds no terminator
	for {
		if i := indexDelim(f.buf[f.start+scanned : f.end]); i >= 0 {
			end := f.start + scanned + i
			frame := f.buf[f.start:end]
			f.start = end + 1
			if len(frame) > f.max {
				return nil, true, nil
			}
			return frame, false, nil
		}
		scanned = f.end - f.start
		if scanned > f.max {
			f.skipLine()
			return nil, true, nil
		}
		if err := f.fill(); err != nil {
			if f.end > f.start {
				frame := f.buf[f.start:f.end]
				f.start = f.end
				return frame, false, nil
			}
			return nil, false, err
		}
	}
}

// skipLine drops data up to and including the next terminator, or to the
// end of the stream.
func (f *framer) skipLine() {
	for {
		f.start, f.end = 0, 0
		if f.fill() != nil {
			return
		}
		if i := indexDelim(f.buf[:f.end]); i >= 0 {
			f.start = i + 1
			return
		}
	}
}

// nextCounted returns the next octet-counted message. A message whose
// MSG-LEN exceeds the limit is skipped by its count.
func (f *framer) nextCounted() ([]byte, bool, error) {
	var n, hdr int
	for {
		// Some senders end each frame with a newline they do not count.
		for f.start < f.end && (f.buf[f.start] == '\n' || f.buf[f.start] == '\r') {
			f.start++
		}
		var complete bool
		var err error
		n, hdr, complete, err = parseLen(f.buf[f.start:f.end])
		if err != nil {
			return nil, false, err
		}
		if complete {
			break
		}
		if err := f.fill(); err != nil {
			if f.end > f.start {
				return nil, false, errBadFrame // the stream ended inside a header
			}
			return nil, false, err
		}
	}
	f.start += hdr
	if n > f.max {
		for skip := n; ; {
			buffered := f.end - f.start
			if buffered >= skip {
				f.start += skip
				return nil, true, nil
			}
			skip -= buffered
			f.start, f.end = 0, 0
			if f.fill() != nil {
				return nil, true, nil
			}
		}
	}
	for f.end-f.start < n {
		if err := f.fill(); err != nil {
			return nil, false, errBadFrame // the stream ended inside a message
		}
	}
	frame := f.buf[f.start : f.start+n]
	f.start += n
	return frame, false, nil
}

// parseLen reads "MSG-LEN SP" at the start of b. complete is false when
// b may be the start of a valid header.
func parseLen(b []byte) (n, hdr int, complete bool, err error) {
	for i, c := range b {
		switch {
		case c == ' ' && i > 0:
			return n, i + 1, true, nil
		case isDigit(c) && (i > 0 || c != '0') && i < maxLenDigits:
			n = n*10 + int(c-'0')
		default:
			return 0, 0, false, errBadFrame
		}
	}
	return 0, 0, false, nil
}
