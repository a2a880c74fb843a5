package syslog

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/argus-obs/argus/internal/model"
)

// ErrInvalidPRI is wrapped by the error of a message that starts with '<'
// but not with a valid PRI ("<0>" to "<191>"). It is the only reason the
// parser refuses a message: anything after a valid PRI is taken as best it
// can be.
var ErrInvalidPRI = errors.New("invalid syslog PRI")

// Parse parses one syslog message (RFC 5424, RFC 3164 or a plain line,
// detected from its bytes) into a log record, as the Server stores it.
// now is the time the message was received: it becomes the record's
// ObservedUnixNano, the time of a message without a timestamp, and the
// reference that resolves an RFC 3164 timestamp's year and time zone.
// Parse does not keep msg. The only error is one wrapping ErrInvalidPRI.
func Parse(msg []byte, now time.Time) (model.LogRecord, error) {
	var p parser
	var rec model.LogRecord
	err := p.parse(string(msg), now, &rec)
	return rec, err
}

// message is one parsed syslog message. Its strings are substrings of the
// text it was parsed from.
type message struct {
	hasPRI   bool
	facility uint8
	severity uint8
	hasTime  bool
	time     int64 // Unix nanoseconds
	hostname string
	appName  string // the RFC 3164 TAG without [pid]
	procID   string
	msgID    string
	sd       []sdParam
	msg      string
}

// sdParam is one SD-PARAM of RFC 5424 structured data, or an SD-ELEMENT
// without parameters (name empty).
type sdParam struct {
	id, name, value string
}

// maxInternedKeys bounds the parser's cache of "<sd-id>.<param>" keys, so
// a sender inventing new names cannot grow it without limit.
const maxInternedKeys = 4096

// parser turns message text into records. It is not safe for concurrent
// use. Its buffers are reused from message to message; the attributes of
// the records it fills live in arena until reset, so a batch of records
// costs no allocation per record beyond the message text.
type parser struct {
	m       message
	arena   []model.Attribute
	scratch []model.Attribute // SD params by bare name, for LiftCorrelationID
	keys    map[string]string // interned "<sd-id>.<param>" keys
	keyBuf  []byte
}

// reset forgets the attributes handed out since the last reset. Records
// filled before it must no longer be used.
func (p *parser) reset() {
	clear(p.arena) // let the collector have the strings they reference
	if cap(p.arena) > 1<<16 {
		p.arena = nil // one huge batch should not pin its memory forever
	}
	p.arena = p.arena[:0]
}

