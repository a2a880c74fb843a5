package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// benchQuery is a PromQL range query run against both servers.
type benchQuery struct {
	name string
	expr string
}

// queries are the range queries of the benchmark. With the default 5,000
// instances, every (job, zone) pair has 100 instances: the first query
// sums the rate of 1,000 counters (100 instances × 5 handlers × 2
// methods), the second takes the 99th percentile of 100 classic
// histograms (100 instances × one handler and method, 1,000 bucket
// series).
var queries = []benchQuery{
	{"sum-rate-1000", `sum(rate(http_requests_total{job="checkout",zone="zone-1",code="200"}[5m]))`},
	{"histogram-quantile-100", `histogram_quantile(0.99, sum by (le) (rate(request_duration_seconds_bucket{job="checkout",zone="zone-1",handler="/api/cart",method="GET"}[5m])))`},
}

// queryResult is what one query measured.
type queryResult struct {
	name                     string
	median, fastest, slowest time.Duration
	series, points           int
	digest                   string // of the result, to compare servers' answers
}

// runQuery runs q as a range query of steps steps of step ending at end,
// runs times, and returns the latencies. With check, it runs the query
// once more first, untimed, to warm up and to check the answer and take
// its digest.
func runQuery(ctx context.Context, base string, q benchQuery, end time.Time, step time.Duration, steps, runs int, check bool) (queryResult, error) {
	start := end.Add(-time.Duration(steps-1) * step)
	v := url.Values{
		"query": {q.expr},
		"start": {strconv.FormatFloat(float64(start.UnixMilli())/1000, 'f', 3, 64)},
		"end":   {strconv.FormatFloat(float64(end.UnixMilli())/1000, 'f', 3, 64)},
		"step":  {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
	}
	u := base + "/api/v1/query_range?" + v.Encode()
	res := queryResult{name: q.name}
	var took []time.Duration
	first := 1
	if check {
		first = 0
	}
	for i := first; i <= runs; i++ {
		t0 := time.Now()
		body, err := get(ctx, u)
		d := time.Since(t0)
		if err != nil {
			return res, fmt.Errorf("query %s: %w", q.name, err)
		}
		if i == 0 { // the warm-up run; its answer is the one checked
			var r struct {
				Status string `json:"status"`
				Data   struct {
					Result []struct {
						Values [][2]any `json:"values"`
					} `json:"result"`
				} `json:"data"`
			}
			if err := json.Unmarshal(body, &r); err != nil || r.Status != "success" {
				return res, fmt.Errorf("query %s: %v: %.200s", q.name, err, body)
			}
			var raw struct {
				Data struct {
					Result json.RawMessage `json:"result"`
				} `json:"data"`
			}
			json.Unmarshal(body, &raw)
			sum := sha256.Sum256(raw.Data.Result)
			res.digest = hex.EncodeToString(sum[:6])
			res.series = len(r.Data.Result)
			for _, s := range r.Data.Result {
				res.points += len(s.Values)
			}
			continue
		}
		took = append(took, d)
	}
	if len(took) > 0 {
		res.median, res.fastest, res.slowest = spread(took)
	}
	return res, nil
}

// spread returns the median, smallest and largest of took, which it sorts.
func spread(took []time.Duration) (median, fastest, slowest time.Duration) {
	slices.Sort(took)
	median = took[len(took)/2]
	if len(took)%2 == 0 {
		median = (took[len(took)/2-1] + took[len(took)/2]) / 2
	}
	return median, took[0], took[len(took)-1]
}

func get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %.300s", resp.Status, body)
	}
	return body, nil
}
