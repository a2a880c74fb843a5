package logpush

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/argus-obs/argus/internal/ingest/ingestmetrics"
	"github.com/argus-obs/argus/internal/ingest/jsonstr"
)

// ESHandler answers the part of the Elasticsearch REST API that log
// shippers use: the bulk API, which carries the logs, and the handshakes
// Filebeat, Logstash, Vector and Fluent Bit make before they send (cluster
// info, license, health, and the index template, ILM policy and ingest
// pipeline set-up, which are acknowledged and ignored).
//
// Its paths are Elasticsearch's, relative to where it is mounted. Shippers
// accept a path prefix in their Elasticsearch URL, so the usual mount is
// under one:
//
//	mux.Handle("/elasticsearch/", http.StripPrefix("/elasticsearch", es))
//
// with the shippers pointed at http://argus:port/elasticsearch. On a
// listener of its own (port 9200, say) it can be the whole handler.
// Patterns lists its endpoints for a mux that should route them itself;
// they claim every /{index} and /{index}/_bulk path, as Elasticsearch
// does, so they conflict with an application's own routes at the root of
// the same mux.
//
// Every response carries X-Elastic-Product: Elasticsearch, without which
// the official clients (and so Logstash and Filebeat 8) refuse to talk to
// a server. ESHandler is safe for concurrent use.
type ESHandler struct{ h *Handlers }

// managementAPIs are the first path segments of set-up APIs that shippers
// call before sending (index templates, ILM policies, ingest pipelines,
// data streams). Argus stores logs its own way, so these are
// acknowledged and otherwise ignored: a GET or HEAD finds the object
// present (so the shipper does not try to install it) and a PUT or DELETE
// succeeds.
var managementAPIs = [...]string{"_index_template", "_template", "_component_template", "_ilm", "_ingest", "_data_stream"}

// Patterns returns the handler's endpoints as http.ServeMux patterns,
// relative to where it is mounted. They do not conflict with one another,
// and each routes to the same endpoint as ServeHTTP's own routing does. A
// GET pattern also serves HEAD. PUT /{index}/_bulk, which ServeHTTP
// takes too, is left out: it would conflict with PUT /_ilm/ and the other
// set-up APIs, and shippers use POST.
func (e *ESHandler) Patterns() []string {
	ps := []string{
		"GET /{$}",
		"POST /_bulk", "PUT /_bulk", "POST /{index}/_bulk",
		"GET /_license", "GET /_xpack", "GET /_cluster/health", "GET /_cluster/health/{index}",
		"GET /{index}", "PUT /{index}",
	}
	for _, api := range managementAPIs {
		ps = append(ps, "GET /"+api+"/", "PUT /"+api+"/", "DELETE /"+api+"/")
	}
	return ps
}

// ServeHTTP routes a request to the endpoint its path names.
func (e *ESHandler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	// Route on the escaped path: an index name may hold an escaped slash
	// (Logstash's date-math names, <logstash-{now/d}-000001>).
	path := strings.Trim(req.URL.EscapedPath(), "/")
	first, rest, _ := strings.Cut(path, "/")
	if f, err := url.PathUnescape(first); err == nil {
		first = f
	}
	m := req.Method
	get := m == http.MethodGet || m == http.MethodHead

	switch {
	case path == "":
		if get {
			e.info(w, req)
			return
		}
		e.methodNotAllowed(w, req, "GET, HEAD")
	case first == "_bulk" && rest == "":
		if m == http.MethodPost || m == http.MethodPut {
			e.bulk(w, req, "")
			return
		}
		e.h.count(protoElasticsearch, ingestmetrics.OutcomeMethodNotAllowed)
		e.methodNotAllowed(w, req, "POST, PUT")
	case rest == "_bulk" && !strings.HasPrefix(first, "_"):
		if m == http.MethodPost || m == http.MethodPut {
			e.bulk(w, req, first)
			return
		}
		e.h.count(protoElasticsearch, ingestmetrics.OutcomeMethodNotAllowed)
		e.methodNotAllowed(w, req, "POST, PUT")
	case (first == "_license" || first == "_xpack") && rest == "" ||
		first == "_cluster" && (rest == "health" || strings.HasPrefix(rest, "health/")):
		if !get {
			e.methodNotAllowed(w, req, "GET, HEAD")
			return
		}
		switch first {
		case "_license":
			e.json(w, req, http.StatusOK, licenseBody)
		case "_xpack":
			e.json(w, req, http.StatusOK, xpackBody)
		default:
			e.json(w, req, http.StatusOK, healthBody)
		}
	case isManagementAPI(first) && rest != "":
		switch m {
		case http.MethodGet, http.MethodHead:
			e.json(w, req, http.StatusOK, "{}")
		case http.MethodPut, http.MethodDelete:
			e.json(w, req, http.StatusOK, `{"acknowledged":true}`)
		default:
			e.methodNotAllowed(w, req, "GET, HEAD, PUT, DELETE")
		}
	case rest == "" && !strings.HasPrefix(first, "_"):
		// An index or alias: Logstash checks that its rollover alias
		// exists, and creates it when not.
		switch m {
		case http.MethodGet, http.MethodHead:
			e.json(w, req, http.StatusOK, "{}")
		case http.MethodPut:
			e.json(w, req, http.StatusOK, `{"acknowledged":true,"shards_acknowledged":true,"index":`+string(jsonstr.Append(nil, first))+`}`)
		default:
			e.methodNotAllowed(w, req, "GET, HEAD, PUT")
		}
	default:
		e.errorJSON(w, req, http.StatusNotFound, "resource_not_found_exception",
			fmt.Sprintf("no handler found for uri [%s] and method [%s]", req.URL.Path, m))
	}
}

