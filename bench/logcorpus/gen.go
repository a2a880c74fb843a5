package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Config says what corpus Generate writes.
type Config struct {
	Lines       int           // lines to write
	Seed        uint64        // seed of the random generator
	Start       time.Time     // time of the first line
	Span        time.Duration // time the lines span
	NeedleEvery int           // every n'th request is a needle
}

// Manifest describes a generated corpus: what bench/logload needs to
// query it and check the answers.
type Manifest struct {
	Seed     uint64         `json:"seed"`
	Start    time.Time      `json:"start"` // no line is earlier
	End      time.Time      `json:"end"`   // every line is earlier
	Lines    int            `json:"lines"`
	Bytes    int64          `json:"bytes"`
	Requests int            `json:"requests"`
	Services map[string]int `json:"services"` // lines per service
	Levels   map[string]int `json:"levels"`   // lines per level
	Words    []WordCount    `json:"words"`    // planted rare words
	Needles  []Needle       `json:"needles"`  // planted requests
}

// WordCount is a planted word and the number of lines holding it.
type WordCount struct {
	Word     string  `json:"word"`
	Lines    int     `json:"lines"`
	Fraction float64 `json:"fraction"` // of all lines
}

// Needle is a request whose lines a query can look for by correlation ID
// or trace ID.
type Needle struct {
	CorrelationID string    `json:"correlation_id"`
	TraceID       string    `json:"trace_id"`
	Time          time.Time `json:"time"` // of its first line
	Lines         int       `json:"lines"`
}

// plantedWords are the rare words: a line whose number (from 0) modulo
// every is phase holds the word. The phases keep the words off each
// other's lines.
var plantedWords = []struct {
	word         string
	every, phase int
}{
	{"marzipan", 1_000, 517},
	{"zanzibar", 10_000, 5_017},
	{"quetzal", 100_000, 50_017},
	{"obsidian", 1_000_000, 500_017},
}

// Level names as the lines spell them, and how often each is drawn, in
// thousandths.
var (
	levelNames  = [4]string{"debug", "info", "warn", "error"}
	levelWeight = [4]int{100, 790, 95, 15}
)

// rng is splitmix64: small, fast, and fully specified here, so the corpus
// does not depend on the Go version's math/rand.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a number in [0, n).
func (r *rng) intn(n int) int {
	hi, _ := mul64(r.next(), uint64(n))
	return int(hi)
}

func mul64(a, b uint64) (hi, lo uint64) {
	const mask32 = 1<<32 - 1
	a0, a1 := a&mask32, a>>32
	b0, b1 := b&mask32, b>>32
	w0 := a0 * b0
	t := a1*b0 + w0>>32
	w1 := t&mask32 + a0*b1
	return a1*b1 + t>>32 + w1>>32, a * b
}

// float returns a number in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

func pick(r *rng, s []string) string { return s[r.intn(len(s))] }

// A template is a message split into literal text and variables.
type template struct {
	level int
	segs  []segment
}

type segment struct {
	lit string
	v   varKind // 0: lit only
}

type varKind int

const (
	vLit varKind = iota
	vMethod
	vPath
	vStatus
	vStatus5
	vMs
	vUs
	vN
	vQty
	vID
	vSKU
	vOrder
	vUser
	vPayment
	vShipment
	vHex8
	vIP
	vPort
	vAmount
	vCurrency
	vPct
	vLast4
	vEmail
	vPod
	vOffset
	vPageN
	vBytes
	vAttempt
	vBool
	vKey
	vShard
	vSQL
	vErr
	vDBErr
	vSvc
	vList // a pick from segment.list
)

// listVars are the variables drawn from a fixed list of values.
var listVars = map[string][]string{
	"page": pages, "asset": assets, "experiment": experiments, "variant": variants,
	"locale": locales, "idp": idps, "mfa": mfas, "role": roles, "region": regions,
	"client": clients, "query": queries, "prefix": prefixes, "category": categories,
	"model": models, "warehouse": warehouses, "coupon": coupons, "state": states,
	"topic": topics, "decline": declines, "card": cards, "psp": psps, "carrier": carriers,
	"ship_state": shipStates, "delay": delays, "email_kind": emailKinds, "smtp": smtps,
	"pool": pools, "flag": flags,
}

