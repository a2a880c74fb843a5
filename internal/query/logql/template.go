package logql

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode"
)

// tmplState is what line_format and label_format templates see of the
// entry being processed: __line__, __timestamp__ and the label map. One
// per query; the template functions close over it.
type tmplState struct {
	ps   *procState
	data map[string]string
	res  map[string]*regexp.Regexp // compiled regexReplaceAll patterns
}

func (t *tmplState) parse(text string) (*template.Template, error) {
	return template.New("").Option("missingkey=zero").Funcs(t.funcs()).Parse(text)
}

// exec renders tpl for the entry ps into buf.
func (t *tmplState) exec(tpl *template.Template, buf *bytes.Buffer, ps *procState) error {
	t.ps = ps
	if t.data == nil {
		t.data = make(map[string]string, len(ps.lbs.ls))
	}
	clear(t.data)
	for _, l := range ps.lbs.ls {
		t.data[l.name] = l.value
	}
	return tpl.Execute(buf, t.data)
}

func (t *tmplState) regexp(expr string) (*regexp.Regexp, error) {
	if re, ok := t.res[expr]; ok {
		return re, nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	if t.res == nil {
		t.res = map[string]*regexp.Regexp{}
	}
	t.res[expr] = re
	return re, nil
}

// templateFuncStubs returns the function map for parse-time validation.
func templateFuncStubs() template.FuncMap { return (&tmplState{}).funcs() }

// funcs returns the template functions Loki documents (a subset; see the
// package documentation).
func (t *tmplState) funcs() template.FuncMap {
	return template.FuncMap{
		"__line__": func() string {
			if t.ps == nil {
				return ""
			}
			return t.ps.line
		},
		"__timestamp__": func() time.Time {
			if t.ps == nil {
				return time.Unix(0, 0).UTC()
			}
			return time.Unix(0, t.ps.ts).UTC()
		},
		// Go strings functions, with their argument order.
		"ToLower":    strings.ToLower,
		"ToUpper":    strings.ToUpper,
		"Replace":    strings.Replace,
		"Trim":       strings.Trim,
		"TrimLeft":   strings.TrimLeft,
		"TrimRight":  strings.TrimRight,
		"TrimPrefix": strings.TrimPrefix,
		"TrimSuffix": strings.TrimSuffix,
		"TrimSpace":  strings.TrimSpace,
		// Sprig-style functions: the string argument comes last, so they
		// chain in pipelines.
		"lower":      strings.ToLower,
		"upper":      strings.ToUpper,
		"title":      title,
		"trim":       strings.TrimSpace,
		"trimAll":    func(cut, s string) string { return strings.Trim(s, cut) },
		"trimPrefix": func(p, s string) string { return strings.TrimPrefix(s, p) },
		"trimSuffix": func(p, s string) string { return strings.TrimSuffix(s, p) },
		"replace":    func(old, new, s string) string { return strings.ReplaceAll(s, old, new) },
		"contains":   func(sub, s string) bool { return strings.Contains(s, sub) },
		"hasPrefix":  func(p, s string) bool { return strings.HasPrefix(s, p) },
		"hasSuffix":  func(p, s string) bool { return strings.HasSuffix(s, p) },
		"repeat": func(n int, s string) (string, error) {
			if n < 0 || n > 1000 || len(s)*n > 1<<20 {
				return "", fmt.Errorf("repeat count %d out of range", n)
			}
			return strings.Repeat(s, n), nil
		},
		"trunc":      trunc,
		"substr":     substr,
		"indent":     func(n int, s string) string { return indent(n, s) },
		"nindent":    func(n int, s string) string { return "\n" + indent(n, s) },
		"alignLeft":  alignLeft,
		"alignRight": alignRight,
		"default":    dflt,
		"count":      t.count,
		"regexReplaceAll": func(expr, s, repl string) (string, error) {
			re, err := t.regexp(expr)
			if err != nil {
				return "", err
			}
			return re.ReplaceAllString(s, repl), nil
		},
		"regexReplaceAllLiteral": func(expr, s, repl string) (string, error) {
			re, err := t.regexp(expr)
			if err != nil {
				return "", err
			}
			return re.ReplaceAllLiteralString(s, repl), nil
		},
		"urlencode": url.QueryEscape,
		"urldecode": url.QueryUnescape,
		"b64enc":    func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
		// b64dec returns the decoding error as its result, as sprig does.
		"b64dec": func(s string) string {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return err.Error()
			}
			return string(b)
		},
		"bytes": func(s string) (string, error) {
			b, err := ParseBytes(s)
			return strconv.FormatUint(b, 10), err
		},
		"duration":         durationSeconds,
		"duration_seconds": durationSeconds,
		"unixEpoch":        func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) },
		"unixEpochMillis":  func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) },
		"unixEpochNanos":   func(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) },
		"unixToTime":       unixToTime,
		"toDate": func(layout, s string) time.Time {
			v, _ := time.ParseInLocation(layout, s, time.UTC)
			return v
		},
		"toDateInZone": func(layout, zone, s string) time.Time {
			loc, err := time.LoadLocation(zone)
			if err != nil {
				loc = time.UTC
			}
			v, _ := time.ParseInLocation(layout, s, loc)
			return v
		},
		"date": func(layout string, v any) string { return toTime(v).Format(layout) },
		"now":  func() time.Time { return time.Now().UTC() },
		"add": func(v ...any) int64 {
			var n int64
			for _, x := range v {
				n += toInt64(x)
			}
			return n
		},
		"sub": func(a, b any) int64 { return toInt64(a) - toInt64(b) },
		"mul": func(a any, v ...any) int64 {
			n := toInt64(a)
			for _, x := range v {
				n *= toInt64(x)
			}
			return n
		},
		"div": func(a, b any) (int64, error) {
			d := toInt64(b)
			if d == 0 {
				return 0, errors.New("integer divide by zero")
			}
			return toInt64(a) / d, nil
		},
		"mod": func(a, b any) (int64, error) {
			d := toInt64(b)
			if d == 0 {
				return 0, errors.New("integer divide by zero")
			}
			return toInt64(a) % d, nil
		},
		"addf": func(v ...any) float64 {
			var n float64
			for _, x := range v {
				n += toFloat64(x)
			}
			return n
		},
		"subf": func(a any, v ...any) float64 {
			n := toFloat64(a)
			for _, x := range v {
				n -= toFloat64(x)
			}
			return n
		},
		"mulf": func(a any, v ...any) float64 {
			n := toFloat64(a)
			for _, x := range v {
				n *= toFloat64(x)
			}
			return n
		},
		"divf": func(a any, v ...any) float64 {
			n := toFloat64(a)
			for _, x := range v {
				n /= toFloat64(x)
			}
			return n
		},
		"max": func(a any, v ...any) int64 {
			n := toInt64(a)
			for _, x := range v {
				n = max(n, toInt64(x))
			}
			return n
		},
		"min": func(a any, v ...any) int64 {
			n := toInt64(a)
			for _, x := range v {
				n = min(n, toInt64(x))
			}
			return n
		},
		"maxf": func(a any, v ...any) float64 {
			n := toFloat64(a)
			for _, x := range v {
				n = math.Max(n, toFloat64(x))
			}
			return n
		},
		"minf": func(a any, v ...any) float64 {
			n := toFloat64(a)
			for _, x := range v {
				n = math.Min(n, toFloat64(x))
			}
			return n
		},
		"ceil":  func(a any) float64 { return math.Ceil(toFloat64(a)) },
		"floor": func(a any) float64 { return math.Floor(toFloat64(a)) },
		"round": round,
		"fromJson": func(s string) any {
			var v any
			if json.Unmarshal([]byte(s), &v) != nil {
				return ""
			}
			return v
		},
		"int":     toInt64,
		"float64": toFloat64,
	}
}

