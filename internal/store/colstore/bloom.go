package colstore

import (
	"encoding/binary"
	"math/bits"

	"github.com/cespare/xxhash/v2"
)

// A bloom filter answers "might this block hold this value?" with no false
// negatives. Each block has one over the exact values of its indexed
// columns, keyed by column name and value so that "name=x" and "attr=x"
// do not collide.

// 16 bits and 11 probes per key give about 0.05% false positives. A
// lookup of 20 traces at once (a search result page) so decodes about 1%
// of the blocks that lack them, where 10 bits would decode 16%; the extra
// space is about half a byte per span.
const (
	bloomBitsPerItem = 16
	bloomHashes      = 11
)

// bloomKey hashes a column name and a value into the key the filter
// stores: the xxhash64 of the name, a zero byte and the value.
func bloomKey(column string, value []byte) uint64 {
	var h keyHasher
	h.reset(column)
	return h.key(value)
}

// keyHasher computes bloomKey for many values of one column: the name and
// its zero byte are laid out once, and each value is hashed with them in
// one call, cheaper than a streaming digest for the short values (words,
// IDs) that dominate. Part writers keep one; bloomKey makes one per call.
type keyHasher struct {
	buf    []byte
	prefix int
}

func (h *keyHasher) reset(column string) {
	h.buf = append(append(h.buf[:0], column...), 0)
	h.prefix = len(h.buf)
}

// key returns bloomKey(column, v) for the column of the last reset.
func (h *keyHasher) key(v []byte) uint64 {
	h.buf = append(h.buf[:h.prefix], v...)
	return xxhash.Sum64(h.buf)
}

// keySet collects the distinct bloom keys of a block, in the order first
// added. Its table is open addressing over the keys themselves (they are
// hashes already), with 0 marking an empty slot and the key 0 kept aside:
// a block's words repeat a lot, and this costs a fraction of a map's
// lookup.
type keySet struct {
	keys    []uint64 // distinct keys, in the order added
	slots   []uint64 // len a power of two, at most half full
	hasZero bool
}

// reset empties the set. The table is cleared, or replaced by a smaller
// one when the last block filled little of it, so a small block after a
// large one does not pay for clearing the large one's table.
func (s *keySet) reset() {
	if len(s.slots) > 1024 && len(s.keys)*8 < len(s.slots) {
		s.slots = make([]uint64, max(1024, 1<<bits.Len(uint(4*len(s.keys)))))
	} else {
		clear(s.slots)
	}
	s.keys = s.keys[:0]
	s.hasZero = false
}

func (s *keySet) add(k uint64) {
	if k == 0 {
		if !s.hasZero {
			s.hasZero = true
			s.keys = append(s.keys, 0)
		}
		return
	}
	if 2*(len(s.keys)+1) > len(s.slots) {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for i := k & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case k:
			return
		case 0:
			s.slots[i] = k
			s.keys = append(s.keys, k)
			return
		}
	}
}

func (s *keySet) grow() {
	old := s.slots
	s.slots = make([]uint64, max(1024, 2*len(old)))
	mask := uint64(len(s.slots) - 1)
	for _, k := range old {
		if k == 0 {
			continue
		}
		i := k & mask
		for s.slots[i] != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = k
	}
}

// bloomFilter is a bit set of 64-bit words.
type bloomFilter []uint64

// newBloomFilter sizes a filter for n distinct keys and adds them.
func newBloomFilter(keys []uint64) bloomFilter {
	nbits := max(64, len(keys)*bloomBitsPerItem)
	f := make(bloomFilter, (nbits+63)/64)
	for _, k := range keys {
		f.add(k)
	}
	return f
}

func (f bloomFilter) add(key uint64) {
	n := uint64(len(f)) * 64
	h1, h2 := key, bits.RotateLeft64(key, 32)|1
	for i := uint64(0); i < bloomHashes; i++ {
		bit := (h1 + i*h2) % n
		f[bit/64] |= 1 << (bit % 64)
	}
}

// mayContain reports false only if key was never added.
func (f bloomFilter) mayContain(key uint64) bool {
	if len(f) == 0 {
		return false
	}
	n := uint64(len(f)) * 64
	h1, h2 := key, bits.RotateLeft64(key, 32)|1
	for i := uint64(0); i < bloomHashes; i++ {
		bit := (h1 + i*h2) % n
		if f[bit/64]&(1<<(bit%64)) == 0 {
			return false
		}
	}
	return true
}

func (f bloomFilter) marshal(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(f)))
	for _, w := range f {
		dst = binary.LittleEndian.AppendUint64(dst, w)
	}
	return dst
}

// Words are what the bloom filter of a TypeText column holds: maximal runs
// of ASCII letters, digits and underscores, and of the bytes of multi-byte
// UTF-8 characters, so "GET /api/v1/orders?id=42 took 3ms" holds GET, api,
// v1, orders, id, 42, took and 3ms. Splitting at punctuation (VictoriaLogs
// does the same) keeps IDs, numbers and paths findable by their parts.
func isWordByte(c byte) bool {
	return c >= 0x80 || c == '_' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// forEachWord calls fn with the bounds of each word of v.
func forEachWord(v []byte, fn func(start, end int)) {
	start := -1
	for i, c := range v {
		if isWordByte(c) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			fn(start, i)
			start = -1
		}
	}
	if start >= 0 {
		fn(start, len(v))
	}
}

// requiredWordKeys returns the bloom keys of the words every value
// matching an OpContains filter must hold: f.Words, and the words of
// f.Value that do not touch its ends (a substring "rror 500 fail" may end
// words of a line, as in "error 500 failed", so only "500" is certain).
func requiredWordKeys(f *Filter) []uint64 {
	var keys []uint64
	for _, w := range f.Words {
		keys = append(keys, bloomKey(f.Column, w))
	}
	forEachWord(f.Value, func(start, end int) {
		if start > 0 && end < len(f.Value) {
			keys = append(keys, bloomKey(f.Column, f.Value[start:end]))
		}
	})
	return keys
}
