package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// sender posts a corpus in batches to one URL.
type sender struct {
	url        string
	format     string // "jsonl" or "otlp"
	batchLines int
	senders    int
	rate       float64 // lines per second over all senders; 0 is unlimited
	maxLines   int     // per pass; 0 is the whole corpus
	repeat     int     // passes over the corpus
	client     *http.Client

	sent     atomic.Int64 // lines acknowledged with 2xx
	rejected atomic.Int64 // lines in batches answered 4xx other than 429
	retries  atomic.Int64 // requests repeated after a 429, a 5xx or a network error
	requests atomic.Int64
}

func newSender(url, format string, batch, senders int, rate float64, maxLines, repeat int) *sender {
	return &sender{
		url: url, format: format, batchLines: batch, senders: senders, rate: rate, maxLines: maxLines, repeat: max(1, repeat),
		client: &http.Client{
			Timeout: 5 * time.Minute,
			Transport: &http.Transport{
				MaxIdleConnsPerHost: senders,
				DisableCompression:  true,
			},
		},
	}
}

// batch is a run of whole lines of the corpus.
type batch struct {
	data  []byte
	lines int
}

// run reads the corpus and sends it, s.repeat times, returning when every
// batch has been acknowledged or refused.
func (s *sender) run(ctx context.Context, corpus string) error {
	batches := make(chan batch, 2*s.senders)
	var wg sync.WaitGroup
	errc := make(chan error, s.senders+1)
	for range s.senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				if err := s.post(ctx, b); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	var readErr error
	p := pacer{start: time.Now()}
	for range s.repeat {
		f, err := os.Open(corpus)
		if err != nil {
			readErr = err
			break
		}
		readErr = s.read(ctx, f, batches, &p)
		f.Close()
		if readErr != nil {
			break
		}
	}
	close(batches)
	wg.Wait()
	close(errc)
	if readErr != nil {
		return readErr
	}
	return <-errc
}

// pacer spaces batches over all passes when a rate is set.
type pacer struct {
	start time.Time
	lines int // handed to the senders so far
}

// read cuts one pass over the corpus into batches.
func (s *sender) read(ctx context.Context, r io.Reader, out chan<- batch, p *pacer) error {
	br := bufio.NewReaderSize(r, 4<<20)
	total := 0
	for s.maxLines == 0 || total < s.maxLines {
		want := s.batchLines
		if s.maxLines > 0 {
			want = min(want, s.maxLines-total)
		}
		data := make([]byte, 0, want*330)
		n := 0
		for n < want {
			line, err := br.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				return errors.New("corpus line longer than 4 MiB")
			}
			if len(line) > 0 {
				data = append(data, line...)
				n++
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
		if n == 0 {
			return nil
		}
		if s.rate > 0 {
			due := p.start.Add(time.Duration(float64(p.lines) / s.rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		select {
		case out <- batch{data: data, lines: n}:
		case <-ctx.Done():
			return ctx.Err()
		}
		total += n
		p.lines += n
		if n < want {
			return nil
		}
	}
	return nil
}

// post sends one batch, retrying what a server asks to be retried.
func (s *sender) post(ctx context.Context, b batch) error {
	body, ctype := b.data, "application/x-ndjson"
	if s.format == "otlp" {
		var err error
		if body, err = toOTLP(b.data); err != nil {
			return err
		}
		ctype = "application/x-protobuf"
	}
	backoff := 50 * time.Millisecond
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", ctype)
		s.requests.Add(1)
		resp, err := s.client.Do(req)
		code := 0
		var msg []byte
		if err == nil {
			msg, _ = io.ReadAll(io.LimitReader(resp.Body, 4096))
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			code = resp.StatusCode
		}
		switch {
		case err == nil && code/100 == 2:
			s.sent.Add(int64(b.lines))
			return nil
		case err == nil && code/100 == 4 && code != http.StatusTooManyRequests:
			s.rejected.Add(int64(b.lines))
			fmt.Fprintf(os.Stderr, "logload: batch refused: %d %s\n", code, bytes.TrimSpace(msg))
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		}
		s.retries.Add(1)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return ctx.Err()
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}
