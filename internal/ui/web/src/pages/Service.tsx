// A service's page: request and error rates, latency with exemplars, its
// operations, recent failed traces and its logs.
import { jaeger, loki } from '../api';
import { useAsync } from '../components/async';
import { Link } from '../components/Link';
import { fromStreams, LogList } from '../components/LogList';
import { Panel } from '../components/Panel';
import { ErrorCell, LatencyCells, LatencyHeaders } from '../components/RED';
import { PromChart } from '../components/PromChart';
import { entryKinds, esc, formatRate, formatSeconds, loadRED, windowFor } from '../red';
import { setParams, useRange } from '../router';
import { formatDuration, formatTime, stepFor } from '../time';

/** ServicePage shows one service. */
export function ServicePage({ name }: { name: string }) {
  const range = useRange();
  const step = stepFor(range, 120);
  const rw = `${Math.max(step * 2, 60)}s`;
  const svc = `service_name=${esc(name)}`;
  const selectRange = (from: number, to: number) => setParams({ from: String(Math.round(from * 1000)), to: String(Math.round(to * 1000)) });

  const ops = useAsync((s) => loadRED('span_name', windowFor(range.start, range.end), range.end, svc, s), [name, range]);
  const errors = useAsync(
    (s) => jaeger.search({ service: name, tags: JSON.stringify({ error: 'true' }), start: range.start, end: range.end, limit: 10 }, s),
    [name, range],
  );
  const logs = useAsync((s) => loki.queryRange(`{${svc}}`, range.start, range.end, { limit: 50, direction: 'backward' }, s), [name, range]);

  return (
    <div class="page">
      <h1>
        {name}
        <span class="page-links">
          <Link to="/traces" params={{ service: name }}>
            Traces
          </Link>
          <Link to="/logs" params={{ query: `{${svc}}` }}>
            Logs
          </Link>
          <Link to="/map" params={{ service: name }}>
            Service map
          </Link>
        </span>
      </h1>
      <div class="grid-2">
        <PromChart
          title="Requests and errors per second"
          testId="service-rate"
          range={range}
          step={step}
          onSelect={selectRange}
          queries={[
            { expr: `sum(rate(traces_span_metrics_calls_total{${svc}, ${entryKinds}}[${rw}]))`, legend: 'requests' },
            { expr: `sum(rate(traces_span_metrics_calls_total{${svc}, ${entryKinds}, status_code="STATUS_CODE_ERROR"}[${rw}]))`, legend: 'errors' },
          ]}
        />
        <PromChart
          title="Latency (dots are exemplars: click to open the trace)"
          testId="service-latency"
          range={range}
          step={step}
          onSelect={selectRange}
          formatY={formatSeconds}
          exemplars={`traces_span_metrics_duration_seconds{${svc}, ${entryKinds}}`}
          queries={[0.5, 0.95, 0.99].map((phi) => ({
            expr: `histogram_quantile(${phi}, sum(rate(traces_span_metrics_duration_seconds{${svc}, ${entryKinds}}[${rw}])))`,
            legend: `p${phi * 100}`,
          }))}
        />
      </div>
      <Panel title="Operations" loading={ops.loading} error={ops.error} empty={ops.data?.length === 0 && 'No requests in this time range.'} testId="operations">
        <table class="grid">
          <thead>
            <tr>
              <th>Operation</th>
              <th class="num">Requests</th>
              <th class="num">Errors</th>
              <LatencyHeaders />
            </tr>
          </thead>
          <tbody>
            {(ops.data ?? []).map((r) => (
              <tr key={r.key}>
                <td>
                  <Link to="/traces" params={{ service: name, operation: r.key }}>
                    {r.key}
                  </Link>
                </td>
                <td class="num">{formatRate(r.rate)}</td>
                <ErrorCell row={r} />
                <LatencyCells row={r} />
              </tr>
            ))}
          </tbody>
        </table>
      </Panel>
      <div class="grid-2">
        <Panel title="Recent errors" loading={errors.loading} error={errors.error} empty={errors.data?.length === 0 && 'No failed traces in this time range.'}>
          <ul class="plain">
            {(errors.data ?? []).map((t) => {
              const root = t.spans.reduce((a, s) => (s.startTime < a.startTime ? s : a), t.spans[0]);
              return (
                <li key={t.traceID}>
                  <Link to={`/traces/${t.traceID}`}>{root.operationName}</Link> <span class="muted">{formatTime(root.startTime / 1000)}</span>{' '}
                  {formatDuration(root.duration)}
                </li>
              );
            })}
          </ul>
        </Panel>
        <Panel title="Logs" loading={logs.loading} error={logs.error} empty={logs.data?.resultType === 'streams' && logs.data.result.length === 0 && 'No logs in this time range.'}>
          {logs.data?.resultType === 'streams' && <LogList hideService entries={fromStreams(logs.data.result)} />}
        </Panel>
      </div>
    </div>
  );
}
