package app

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/argus-obs/argus/internal/config"
	"github.com/argus-obs/argus/internal/ingest/logpush"
	"github.com/argus-obs/argus/internal/ingest/otlp"
	"github.com/argus-obs/argus/internal/ingest/syslog"
	"github.com/argus-obs/argus/internal/store"
)

// logIngest is every way logs come in: OTLP, the push protocols of the
// common shippers, and syslog when its address is set.
type logIngest struct {
	otlp   *otlp.LogsReceiver
	push   *logpush.Handlers
	es     *logpush.ESHandler
	syslog *syslog.Server // nil unless Options.SyslogAddr is set
}

func (li *logIngest) build(a *App, cfg *config.Config, w store.LogWriter) error {
	var err error
	li.otlp, err = otlp.NewLogsReceiver(otlp.LogsOptions{
		Writer:          w,
		Logger:          a.log,
		Registerer:      a.registry,
		MaxRequestBytes: cfg.Limits.EffectiveMaxRequestBytes(),
		MaxLineBytes:    int(cfg.Limits.MaxLogLineBytes),
		MaxAttributes:   cfg.Limits.MaxLogAttributes,
	})
	if err != nil {
		return err
	}
	li.push, err = logpush.New(logpush.Options{
		Writer:          w,
		Logger:          a.log.With("component", "log-push"),
		Registerer:      a.registry,
		MaxRequestBytes: cfg.Limits.EffectiveMaxRequestBytes(),
		MaxLineBytes:    int(cfg.Limits.MaxLogLineBytes),
		MaxAttributes:   cfg.Limits.MaxLogAttributes,
		// Lines older than the retention would be deleted at once.
		MaxAge: a.opts.Retention,
	})
	if err != nil {
		return err
	}
	li.es = li.push.Elasticsearch()
	if a.opts.SyslogAddr != "" {
		li.syslog, err = syslog.New(syslog.Options{
			Addr:       a.opts.SyslogAddr,
			Writer:     w,
			Logger:     a.log.With("component", "syslog"),
			Registerer: a.registry,
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// mount serves the log endpoints: OTLP on both HTTP ports, the push
// protocols on the main one. The Elasticsearch API is served twice: its
// bulk and set-up endpoints at the root, where shippers look for them
// (/_bulk and the "_" set-up paths here, /{index}/_bulk by wrap), and all
// of it under /elasticsearch/ for shippers that need the per-index
// endpoints too, which at the root would shadow other pages.
func (li *logIngest) mount(mux, otlpMux *http.ServeMux, api *apiMetrics) {
	mux.Handle("POST /v1/logs", api.instrument("otlp_logs", li.otlp))
	otlpMux.Handle("POST /v1/logs", api.instrument("otlp_logs", li.otlp))
	mux.Handle("POST /loki/api/v1/push", api.instrument("loki_push", li.push.Loki()))
	mux.Handle("POST /api/argus/v1/logs", api.instrument("json_lines", li.push.JSONLines()))
	es := api.instrument("elasticsearch", li.es)
	for _, p := range li.es.Patterns() {
		method, path, _ := strings.Cut(p, " ")
		if strings.HasPrefix(path, "/_") {
			mux.Handle(p, es)
		}
		mux.Handle(method+" /elasticsearch"+path, http.StripPrefix("/elasticsearch", es))
	}
}

// wrap routes POST /{index}/_bulk to the Elasticsearch handler before
// h: as a mux pattern it would overlap every prefix pattern (/jaeger/,
// /loki/, ...) and the mux refuses such ambiguity.
func (li *logIngest) wrap(h http.Handler, api *apiMetrics) http.Handler {
	es := api.instrument("elasticsearch", li.es)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodPost || r.Method == http.MethodPut) && isIndexBulk(r.URL.Path) {
			es.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// isIndexBulk reports whether path is /{index}/_bulk.
func isIndexBulk(path string) bool {
	index, ok := strings.CutSuffix(strings.TrimPrefix(path, "/"), "/_bulk")
	return ok && index != "" && !strings.Contains(index, "/")
}

// rootHandler serves GET /: a browser gets index, anything else (an
// Elasticsearch client checking the cluster before it sends) gets
// Elasticsearch's cluster information.
func (li *logIngest) rootHandler(index http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Accept"), "text/html") || r.Header.Get("Accept") == "" && r.Header.Get("User-Agent") == "" {
			index.ServeHTTP(w, r)
			return
		}
		li.es.ServeHTTP(w, r)
	})
}

// start binds the syslog listeners, if any, and returns their addresses
// (which differ in port when the flag asked for port 0).
func (li *logIngest) start(ctx context.Context) (tcpAddr, udpAddr string, err error) {
	if li.syslog == nil {
		return "", "", nil
	}
	if err := li.syslog.Start(ctx); err != nil {
		return "", "", fmt.Errorf("syslog: %w", err)
	}
	tcp, udp := li.syslog.Addr()
	return tcp.String(), udp.String(), nil
}

// applyLimits puts reloaded limits in force.
func (li *logIngest) applyLimits(l config.Limits) {
	li.otlp.SetMaxRequestBytes(l.EffectiveMaxRequestBytes())
	li.otlp.SetLimits(otlp.LogLimits{MaxLineBytes: int(l.MaxLogLineBytes), MaxAttributes: l.MaxLogAttributes})
	li.push.SetLimits(logpush.Limits{
		MaxRequestBytes: l.EffectiveMaxRequestBytes(), MaxLineBytes: int(l.MaxLogLineBytes), MaxAttributes: l.MaxLogAttributes,
	})
}

// shutdown stops syslog, flushing what it has buffered into the store.
func (li *logIngest) shutdown(ctx context.Context) error {
	if li.syslog == nil {
		return nil
	}
	if err := li.syslog.Shutdown(ctx); err != nil {
		return fmt.Errorf("stop syslog: %w", err)
	}
	return nil
}
