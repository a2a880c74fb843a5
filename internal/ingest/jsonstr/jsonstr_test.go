package jsonstr

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

var samples = []string{"", "plain", "q\"b\\s", "\n\r\t\x00\x1f", "é😀", "bad \xff utf8 \xe2\x82", "<&>", "\xf0\x9f\x98"}

func TestAppend(t *testing.T) {
	for _, s := range samples {
		out := Append(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Errorf("%q encodes to invalid JSON %s: %v", s, out, err)
			continue
		}
		if back != string([]rune(s)) { // each invalid byte becomes U+FFFD
			t.Errorf("%q round-trips to %q", s, back)
		}
		if b := Append(nil, []byte(s)); !bytes.Equal(b, out) {
			t.Errorf("the []byte form of %q encodes to %s, not %s", s, b, out)
		}
	}
	if got := string(Append([]byte("x:"), "a\tb")); got != `x:"a\tb"` {
		t.Errorf("Append after a prefix = %s", got)
	}
}

func FuzzAppend(f *testing.F) {
	for _, s := range samples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Append(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%q encodes to invalid JSON %s: %v", s, out, err)
		}
		if back != string([]rune(s)) { // each invalid byte becomes U+FFFD
			t.Fatalf("%q round-trips to %q", s, back)
		}
		if b := Append(nil, []byte(s)); !bytes.Equal(b, out) {
			t.Fatalf("the []byte form of %q encodes to %s, not %s", s, b, out)
		}
	})
}

func TestAppendAllocations(t *testing.T) {
	dst := make([]byte, 0, 256)
	b := []byte("bad \xff utf8 é😀 \n quote\" ")
	allocs := testing.AllocsPerRun(100, func() {
		dst = Append(dst[:0], "bad \xff utf8 é😀 \n quote\" ")
		dst = Append(dst, b)
	})
	if allocs != 0 {
		t.Errorf("%v allocations appending into a large enough dst, want 0", allocs)
	}
}

func BenchmarkAppend(b *testing.B) {
	s := strings.Repeat(`GET /api/v1/orders/123 200 "é" 12ms `, 8)
	bs := []byte(s)
	dst := make([]byte, 0, 2*len(s))
	b.Run("string", func(b *testing.B) {
		b.SetBytes(int64(len(s)))
		b.ReportAllocs()
		for b.Loop() {
			dst = Append(dst[:0], s)
		}
	})
	b.Run("bytes", func(b *testing.B) {
		b.SetBytes(int64(len(bs)))
		b.ReportAllocs()
		for b.Loop() {
			dst = Append(dst[:0], bs)
		}
	})
}
