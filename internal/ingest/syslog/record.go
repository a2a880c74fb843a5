package syslog

import (
	"cmp"
	"slices"
	"time"

	"github.com/argus-obs/argus/internal/model"
)

// The attribute keys the receiver sets. host.name is OpenTelemetry's
// resource convention; the others have none, so they are namespaced.
const (
	keyHostName = "host.name"       // resource: HOSTNAME
	keyFacility = "syslog.facility" // resource: the facility's name
	keyProcID   = "syslog.procid"   // record: PROCID, or the 3164 TAG's [pid]
	keyMsgID    = "syslog.msgid"    // record: MSGID
)

// defaultService is the service name of a message without APP-NAME or TAG.
const defaultService = "syslog"

// severities maps a syslog severity (0..7) to its OTLP number and its
// syslog name. See the table in the package documentation.
var severities = [8]struct {
	number model.Severity
	name   string
}{
	{model.SeverityFatal + 2, "emerg"},
	{model.SeverityFatal + 1, "alert"},
	{model.SeverityFatal, "crit"},
	{model.SeverityError, "err"},
	{model.SeverityWarn, "warning"},
	{model.SeverityInfo + 1, "notice"},
	{model.SeverityInfo, "info"},
	{model.SeverityDebug, "debug"},
}

// facilities are the facility names rsyslog uses (syslogfacility-text),
// indexed by code. 12-15 have no name in Linux's syslog.h; these follow
// RFC 5424's descriptions of them.
var facilities = [24]string{
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "audit", "alert", "clock",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
}

// fill maps p.m, just parsed, onto rec.
//
// The resource (the stream) gets only what is stable per sender and
// program: HOSTNAME, APP-NAME and facility. Everything that varies per
// message or per process run (PROCID, MSGID, structured data) goes on the
// record, so streams stay few however much a host logs.
func (p *parser) fill(now time.Time, rec *model.LogRecord) {
	m := &p.m
	rec.ObservedUnixNano = now.UnixNano()
	rec.TimeUnixNano = rec.ObservedUnixNano
	if m.hasTime {
		rec.TimeUnixNano = m.time
	}
	rec.Body = m.msg
	if m.hasPRI {
		s := severities[m.severity]
		rec.Severity, rec.SeverityText = s.number, s.name
	}

	rec.Resource.ServiceName = cmp.Or(m.appName, defaultService)
	start := len(p.arena)
	if m.hostname != "" {
		p.arena = append(p.arena, model.String(keyHostName, m.hostname))
	}
	if m.hasPRI {
		p.arena = append(p.arena, model.String(keyFacility, facilities[m.facility]))
	}
	rec.Resource.Attributes = p.take(start)

	start = len(p.arena)
	if m.msgID != "" {
		p.arena = append(p.arena, model.String(keyMsgID, m.msgID))
	}
	if m.procID != "" {
		p.arena = append(p.arena, model.String(keyProcID, m.procID))
	}
	sdStart := len(p.arena)
	// scratch holds the SD params under their bare names, parallel to
	// arena[sdStart:], because services log a request ID as "request_id"
	// whatever SD-ID they put it under.
	p.scratch = p.scratch[:0]
	canonical := -1
	for _, sp := range m.sd {
		switch sp.name {
		case "trace_id":
			if id, err := model.ParseTraceID(sp.value); err == nil && !id.IsZero() {
				rec.TraceID = id
				continue
			}
		case "span_id":
			if id, err := model.ParseSpanID(sp.value); err == nil && !id.IsZero() {
				rec.SpanID = id
				continue
			}
		}
		key := sp.id // an SD-ELEMENT without params is kept as a key with no value
		if sp.name != "" {
			key = p.sdKey(sp.id, sp.name)
		}
		if canonical < 0 && sp.name == model.CorrelationIDKey && sp.value != "" {
			canonical = len(p.scratch)
		}
		p.arena = append(p.arena, model.String(key, sp.value))
		p.scratch = append(p.scratch, model.Attribute{Key: sp.name, Value: sp.value})
	}
	if len(p.scratch) > 0 {
		n := len(p.scratch)
		if id, rest := model.LiftCorrelationID(p.scratch); id != "" {
			rec.CorrelationID = id
			if len(rest) < n { // the canonical key moved to CorrelationID
				p.arena = slices.Delete(p.arena, sdStart+canonical, sdStart+canonical+1)
			}
		}
	}
	rec.Attributes = p.take(start)
}

// take returns arena[start:] with its capacity cut, so that later appends
// to the arena never show through it; nil when empty.
func (p *parser) take(start int) []model.Attribute {
	end := len(p.arena)
	if end == start {
		return nil
	}
	return p.arena[start:end:end]
}

// sdKey returns "<id>.<name>", interned: the same few SD params come with
// every message of a sender, and the store may keep the key.
func (p *parser) sdKey(id, name string) string {
	p.keyBuf = append(append(append(p.keyBuf[:0], id...), '.'), name...)
	if k, ok := p.keys[string(p.keyBuf)]; ok {
		return k
	}
	k := string(p.keyBuf)
	if p.keys == nil {
		p.keys = make(map[string]string)
	} else if len(p.keys) >= maxInternedKeys {
		clear(p.keys)
	}
	p.keys[k] = k
	return k
}