func (t *tmplState) count(expr, s string) (int, error) {
	re, err := t.regexp(expr)
	if err != nil {
		return 0, err
	}
	return len(re.FindAllStringIndex(s, -1)), nil
}

func title(s string) string {
	prev := ' '
	return strings.Map(func(r rune) rune {
		up := unicode.IsSpace(prev)
		prev = r
		if up {
			return unicode.ToTitle(r)
		}
		return r
	}, s)
}

// trunc keeps the first n bytes of s, or with n < 0 the last -n.
func trunc(n int, s string) string {
	if n < 0 {
		if -n < len(s) {
			return s[len(s)+n:]
		}
		return s
	}
	if n < len(s) {
		return s[:n]
	}
	return s
}

// substr returns s[start:end] like sprig: a negative start means 0, a
// negative or too large end means the end of s.
func substr(start, end int, s string) string {
	if start < 0 {
		start = 0
	}
	if end < 0 || end > len(s) {
		end = len(s)
	}
	if start > end {
		return ""
	}
	return s[start:end]
}

func indent(n int, s string) string {
	if n < 0 || n > 1000 {
		n = 0
	}
	pad := strings.Repeat(" ", n)
	return pad + strings.ReplaceAll(s, "\n", "\n"+pad)
}

func alignLeft(n int, s string) string {
	r := []rune(s)
	if n < 0 || n > 1<<16 {
		return s
	}
	if len(r) >= n {
		return string(r[:n])
	}
	return s + strings.Repeat(" ", n-len(r))
}

