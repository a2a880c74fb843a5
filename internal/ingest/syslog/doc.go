// Package syslog receives syslog messages over TCP and UDP and writes
// them as log records through a store.LogWriter, so that rsyslog,
// syslog-ng, logger(1), network devices and programs using Go's
// log/syslog can ship logs to Argus without an agent.
//
//	srv, err := syslog.New(syslog.Options{Addr: "127.0.0.1:5514", Writer: logs, Registerer: reg})
//	err = srv.Start(ctx)   // binds TCP and UDP on the same address
//	...
//	err = srv.Shutdown(ctx) // writes what was read, then returns
//
// # Formats
//
// The format is detected per message; nothing needs configuring.
//
//   - RFC 5424: "<165>1 2003-10-11T22:14:15.003Z host app 1234 ID47
//     [exampleSDID@32473 iut="3"] msg". NILVALUE "-" in any header field,
//     any number of SD elements, the escapes \" \\ \] in parameter values,
//     and a BOM before MSG (dropped) are understood. Header fields may be
//     longer than the RFC allows.
//   - RFC 3164 (BSD): "<34>Oct 11 22:14:15 host su[123]: msg", with or
//     without the HOSTNAME, the TAG or its [pid]; the day space- or
//     zero-padded; a year before the time and fractional seconds as some
//     devices send them. The timestamp has no year: it is given the year
//     that puts it nearest to Options.Now, so a December line read in
//     January lands in the old year. It has no zone either: it is read in
//     the zone of Options.Now's time (the server's local zone by default),
//     as rsyslog reads it. A HOSTNAME is recognised by position: when the
//     first word after the timestamp already looks like a TAG ("name:",
//     "name[pid]:"), the message has none, as in what Go's log/syslog
//     writes to /dev/log.
//   - The same layout with an RFC 3339 timestamp, as rsyslog's
//     RSYSLOG_ForwardFormat and Go's log/syslog send over the network:
//     "<30>2003-10-11T22:14:15.003+02:00 host app[99]: msg".
//   - A line that does not start with '<' is taken as a plain message:
//     severity unspecified, time of arrival, service "syslog". Scripts
//     that pipe text into nc(1) then still land somewhere, and the
//     sender could not have been told of a refusal anyway.
//
// A message that starts like RFC 5424 ("<PRI>1 ") but breaks its grammar
// is read as RFC 3164, which keeps all of it as the message: as in
// rsyslog's parser chain, nothing is lost to a sender's quirk. The only
// message refused is one starting with '<' but no valid PRI ("<999>",
// "<html>"): it is counted as invalid. Bytes that are not UTF-8 become
// U+FFFD.
//
// # Framing
//
// UDP carries one message per datagram. TCP carries either framing of
// RFC 6587, chosen per connection by its first byte: a digit starts
// octet counting ("123 <34>..."), anything else non-transparent framing,
// where each message ends with LF (a CR before it is dropped) or NUL. A
// last message without its terminator is taken when the sender closes.
//
// # Mapping
//
// Each message becomes one model.LogRecord:
//
//	Body                   MSG (3164: what follows the TAG)
//	TimeUnixNano           TIMESTAMP; the time of arrival when it is absent
//	ObservedUnixNano       time of arrival (Options.Now)
//	Severity, SeverityText from PRI, by the table below
//	Resource.ServiceName   APP-NAME, or the 3164 TAG without [pid]; else "syslog"
//	Resource.Attributes    host.name = HOSTNAME, syslog.facility = facility name
//	Attributes             syslog.msgid = MSGID, syslog.procid = PROCID or [pid],
//	                       "<SD-ID>.<PARAM-NAME>" = value for each SD param
//	                       ("<SD-ID>" = "" for an SD element without params)
//	TraceID, SpanID        SD params named trace_id and span_id, when hex
//	CorrelationID          model.LiftCorrelationID over the SD params' names
//
// The resource, which Argus stores as the stream, holds only what is
// stable for a program on a host: host, program and facility (24 values).
// PROCID changes with every restart and MSGID and structured data with
// every message, so they go on the record; streams stay few however much
// a host logs. Lifted trace_id, span_id and correlation_id params are
// removed from the attributes; other spellings of a correlation ID
// (request_id, ...) stay, so a filter on the name a service logged still
// matches.
//
// Severities map into OpenTelemetry's ranges. Syslog has three levels
// above error and OpenTelemetry puts only "fatal" there, so emerg, alert
// and crit share the fatal range in their order:
//
//	code  SeverityText  Severity
//	0     emerg         23 FATAL3
//	1     alert         22 FATAL2
//	2     crit          21 FATAL
//	3     err           17 ERROR
//	4     warning       13 WARN
//	5     notice        10 INFO2
//	6     info           9 INFO
//	7     debug          5 DEBUG
//
// Facilities are named as rsyslog names them: kern, user, mail, daemon,
// auth, syslog, lpr, news, uucp, cron, authpriv, ftp, ntp, audit, alert,
// clock, local0 to local7.
//
// # Limits and delivery
//
// A message longer than Options.MaxMessageBytes (64 KiB) is refused as
// too_large. Over non-transparent TCP the rest of its line is skipped
// and the next message read; over octet counting the announced length
// is skipped. An octet-counting header that is not a length, or a
// stream that ends inside a frame, cannot be resynchronised: it is
// counted as invalid and the connection closed. Idle TCP connections
// are closed after Options.IdleTimeout (5 minutes); connections beyond
// Options.MaxConnections (1000) are closed as soon as they are accepted.
//
// Syslog has no acknowledgement. Messages are therefore written in
// batches of up to 1000, none waiting more than 100 ms. When the store
// is overloaded (its error wraps store.ErrOverloaded) the batch is
// retried with growing delays; meanwhile TCP connections are not read,
// so TCP flow control slows the senders and nothing is lost, while UDP
// messages, which cannot be slowed, are dropped and counted as
// dropped_overloaded. Any other store error is logged and the batch
// dropped.
//
// # Metrics
//
//	argus_ingest_log_records_received_total{protocol="syslog"}
//	argus_ingest_log_records_accepted_total{protocol="syslog"}
//	argus_ingest_log_records_rejected_total{protocol="syslog",reason="invalid|too_large|dropped_overloaded"}
//	argus_syslog_connections
//
// The three counters are shared with Argus's other log receivers, told
// apart by protocol.
//
// What this package is not: it does not speak TLS (RFC 5425) or RELP,
// relay or forward messages, resolve senders' addresses to names, or
// parse the message text (JSON, key=value) into attributes.
package syslog
