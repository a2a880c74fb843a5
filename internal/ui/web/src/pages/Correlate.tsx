// Everything Argus holds for one trace or correlation ID: the services
// involved, the traces, and every log line, in time order.
import { argus } from '../api';
import { useAsync } from '../components/async';
import { Link } from '../components/Link';
import { fromCorrelated, LogList } from '../components/LogList';
import { Panel } from '../components/Panel';
import { serviceColor } from '../trace/model';

/** CorrelatePage shows the correlate API's answer for id. */
export function CorrelatePage({ id }: { id: string }) {
  const c = useAsync((s) => argus.correlate(id, s), [id]);
  const d = c.data;
  const empty = d && d.logs.length === 0 && d.spans.length === 0;
  return (
    <div class="page">
      <h1>Everything with ID {id}</h1>
      <Panel
        title="Services and traces"
        loading={c.loading}
        error={c.error}
        empty={empty && `Nothing carries the ID ${id} as a trace or correlation ID: it may never have been sent, or it is older than the retention period.`}
        testId="correlate-summary"
      >
        {d && (
          <div class="trace-meta">
            {d.services.map((s) => (
              <Link key={s} to={`/services/${encodeURIComponent(s)}`} class="svc-chip">
                <span class="svc-dot" style={{ background: serviceColor(s) }} />
                {s}
              </Link>
            ))}
            {d.traceIds.map((t) => (
              <Link key={t} to={`/traces/${t}`} class="mono" testId="correlate-trace">
                trace {t}
              </Link>
            ))}
            <span>{d.spans.length} spans</span>
            <span>{d.logs.length} log lines</span>
          </div>
        )}
      </Panel>
      {d && d.logs.length > 0 && (
        <Panel title="Log lines" testId="correlate-logs">
          <LogList entries={fromCorrelated(d.logs)} />
        </Panel>
      )}
    </div>
  );
}