func isManagementAPI(seg string) bool {
	for _, api := range managementAPIs {
		if seg == api {
			return true
		}
	}
	return false
}

// Handshake bodies. A basic license, active, is what Filebeat and
// Logstash check for; health is what Vector's health check asks.
const (
	licenseBody = `{"license":{"status":"active","uid":"00000000-0000-0000-0000-000000000000","type":"basic",` +
		`"issue_date":"2024-01-01T00:00:00.000Z","issue_date_in_millis":1704067200000,"max_nodes":1000,` +
		`"max_resource_units":null,"issued_to":"argus","issuer":"elasticsearch","start_date_in_millis":-1}}`
	xpackBody = `{"build":{"hash":"","date":""},"license":{"uid":"00000000-0000-0000-0000-000000000000",` +
		`"type":"basic","mode":"basic","status":"active"},"features":{}}`
	healthBody = `{"cluster_name":"argus","status":"green","timed_out":false,"number_of_nodes":1,` +
		`"number_of_data_nodes":1,"active_primary_shards":0,"active_shards":0,"relocating_shards":0,` +
		`"initializing_shards":0,"unassigned_shards":0,"delayed_unassigned_shards":0,` +
		`"number_of_pending_tasks":0,"number_of_in_flight_fetch":0,` +
		`"task_max_waiting_in_queue_millis":0,"active_shards_percent_as_number":100.0}`
)

// info answers GET /, the request every client makes first. Clients read
// version.number to choose their request format (8: no mapping types),
// and the older ones check the tagline and build_flavor.
func (e *ESHandler) info(w http.ResponseWriter, req *http.Request) {
	v := e.h.esVersion
	body := `{"name":"argus","cluster_name":"argus","cluster_uuid":"argus-0000000000000000000",` +
		`"version":{"number":` + string(jsonstr.Append(nil, v)) + `,"build_flavor":"default","build_type":"docker",` +
		`"build_hash":"argus","build_date":"2024-01-01T00:00:00.000Z","build_snapshot":false,` +
		`"lucene_version":"9.8.0","minimum_wire_compatibility_version":"7.17.0",` +
		`"minimum_index_compatibility_version":"7.0.0"},"tagline":"You Know, for Search"}`
	e.json(w, req, http.StatusOK, body)
}

func (e *ESHandler) json(w http.ResponseWriter, req *http.Request, code int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if req.Method != http.MethodHead {
		_, _ = w.Write([]byte(body))
	}
}

// errorJSON answers with Elasticsearch's error shape.
func (e *ESHandler) errorJSON(w http.ResponseWriter, req *http.Request, code int, typ, reason string) {
	var out []byte
	out = append(out, `{"error":{"root_cause":[{"type":`...)
	out = jsonstr.Append(out, typ)
	out = append(out, `,"reason":`...)
	out = jsonstr.Append(out, reason)
	out = append(out, `}],"type":`...)
	out = jsonstr.Append(out, typ)
	out = append(out, `,"reason":`...)
	out = jsonstr.Append(out, reason)
	out = append(out, `},"status":`...)
	out = strconv.AppendInt(out, int64(code), 10)
	out = append(out, '}')
	e.json(w, req, code, string(out))
}

func (e *ESHandler) methodNotAllowed(w http.ResponseWriter, req *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	e.json(w, req, http.StatusMethodNotAllowed, `{"error":`+
		string(jsonstr.Append(nil, fmt.Sprintf("Incorrect HTTP method for uri [%s] and method [%s], allowed: [%s]",
			req.URL.Path, req.Method, allow)))+`,"status":405}`)
}

// bulkAction is a bulk item's operation.
type bulkAction uint8

const (
	actionIndex bulkAction = iota
	actionCreate
	actionUpdate
	actionDelete
)

var actionNames = [...]string{"index", "create", "update", "delete"}

