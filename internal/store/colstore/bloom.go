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

// bloomKey hashes a column name and a value into the key the filter stores.
func bloomKey(column string, value []byte) uint64 {
	var d xxhash.Digest
	d.Reset()
	_, _ = d.WriteString(column)
	_, _ = d.Write([]byte{0})
	_, _ = d.Write(value)
	return d.Sum64()
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
