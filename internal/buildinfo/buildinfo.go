// Package buildinfo says which build of Argus is running: the version set
// at link time, and the VCS revision and Go version the toolchain records.
package buildinfo

import (
	"runtime/debug"
	"sync"
)

// Version is the release version. Release builds set it with
// -ldflags "-X github.com/argus-obs/argus/internal/buildinfo.Version=v1.2.3".
var Version = "0.1.0-dev"

// Info describes the running build.
type Info struct {
	Version   string
	Revision  string // VCS commit, "unknown" when not built from a checkout
	BuildDate string // commit time, RFC 3339, when known
	GoVersion string
}

var get = sync.OnceValue(func() Info {
	info := Info{Version: Version, Revision: "unknown"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		info.GoVersion = bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Revision = s.Value
			case "vcs.time":
				info.BuildDate = s.Value
			}
		}
	}
	return info
})

// Get returns the running build's information.
func Get() Info { return get() }
