package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// sendStats counts what the senders did.
type sendStats struct {
	requests atomic.Int64 // requests acknowledged with 2xx
	sent     atomic.Int64 // samples in requests sent at least once
	acked    atomic.Int64 // samples in requests acknowledged with 2xx
	rejected atomic.Int64 // samples in requests refused with a 4xx other than 429
	retries  atomic.Int64 // attempts retried after a 5xx, a 429 or a network error

	mu       sync.Mutex
	firstErr string // the first refusal, for the report
}

func (s *sendStats) refuse(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.firstErr == "" {
		s.firstErr = msg
	}
}

// sender posts remote-write 1.0 requests to one URL, as a Prometheus
// queue manager's shards do.
type sender struct {
	url        string
	client     *http.Client
	stats      *sendStats
	minBackoff time.Duration
	maxBackoff time.Duration
}

func newSender(url string, concurrency int) *sender {
	return &sender{
		url: url,
		client: &http.Client{
			Timeout: time.Minute,
			Transport: &http.Transport{
				MaxIdleConns:        concurrency,
				MaxIdleConnsPerHost: concurrency,
				IdleConnTimeout:     time.Minute,
			},
		},
		stats: &sendStats{},
		// Prometheus's remote_write defaults.
		minBackoff: 30 * time.Millisecond,
		maxBackoff: 5 * time.Second,
	}
}

// run sends every round of lf with concurrency senders. All of a round's
// requests are acknowledged (or refused) before the next round starts, so
// each series' samples arrive in time order and the senders never drift
// apart in time, which the TSDB head's appendable window requires.
// Reading the file runs ahead of the sending by readahead rounds.
func (s *sender) run(ctx context.Context, lf *loadFile, concurrency, readahead int) error {
	rounds := make(chan []request, readahead)
	readErr := make(chan error, 1)
	go func() {
		defer close(rounds)
		for {
			reqs, err := lf.nextRound()
			if errors.Is(err, io.EOF) {
				readErr <- nil
				return
			}
			if err != nil {
				readErr <- err
				return
			}
			select {
			case rounds <- reqs:
			case <-ctx.Done():
				readErr <- ctx.Err()
				return
			}
		}
	}()

	work := make(chan request)
	var inflight sync.WaitGroup
	var workers sync.WaitGroup
	for range concurrency {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for r := range work {
				s.send(ctx, r)
				inflight.Done()
			}
		}()
	}
	n := 0
	for reqs := range rounds {
		for _, r := range reqs {
			inflight.Add(1)
			work <- r
		}
		inflight.Wait()
		n++
		if ctx.Err() != nil {
			break
		}
	}
	close(work)
	workers.Wait()
	if err := <-readErr; err != nil {
		return err
	}
	if n != lf.plan.Rounds {
		return fmt.Errorf("sent %d of %d rounds", n, lf.plan.Rounds)
	}
	return ctx.Err()
}

// send posts one request until it is acknowledged or refused: a 5xx, a
// 429 or a network error is retried with exponential backoff, as
// Prometheus's remote write retries; any other status ends it.
func (s *sender) send(ctx context.Context, r request) {
	s.stats.sent.Add(int64(r.samples))
	backoff := s.minBackoff
	for ctx.Err() == nil {
		code, msg, err := s.post(ctx, r.body)
		switch {
		case err == nil && code/100 == 2:
			s.stats.requests.Add(1)
			s.stats.acked.Add(int64(r.samples))
			return
		case err == nil && code != http.StatusTooManyRequests && code/100 == 4:
			s.stats.rejected.Add(int64(r.samples))
			s.stats.refuse(fmt.Sprintf("%d %s", code, msg))
			return
		}
		s.stats.retries.Add(1)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
		}
		backoff = min(2*backoff, s.maxBackoff)
	}
}

func (s *sender) post(ctx context.Context, body []byte) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	req.Header.Set("User-Agent", "rwload")
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return resp.StatusCode, string(bytes.TrimSpace(msg)), nil
}
