package memstore_test

import (
	"testing"

	"github.com/argus-obs/argus/internal/store/memstore"
	"github.com/argus-obs/argus/internal/store/storetest"
)

func TestTraces(t *testing.T) {
	storetest.TestTraceStore(t, storetest.TraceHarness{
		New: func(*testing.T) storetest.TraceStore { return memstore.NewTraces() },
	})
}
