package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
)

// The on-disk format; docs/format/wal.md is the prose version of this file.
const (
	// formatVersion is written in every segment header. Bump it for any
	// change a version-1 reader would misread; Replay refuses segments of
	// a version it does not know rather than discarding their records.
	formatVersion = 1

	// headerSize is the length of the segment header: magic, version and
	// a CRC-32C of both.
	headerSize = 16

	// frameHeaderSize is the length of the per-record frame header:
	// payload length and CRC-32C.
	frameHeaderSize = 8

	segmentSuffix = ".wal"
	// segmentNameLen is 20 digits (every uint64) plus the suffix; the
	// fixed width makes lexical and numeric order agree in a listing.
	segmentNameLen = 20 + len(segmentSuffix)

	quarantineDir = "quarantine"
)

// MaxRecordSize is the largest record Append accepts. Replay treats a
// larger length as corruption, so a damaged length field can never make
// it allocate more than this (nor more than the segment's remaining
// bytes).
const MaxRecordSize = 64 << 20

// magic opens every segment, so a stray file is never taken for a log.
var magic = [8]byte{'A', 'R', 'G', 'U', 'S', 'W', 'A', 'L'}

// castagnoli is CRC-32C, which amd64 and arm64 compute in hardware.
// crc32.MakeTable returns the package's shared table for Castagnoli, the
// one its accelerated path recognises.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Reasons a segment is damaged; CorruptSegment.Err wraps one of them.
var (
	// ErrTruncated means the segment ends inside a header or record: the
	// usual mark of a write interrupted by a crash (whose record was never
	// acknowledged), or of a damaged length field.
	ErrTruncated = errors.New("wal: segment ends inside a record")
	// ErrCorrupt means bytes that are present do not check out: wrong
	// magic, header or record checksum mismatch, impossible length.
	ErrCorrupt = errors.New("wal: corrupt segment")
	// ErrUnsupportedVersion means a segment has an intact header of a
	// format version this code does not know (written by a newer Argus).
	// Replay returns it instead of discarding the segment.
	ErrUnsupportedVersion = errors.New("wal: unsupported segment format version")
)

// appendSegmentHeader appends the 16-byte segment header to dst.
func appendSegmentHeader(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, magic[:]...)
	dst = binary.LittleEndian.AppendUint32(dst, formatVersion)
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// checkSegmentHeader validates a segment header. A checksum that does not
// match is corruption; a matching checksum over an unknown version is a
// newer format, which must not be mistaken for damage and thrown away.
func checkSegmentHeader(h []byte) error {
	if !bytes.Equal(h[:8], magic[:]) {
		return fmt.Errorf("%w: bad magic %q", ErrCorrupt, h[:8])
	}
	if want, got := binary.LittleEndian.Uint32(h[12:16]), crc32.Checksum(h[:12], castagnoli); want != got {
		return fmt.Errorf("%w: header checksum %#08x, computed %#08x", ErrCorrupt, want, got)
	}
	if v := binary.LittleEndian.Uint32(h[8:12]); v != formatVersion {
		return fmt.Errorf("%w: version %d (this build reads %d)", ErrUnsupportedVersion, v, formatVersion)
	}
	return nil
}

// frameHeader returns the 8-byte frame header of rec: its length and a
// CRC-32C over the length bytes followed by the payload. Covering the
// length means a flipped length bit is caught at this record rather than
// read as a plausible size, and a run of zero bytes (what some file
// systems leave after a crash) never checks out as an empty record, as it
// would if the checksum covered the empty payload alone (whose CRC is 0).
func frameHeader(rec []byte) [frameHeaderSize]byte {
	var h [frameHeaderSize]byte
	n := uint32(len(rec))
	binary.LittleEndian.PutUint32(h[0:4], n)
	binary.LittleEndian.PutUint32(h[4:8], crc32.Update(lengthCRC(n), castagnoli, rec))
	return h
}

// lengthCRC is crc32.Update(0, castagnoli, n as 4 little-endian bytes),
// computed by hand: handing crc32 a slice of a local array would move the
// array to the heap, one allocation per record.
func lengthCRC(n uint32) uint32 {
	crc := ^uint32(0)
	for range 4 {
		crc = castagnoli[byte(crc)^byte(n)] ^ crc>>8
		n >>= 8
	}
	return ^crc
}

// segmentName is the file name of segment n.
func segmentName(n uint64) string {
	return fmt.Sprintf("%020d%s", n, segmentSuffix)
}

// parseSegmentName returns the number of a segment file name, and false
// for any other name.
func parseSegmentName(name string) (uint64, bool) {
	if len(name) != segmentNameLen || !strings.HasSuffix(name, segmentSuffix) {
		return 0, false
	}
	digits := name[:20]
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil
}
