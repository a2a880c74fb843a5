package prometheus

import (
	"errors"
	"runtime/debug"
)

var errNoScrapePool = errors.New("no such scrape pool")

// debugMemoryLimit returns the Go memory limit in force (math.MaxInt64
// when none is set), as Prometheus reports it.
func debugMemoryLimit() int64 { return debug.SetMemoryLimit(-1) }