// parse parses text and fills rec, overwriting all of it. On error rec is
// left zero and nothing is added to the arena.
func (p *parser) parse(text string, now time.Time, rec *model.LogRecord) error {
	*rec = model.LogRecord{}
	if !utf8.ValidString(text) {
		// Stores and APIs speak UTF-8 (protobuf and JSON strings); a
		// legacy sender's Latin-1 byte becomes U+FFFD rather than
		// breaking them.
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	text = strings.TrimRight(text, "\r\n\x00")
	m := &p.m
	sd := m.sd[:0]
	*m = message{sd: sd}
	if err := parseMessage(text, now, m); err != nil {
		return err
	}
	p.fill(now, rec)
	return nil
}

// parseMessage parses text into m, which must be zero but for the
// capacity of m.sd.
func parseMessage(text string, now time.Time, m *message) error {
	if len(text) == 0 || text[0] != '<' {
		m.msg = text // a plain line: see the package documentation
		return nil
	}
	pri, n, ok := parsePRI(text)
	if !ok {
		return fmt.Errorf("%w: %q", ErrInvalidPRI, excerpt(text, 8))
	}
	m.hasPRI = true
	m.facility, m.severity = uint8(pri>>3), uint8(pri&7)
	rest := text[n:]
	if strings.HasPrefix(rest, "1 ") {
		if parse5424(rest[2:], now, m) {
			return nil
		}
		// Not RFC 5424 after all: rsyslog's parser chain hands such a
		// message to its RFC 3164 parser, which keeps all of it.
		m.reset5424()
	}
	parse3164(rest, now, m)
	return nil
}

// reset5424 undoes a failed RFC 5424 parse, keeping the PRI.
func (m *message) reset5424() {
	*m = message{hasPRI: true, facility: m.facility, severity: m.severity, sd: m.sd[:0]}
}

// parsePRI reads "<N>" with N from 0 to 191 in at most three digits and
// returns N and the PRI's length.
func parsePRI(s string) (pri, n int, ok bool) {
	i := 1
	for ; i < len(s) && i <= 4 && isDigit(s[i]); i++ {
		pri = pri*10 + int(s[i]-'0')
	}
	if i == 1 || i > 4 || i >= len(s) || s[i] != '>' || pri > 191 {
		return 0, 0, false
	}
	return pri, i + 1, true
}

// parse5424 parses what follows "<PRI>1 " strictly by RFC 5424's grammar,
// except that header fields may be longer than the RFC allows and the
// timestamp's time zone may be missing. It reports false when s does not
// follow the grammar.
func parse5424(s string, now time.Time, m *message) bool {
	if strings.HasPrefix(s, "- ") {
		s = s[2:]
	} else {
		ns, n, ok := parseRFC3339(s, now.Location())
		if !ok || n >= len(s) || s[n] != ' ' {
			return false
		}
		m.hasTime, m.time = ns != noTime, ns
		s = s[n+1:]
	}
	var ok bool
	for _, f := range [...]*string{&m.hostname, &m.appName, &m.procID, &m.msgID} {
		if *f, s, ok = headerField(s); !ok {
			return false
		}
	}
	if s, ok = m.parseSD(s); !ok {
		return false
	}
	switch {
	case s == "":
	case s[0] == ' ':
		m.msg = strings.TrimPrefix(s[1:], bom)
	default:
		return false
	}
	return true
}

// bom is the UTF-8 byte order mark RFC 5424 puts before a UTF-8 MSG.
const bom = "\xEF\xBB\xBF"

// headerField reads an RFC 5424 header field and the space after it. The
// NILVALUE "-" reads as "".
func headerField(s string) (field, rest string, ok bool) {
	i := 0
	for i < len(s) && s[i] > ' ' && s[i] < 0x7f {
		i++
	}
	if i == 0 || i == len(s) || s[i] != ' ' {
		return "", "", false
	}
	if i == 1 && s[0] == '-' {
		return "", s[2:], true
	}
	return s[:i], s[i+1:], true
}

// parseSD reads STRUCTURED-DATA: "-" or one or more
// [SD-ID *(SP SD-NAME="value")] elements, appending to m.sd.
func (m *message) parseSD(s string) (rest string, ok bool) {
	if len(s) == 0 {
		return "", false
	}
	if s[0] == '-' {
		return s[1:], true
	}
	if s[0] != '[' {
		return "", false
	}
	for len(s) > 0 && s[0] == '[' {
		id, n := sdName(s[1:])
		if n == 0 {
			return "", false
		}
		s = s[1+n:]
		params := 0
		for {
			if len(s) == 0 {
				return "", false
			}
			if s[0] == ']' {
				s = s[1:]
				break
			}
			if s[0] != ' ' {
				return "", false
			}
			s = strings.TrimLeft(s, " ") // RFC: one space; some senders put more
			name, n := sdName(s)
			if n == 0 || n+1 >= len(s) || s[n] != '=' || s[n+1] != '"' {
				return "", false
			}
			value, vn, ok := sdValue(s[n+2:])
			if !ok {
				return "", false
			}
			m.sd = append(m.sd, sdParam{id: id, name: name, value: value})
			params++
			s = s[n+2+vn:]
		}
		if params == 0 {
			m.sd = append(m.sd, sdParam{id: id})
		}
	}
	return s, true
}

// sdName reads an SD-ID or SD-NAME: printable ASCII but '=', ' ', ']' and
// '"'. The RFC's 32-character limit is not enforced.
func sdName(s string) (string, int) {
	i := 0
	for i < len(s) {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '=' || c == ']' || c == '"' {
			break
		}
		i++
	}
	return s[:i], i
}

// sdValue reads a PARAM-VALUE up to its closing quote (s starts after the
// opening one) and returns it unescaped and the length read, closing quote
// included. Only \", \\ and \] are escapes; RFC 5424 keeps any other
// backslash as it is. An unescaped ']' is taken as part of the value, as
// many senders forget to escape it.
func sdValue(s string) (value string, n int, ok bool) {
	escaped := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			if !escaped {
				return s[:i], i + 1, true
			}
			return unescapeSD(s[:i]), i + 1, true
		case '\\':
			if i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\' || s[i+1] == ']') {
				escaped = true
				i++
			}
		}
	}
	return "", 0, false
}

