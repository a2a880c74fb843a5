package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/klauspost/compress/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// plan says what a load file holds: which series, which time span, and
// how the samples are cut into requests. It is the header of the file.
type plan struct {
	// Instances is the number of scrape targets; each has
	// seriesPerInstance series.
	Instances int `json:"instances"`
	// IntervalMs is the scrape interval.
	IntervalMs int64 `json:"interval_ms"`
	// StartMs is the first round's time, a multiple of two hours, so the
	// TSDB's first block covers whole rounds; instance i scrapes at
	// StartMs + round*IntervalMs + its own phase within the interval.
	StartMs int64 `json:"start_ms"`
	// Rounds is the number of scrapes of every series.
	Rounds int `json:"rounds"`
	// PerRequest is the number of instances whose samples share one
	// request; a request holds PerRequest*seriesPerInstance samples.
	PerRequest int `json:"per_request"`
	// Seed fixes the values' noise.
	Seed uint64 `json:"seed"`
	// RequestsPerRound is the number of requests of each round.
	RequestsPerRound int `json:"requests_per_round"`
}

// Series is the number of series the plan writes.
func (p plan) Series() int { return p.Instances * seriesPerInstance }

// EndMs is just past the last round.
func (p plan) EndMs() int64 { return p.StartMs + int64(p.Rounds)*p.IntervalMs }

// phase is instance i's scrape offset within the interval, as Prometheus
// spreads its targets' scrapes over the interval.
func (p plan) phase(i int) int64 { return int64(unit(uint64(i), 5) * float64(p.IntervalMs)) }

const fileMagic = "RWLOAD1\n"

// generate writes the plan's requests to path: the magic, the plan as
// JSON, then every round's requests in order, each as its length and
// sample count (little-endian uint32s) followed by the snappy-compressed
// prompb.WriteRequest.
func generate(path string, p plan, workers int) error {
	p.RequestsPerRound = (p.Instances + p.PerRequest - 1) / p.PerRequest
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 4<<20)
	hdr, _ := json.Marshal(p)
	w.WriteString(fileMagic)
	binary.Write(w, binary.LittleEndian, uint32(len(hdr)))
	w.Write(hdr)

	// Every series' labels, built once: target labels and the series' own.
	labels := make([][]prompb.Label, p.Series())
	for i := range p.Instances {
		target := targetLabels(i)
		for s, def := range instanceSeries {
			labels[i*seriesPerInstance+s] = seriesLabels(target, def)
		}
	}
	states := make([]instanceState, p.Instances)

	// Workers each build every workers-th request of a round; a request's
	// instances (and so their states) belong to one worker only.
	workers = max(1, min(workers, p.RequestsPerRound))
	out := make([][]byte, p.RequestsPerRound)
	start := time.Now()
	var total int64
	for round := range p.Rounds {
		var wg sync.WaitGroup
		for wk := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				g := newRequestBuilder(p)
				for k := wk; k < p.RequestsPerRound; k += workers {
					out[k] = g.build(p, round, k, labels, states)
				}
			}()
		}
		wg.Wait()
		for k, b := range out {
			first := k * p.PerRequest
			n := min(p.PerRequest, p.Instances-first) * seriesPerInstance
			binary.Write(w, binary.LittleEndian, [2]uint32{uint32(len(b)), uint32(n)})
			w.Write(b)
			total += int64(len(b))
		}
		if round%10 == 9 || round == p.Rounds-1 {
			fmt.Fprintf(os.Stderr, "rwload: generated %d/%d rounds, %.1f MiB, %.0f s\n",
				round+1, p.Rounds, float64(total)/(1<<20), time.Since(start).Seconds())
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// requestBuilder builds requests, reusing its buffers.
type requestBuilder struct {
	series  []prompb.TimeSeries
	samples []prompb.Sample
	pcg     *rand.PCG
	rng     *rand.Rand
	raw     []byte
}

func newRequestBuilder(p plan) *requestBuilder {
	n := p.PerRequest * seriesPerInstance
	pcg := rand.NewPCG(0, 0)
	return &requestBuilder{
		series:  make([]prompb.TimeSeries, n),
		samples: make([]prompb.Sample, n),
		pcg:     pcg,
		rng:     rand.New(pcg),
	}
}

// build returns request k of a round, compressed.
func (g *requestBuilder) build(p plan, round, k int, labels [][]prompb.Label, states []instanceState) []byte {
	first := k * p.PerRequest
	last := min(first+p.PerRequest, p.Instances)
	n := 0
	sec := float64(p.IntervalMs) / 1000
	for i := first; i < last; i++ {
		g.pcg.Seed(p.Seed^uint64(round), uint64(i))
		step(&states[i], i, sec, g.rng)
		ts := p.StartMs + int64(round)*p.IntervalMs + p.phase(i)
		for s := range seriesPerInstance {
			g.samples[n] = prompb.Sample{Value: states[i].values[s], Timestamp: ts}
			g.series[n] = prompb.TimeSeries{Labels: labels[i*seriesPerInstance+s], Samples: g.samples[n : n+1 : n+1]}
			n++
		}
	}
	req := prompb.WriteRequest{Timeseries: g.series[:n]}
	size := req.Size()
	if cap(g.raw) < size {
		g.raw = make([]byte, size)
	}
	raw := g.raw[:size]
	if _, err := req.MarshalToSizedBuffer(raw); err != nil {
		panic(err) // cannot happen: the buffer has the message's size
	}
	return snappy.Encode(nil, raw)
}

// loadFile reads a load file's requests round by round.
type loadFile struct {
	plan plan
	f    *os.File
	r    *bufio.Reader
}

// request is one remote-write request of a load file.
type request struct {
	body    []byte // snappy-compressed prompb.WriteRequest
	samples int
}

func openLoadFile(path string) (*loadFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r := bufio.NewReaderSize(f, 4<<20)
	magic := make([]byte, len(fileMagic))
	var n uint32
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != fileMagic {
		f.Close()
		return nil, fmt.Errorf("%s: not an rwload file", path)
	}
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
		f.Close()
		return nil, err
	}
	hdr := make([]byte, n)
	if _, err := io.ReadFull(r, hdr); err != nil {
		f.Close()
		return nil, err
	}
	lf := &loadFile{f: f, r: r}
	if err := json.Unmarshal(hdr, &lf.plan); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	return lf, nil
}

// nextRound reads the next round's requests.
func (lf *loadFile) nextRound() ([]request, error) {
	reqs := make([]request, lf.plan.RequestsPerRound)
	for k := range reqs {
		var h [2]uint32
		if err := binary.Read(lf.r, binary.LittleEndian, &h); err != nil {
			if errors.Is(err, io.EOF) && k == 0 {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("truncated load file: %w", err)
		}
		reqs[k] = request{body: make([]byte, h[0]), samples: int(h[1])}
		if _, err := io.ReadFull(lf.r, reqs[k].body); err != nil {
			return nil, fmt.Errorf("truncated load file: %w", err)
		}
	}
	return reqs, nil
}

func (lf *loadFile) Close() error { return lf.f.Close() }

// defaultWorkers leaves one core to the rest of the machine.
func defaultWorkers() int { return max(1, runtime.NumCPU()-1) }