func alignRight(n int, s string) string {
	r := []rune(s)
	if n < 0 || n > 1<<16 {
		return s
	}
	if len(r) >= n {
		return string(r[len(r)-n:])
	}
	return strings.Repeat(" ", n-len(r)) + s
}

// dflt is sprig's default: given, unless it is empty.
func dflt(def any, given ...any) any {
	if len(given) == 0 || given[0] == nil {
		return def
	}
	switch v := given[0].(type) {
	case string:
		if v == "" {
			return def
		}
	case bool:
		if !v {
			return def
		}
	case int:
		if v == 0 {
			return def
		}
	case int64:
		if v == 0 {
			return def
		}
	case float64:
		if v == 0 {
			return def
		}
	}
	return given[0]
}

func durationSeconds(v any) (float64, error) {
	s := fmt.Sprint(v)
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	return d.Seconds(), nil
}

func unixToTime(v any) (time.Time, error) {
	s := fmt.Sprint(v)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	// Loki reads up to 5 digits as days, 10 as seconds, 13 as ms, 16 as
	// µs, 19 as ns.
	switch {
	case len(s) <= 5:
		return time.Unix(n*86400, 0).UTC(), nil
	case len(s) <= 10:
		return time.Unix(n, 0).UTC(), nil
	case len(s) <= 13:
		return time.UnixMilli(n).UTC(), nil
	case len(s) <= 16:
		return time.UnixMicro(n).UTC(), nil
	}
	return time.Unix(0, n).UTC(), nil
}

// round rounds a to p decimal places, rounding up from roundOn (default
// .5) as sprig does.
func round(a any, p int, roundOn ...float64) float64 {
	on := .5
	if len(roundOn) > 0 {
		on = roundOn[0]
	}
	val := toFloat64(a)
	pow := math.Pow(10, float64(p))
	digit := pow * val
	_, div := math.Modf(digit)
	if div >= on {
		return math.Ceil(digit) / pow
	}
	return math.Floor(digit) / pow
}

func toTime(v any) time.Time {
	switch v := v.(type) {
	case time.Time:
		return v
	case int64:
		return time.Unix(v, 0).UTC()
	case int:
		return time.Unix(int64(v), 0).UTC()
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return time.Unix(n, 0).UTC()
	}
	return time.Unix(0, 0).UTC()
}

func toInt64(v any) int64 {
	switch v := v.(type) {
	case int:
		return int64(v)
	case int64:
		return v
	case float64:
		return int64(v)
	case string:
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			return n
		}
		f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return int64(f)
	case bool:
		if v {
			return 1
		}
	}
	return 0
}

func toFloat64(v any) float64 {
	switch v := v.(type) {
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case float64:
		return v
	case string:
		f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return f
	case bool:
		if v {
			return 1
		}
	}
	return 0
}
