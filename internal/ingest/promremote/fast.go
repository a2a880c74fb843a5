package promremote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sync"
	"time"
	"unsafe"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/timestamp"
	"github.com/prometheus/prometheus/storage"
	"google.golang.org/protobuf/encoding/protowire"
)

// The fast path takes the remote-write 1.0 request almost every sender
// sends: snappy-compressed series of float samples. Prometheus's handler
// reads such a request three times into fresh buffers and unmarshals it
// into a string per label name and value and a slice per series, about
// twenty allocations a series, so at a million series a minute the
// garbage collector does much of the receiving. The fast path decodes
// into buffers reused across requests, with label strings pointing into
// the decoded request, and allocates one labels value per series (the
// TSDB keeps it for a new series).
//
// It stores exactly what Prometheus's handler stores and answers as it
// does, by leaving every other request to it: exemplars, histograms,
// metadata, invalid or duplicate label names, a timestamp too far in the
// future, a body that does not decode, sizes past the limits. Those
// requests are handed over whole, before anything was appended.

// Limits as Prometheus's remote-write handler sets them.
const (
	maxBodySize    = 32 << 20 // compressed or not
	maxAheadOfTime = 10 * time.Minute
	// Buffers that grew past this are not kept for the next request.
	maxPooledBytes = 8 << 20
)

// errHandOver means the request is not one the fast path takes.
var errHandOver = errors.New("left to Prometheus's handler")

// fastSeries is one series of a request: its labels and the encoded
// samples, a slice of the decoded request.
type fastSeries struct {
	labels  labels.Labels
	samples [][]byte // each an encoded Sample message
}

// requestBuffers are what one request decodes into, reused through a pool.
type requestBuffers struct {
	body    []byte
	raw     []byte
	series  []fastSeries
	samples [][]byte // backing store of every series' samples
	builder labels.ScratchBuilder
}

var bufferPool = sync.Pool{New: func() any { return &requestBuffers{builder: labels.NewScratchBuilder(16)} }}

func (b *requestBuffers) release() {
	if cap(b.body) > maxPooledBytes || cap(b.raw) > maxPooledBytes {
		return
	}
	clear(b.series) // drop the labels, so the pool does not keep them alive
	b.series = b.series[:0]
	clear(b.samples)
	b.samples = b.samples[:0]
	bufferPool.Put(b)
}

// fastWriter handles remote-write 1.0 requests, handing over to stock
// (Prometheus's handler) every request the fast path does not take.
type fastWriter struct {
	app   storage.AppendableV2
	stock http.Handler
	now   func() time.Time
}

func (f *fastWriter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || (r.Header.Get("Content-Encoding") != "" && r.Header.Get("Content-Encoding") != "snappy") {
		f.stock.ServeHTTP(w, r)
		return
	}
	b := bufferPool.Get().(*requestBuffers)
	defer b.release()
	var err error
	b.body, err = readBody(b.body[:0], r.Body, maxBodySize+1)
	if err != nil || len(b.body) > maxBodySize {
		f.handOver(w, r, b.body)
		return
	}
	if n, err := snappy.DecodedLen(b.body); err != nil || n > maxBodySize {
		f.handOver(w, r, b.body)
		return
	}
	if b.raw, err = snappy.Decode(b.raw[:cap(b.raw)], b.body); err != nil {
		f.handOver(w, r, b.body)
		return
	}
	maxTime := timestamp.FromTime(f.now().Add(maxAheadOfTime))
	if err := b.decode(maxTime); err != nil {
		f.handOver(w, r, b.body)
		return
	}
	if err := b.append(r.Context(), f.app); err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, storage.ErrOutOfOrderSample) || errors.Is(err, storage.ErrOutOfBounds) ||
			errors.Is(err, storage.ErrDuplicateSampleForTimestamp) || errors.Is(err, storage.ErrTooOldSample) {
			code = http.StatusBadRequest
		}
		http.Error(w, err.Error(), code)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handOver gives the request to Prometheus's handler, with the body read
// so far put back in front of the rest.
func (f *fastWriter) handOver(w http.ResponseWriter, r *http.Request, read []byte) {
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(io.MultiReader(bytes.NewReader(read), r.Body))
	f.stock.ServeHTTP(w, r2)
}

