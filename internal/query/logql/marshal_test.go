package logql_test

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/argus-obs/argus/internal/query/logql"
	"github.com/argus-obs/argus/internal/query/logql/logqltest"
)

func marshalQuery(t *testing.T, q logql.Querier, p logql.Params, categorize bool) string {
	t.Helper()
	res, err := logql.NewEngine(logql.EngineOptions{}).Query(context.Background(), q, p)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := res.MarshalLoki(&buf, categorize); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(buf.Bytes()) {
		t.Fatalf("invalid JSON: %s", buf.Bytes())
	}
	// Stats hold timings: blank them for comparison.
	return regexp.MustCompile(`,"stats":.*}}$`).ReplaceAllString(buf.String(), "}}")
}

func TestMarshalLoki(t *testing.T) {
	sec := func(s float64) int64 { return int64(s * 1e9) }
	q := logqltest.NewMemQuerier([]logql.Entry{
		{Time: sec(1.5), Line: `{"msg":"hi \"there\"","n":1}`, Stream: labels.FromStrings("app", "a"), Metadata: labels.FromStrings("trace_id", "t1")},
		{Time: sec(2), Line: "plain\tline", Stream: labels.FromStrings("app", "a")},
		{Time: sec(3), Line: "other", Stream: labels.FromStrings("app", "b")},
	})
	at := func(s float64) time.Time { return time.Unix(0, sec(s)) }
	for _, tc := range []struct {
		name       string
		p          logql.Params
		categorize bool
		want       string
	}{
		{
			name: "streams",
			p:    logql.Params{Query: `{app="a"} | json | __error__=""`, Start: at(0), End: at(10)},
			want: `{"status":"success","data":{"resultType":"streams","result":[{"stream":{"app":"a","msg":"hi \"there\"","n":"1","trace_id":"t1"},"values":[["1500000000","{\"msg\":\"hi \\\"there\\\"\",\"n\":1}"]]}]}}`,
		},
		{
			name:       "streams categorized",
			p:          logql.Params{Query: `{app="a"} | json | drop __error__, __error_details__`, Start: at(0), End: at(10), Direction: logql.Forward},
			categorize: true,
			want:       `{"status":"success","data":{"resultType":"streams","encodingFlags":["categorize-labels"],"result":[{"stream":{"app":"a"},"values":[["1500000000","{\"msg\":\"hi \\\"there\\\"\",\"n\":1}",{"structuredMetadata":{"trace_id":"t1"},"parsed":{"msg":"hi \"there\"","n":"1"}}],["2000000000","plain\tline"]]}]}}`,
		},
		{
			name: "matrix",
			p:    logql.Params{Query: `sum by (app) (count_over_time({app=~"a|b"}[2s]))`, Start: at(1), End: at(3), Step: 500 * time.Millisecond},
			want: `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"app":"a"},"values":[[1.5,"1"],[2,"2"],[2.5,"2"],[3,"2"]]},{"metric":{"app":"b"},"values":[[3,"1"]]}]}}`,
		},
		{
			name: "vector",
			p:    logql.Params{Query: `rate({app="a"}[4s])`, Start: at(3.25), End: at(3.25)},
			want: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"app":"a"},"value":[3.25,"0.25"]},{"metric":{"app":"a","trace_id":"t1"},"value":[3.25,"0.25"]}]}}`,
		},
		{
			name: "scalar",
			p:    logql.Params{Query: `1 / 0`, Start: at(7), End: at(7)},
			want: `{"status":"success","data":{"resultType":"scalar","result":[7,"+Inf"]}}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := marshalQuery(t, q, tc.p, tc.categorize); got != tc.want {
				t.Errorf("\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestMarshalLokiStats(t *testing.T) {
	q := logqltest.NewMemQuerier([]logql.Entry{{Time: 1, Line: "abc", Stream: labels.FromStrings("app", "a")}})
	res, err := logql.NewEngine(logql.EngineOptions{}).Query(context.Background(), q, logql.Params{Query: `{app="a"}`, Start: time.Unix(0, 0), End: time.Unix(1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := res.MarshalLoki(&buf, false); err != nil {
		t.Fatal(err)
	}
	var body struct {
		Data struct {
			Stats struct {
				Summary struct {
					TotalBytesProcessed  int64 `json:"totalBytesProcessed"`
					TotalLinesProcessed  int64 `json:"totalLinesProcessed"`
					TotalEntriesReturned int64 `json:"totalEntriesReturned"`
				} `json:"summary"`
			} `json:"stats"`
		} `json:"data"`
	}
	if err := json.Unmarshal(buf.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	s := body.Data.Stats.Summary
	if s.TotalBytesProcessed != 3 || s.TotalLinesProcessed != 1 || s.TotalEntriesReturned != 1 {
		t.Errorf("stats %+v", s)
	}
}
