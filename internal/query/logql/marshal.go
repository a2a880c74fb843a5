package logql

import (
	"bufio"
	"io"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"
)

// MarshalLoki writes r as the body of a successful Loki query response:
//
//	{"status":"success","data":{"resultType":"streams","result":[...],"stats":{...}}}
//
// Streams carry values ["<Unix ns>","<line>"]; matrix values and vector
// and scalar values are [<Unix seconds>,"<value>"]. With categorize (the
// X-Loki-Response-Encoding-Flags: categorize-labels request header) a
// stream's labels are only its stream labels, every value gets a third
// element {"structuredMetadata":{...},"parsed":{...}} (empty parts and an
// empty element left out), and data carries
// "encodingFlags":["categorize-labels"].
func (r *Result) MarshalLoki(w io.Writer, categorize bool) error {
	bw := bufio.NewWriter(w)
	var b []byte
	b = append(b, `{"status":"success","data":{"resultType":"`...)
	b = append(b, r.Type...)
	b = append(b, '"')
	if categorize && r.Type == ValueStreams {
		b = append(b, `,"encodingFlags":["categorize-labels"]`...)
	}
	b = append(b, `,"result":`...)
	flush := func() error {
		if len(b) < 64<<10 {
			return nil
		}
		_, err := bw.Write(b)
		b = b[:0]
		return err
	}
	switch r.Type {
	case ValueStreams:
		streams := r.Streams
		if categorize {
			streams = categorizeStreams(r.Streams, r.Direction)
		}
		b = append(b, '[')
		for i, s := range streams {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"stream":`...)
			b = appendLabels(b, s.Labels)
			b = append(b, `,"values":[`...)
			for j, e := range s.Entries {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, `["`...)
				b = strconv.AppendInt(b, e.Time, 10)
				b = append(b, `",`...)
				b = appendJSONString(b, e.Line)
				if categorize && (!e.StructuredMetadata.IsEmpty() || !e.Parsed.IsEmpty()) {
					b = append(b, `,{`...)
					if !e.StructuredMetadata.IsEmpty() {
						b = append(b, `"structuredMetadata":`...)
						b = appendLabels(b, e.StructuredMetadata)
					}
					if !e.Parsed.IsEmpty() {
						if !e.StructuredMetadata.IsEmpty() {
							b = append(b, ',')
						}
						b = append(b, `"parsed":`...)
						b = appendLabels(b, e.Parsed)
					}
					b = append(b, '}')
				}
				b = append(b, ']')
				if err := flush(); err != nil {
					return err
				}
			}
			b = append(b, "]}"...)
		}
		b = append(b, ']')
	case ValueMatrix:
		b = append(b, '[')
		for i, s := range r.Matrix {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"metric":`...)
			b = appendLabels(b, s.Labels)
			b = append(b, `,"values":[`...)
			for j, p := range s.Points {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendPoint(b, p.T, p.V)
				if err := flush(); err != nil {
					return err
				}
			}
			b = append(b, "]}"...)
		}
		b = append(b, ']')
	case ValueVector:
		b = append(b, '[')
		for i, s := range r.Vector {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"metric":`...)
			b = appendLabels(b, s.Labels)
			b = append(b, `,"value":`...)
			b = appendPoint(b, s.T, s.V)
			b = append(b, '}')
			if err := flush(); err != nil {
				return err
			}
		}
		b = append(b, ']')
	case ValueScalar:
		b = appendPoint(b, r.Scalar.T, r.Scalar.V)
	default:
		b = append(b, "[]"...)
	}
	b = append(b, `,"stats":`...)
	b = r.Stats.appendJSON(b)
	b = append(b, "}}"...)
	if _, err := bw.Write(b); err != nil {
		return err
	}
	return bw.Flush()
}

// categorizeStreams regroups entries by their stream labels alone.
func categorizeStreams(in []Stream, dir Direction) []Stream {
	byKey := map[string]int{}
	var out []Stream
	var b labels.Builder
	for _, s := range in {
		for _, e := range s.Entries {
			b.Reset(s.Labels)
			e.StructuredMetadata.Range(func(l labels.Label) { b.Del(l.Name) })
			e.Parsed.Range(func(l labels.Label) { b.Del(l.Name) })
			ls := b.Labels()
			k := string(ls.Bytes(nil))
			i, ok := byKey[k]
			if !ok {
				i = len(out)
				byKey[k] = i
				out = append(out, Stream{Labels: ls})
			}
			out[i].Entries = append(out[i].Entries, e)
		}
	}
	for i := range out {
		slices.SortStableFunc(out[i].Entries, func(a, b StreamEntry) int {
			c := 0
			switch {
			case a.Time < b.Time:
				c = -1
			case a.Time > b.Time:
				c = 1
			}
			if dir == Backward {
				c = -c
			}
			return c
		})
	}
	slices.SortFunc(out, func(a, b Stream) int { return labels.Compare(a.Labels, b.Labels) })
	return out
}

func (s Stats) appendJSON(b []byte) []byte {
	sec := s.ExecTime.Seconds()
	perSec := func(n int64) int64 {
		if sec <= 0 {
			return 0
		}
		return int64(float64(n) / sec)
	}
	b = append(b, `{"summary":{"bytesProcessedPerSecond":`...)
	b = strconv.AppendInt(b, perSec(s.BytesScanned), 10)
	b = append(b, `,"linesProcessedPerSecond":`...)
	b = strconv.AppendInt(b, perSec(s.EntriesScanned), 10)
	b = append(b, `,"totalBytesProcessed":`...)
	b = strconv.AppendInt(b, s.BytesScanned, 10)
	b = append(b, `,"totalLinesProcessed":`...)
	b = strconv.AppendInt(b, s.EntriesScanned, 10)
	b = append(b, `,"execTime":`...)
	b = strconv.AppendFloat(b, sec, 'f', -1, 64)
	b = append(b, `,"queueTime":0,"subqueries":0,"totalEntriesReturned":`...)
	b = strconv.AppendInt(b, s.EntriesReturned, 10)
	b = append(b, `,"splits":0,"shards":0,"totalPostFilterLines":`...)
	b = strconv.AppendInt(b, s.EntriesReturned, 10)
	b = append(b, `,"totalStructuredMetadataBytesProcessed":0}}`...)
	return b
}

// appendPoint appends [<seconds>,"<value>"], seconds with millisecond
// precision as Prometheus and Loki print them.
func appendPoint(b []byte, ns int64, v float64) []byte {
	b = append(b, '[')
	ms := ns / 1e6
	if ns < 0 && ns%1e6 != 0 {
		ms--
	}
	sec, frac := ms/1000, ms%1000
	if frac < 0 {
		sec--
		frac += 1000
	}
	b = strconv.AppendInt(b, sec, 10)
	if frac != 0 {
		b = append(b, '.')
		d := strconv.AppendInt(nil, 1000+frac, 10)[1:] // zero-padded to 3 digits
		for len(d) > 0 && d[len(d)-1] == '0' {
			d = d[:len(d)-1]
		}
		b = append(b, d...)
	}
	b = append(b, `,"`...)
	b = appendValue(b, v)
	return append(b, `"]`...)
}

func appendValue(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

func appendLabels(b []byte, ls labels.Labels) []byte {
	b = append(b, '{')
	first := true
	ls.Range(func(l labels.Label) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, l.Name)
		b = append(b, ':')
		b = appendJSONString(b, l.Value)
	})
	return append(b, '}')
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes
// U+FFFD, as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
