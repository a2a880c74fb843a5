// Package logqltest checks LogQL evaluation against scripts, so every
// store behind logql.Querier can be tested with the same expectations,
// and provides MemQuerier, the reference in-memory Querier.
//
// # Script format
//
// A script (a *.test file) is a list of commands; a command starts at
// the beginning of a line and its body lines are indented. Lines whose
// first non-blank character is # are comments. Times are offsets from the
// Unix epoch written as durations ("0s", "1m30s", "10m1ns") or RFC 3339
// timestamps.
//
//	load
//	  <time> <stream labels> [<structured metadata>] <line>
//
// adds entries: labels are written {name="value", ...}, the line as a Go
// string literal ("..." or `...`). Entries accumulate until "clear".
//
//	engine max_series=2 max_entries=10 max_points=100
//
// sets engine options for the evaluations that follow.
//
//	eval instant at <time> [ordered]
//	  <query>
//	  {labels} <value>        one line per expected sample
//	  scalar <value>          or a scalar
//
//	eval range from <time> to <time> step <duration>
//	  <query>
//	  {labels} <time>:<value> <time>:<value> ...
//
//	eval logs from <time> to <time> [limit <n>] [direction forward|backward] [interval <duration>]
//	  <query>
//	  stream {labels}
//	    <time> <line> [meta {labels}] [parsed {labels}]
//
// An expectation of "empty" asserts an empty result. Series and streams
// match in any order; samples of an instant query match in any order
// unless "ordered" is given; entries of a stream match in order (entries
// with equal times in any order). "meta" and "parsed" are checked only
// when given. Values match to 1e-9 relative.
//
//	eval_fail <instant|range|logs> ...
//	  <query>
//	  error <substring of the error message>
package logqltest
