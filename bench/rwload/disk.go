package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/argus-obs/argus/bench/internal/measure"
)

// blockStats sums the persistent TSDB blocks found under a data directory.
type blockStats struct {
	blocks  int
	bytes   int64 // disk space of the block directories
	samples int64 // samples in them, from their meta.json
	series  int64 // series in them, summed over blocks
}

// tsdbBlocks finds every TSDB block under dir: a directory holding a
// meta.json with a ULID, as the Prometheus TSDB writes one per block.
// Blocks being written (*.tmp-for-creation) are skipped.
func tsdbBlocks(dir string) blockStats {
	var st blockStats
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "meta.json" {
			return nil
		}
		blockDir := filepath.Dir(path)
		if filepath.Ext(blockDir) != "" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		var meta struct {
			ULID  string `json:"ulid"`
			Stats struct {
				NumSamples int64 `json:"numSamples"`
				NumSeries  int64 `json:"numSeries"`
			} `json:"stats"`
		}
		if json.Unmarshal(b, &meta) != nil || meta.ULID == "" {
			return nil
		}
		st.blocks++
		st.bytes += measure.DirSize(blockDir)
		st.samples += meta.Stats.NumSamples
		st.series += meta.Stats.NumSeries
		return nil
	})
	return st
}