func unescapeSD(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\' || s[i+1] == ']') {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// parse3164 parses what follows the PRI the way BSD syslog, rsyslog and
// syslog-ng read RFC 3164 and its variants:
//
//	TIMESTAMP [HOSTNAME] [TAG[PID]:] MSG
//
// TIMESTAMP is "Mmm dd hh:mm:ss" (day space- or zero-padded, optionally
// with a year before the time and fractional seconds), or RFC 3339 as
// rsyslog's forwarding templates and Go's log/syslog send. Without a
// timestamp, all of s is MSG. HOSTNAME is absent when the first word
// already looks like a tag, as in what Go's log/syslog writes to
// /dev/log. It never fails: what it cannot place is MSG.
func parse3164(s string, now time.Time, m *message) {
	ns, n, ok := parseBSDTime(s, now)
	if !ok {
		ns, n, ok = parseRFC3339(s, now.Location())
	}
	if !ok || (n < len(s) && s[n] != ' ') {
		m.msg = s
		return
	}
	m.hasTime, m.time = ns != noTime, ns
	s = s[min(n+1, len(s)):]
	if app, pid, rest, ok := parseTag(s); ok {
		m.appName, m.procID, m.msg = app, pid, rest
		return
	}
	host, rest, _ := strings.Cut(s, " ")
	m.hostname = host
	if app, pid, rest, ok := parseTag(rest); ok {
		m.appName, m.procID, m.msg = app, pid, rest
		return
	}
	m.msg = rest
}

// maxTagLen bounds a TAG. RFC 3164 says 32, but systemd units and
// container names run longer; a longer first word is message text.
const maxTagLen = 128

