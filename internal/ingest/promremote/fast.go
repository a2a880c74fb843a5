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

// fastSample is one decoded prompb.Sample.
type fastSample struct {
	t int64 // milliseconds
	v float64
}

// fastSeries is one series of a request: its labels and samples.
type fastSeries struct {
	labels  labels.Labels
	samples []fastSample
}

// requestBuffers are what one request decodes into, reused through a pool.
type requestBuffers struct {
	body    []byte
	raw     []byte
	series  []fastSeries
	samples []fastSample // backing store of every series' samples
	builder labels.ScratchBuilder
}

var bufferPool = sync.Pool{New: func() any { return &requestBuffers{builder: labels.NewScratchBuilder(16)} }}

func (b *requestBuffers) release() {
	if cap(b.body) > maxPooledBytes || cap(b.raw) > maxPooledBytes {
		return
	}
	clear(b.series) // drop the labels, so the pool does not keep them alive
	b.series = b.series[:0]
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
	if enc := r.Header.Get("Content-Encoding"); r.Method != http.MethodPost || (enc != "" && enc != "snappy") {
		f.stock.ServeHTTP(w, r)
		return
	}
	b := bufferPool.Get().(*requestBuffers)
	defer b.release()
	body := bytes.NewBuffer(b.body[:0])
	_, err := body.ReadFrom(io.LimitReader(r.Body, maxBodySize+1))
	b.body = body.Bytes()
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

// protoField is one field of a protobuf message: its number, its wire
// type, and its value: the bytes of a length-delimited field, or the bits
// of a varint or fixed64 one.
type protoField struct {
	num   protowire.Number
	typ   protowire.Type
	bytes []byte
	x     uint64
}

// nextField reads the field at the start of data and returns the rest.
// Other wire types (fixed32, groups) are read past with no value.
func nextField(data []byte) (f protoField, rest []byte, err error) {
	num, typ, n := protowire.ConsumeTag(data)
	if n < 0 {
		return f, nil, protowire.ParseError(n)
	}
	f.num, f.typ = num, typ
	data = data[n:]
	switch typ {
	case protowire.BytesType:
		f.bytes, n = protowire.ConsumeBytes(data)
	case protowire.VarintType:
		f.x, n = protowire.ConsumeVarint(data)
	case protowire.Fixed64Type:
		f.x, n = protowire.ConsumeFixed64(data)
	default:
		n = protowire.ConsumeFieldValue(num, typ, data)
	}
	if n < 0 {
		return f, nil, protowire.ParseError(n)
	}
	return f, data[n:], nil
}

// decode reads b.raw as a prompb.WriteRequest into b.series, validating
// as Prometheus's handler does. It returns errHandOver (or a decoding
// error) for a request the fast path does not take. Unknown fields are
// skipped, as the generated code skips them.
func (b *requestBuffers) decode(maxTime int64) error {
	for data := b.raw; len(data) > 0; {
		f, rest, err := nextField(data)
		if err != nil {
			return err
		}
		data = rest
		switch {
		case f.num == 1 && f.typ == protowire.BytesType: // timeseries
			if err := b.decodeSeries(f.bytes, maxTime); err != nil {
				return err
			}
		case f.num == 1 || f.num == 3:
			// A series field of the wrong type, or metadata, which
			// Prometheus's handler checks and then ignores.
			return errHandOver
		}
	}
	return nil
}

func (b *requestBuffers) decodeSeries(data []byte, maxTime int64) error {
	b.builder.Reset()
	first := len(b.samples)
	for len(data) > 0 {
		f, rest, err := nextField(data)
		if err != nil {
			return err
		}
		data = rest
		switch {
		case f.num == 1 && f.typ == protowire.BytesType: // labels
			name, value, err := decodeLabel(f.bytes)
			if err != nil {
				return err
			}
			b.builder.Add(name, value)
		case f.num == 2 && f.typ == protowire.BytesType: // samples
			s, err := decodeSample(f.bytes)
			if err != nil {
				return err
			}
			if s.t > maxTime {
				return errHandOver // Prometheus refuses the request
			}
			b.samples = append(b.samples, s)
		case f.num <= 4:
			// exemplars (3), histograms (4), or a known field of the
			// wrong type: Prometheus's handler deals with those.
			return errHandOver
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
		f, rest, err := nextField(data)
		if err != nil {
			return "", "", err
		}
		data = rest
		switch {
		case f.num == 1 && f.typ == protowire.BytesType:
			name = unsafe.String(unsafe.SliceData(f.bytes), len(f.bytes))
		case f.num == 2 && f.typ == protowire.BytesType:
			value = unsafe.String(unsafe.SliceData(f.bytes), len(f.bytes))
		case f.num == 1 || f.num == 2:
			return "", "", errHandOver
		}
	}
	return name, value, nil
}

// decodeSample reads a prompb.Sample: value (double, 1), timestamp (int64
// milliseconds, 2).
func decodeSample(data []byte) (s fastSample, err error) {
	for len(data) > 0 {
		f, rest, err := nextField(data)
		if err != nil {
			return s, err
		}
		data = rest
		switch {
		case f.num == 1 && f.typ == protowire.Fixed64Type:
			s.v = math.Float64frombits(f.x)
		case f.num == 2 && f.typ == protowire.VarintType:
			s.t = int64(f.x)
		case f.num == 1 || f.num == 2:
			return s, errHandOver
		}
	}
	return s, nil
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
		for _, smp := range s.samples {
			ref, err = app.Append(ref, s.labels, 0, smp.t, smp.v, nil, nil, storage.AOptions{})
			if err != nil && !errors.Is(err, (*storage.AppendPartialError)(nil)) {
				return fmt.Errorf("series %s: %w", s.labels, err)
			}
		}
	}
	return nil
}
