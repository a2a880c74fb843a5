package syslog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"
	"unicode/utf8"

	"github.com/argus-obs/argus/internal/model"
)

// parseSeeds are messages of every shape the parser knows, and a few it
// must survive.
var parseSeeds = []string{
	`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application"] ` + "\xEF\xBB\xBFAn application event log entry...",
	`<14>1 2026-03-15T11:00:00Z h a - - [x@1 q="say \"hi\"" b="C:\\dir" br="[a\]"][y trace_id="4bf92f3577b34da6a3ce929d0e0e4736" correlation_id="c"] m`,
	"<13>1 - - - - - -",
	"<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed for lonvick on /dev/pts/8",
	"<30>Mar  5 11:58:00 myprog[4242]: started",
	"<28>2026-03-15T12:58:00+01:00 myhost myprog[4242]: disk low",
	"<189>Oct 11 2025 22:14:15.123 router1 ntpd[77]: x",
	"Use the BFG!",
	"<999>x",
	"<13>1 2026-03-15T11:59:00Z host app - - [unterminated x=\"1",
	"<13>Feb 29 10:00:00 h a: x",
	"<13>9999-12-31T23:59:60.999999999999-23:59 h a[",
}

// FuzzParse checks that no input panics the parser and that what it
// returns is well formed.
func FuzzParse(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add([]byte(s))
	}
	valid := map[model.Severity]bool{0: true, 5: true, 9: true, 10: true, 13: true, 17: true, 21: true, 22: true, 23: true}
	f.Fuzz(func(t *testing.T, msg []byte) {
		rec, err := Parse(msg, testNow)
		if err != nil {
			if !errors.Is(err, ErrInvalidPRI) || len(msg) == 0 || msg[0] != '<' {
				t.Fatalf("Parse(%q): unexpected error %v", msg, err)
			}
			return
		}
		if !valid[rec.Severity] {
			t.Errorf("severity %d", rec.Severity)
		}
		if rec.Resource.ServiceName == "" {
			t.Error("no service name")
		}
		if !utf8.ValidString(rec.Body) {
			t.Errorf("body %q is not UTF-8", rec.Body)
		}
		for _, a := range append(rec.Attributes, rec.Resource.Attributes...) {
			if a.Key == "" || !utf8.ValidString(a.Value) {
				t.Errorf("bad attribute %q=%q", a.Key, a.Value)
			}
		}
		if rec.ObservedUnixNano != testNow.UnixNano() {
			t.Errorf("observed time %d", rec.ObservedUnixNano)
		}
		if len(rec.Body) > len(msg)*3 { // U+FFFD is three bytes
			t.Errorf("body longer than the message")
		}
	})
}

// chunkReader returns at most n bytes per Read, as a network connection
// may.
type chunkReader struct {
	data []byte
	n    int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n, len(r.data))
	copy(p, r.data[:k])
	r.data = r.data[k:]
	return k, nil
}

// FuzzTCPFraming feeds arbitrary streams, in arbitrary chunks, to the
// TCP framer and parses what it returns. It must not panic or loop, no
// frame may exceed the limit, and in non-transparent framing no frame
// may contain a terminator.
func FuzzTCPFraming(f *testing.F) {
	f.Add([]byte("<13>Mar 15 11:00:00 h app: lf\n<13>x\r\n\x00plain"), uint8(7), uint16(64))
	f.Add([]byte("5 <13>x12 <13>1 - - - - - -\n3 abc"), uint8(3), uint16(32))
	f.Add([]byte("99999 "+string(bytes.Repeat([]byte("y"), 200))+"3 abc"), uint8(50), uint16(16))
	f.Add([]byte("1234567890 x"), uint8(1), uint16(100))
	f.Add([]byte("5 <13>x"), uint8(2), uint16(100))
	f.Add(bytes.Repeat([]byte("z"), 300), uint8(13), uint16(40))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8, maxBytes uint16) {
		limit := int(maxBytes%2048) + 1
		fr := newFramer(&chunkReader{data: data, n: int(chunk%64) + 1}, limit)
		var p parser
		var rec model.LogRecord
		for calls := 0; ; calls++ {
			if calls > len(data)+2 {
				t.Fatalf("framer returned %d results from %d bytes", calls, len(data))
			}
			frame, tooLarge, err := fr.next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, errBadFrame) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if tooLarge {
				continue
			}
			if len(frame) > limit {
				t.Fatalf("frame of %d bytes over the limit %d", len(frame), limit)
			}
			if fr.mode == framingNonTransparent && bytes.ContainsAny(frame, "\n\x00") {
				t.Fatalf("frame %q contains a terminator", frame)
			}
			p.reset()
			_ = p.parse(string(trimFrame(frame)), testNow, &rec)
		}
	})
}

// TestFramerSeeds runs the framer over streams whose frames are known.
func TestFramerSeeds(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want []string // "!" for too large, "ERR" for errBadFrame
	}{
		{"a\nb\r\n\x00c", 10, []string{"a", "b\r", "", "c"}},
		{"abcdefghijkl\nab\n", 5, []string{"!", "ab"}},
		{"abcdefghijkl", 5, []string{"!"}},
		{"abcde\n", 5, []string{"abcde"}},
		{"3 abc2 de\n1 f", 5, []string{"abc", "de", "f"}},
		{"9 1234567893 abc", 5, []string{"!", "abc"}},
		{"3 abcx", 5, []string{"abc", "ERR"}},
		{"3 ab", 5, []string{"ERR"}},
		{"1234567891 x", 5, []string{"ERR"}},
		{"12", 5, []string{"ERR"}},
	} {
		for _, chunk := range []int{1, 2, 3, 100} {
			fr := newFramer(&chunkReader{data: []byte(tc.in), n: chunk}, tc.max)
			var got []string
			for {
				frame, tooLarge, err := fr.next()
				if errors.Is(err, errBadFrame) {
					got = append(got, "ERR")
					break
				}
				if err != nil {
					break
				}
				if tooLarge {
					got = append(got, "!")
					continue
				}
				got = append(got, string(frame))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("%q (max %d, chunks of %d): got %q, want %q", tc.in, tc.max, chunk, got, tc.want)
			}
		}
	}
}