// readBody appends at most limit bytes of r to dst.
func readBody(dst []byte, r io.Reader, limit int) ([]byte, error) {
	lr := io.LimitReader(r, int64(limit))
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := lr.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if errors.Is(err, io.EOF) {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

// decode reads b.raw as a prompb.WriteRequest into b.series, validating
// as Prometheus's handler does. It returns errHandOver (or a decoding
// error) for a request the fast path does not take.
func (b *requestBuffers) decode(maxTime int64) error {
	data := b.raw
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
		if num == 1 && typ == protowire.BytesType { // timeseries
			ts, n := protowire.ConsumeBytes(data)
			if n < 0 {
				return protowire.ParseError(n)
			}
			data = data[n:]
			if err := b.decodeSeries(ts, maxTime); err != nil {
				return err
			}
			continue
		}
		if num == 1 || num == 3 {
			// A series field of the wrong type, or metadata, which
			// Prometheus's handler checks and then ignores.
			return errHandOver
		}
		n = protowire.ConsumeFieldValue(num, typ, data) // unknown fields
		if n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
	}
	return nil
}

func (b *requestBuffers) decodeSeries(data []byte, maxTime int64) error {
	b.builder.Reset()
	first := len(b.samples)
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
		switch {
		case num == 1 && typ == protowire.BytesType: // labels
			l, n := protowire.ConsumeBytes(data)
			if n < 0 {
				return protowire.ParseError(n)
			}
			data = data[n:]
			name, value, err := decodeLabel(l)
			if err != nil {
				return err
			}
			b.builder.Add(name, value)
		case num == 2 && typ == protowire.BytesType: // samples
			s, n := protowire.ConsumeBytes(data)
			if n < 0 {
				return protowire.ParseError(n)
			}
			data = data[n:]
			if _, t, err := decodeSample(s); err != nil {
				return err
			} else if t > maxTime {
				return errHandOver // Prometheus refuses the request
			}
			b.samples = append(b.samples, s)
		case num <= 4:
			// exemplars (3), histograms (4), or a known field of the
			// wrong type: Prometheus's handler deals with those.
			return errHandOver
		default:
			n := protowire.ConsumeFieldValue(num, typ, data)
			if n < 0 {
				return protowire.ParseError(n)
			}
			data = data[n:]
		}
	}
	b.builder.Sort()
	ls := b.builder.Labels()
	if !ls.Has(model.MetricNameLabel) || !ls.IsValid(model.UTF8Validation) {
		return errHandOver
	}
	if _, dup := ls.HasDuplicateLabelNames(); dup {
		return errHandOver
	}
	b.series = append(b.series, fastSeries{labels: ls, samples: b.samples[first:len(b.samples):len(b.samples)]})
	return nil
}

// decodeLabel reads a prompb.Label. The strings point into data, which
// must stay unchanged while they are used: the labels builder copies them
// into the labels it returns.
func decodeLabel(data []byte) (name, value string, err error) {
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return "", "", protowire.ParseError(n)
		}
		data = data[n:]
		if (num == 1 || num == 2) && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(data)
			if n < 0 {
				return "", "", protowire.ParseError(n)
			}
			data = data[n:]
			if num == 1 {
				name = unsafe.String(unsafe.SliceData(v), len(v))
			} else {
				value = unsafe.String(unsafe.SliceData(v), len(v))
			}
			continue
		}
		if num == 1 || num == 2 {
			return "", "", errHandOver
		}
		n = protowire.ConsumeFieldValue(num, typ, data)
		if n < 0 {
			return "", "", protowire.ParseError(n)
		}
		data = data[n:]
	}
	return name, value, nil
}

// decodeSample reads a prompb.Sample: value (double, 1), timestamp (int64
// milliseconds, 2).
func decodeSample(data []byte) (v float64, t int64, err error) {
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return 0, 0, protowire.ParseError(n)
		}
		data = data[n:]
		switch {
		case num == 1 && typ == protowire.Fixed64Type:
			x, n := protowire.ConsumeFixed64(data)
			if n < 0 {
				return 0, 0, protowire.ParseError(n)
			}
			data = data[n:]
			v = math.Float64frombits(x)
		case num == 2 && typ == protowire.VarintType:
			x, n := protowire.ConsumeVarint(data)
			if n < 0 {
				return 0, 0, protowire.ParseError(n)
			}
			data = data[n:]
			t = int64(x)
		case num == 1 || num == 2:
			return 0, 0, errHandOver
		default:
			n := protowire.ConsumeFieldValue(num, typ, data)
			if n < 0 {
				return 0, 0, protowire.ParseError(n)
			}
			data = data[n:]
		}
	}
	return v, t, nil
}

// append writes the decoded series in one transaction, rolled back on
// an error the appender does not absorb.
func (b *requestBuffers) append(ctx context.Context, appendable storage.AppendableV2) (err error) {
	app := appendable.AppenderV2(ctx)
	defer func() {
		if err != nil {
			_ = app.Rollback()
			return
		}
		err = app.Commit()
	}()
	for i := range b.series {
		s := &b.series[i]
		var ref storage.SeriesRef
		for _, enc := range s.samples {
			v, t, _ := decodeSample(enc) // decoded once already
			ref, err = app.Append(ref, s.labels, 0, t, v, nil, nil, storage.AOptions{})
			if err != nil && !errors.Is(err, (*storage.AppendPartialError)(nil)) {
				return fmt.Errorf("series %s: %w", s.labels, err)
			}
		}
	}
	return nil
}