// parseTag reads a TAG at the start of s: "name:", "name[pid]:" or
// "name[pid]" followed by a space or the end, and the space after it.
// name is printable ASCII without ':' or '['. ok is false when s does not
// start with a tag. The colon must end the word, so that an IPv6 address
// ("fe80::1") is not taken for a tag.
func parseTag(s string) (name, pid, rest string, ok bool) {
	i := 0
	for i < len(s) && i <= maxTagLen {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == ':' || c == '[' {
			break
		}
		i++
	}
	if i == 0 || i > maxTagLen || i == len(s) {
		return "", "", "", false
	}
	name = s[:i]
	switch s[i] {
	case ':':
		rest = s[i+1:]
		if rest != "" && rest[0] != ' ' {
			return "", "", "", false
		}
	case '[':
		j := strings.IndexByte(s[i+1:], ']')
		if j <= 0 || j > maxTagLen {
			return "", "", "", false
		}
		pid = s[i+1 : i+1+j]
		if strings.ContainsAny(pid, " []") {
			return "", "", "", false
		}
		rest = s[i+2+j:]
		rest = strings.TrimPrefix(rest, ":")
		if rest != "" && rest[0] != ' ' {
			return "", "", "", false
		}
	default:
		return "", "", "", false
	}
	return name, pid, strings.TrimPrefix(strings.TrimPrefix(rest, " "), bom), true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// digits reads exactly n decimal digits at the start of s.
func digits(s string, n int) (int, bool) {
	if len(s) < n {
		return 0, false
	}
	v := 0
	for i := range n {
		if !isDigit(s[i]) {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, true
}

// noTime is the Unix-nanosecond time of a timestamp that parsed but lies
// outside what int64 nanoseconds hold (before 1678 or after 2261); such a
// message is stored at the time it arrived.
const noTime = -1 << 63

// parseRFC3339 reads YYYY-MM-DDTHH:MM:SS[.frac][Z|±hh:mm] at the start of
// s, returning Unix nanoseconds (or noTime) and the length read. A
// missing zone means loc. It does not allocate, unlike time.Parse with a
// numeric zone.
func parseRFC3339(s string, loc *time.Location) (ns int64, n int, ok bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' {
		return 0, 0, false
	}
	year, ok1 := digits(s, 4)
	month, ok2 := digits(s[5:], 2)
	day, ok3 := digits(s[8:], 2)
	hour, ok4 := digits(s[11:], 2)
	minute, ok5 := digits(s[14:], 2)
	sec, ok6 := digits(s[17:], 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return 0, 0, false
	}
	n = 19
	frac, fn := fraction(s[n:])
	n += fn
	offset := 0 // seconds east of UTC
	zoned := true
	switch {
	case n < len(s) && (s[n] == 'Z' || s[n] == 'z'):
		n++
	case n < len(s) && (s[n] == '+' || s[n] == '-'):
		// ±hh:mm, or ±hhmm as some senders write it.
		oh, okh := digits(s[n+1:], 2)
		zn := 6
		if n+3 < len(s) && s[n+3] != ':' {
			zn = 5
		}
		if n+zn > len(s) {
			return 0, 0, false
		}
		om, okm := digits(s[n+zn-2:], 2)
		if !okh || !okm || oh > 23 || om > 59 {
			return 0, 0, false
		}
		offset = oh*3600 + om*60
		if s[n] == '-' {
			offset = -offset
		}
		n += zn
	default:
		zoned = false
	}
	z := time.UTC
	if !zoned {
		z = loc
	}
	t, ok := date(year, time.Month(month), day, hour, minute, sec, frac, z)
	if !ok {
		return 0, 0, false
	}
	return unixNano(t.Add(-time.Duration(offset) * time.Second)), n, true
}

// fraction reads optional fractional seconds (".123", ",5"), keeping at
// most nanosecond precision, and returns them and the length read.
func fraction(s string) (ns, n int) {
	if len(s) < 2 || (s[0] != '.' && s[0] != ',') || !isDigit(s[1]) {
		return 0, 0
	}
	scale := 100_000_000
	for n = 1; n < len(s) && isDigit(s[n]); n++ {
		ns += int(s[n]-'0') * scale
		scale /= 10
	}
	return ns, n
}

// date is time.Date that refuses out-of-range fields instead of
// normalising them. A leap second (:60) is kept as the next second.
func date(year int, month time.Month, day, hour, minute, sec, ns int, loc *time.Location) (time.Time, bool) {
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, false
	}
	leap := sec == 60
	if leap {
		sec = 59
	}
	t := time.Date(year, month, day, hour, minute, sec, ns, loc)
	if t.Day() != day { // 31 April, 29 February in a common year
		return time.Time{}, false
	}
	if leap {
		t = t.Add(time.Second)
	}
	return t, true
}

// unixNano is t.UnixNano, or noTime when that is undefined.
func unixNano(t time.Time) int64 {
	if y := t.Year(); y < 1678 || y > 2261 {
		return noTime
	}
	return t.UnixNano()
}

var months = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// parseBSDTime reads an RFC 3164 timestamp, "Mmm dd hh:mm:ss", at the
// start of s. The day may be space- or zero-padded or a lone digit; a year
// ("Mmm dd yyyy hh:mm:ss", as Cisco sends) and fractional seconds are
// accepted. Without a year, the year is the one that puts the time nearest
// to now, so December lines read in January land in the old year. The
// time is in now's time zone, the receiver's, as rsyslog reads it: RFC
// 3164 timestamps carry none.
func parseBSDTime(s string, now time.Time) (ns int64, n int, ok bool) {
	if len(s) < 15 || s[3] != ' ' {
		return 0, 0, false
	}
	month := 0
	for i, name := range months {
		if strings.EqualFold(s[:3], name) {
			month = i + 1
			break
		}
	}
	if month == 0 {
		return 0, 0, false
	}
	var day int
	switch {
	case s[4] == ' ' && isDigit(s[5]):
		day, n = int(s[5]-'0'), 6
	case isDigit(s[4]) && isDigit(s[5]):
		day, n = int(s[4]-'0')*10+int(s[5]-'0'), 6
	case isDigit(s[4]) && s[5] == ' ':
		day, n = int(s[4]-'0'), 5
	default:
		return 0, 0, false
	}
	if n >= len(s) || s[n] != ' ' {
		return 0, 0, false
	}
	n++
	year := 0
	if y, ok := digits(s[n:], 4); ok && n+4 < len(s) && s[n+4] == ' ' {
		year = y
		n += 5
	}
	if len(s) < n+8 || s[n+2] != ':' || s[n+5] != ':' {
		return 0, 0, false
	}
	hour, ok1 := digits(s[n:], 2)
	minute, ok2 := digits(s[n+3:], 2)
	sec, ok3 := digits(s[n+6:], 2)
	if !(ok1 && ok2 && ok3) {
		return 0, 0, false
	}
	n += 8
	frac, fn := fraction(s[n:])
	n += fn
	if year != 0 {
		t, ok := date(year, time.Month(month), day, hour, minute, sec, frac, now.Location())
		if !ok {
			return 0, 0, false
		}
		return unixNano(t), n, true
	}
	var best time.Time
	var bestDist time.Duration
	for i, y := range [...]int{now.Year(), now.Year() - 1, now.Year() + 1} {
		if i > 0 && !best.IsZero() && bestDist < 182*24*time.Hour {
			break // the same date a year away is at least 183 days further
		}
		t, ok := date(y, time.Month(month), day, hour, minute, sec, frac, now.Location())
		if !ok {
			continue
		}
		d := t.Sub(now)
		if d < 0 {
			d = -d
		}
		if best.IsZero() || d < bestDist {
			best, bestDist = t, d
		}
	}
	if best.IsZero() {
		return 0, 0, false
	}
	return unixNano(best), n, true
}

// excerpt returns the start of s for error messages and logs.
func excerpt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
