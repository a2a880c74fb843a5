// Package logql parses and evaluates LogQL, Grafana Loki's query
// language, over log entries read through a Querier, and encodes results
// in Loki's HTTP response shapes, so Grafana's Loki data source and
// Loki's users get the answers Loki gives.
//
// # Using it
//
//	eng := logql.NewEngine(logql.EngineOptions{}) // zero value: Loki's default limits
//	res, err := eng.Query(ctx, store, logql.Params{
//		Query: `sum by (level) (count_over_time({service_name="api"}[1m]))`,
//		Start: start, End: end, Step: time.Minute,
//	})
//	// errors: *ParseError, ErrLimit, ErrPipeline, ErrUnsupported (all
//	// IsBadData: HTTP 400 "bad_data"), or the store's own.
//	err = res.MarshalLoki(w, categorize)
//
// The store implements Querier; package logqltest holds MemQuerier, the
// reference in-memory implementation, and RunScripts, which checks any
// Querier against the scripts in testdata/.
//
// # Supported LogQL
//
// Log queries:
//   - stream selectors {a="b", c!="d", e=~"f.*", g!~"h"}; at least one
//     matcher must reject the empty string, as in Loki;
//   - line filters |= != |~ !~ and the pattern filters |> !>, chained,
//     with "or" alternatives (|= "a" or "b"; a negative filter with "or"
//     drops lines matching any value), and |= ip("...") / != ip("...")
//     with an address, a range "a-b" or a CIDR;
//   - parsers: json (nested keys joined with _, arrays skipped; with
//     parameters json a="x.y", b="z[0]", c), logfmt (with --strict,
//     --keep-empty and parameters), regexp "(?P<name>...)", pattern
//     "<name> <_> ...", unpack;
//   - label filters: =, !=, =~, !~ on strings (regular expressions are
//     anchored); ==, !=, >, >=, <, <= on numbers, durations (10ms, 1m30s,
//     compared in seconds) and byte sizes (20KB = 20000, 1MiB = 1048576);
//     ip("..."); joined with and, or (and binds tighter), a comma or
//     white space, and parentheses;
//   - line_format and label_format (templates and renames), drop and keep
//     (by name, or name with a matcher), decolorize.
//
// Template functions (Go text/template, missing labels render empty):
// __line__, __timestamp__; ToLower, ToUpper, Replace, Trim, TrimLeft,
// TrimRight, TrimPrefix, TrimSuffix, TrimSpace (Go argument order);
// lower, upper, title, trim, trimAll, trimPrefix, trimSuffix, replace,
// contains, hasPrefix, hasSuffix, repeat, trunc, substr, indent, nindent,
// alignLeft, alignRight, default, count, regexReplaceAll,
// regexReplaceAllLiteral, urlencode, urldecode, b64enc, b64dec, bytes,
// duration, duration_seconds, unixEpoch, unixEpochMillis, unixEpochNanos,
// unixToTime, toDate, toDateInZone, date, now, add, sub, mul, div, mod,
// addf, subf, mulf, divf, max, min, maxf, minf, ceil, floor, round, int,
// float64 (sprig argument order), and the text/template builtins (printf,
// len, eq, if, ...).
//
// Metric queries:
//   - count_over_time, rate, bytes_over_time, bytes_rate,
//     absent_over_time; with | unwrap label (or duration(label),
//     duration_seconds(label), bytes(label)) and optional label filters
//     after it: sum_over_time, avg_over_time, min_over_time,
//     max_over_time, first_over_time, last_over_time, stdvar_over_time,
//     stddev_over_time, quantile_over_time(q, ...), rate (the sum of the
//     values per second) and absent_over_time; unwrapped ones other than
//     sum_over_time, rate and absent_over_time take by (...) or
//     without (...), as Loki documents;
//   - ranges [5m] (Prometheus durations) with an optional offset, written
//     after the selector or after the pipeline;
//   - sum, avg, min, max, count, stddev, stdvar, topk, bottomk, sort,
//     sort_desc, with by/without before or after the arguments;
//   - + - * / % ^, == != > >= < <= (with bool), and, or, unless, between
//     metric queries and numbers, with on/ignoring and
//     group_left/group_right; a comparison of two numbers gives 0 or 1
//     with or without bool, as Loki documents; number literals,
//     vector(n), label_replace.
//
// # Semantics
//
// A log query returns at most Limit entries in Direction order over
// [Start, End), grouped into streams by their full label set (stream
// labels, structured metadata and parsed labels, as Loki returns them by
// default); MarshalLoki with categorize splits them as the
// categorize-labels encoding flag asks. Log queries as instant queries
// are refused, as Loki 3 does.
//
// A range aggregation at time t covers the entries in (t-range-offset,
// t-offset]: open on the left, closed on the right, as Loki evaluates it
// (the selection is [first window start + 1ns, last window end + 1ns)).
// Steps run Start, Start+Step, ... up to End, not aligned to the step.
// Series carry the full label set less the unwrapped label; no series
// and no point is emitted for a window without entries.
//
// Parsers that fail set __error__ (JSONParserErr, LogfmtParserErr,
// LabelFilterErr, TemplateFormatErr, SampleExtractionErr) and
// __error_details__ and keep the entry; once an entry has an error only
// string label filters (such as __error__="") can drop it. A metric query
// whose windows contain an errored entry fails with ErrPipeline, worded as
// Loki words it, unless the query selects errors on purpose (a filter on
// __error__ that rejects "", or a sum by (__error__)). A parsed label
// named like a stream label gets the suffix _extracted, as does
// structured metadata so named; a parsed label named like a metadata
// field replaces it.
//
// topk and bottomk break ties by label set, so answers do not depend on
// storage order. Vector aggregations drop labels with empty values, as
// PromQL does; log streams and range aggregation series keep them.
//
// # Performance
//
// The engine compiles a query once (regular expressions, templates,
// stages), reads each entry once, and keeps nothing per entry: range
// aggregations count entries per elementary interval between window
// edges, so overlapping windows cost nothing extra, and a
// sum by (...) over an additive range aggregation (count_over_time, rate,
// bytes_*, sum_over_time) is fused into it, keeping one series per group.
// It fills SelectParams hints (LineContains, MetadataEquals, NoLine,
// Metadata) so a store can skip blocks and columns, and for a count that
// reads no line (Grafana's log volume query) CountEdges, so a store can
// count rows itself and hand over one entry per stream, metadata and
// interval with its Count.
//
// # Not supported
//
//   - the | label filters that call functions other than ip(), and line
//     filters on ip() with |~;
//   - rate_counter, approx_topk, sum_over_time and friends over
//     unwrapped structured-metadata types other than numbers, durations
//     and bytes; the sharding, splitting and query-frontend machinery;
//   - unary minus on anything but a number literal; @ modifiers;
//     subqueries; the PromQL functions Loki does not have;
//   - group_left/group_right with more than one match on the "one" side,
//     and many-to-many matching (refused with an error, as PromQL does);
//   - template functions not listed above (e.g. fromJson, sha256);
//   - de-duplication of identical entries (same stream, time and line):
//     Loki's ingesters drop those, so a store should too.
package logql
