package logql

import (
	"context"

	"github.com/prometheus/prometheus/model/labels"
)

// Querier is the storage seam the engine reads log entries through.
//
// Implementations must be safe for concurrent use: the engine may run
// several queries, and several selections of one query, at once.
type Querier interface {
	// SelectLogs calls fn for every entry whose stream matches p.Matchers and
	// whose time t satisfies p.Start <= t < p.End, in p.Direction order
	// (Forward: oldest first; Backward: newest first; entries with equal
	// times in any order). It stops early, returning nil, when fn returns
	// false. The *Entry and the slices and strings it holds are valid only
	// during the call to fn: the engine copies what it keeps.
	SelectLogs(ctx context.Context, p SelectParams, fn func(*Entry) bool) error
}

// Direction orders log query results.
type Direction uint8

const (
	// Backward returns the newest entries first. It is Loki's default.
	Backward Direction = iota
	// Forward returns the oldest entries first.
	Forward
)

// String returns "backward" or "forward", the spelling of Loki's
// direction parameter.
func (d Direction) String() string {
	if d == Forward {
		return "forward"
	}
	return "backward"
}

// SelectParams says which entries the engine needs. Everything except
// Matchers, Start, End and Direction is a hint: the engine re-applies every
// condition, so a store may ignore hints, but one that uses them can skip
// blocks and columns.
type SelectParams struct {
	Start, End int64 // Unix nanoseconds, Start inclusive, End exclusive
	Matchers   []*labels.Matcher
	Direction  Direction

	// LineContains lists substrings every wanted line contains (from |= "x"
	// filters that come before any parser or formatter stage).
	LineContains []string

	// MetadataEquals lists name=value conditions on structured metadata
	// every wanted entry satisfies (from `| name="value"` label filters
	// joined by "and", before any parser, line_format or label_format
	// stage, where name is not a stream label). The engine cannot know
	// every stream's labels, so a store applies a condition only to entries
	// whose stream has no label of that name: for the others the filter
	// reads the stream label, and the engine checks it.
	MetadataEquals []labels.Label

	// NoLine is true when the engine will not read Entry.Line (a metric
	// query such as count_over_time({...}[1m]) with no pipeline stage
	// reading the line; bytes_over_time does read it).
	NoLine bool

	// Metadata names the structured-metadata fields the engine will read;
	// AllMetadata true means every field (e.g. a log query returns them
	// all). When AllMetadata is false a store may fill Entry.Metadata with
	// only these names.
	AllMetadata bool
	Metadata    []string

	// CountEdges, when set, says the engine only counts entries: it reads
	// an entry's Time only to find the interval (CountEdges[i-1],
	// CountEdges[i]] holding it, and reads no line. A store may then hand
	// over one Entry for all the entries of one stream with equal Metadata
	// (the fields named in Metadata) in one interval, with Count set to
	// their number and Time to a time in the interval, still in Direction
	// order. Set only with NoLine and without AllMetadata.
	CountEdges []int64
}

// Entry is one log line as the store holds it.
type Entry struct {
	Time     int64         // Unix nanoseconds
	Line     string        // the log line (the record's body)
	Stream   labels.Labels // the stream's labels (indexed, what selectors match)
	Metadata labels.Labels // structured metadata (the record's own fields), sorted by name
	// Count is how many entries this one stands for when the store merged
	// them (see SelectParams.CountEdges); 0 means 1.
	Count int64
}
