// Package otlpmetrics takes OTLP metrics over gRPC and writes them to the
// metrics store, translated by Prometheus's own OTLP translator, exactly as
// the OTLP/HTTP receiver of Prometheus's HTTP API does for /v1/metrics:
// resource attributes to target_info, service.name and service.instance.id
// to job and instance, units and _total suffixes, classic and exponential
// histograms, exemplars.
package otlpmetrics

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/storage"
	otlptranslator "github.com/prometheus/prometheus/storage/remote/otlptranslator/prometheusremotewrite"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Receiver is the OTLP/gRPC metrics service. It is safe for concurrent use.
type Receiver struct {
	pmetricotlp.UnimplementedGRPCServer

	appendable storage.AppendableV2
	config     func() config.Config
	log        *slog.Logger
	converters sync.Pool // of *otlptranslator.PrometheusConverter
}

// New returns a receiver appending to app, with the OTLP translation
// settings of cfg (nil: Prometheus's defaults) and logging to log.
func New(app storage.AppendableV2, cfg func() config.Config, log *slog.Logger) *Receiver {
	if cfg == nil {
		def := config.DefaultConfig
		cfg = func() config.Config { return def }
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Receiver{appendable: app, config: cfg, log: log}
	r.converters.New = func() any { return otlptranslator.NewPrometheusConverter(nil) }
	return r
}

// Export implements pmetricotlp.GRPCServer.
func (r *Receiver) Export(ctx context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	err := r.write(ctx, req)
	switch {
	case err == nil:
		return pmetricotlp.NewExportResponse(), nil
	case errors.Is(err, storage.ErrOutOfOrderSample), errors.Is(err, storage.ErrOutOfBounds),
		errors.Is(err, storage.ErrDuplicateSampleForTimestamp), errors.Is(err, storage.ErrTooOldSample):
		// Permanent for these samples: a retry would fail the same way.
		return pmetricotlp.NewExportResponse(), status.Error(codes.InvalidArgument, err.Error())
	default:
		r.log.Error("store OTLP metrics", "error", err)
		return pmetricotlp.NewExportResponse(), status.Error(codes.Unavailable, "metrics could not be stored; retry later")
	}
}

func (r *Receiver) write(ctx context.Context, req pmetricotlp.ExportRequest) (err error) {
	otlpCfg := r.config().OTLPConfig
	app := r.appendable.AppenderV2(ctx)
	conv := r.converters.Get().(*otlptranslator.PrometheusConverter)
	conv.Reset(app)
	defer func() {
		if err != nil {
			_ = app.Rollback()
		} else {
			err = app.Commit()
		}
		conv.Reset(nil)
		r.converters.Put(conv)
	}()
	annots, err := conv.FromMetrics(ctx, req.Metrics(), otlptranslator.Settings{
		AddMetricSuffixes:                    otlpCfg.TranslationStrategy.ShouldAddSuffixes(),
		AllowUTF8:                            !otlpCfg.TranslationStrategy.ShouldEscape(),
		PromoteResourceAttributes:            otlptranslator.NewPromoteResourceAttributes(otlpCfg),
		KeepIdentifyingResourceAttributes:    otlpCfg.KeepIdentifyingResourceAttributes,
		ConvertHistogramsToNHCB:              otlpCfg.ConvertHistogramsToNHCB,
		PromoteScopeMetadata:                 otlpCfg.PromoteScopeMetadata,
		LabelNameUnderscoreSanitization:      otlpCfg.LabelNameUnderscoreSanitization,
		LabelNamePreserveMultipleUnderscores: otlpCfg.LabelNamePreserveMultipleUnderscores,
	})
	if ws, _ := annots.AsStrings("", 0, 0); len(ws) > 0 {
		r.log.Warn("warnings translating OTLP metrics", "warnings", ws)
	}
	return err
}
