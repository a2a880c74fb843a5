//go:build !unix

package sdk_test

func processCPU() int64 { return 0 }