var namedVars = map[string]varKind{
	"method": vMethod, "path": vPath, "status": vStatus, "status5": vStatus5, "ms": vMs,
	"us": vUs, "n": vN, "qty": vQty, "id": vID, "sku": vSKU, "order": vOrder, "user": vUser,
	"payment": vPayment, "shipment": vShipment, "hex8": vHex8, "ip": vIP, "port": vPort,
	"amount": vAmount, "currency": vCurrency, "pct": vPct, "last4": vLast4, "email": vEmail,
	"pod": vPod, "offset": vOffset, "page_n": vPageN, "bytes": vBytes, "attempt": vAttempt,
	"bool": vBool, "key": vKey, "shard": vShard, "sql": vSQL, "err": vErr, "dberr": vDBErr,
	"svc": vSvc,
}

// parseTemplate splits "L text {var} text" into a template.
func parseTemplate(s string) template {
	var t template
	switch s[0] {
	case 'd':
		t.level = 0
	case 'i':
		t.level = 1
	case 'w':
		t.level = 2
	case 'e':
		t.level = 3
	default:
		panic("template without level: " + s)
	}
	t.segs = parseSegments(s[2:])
	return t
}

func parseSegments(s string) []segment {
	if strings.ContainsAny(s, `"\`) {
		panic("template needs JSON escaping: " + s)
	}
	var segs []segment
	for s != "" {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			segs = append(segs, segment{lit: s})
			break
		}
		if i > 0 {
			segs = append(segs, segment{lit: s[:i]})
		}
		j := strings.IndexByte(s[i:], '}')
		name := s[i+1 : i+j]
		s = s[i+j+1:]
		if k, ok := namedVars[name]; ok {
			segs = append(segs, segment{v: k})
		} else if _, ok := listVars[name]; ok {
			segs = append(segs, segment{v: vList, lit: name})
		} else {
			panic("unknown template variable " + name)
		}
	}
	return segs
}

// request is what the lines of one request share.
type request struct {
	traceID, corrID string
	method          string
	user            string // "" for an anonymous request
	order           string // "" unless the flow places an order
	flow            int
	hop             int
}

// generator holds the parsed templates and the state of one corpus.
type generator struct {
	cfg     Config
	r       rng
	byLevel map[string]*[4][]template // per service, by level
	shared  [4][]template
	routes  [][]segment
	sqls    [][]segment
	lists   map[string][]string
	flowSum int
	buf     []byte
	msg     []byte
	req     request
	status  int
}

func newGenerator(cfg Config) *generator {
	g := &generator{cfg: cfg, r: rng{s: cfg.Seed}, byLevel: map[string]*[4][]template{}, lists: listVars}
	for svc, ts := range serviceTemplates {
		var lv [4][]template
		for _, s := range ts {
			t := parseTemplate(s)
			lv[t.level] = append(lv[t.level], t)
		}
		g.byLevel[svc] = &lv
	}
	for _, s := range sharedTemplates {
		t := parseTemplate(s)
		g.shared[t.level] = append(g.shared[t.level], t)
	}
	for _, s := range routes {
		g.routes = append(g.routes, parseSegments(s))
	}
	for _, s := range sqlSnippets {
		g.sqls = append(g.sqls, parseSegments(s))
	}
	for _, f := range flows {
		g.flowSum += f.weight
	}
	// Templates are looked up by service in a fixed order, never by
	// ranging over the map, so the output is deterministic.
	for _, f := range flows {
		for _, s := range f.services {
			if _, ok := g.byLevel[s]; !ok {
				panic("flow service without templates: " + s)
			}
		}
	}
	return g
}

// Generate writes cfg.Lines lines to w and returns the manifest.
func Generate(w io.Writer, cfg Config) (*Manifest, error) {
	g := newGenerator(cfg)
	m := &Manifest{
		Seed: cfg.Seed, Start: cfg.Start, End: cfg.Start.Add(cfg.Span), Lines: cfg.Lines,
		Services: map[string]int{}, Levels: map[string]int{},
	}
	wordLines := make([]int, len(plantedWords))
	startNs := cfg.Start.UnixNano()
	// Requests start in the first Span-1m; their lines follow within a
	// few seconds, so every line is before End.
	usable := float64(cfg.Span - time.Minute)
	const diurnal = 0.6
	line := 0
	for req := 0; line < cfg.Lines; req++ {
		u := float64(line) / float64(cfg.Lines)
		// t(u) = u + a·sin(2πu)/2π grows slowest at midday: the
		// request rate peaks there at 4× that of midnight.
		tu := u + diurnal*math.Sin(2*math.Pi*u)/(2*math.Pi)
		t := startNs + int64(tu*usable)
		g.newRequest()
		needle := req%cfg.NeedleEvery == cfg.NeedleEvery/2
		first := t
		n := 0
		f := flows[g.req.flow]
		for hop, svc := range f.services {
			g.req.hop = hop
			spanID := g.hex(8)
			k := 1
			if g.r.intn(2) == 0 {
				k++
			}
			if g.r.intn(5) == 0 {
				k++
			}
			for ; k > 0 && line < cfg.Lines; k-- {
				t += int64(g.r.intn(8_000_000)) + 50_000
				level := g.level()
				g.buf = g.buf[:0]
				g.appendLine(t, level, svc, spanID, line, k == 1)
				for i, p := range plantedWords {
					if line%p.every == p.phase {
						wordLines[i]++
					}
				}
				if _, err := w.Write(g.buf); err != nil {
					return nil, err
				}
				m.Bytes += int64(len(g.buf))
				m.Services[svc]++
				m.Levels[levelNames[level]]++
				line++
				n++
			}
		}
		if t >= m.End.UnixNano() {
			return nil, fmt.Errorf("request %d ends after the corpus end", req)
		}
		if needle && n > 0 {
			m.Needles = append(m.Needles, Needle{CorrelationID: g.req.corrID, TraceID: g.req.traceID,
				Time: time.Unix(0, first).UTC(), Lines: n})
		}
		m.Requests = req + 1
	}
	for i, p := range plantedWords {
		m.Words = append(m.Words, WordCount{Word: p.word, Lines: wordLines[i], Fraction: float64(wordLines[i]) / float64(line)})
	}
	return m, nil
}

// newRequest draws the shared parts of the next request.
func (g *generator) newRequest() {
	x := g.r.intn(g.flowSum)
	flow := 0
	for i, f := range flows {
		if x < f.weight {
			flow = i
			break
		}
		x -= f.weight
	}
	g.req = request{
		traceID: g.hex(16),
		corrID:  g.uuid(),
		method:  pick(&g.r, httpMethods),
		flow:    flow,
	}
	if g.r.intn(10) >= 3 || flows[flow].order {
		g.req.user = g.userID()
	}
	if flows[flow].order {
		g.req.order = g.orderID()
		g.req.method = "POST"
	}
}

func (g *generator) level() int {
	x := g.r.intn(1000)
	for i, w := range levelWeight {
		if x < w {
			return i
		}
		x -= w
	}
	return 1
}

// appendLine appends one JSON line to g.buf.
// The last line of a hop (last) is the one that says how its call ended:
// it alone carries http.method, http.status and duration_ms.
func (g *generator) appendLine(t int64, level int, svc, spanID string, line int, last bool) {
	// The status goes with the level: errors are 5xx, some warnings 4xx.
	switch level {
	case 3:
		g.status = 500 + []int{0, 2, 3, 4}[g.r.intn(4)]
	case 2:
		g.status = []int{200, 200, 400, 401, 404, 409, 429}[g.r.intn(7)]
	default:
		g.status = []int{200, 200, 200, 200, 200, 200, 201, 204, 304}[g.r.intn(9)]
	}
	var t0 template
	if lv := g.byLevel[svc]; g.r.intn(4) != 0 && len(lv[level]) > 0 {
		t0 = lv[level][g.r.intn(len(lv[level]))]
	} else {
		t0 = g.shared[level][g.r.intn(len(g.shared[level]))]
	}
	g.msg = g.render(g.msg[:0], t0.segs)
	for _, p := range plantedWords {
		if line%p.every == p.phase {
			g.msg = append(g.msg, " routed through "...)
			g.msg = append(g.msg, p.word...)
			g.msg = append(g.msg, " gateway"...)
		}
	}

	b := g.buf
	b = append(b, `{"time":"`...)
	b = time.Unix(0, t).UTC().AppendFormat(b, "2006-01-02T15:04:05.000000000Z")
	b = append(b, `","level":"`...)
	b = append(b, levelNames[level]...)
	b = append(b, `","msg":"`...)
	b = append(b, g.msg...)
	b = append(b, `","service":"`...)
	b = append(b, svc...)
	b = append(b, `","trace_id":"`...)
	b = append(b, g.req.traceID...)
	b = append(b, `","span_id":"`...)
	b = append(b, spanID...)
	b = append(b, `","correlation_id":"`...)
	b = append(b, g.req.corrID...)
	b = append(b, '"')
	if last {
		b = append(b, `,"http.method":"`...)
		b = append(b, g.req.method...)
		b = append(b, `","http.status":`...)
		b = strconv.AppendInt(b, int64(g.status), 10)
		b = append(b, `,"duration_ms":`...)
		b = strconv.AppendFloat(b, float64(g.duration(40_000))/1000, 'f', 1, 64)
	}
	if g.req.user != "" {
		b = append(b, `,"user_id":"`...)
		b = append(b, g.req.user...)
		b = append(b, '"')
	}
	if g.req.order != "" && (svc == "checkout" || svc == "payments" || svc == "shipping") {
		b = append(b, `,"order_id":"`...)
		b = append(b, g.req.order...)
		b = append(b, '"')
	}
	b = append(b, "}\n"...)
	g.buf = b
}

// duration draws a heavy-tailed duration around mean (any unit): mostly
// exponential, with one in fifty ten times longer.
func (g *generator) duration(mean int) int {
	d := -math.Log(1-g.r.float()) * float64(mean)
	if g.r.intn(50) == 0 {
		d *= 10
	}
	return int(d) + 1
}

const hexDigits = "0123456789abcdef"

// hex returns n random bytes as 2n hex digits.
func (g *generator) hex(n int) string {
	var b [32]byte
	for i := 0; i < 2*n; i += 16 {
		x := g.r.next()
		for j := i; j < min(i+16, 2*n); j++ {
			b[j] = hexDigits[x&15]
			x >>= 4
		}
	}
	return string(b[:2*n])
}

func (g *generator) uuid() string {
	h := []byte(g.hex(16))
	h[12] = '4'
	h[16] = "89ab"[h[16]&3]
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
}

// userID draws from 200,000 users, some much more active than others.
func (g *generator) userID() string {
	u := g.r.intn(200_000)
	if g.r.intn(3) == 0 {
		u %= 2_000
	}
	return "u" + pad(u, 7)
}

func (g *generator) orderID() string { return "ORD-" + pad(g.r.intn(10_000_000_000), 10) }

func pad(n, width int) string {
	s := strconv.Itoa(n)
	for len(s) < width {
		s = "0" + s
	}
	return s
}

// render appends the message of segs to dst.
func (g *generator) render(dst []byte, segs []segment) []byte {
	r := &g.r
	for _, s := range segs {
		switch s.v {
		case vLit:
			dst = append(dst, s.lit...)
		case vList:
			dst = append(dst, pick(r, g.lists[s.lit])...)
		case vMethod:
			dst = append(dst, g.req.method...)
		case vPath:
			dst = g.render(dst, g.routes[r.intn(len(g.routes))])
		case vStatus:
			dst = strconv.AppendInt(dst, int64(g.status), 10)
		case vStatus5:
			dst = strconv.AppendInt(dst, int64(500+[]int{0, 2, 3, 4}[r.intn(4)]), 10)
		case vMs:
			dst = strconv.AppendInt(dst, int64(g.duration(35)), 10)
		case vUs:
			dst = strconv.AppendInt(dst, int64(g.duration(400)), 10)
		case vN:
			dst = strconv.AppendInt(dst, int64(r.intn(1000)), 10)
		case vQty:
			dst = strconv.AppendInt(dst, int64(1+r.intn(9)), 10)
		case vID:
			dst = strconv.AppendInt(dst, int64(1+r.intn(99_999)), 10)
		case vSKU:
			dst = append(dst, "SKU-"...)
			dst = append(dst, pad(r.intn(100_000), 5)...)
		case vOrder:
			if g.req.order != "" {
				dst = append(dst, g.req.order...)
			} else {
				dst = append(dst, g.orderID()...)
			}
		case vUser:
			if g.req.user != "" {
				dst = append(dst, g.req.user...)
			} else {
				dst = append(dst, g.userID()...)
			}
		case vPayment:
			dst = append(dst, "pay_"...)
			dst = append(dst, g.hex(7)...)
		case vShipment:
			dst = append(dst, "SHP"...)
			dst = append(dst, pad(r.intn(1_000_000_000), 9)...)
		case vHex8:
			dst = append(dst, g.hex(4)...)
		case vIP:
			dst = append(dst, "10."...)
			dst = strconv.AppendInt(dst, int64(r.intn(4)), 10)
			dst = append(dst, '.')
			dst = strconv.AppendInt(dst, int64(r.intn(256)), 10)
			dst = append(dst, '.')
			dst = strconv.AppendInt(dst, int64(1+r.intn(254)), 10)
		case vPort:
			dst = strconv.AppendInt(dst, int64([]int{5432, 6379, 9092, 8080, 443, 32768 + r.intn(28000)}[r.intn(6)]), 10)
		case vAmount:
			dst = strconv.AppendInt(dst, int64(1+r.intn(400)), 10)
			dst = append(dst, '.')
			dst = append(dst, pad(r.intn(100), 2)...)
		case vCurrency:
			dst = append(dst, pick(r, currencies)...)
		case vPct:
			dst = strconv.AppendInt(dst, int64(r.intn(100)), 10)
			dst = append(dst, '%')
		case vLast4:
			dst = append(dst, pad(r.intn(10_000), 4)...)
		case vEmail:
			dst = append(dst, "abcdefghijklmnopqrstuvwxyz"[r.intn(26)])
			dst = append(dst, "***@"...)
			dst = append(dst, pick(r, domains)...)
		case vPod:
			dst = append(dst, flows[g.req.flow].services[g.req.hop]...)
			dst = append(dst, '-')
			dst = append(dst, g.hex(3)...)
			dst = append(dst, '-')
			dst = append(dst, g.hex(3)[:5]...)
		case vOffset:
			dst = strconv.AppendInt(dst, int64(r.intn(100_000_000)), 10)
		case vPageN:
			dst = strconv.AppendInt(dst, int64(1+r.intn(10)), 10)
		case vBytes:
			dst = strconv.AppendInt(dst, int64(g.duration(8_000)), 10)
		case vAttempt:
			dst = strconv.AppendInt(dst, int64(1+r.intn(3)), 10)
		case vBool:
			dst = strconv.AppendBool(dst, r.intn(2) == 0)
		case vKey:
			if r.intn(2) == 0 {
				dst = append(dst, "product:"...)
				dst = strconv.AppendInt(dst, int64(1+r.intn(99_999)), 10)
			} else {
				dst = append(dst, "stock:SKU-"...)
				dst = append(dst, pad(r.intn(100_000), 5)...)
			}
		case vShard:
			dst = strconv.AppendInt(dst, int64(r.intn(16)), 10)
		case vSQL:
			dst = g.render(dst, g.sqls[r.intn(len(g.sqls))])
		case vErr:
			dst = append(dst, pick(r, errorStrings)...)
		case vDBErr:
			dst = append(dst, pick(r, dbErrors)...)
		case vSvc:
			svcs := flows[g.req.flow].services
			if h := g.req.hop + 1; h < len(svcs) {
				dst = append(dst, svcs[h]...)
			} else {
				dst = append(dst, pick(r, []string{"postgres", "redis", "kafka", "elasticsearch"})...)
			}
		}
	}
	return dst
}
