package loki

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/websocket"

	"github.com/argus-obs/argus/internal/query/logql"
)

// maxTailDelay caps delay_for, as Loki does, so a tail stays live.
const maxTailDelay = 5 * time.Second

var upgrader = websocket.Upgrader{
	ReadBufferSize:  1024,
	WriteBufferSize: 16 << 10,
	// Grafana proxies the tail through its own origin and logcli sends
	// none; the API is on loopback by default and carries no cookies.
	CheckOrigin: func(*http.Request) bool { return true },
}

// tailMessage is one frame of Loki's tail protocol.
type tailMessage struct {
	Streams        []tailStream `json:"streams"`
	DroppedEntries []any        `json:"dropped_entries"`
}

type tailStream struct {
	Stream map[string]string `json:"stream"`
	Values [][2]string       `json:"values"`
}

// tail streams new lines matching a LogQL log query as they arrive, like
// Loki's /tail: it starts at start (default: now) and every TailInterval
// sends the lines that arrived since, oldest first, up to limit a frame.
// Lines newer than now minus delay_for wait for the next frame, so lines
// that reach the store a little late are not skipped.
func (a *API) tail(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	query := q.Get("query")
	if query == "" {
		badRequest(w, errors.New("missing query parameter"))
		return
	}
	expr, err := logql.ParseExpr(query)
	if err != nil {
		badRequest(w, err)
		return
	}
	if _, ok := expr.(*logql.LogExpr); !ok {
		badRequest(w, errors.New("tail needs a log query, not a metric query"))
		return
	}
	limit := 100
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit <= 0 {
			badRequest(w, errors.New("invalid limit: must be a positive integer"))
			return
		}
	}
	var delay time.Duration
	if s := q.Get("delay_for"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || time.Duration(n)*time.Second > maxTailDelay {
			badRequest(w, errors.New("invalid delay_for: must be 0 to 5 seconds"))
			return
		}
		delay = time.Duration(n) * time.Second
	}
	from, err := parseTime(q.Get("start"), a.now())
	if err != nil {
		badRequest(w, errors.New("invalid start: "+err.Error()))
		return
	}

	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() { // a read fails when the client goes away
		for {
			if _, _, err := conn.NextReader(); err != nil {
				cancel()
				return
			}
		}
	}()

	tick := time.NewTicker(a.tailEvery)
	defer tick.Stop()
	for {
		to := a.now().Add(-delay)
		if to.After(from) {
			res, err := a.engine.Query(ctx, a.reader, logql.Params{
				Query: query, Start: from, End: to, Step: time.Second, Limit: limit, Direction: logql.Forward,
			})
			if err != nil {
				if ctx.Err() == nil {
					a.log.Warn("loki tail", "query", query, "err", err)
					_ = conn.WriteControl(websocket.CloseMessage,
						websocket.FormatCloseMessage(websocket.CloseInternalServerErr, err.Error()), time.Now().Add(time.Second))
				}
				return
			}
			msg, last := tailFrame(res)
			if len(msg.Streams) > 0 {
				b, _ := json.Marshal(msg)
				_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
				if err := conn.WriteMessage(websocket.TextMessage, b); err != nil {
					return
				}
			}
			// A full frame may have left lines after the last one sent:
			// resume just after it; otherwise everything up to "to" is sent.
			if countEntries(res) >= limit {
				from = time.Unix(0, last+1)
			} else {
				from = to
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func countEntries(res *logql.Result) int {
	n := 0
	for _, s := range res.Streams {
		n += len(s.Entries)
	}
	return n
}

// tailFrame converts a log query result to a tail frame and returns the
// newest entry time in it.
func tailFrame(res *logql.Result) (tailMessage, int64) {
	msg := tailMessage{Streams: []tailStream{}}
	var last int64
	for _, s := range res.Streams {
		ts := tailStream{Stream: s.Labels.Map()}
		for _, e := range s.Entries {
			ts.Values = append(ts.Values, [2]string{strconv.FormatInt(e.Time, 10), e.Line})
			last = max(last, e.Time)
		}
		msg.Streams = append(msg.Streams, ts)
	}
	return msg, last
}
