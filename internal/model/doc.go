// Package model holds the value types every Argus subsystem shares: spans,
// their resources and attributes, and the trace and span identifiers.
//
// It depends on the standard library only, so protocol decoders, stores,
// query engines and API handlers can all speak it without importing each
// other. Values are plain data: they carry no locks and no references to
// the buffers they were decoded from.
package model