// bulkItem is one action of a bulk request and how it ended.
type bulkItem struct {
	action bulkAction
	index  ref // in the batch's arena
	id     ref
	hasID  bool
	status int
	// errType and reason describe a refused item.
	errType, reason string
}

// bulkTypes are the content types of a bulk body: NDJSON as clients
// label it, including the versioned types of the 8.x clients.
var bulkTypes = [...]string{
	"", "application/x-ndjson", "application/json",
	"application/vnd.elasticsearch+x-ndjson", "application/vnd.elasticsearch+json",
}

// bulk answers POST /_bulk and POST /{index}/_bulk.
func (e *ESHandler) bulk(w http.ResponseWriter, req *http.Request, urlIndex string) {
	h := e.h
	start := h.now()
	fail := func(code int, o ingestmetrics.Outcome, typ, reason string) {
		h.count(protoElasticsearch, o)
		e.errorJSON(w, req, code, typ, reason)
	}
	ct := req.Header.Get("Content-Type")
	typeOK := false
	for _, t := range bulkTypes {
		if mediaType(ct) == t {
			typeOK = true
			break
		}
	}
	if !typeOK {
		fail(http.StatusUnsupportedMediaType, ingestmetrics.OutcomeUnsupportedMedia, "media_type_header_exception",
			fmt.Sprintf("Content-Type header [%s] is not supported", ct))
		return
	}
	c, ok := contentCoding(req.Header.Get("Content-Encoding"))
	if !ok {
		w.Header().Set("Accept-Encoding", acceptEncoding)
		fail(http.StatusUnsupportedMediaType, ingestmetrics.OutcomeUnsupportedMedia, "illegal_argument_exception",
			fmt.Sprintf("unsupported content encoding %q: use gzip, snappy or none", req.Header.Get("Content-Encoding")))
		return
	}

	var body reqBody
	defer h.release(&body)
	if code, msg := h.readBody(w, req, c, &body); code != 0 {
		o, typ := ingestmetrics.OutcomeBadRequest, "parse_exception"
		if code == http.StatusRequestEntityTooLarge {
			o, typ = ingestmetrics.OutcomeTooLarge, "content_too_long_exception"
		}
		fail(code, o, typ, msg)
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
	if err := decodeBulk(b, body.data, urlIndex, &l, &def); err != "" {
		fail(http.StatusBadRequest, ingestmetrics.OutcomeBadRequest, "illegal_argument_exception", err)
		return
	}

	_, o, ok := h.write(req.Context(), protoElasticsearch, b)
	if !ok {
		code := h.failureStatus(w, o)
		if code == http.StatusTooManyRequests {
			fail(code, o, "es_rejected_execution_exception", "rejected execution of bulk request: store overloaded; retry later")
		} else {
			fail(code, o, "unavailable_shards_exception", "logs could not be stored; retry later")
		}
		return
	}
	h.count(protoElasticsearch, o)

	out := h.bodies.GetBuffer()
	defer h.bodies.PutBuffer(out)
	e.appendBulkResponse(out, b, h.now().Sub(start))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out.Bytes())
}

