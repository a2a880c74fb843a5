package e2e

// The tests run the argus binary that TestMain builds, which go test does
// not see them depend on. Importing what the binary is built from makes a
// change to any of it invalidate cached test results; the files of
// cmd/argus itself are read by readBinarySources.
import (
	_ "github.com/argus-obs/argus/examples/shop/shop"
	_ "github.com/argus-obs/argus/internal/app"
)
