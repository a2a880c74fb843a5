package store

import (
	"context"

	"github.com/argus-obs/argus/internal/model"
)

// LogWriter stores log records.
//
// WriteLogs is safe for concurrent use. When it returns nil, every record
// is durable (it survives a crash of the process) and visible to every
// reader of the store. The writer does not keep records or anything they
// reference after it returns, so the caller may reuse them. When the store
// cannot keep up it returns an error wrapping ErrOverloaded and stores
// nothing of the call, so the sender can retry the whole batch.
type LogWriter interface {
	WriteLogs(ctx context.Context, records []model.LogRecord) error
}