// decodeBulk decodes the action and source lines of a bulk body into b,
// one bulkItem per action. A malformed action line fails the whole
// request, as in Elasticsearch, with the returned message; a bad document
// fails only its item.
func decodeBulk(b *batch, data []byte, urlIndex string, l *limits, def *docDefaults) (errMsg string) {
	p := &b.doc
	var sc scanner
	var key, index, id []byte // reused from action to action
	n := 0
	nextLine := func() ([]byte, bool) {
		for len(data) > 0 {
			line, rest, _ := bytes.Cut(data, []byte{'\n'})
			data = rest
			n++
			if line = bytes.TrimSpace(line); len(line) > 0 {
				return line, true
			}
		}
		return nil, false
	}
	for {
		line, ok := nextLine()
		if !ok {
			return ""
		}
		it := bulkItem{status: http.StatusCreated}
		index, id = index[:0], id[:0]
		// {"index":{"_index":"logs","_id":"1"}}
		sc.reset(line)
		if sc.peek() != '{' {
			return fmt.Sprintf("Malformed action/metadata line [%d], expected START_OBJECT", n)
		}
		sc.beginObject()
		actions := 0
		for first := true; sc.more('}', &first); {
			key = sc.key(key[:0])
			actions++
			switch string(key) {
			case "index":
				it.action = actionIndex
			case "create":
				it.action = actionCreate
			case "update":
				it.action = actionUpdate
			case "delete":
				it.action = actionDelete
			default:
				return fmt.Sprintf("Malformed action/metadata line [%d], expected field [create], [delete], [index] or [update] but found [%s]", n, clip(key))
			}
			if sc.peek() != '{' {
				return fmt.Sprintf("Malformed action/metadata line [%d], expected START_OBJECT", n)
			}
			sc.beginObject()
			for first := true; sc.more('}', &first); {
				key = sc.key(key[:0])
				switch {
				case string(key) == "_index" && sc.peek() == '"':
					index = sc.appendString(index[:0])
				case string(key) == "_id" && sc.peek() == '"':
					id = sc.appendString(id[:0])
					it.hasID = true
				default:
					sc.skipValue()
				}
			}
		}
		if sc.err == nil && !sc.atEnd() {
			sc.failChar()
		}
		if sc.err != nil {
			return fmt.Sprintf("Malformed action/metadata line [%d]: %v", n, sc.err)
		}
		if actions != 1 {
			return fmt.Sprintf("Malformed action/metadata line [%d], expected one action, found %d", n, actions)
		}
		if len(index) == 0 {
			index = append(index, urlIndex...)
		}
		it.index, it.id = b.add(index), b.add(id)

		refuse := func(r reason, typ, msg string) {
			b.reject(r)
			it.status, it.errType, it.reason = http.StatusBadRequest, typ, msg
		}
		switch it.action {
		case actionDelete:
			refuse(reasonInvalid, "illegal_argument_exception", "the delete action is not supported: Argus stores logs append-only")
		case actionUpdate:
			nextLine() // its partial document
			refuse(reasonInvalid, "illegal_argument_exception", "the update action is not supported: Argus stores logs append-only")
		default:
			src, ok := nextLine()
			switch {
			case !ok:
				refuse(reasonInvalid, "action_request_validation_exception", "Validation Failed: 1: source is missing;")
			case len(src) > l.maxLine:
				refuse(reasonLineTooLong, "illegal_argument_exception",
					fmt.Sprintf("document of %d bytes exceeds the limit of %d bytes", len(src), l.maxLine))
			default:
				d := *def
				if len(index) > 0 {
					d.index = b.bytes(it.index)
				}
				if err := p.parse(b, src); err != nil {
					refuse(reasonInvalid, "mapper_parsing_exception", "failed to parse: "+err.Error())
				} else if r, msg, ok := p.finish(b, l, &d); !ok {
					typ := "illegal_argument_exception"
					if r == reasonInvalid {
						typ = "mapper_parsing_exception"
					}
					refuse(r, typ, msg)
				}
			}
		}
		b.items = append(b.items, it)
	}
}

// appendBulkResponse writes Elasticsearch's bulk response: one item per
// action, in order, under the action's own name.
func (e *ESHandler) appendBulkResponse(out *bytes.Buffer, b *batch, took time.Duration) {
	errs := false
	for i := range b.items {
		if b.items[i].status >= 300 {
			errs = true
			break
		}
	}
	dst := out.AvailableBuffer()
	dst = append(dst, `{"took":`...)
	dst = strconv.AppendInt(dst, took.Milliseconds(), 10)
	dst = append(dst, `,"errors":`...)
	dst = strconv.AppendBool(dst, errs)
	dst = append(dst, `,"items":[`...)
	seq := e.h.esSeq.Add(uint64(len(b.items))) - uint64(len(b.items))
	for i := range b.items {
		it := &b.items[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"`...)
		dst = append(dst, actionNames[it.action]...)
		dst = append(dst, `":{"_index":`...)
		dst = jsonstr.Append(dst, b.bytes(it.index))
		dst = append(dst, `,"_id":`...)
		if it.hasID {
			dst = jsonstr.Append(dst, b.bytes(it.id))
		} else {
			dst = e.appendID(dst, seq+uint64(i))
		}
		if it.status == http.StatusCreated {
			dst = append(dst, `,"_version":1,"result":"created","_shards":{"total":1,"successful":1,"failed":0},"_seq_no":`...)
			dst = strconv.AppendUint(dst, seq+uint64(i), 10)
			dst = append(dst, `,"_primary_term":1,"status":201}}`...)
			continue
		}
		dst = append(dst, `,"status":`...)
		dst = strconv.AppendInt(dst, int64(it.status), 10)
		dst = append(dst, `,"error":{"type":`...)
		dst = jsonstr.Append(dst, it.errType)
		dst = append(dst, `,"reason":`...)
		dst = jsonstr.Append(dst, it.reason)
		dst = append(dst, `}}}`...)
	}
	dst = append(dst, "]}"...)
	out.Write(dst)
}

// appendID appends a generated document ID: 20 URL-safe base64 characters,
// like Elasticsearch's, from a per-process prefix and the item's sequence
// number, so IDs are unique without coordination.
func (e *ESHandler) appendID(dst []byte, seq uint64) []byte {
	var raw [15]byte
	binary.BigEndian.PutUint64(raw[:8], e.h.esIDPrefix)
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seq)
	copy(raw[8:], s[1:])
	dst = append(dst, '"')
	dst = base64.RawURLEncoding.AppendEncode(dst, raw[:])
	return append(dst, '"')
}
