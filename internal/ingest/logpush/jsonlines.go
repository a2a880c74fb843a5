package logpush

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"

	"github.com/argus-obs/argus/internal/ingest/ingestmetrics"
	"github.com/argus-obs/argus/internal/ingest/jsonstr"
)

// maxListedErrors caps the refusals a response spells out; the rest are
// only counted, so a response never grows with a hostile body.
const maxListedErrors = 100

// jsonLinesTypes are the content types the JSON lines endpoint takes. It
// includes curl's default for --data-binary, so that
// `curl --data-binary @app.log URL` works without a -H.
var jsonLinesTypes = [...]string{
	"", "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines",
	"application/jsonlines", "application/json", "text/plain",
	"application/x-www-form-urlencoded",
}

// lineError is one refused line of a JSON lines request.
type lineError struct {
	line int
	msg  string
}

func (h *Handlers) serveJSONLines(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.jsonLinesError(w, http.StatusMethodNotAllowed, ingestmetrics.OutcomeMethodNotAllowed,
			"method "+req.Method+" not allowed: push logs with POST")
		return
	}
	ct := req.Header.Get("Content-Type")
	typeOK := false
	for _, t := range jsonLinesTypes {
		if mediaType(ct) == t {
			typeOK = true
			break
		}
	}
	if !typeOK {
		h.jsonLinesError(w, http.StatusUnsupportedMediaType, ingestmetrics.OutcomeUnsupportedMedia,
			fmt.Sprintf("unsupported content type %q: send newline-delimited JSON as application/x-ndjson", ct))
		return
	}
	c, ok := contentCoding(req.Header.Get("Content-Encoding"))
	if !ok {
		w.Header().Set("Accept-Encoding", acceptEncoding)
		h.jsonLinesError(w, http.StatusUnsupportedMediaType, ingestmetrics.OutcomeUnsupportedMedia,
			fmt.Sprintf("unsupported content encoding %q: use gzip, snappy or none", req.Header.Get("Content-Encoding")))
		return
	}

	var body reqBody
	defer h.release(&body)
	if code, msg := h.readBody(w, req, c, &body); code != 0 {
		o := ingestmetrics.OutcomeBadRequest
		if code == http.StatusRequestEntityTooLarge {
			o = ingestmetrics.OutcomeTooLarge
		}
		h.jsonLinesError(w, code, o, msg)
		return
	}

	b := h.getBatch()
	defer h.putBatch(b)
	l := h.limits()
	b.observed = l.now
	var def docDefaults
	if req.URL.RawQuery != "" {
		if s := req.URL.Query().Get("service"); s != "" {
			def.service = s
		}
	}
	errs, rejected := decodeJSONLines(b, body.data, &l, &def)

	accepted, o, ok := h.write(req.Context(), protoJSONLines, b)
	if !ok {
		h.jsonLinesError(w, h.failureStatus(w, o), o, "logs could not be stored; retry later")
		return
	}
	h.count(protoJSONLines, o)
	out := make([]byte, 0, 64)
	out = append(out, `{"accepted":`...)
	out = strconv.AppendInt(out, int64(accepted), 10)
	code := http.StatusOK
	if rejected > 0 {
		code = http.StatusBadRequest
		out = append(out, `,"rejected":`...)
		out = strconv.AppendInt(out, int64(rejected), 10)
		out = append(out, `,"errors":[`...)
		for i, e := range errs {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, `{"line":`...)
			out = strconv.AppendInt(out, int64(e.line), 10)
			out = append(out, `,"error":`...)
			out = jsonstr.Append(out, e.msg)
			out = append(out, '}')
		}
		out = append(out, ']')
	}
	out = append(out, "}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(out)
}

// decodeJSONLines adds a record to b for each line of data that holds a
// valid JSON object, and reports the others: the first maxListedErrors
// of them in errs, all in rejected. Blank lines are skipped; line numbers
// count them, so they match what an editor shows.
func decodeJSONLines(b *batch, data []byte, l *limits, def *docDefaults) (errs []lineError, rejected int) {
	refuse := func(line int, r reason, msg string) {
		b.reject(r)
		rejected++
		if len(errs) < maxListedErrors {
			errs = append(errs, lineError{line, "line " + strconv.Itoa(line) + ": " + msg})
		}
	}
	p := &b.doc
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] == '[' {
		return decodeJSONArray(b, t, l, def)
	}
	for n := 1; len(data) > 0; n++ {
		line, rest, _ := bytes.Cut(data, []byte{'\n'})
		data = rest
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if len(line) > l.maxLine {
			refuse(n, reasonLineTooLong, fmt.Sprintf("line of %d bytes exceeds the limit of %d bytes", len(line), l.maxLine))
			continue
		}
		if err := p.parse(b, line); err != nil {
			refuse(n, reasonInvalid, "invalid JSON: "+err.Error())
			continue
		}
		if r, msg, ok := p.finish(b, l, def); !ok {
			refuse(n, r, msg)
		}
	}
	return errs, rejected
}

// decodeJSONArray takes a body that is one JSON array of documents, what
// Vector's http sink sends with codec json, element by element; errs
// number the elements from 1 as the lines of a JSON lines body are. A
// broken array refuses its remaining elements as one.
func decodeJSONArray(b *batch, data []byte, l *limits, def *docDefaults) (errs []lineError, rejected int) {
	refuse := func(n int, r reason, msg string) {
		b.reject(r)
		rejected++
		if len(errs) < maxListedErrors {
			errs = append(errs, lineError{n, "element " + strconv.Itoa(n) + ": " + msg})
		}
	}
	p := &b.doc
	var sc scanner
	sc.reset(data)
	sc.beginArray()
	n := 1
	for first := true; sc.more(']', &first); n++ {
		sc.skipSpace()
		start := sc.pos
		sc.skipValue()
		if sc.err != nil {
			break
		}
		doc := data[start:sc.pos]
		if len(doc) > l.maxLine {
			refuse(n, reasonLineTooLong, fmt.Sprintf("document of %d bytes exceeds the limit of %d bytes", len(doc), l.maxLine))
			continue
		}
		if err := p.parse(b, doc); err != nil {
			refuse(n, reasonInvalid, "invalid JSON: "+err.Error())
			continue
		}
		if r, msg, ok := p.finish(b, l, def); !ok {
			refuse(n, r, msg)
		}
	}
	if sc.err == nil && !sc.atEnd() {
		sc.failChar()
	}
	if sc.err != nil {
		refuse(n, reasonInvalid, "invalid JSON array: "+sc.err.Error())
	}
	return errs, rejected
}

// jsonLinesError answers a request that stored nothing with
// {"error":"..."}, and counts it under o.
func (h *Handlers) jsonLinesError(w http.ResponseWriter, code int, o ingestmetrics.Outcome, msg string) {
	h.count(protoJSONLines, o)
	out := append([]byte(`{"error":`), jsonstr.Append(nil, msg)...)
	out = append(out, "}\n"...)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(out)
}
