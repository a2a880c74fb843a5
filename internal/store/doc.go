// Package store declares the storage seams of Argus: the small,
// backend-neutral interfaces that ingest writes through and the query APIs
// read through.
//
// Implementations live in subpackages (traces on the column store today, a
// ClickHouse backend later). Every implementation must pass the conformance
// suite in package storetest; package memstore is the in-memory reference
// implementation that suite is checked against.
package store
