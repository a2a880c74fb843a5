// Trace search: the Jaeger search form, results as a duration-over-time
// scatter plot and a list.
import { useState } from 'preact/hooks';
import { jaeger, type JaegerTrace } from '../api';
import { useAsync } from '../components/async';
import { Chart, type Point } from '../components/Chart';
import { Link } from '../components/Link';
import { Panel } from '../components/Panel';
import { href, navigate, setParams, useLocation, useRange } from '../router';
import { formatDuration, formatTime } from '../time';
import { serviceColor } from '../trace/model';

/** A search result reduced to what the list shows. */
interface TraceSummary {
  id: string;
  root: string;
  rootService: string;
  start: number;
  duration: number;
  spans: number;
  errors: number;
  services: Map<string, number>;
}

function summarize(t: JaegerTrace): TraceSummary {
  let start = Infinity;
  let end = -Infinity;
  let errors = 0;
  const services = new Map<string, number>();
  const ids = new Set(t.spans.map((s) => s.spanID));
  let root = t.spans[0];
  for (const s of t.spans) {
    start = Math.min(start, s.startTime);
    end = Math.max(end, s.startTime + s.duration);
    const svc = t.processes[s.processID]?.serviceName ?? 'unknown';
    services.set(svc, (services.get(svc) ?? 0) + 1);
    if (s.tags?.some((kv) => (kv.key === 'error' && (kv.value === true || kv.value === 'true')) || (kv.key === 'otel.status_code' && kv.value === 'ERROR'))) errors++;
    const parent = s.references?.find((r) => r.refType === 'CHILD_OF');
    if ((!parent || !ids.has(parent.spanID)) && s.startTime <= root.startTime) root = s;
  }
  return {
    id: t.traceID,
    root: root.operationName,
    rootService: t.processes[root.processID]?.serviceName ?? 'unknown',
    start,
    duration: end - start,
    spans: t.spans.length,
    errors,
    services,
  };
}

const fields = ['service', 'operation', 'tags', 'minDuration', 'maxDuration', 'limit'] as const;

/** TracesPage searches traces. */
export function TracesPage() {
  const { params } = useLocation();
  const range = useRange();
  const [form, setForm] = useState(() => Object.fromEntries(fields.map((f) => [f, params.get(f) ?? ''])) as Record<(typeof fields)[number], string>);
  const services = useAsync((s) => jaeger.services(s), []);
  const operations = useAsync((s) => (form.service ? jaeger.operations(form.service, s) : Promise.resolve([])), [form.service]);
  const service = params.get('service') ?? '';
  const query = fields.map((f) => params.get(f) ?? '');
  const results = useAsync(
    service
      ? async (s) => {
          const traces = await jaeger.search(
            {
              service,
              operation: params.get('operation') ?? undefined,
              tags: params.get('tags') ?? undefined,
              minDuration: params.get('minDuration') ?? undefined,
              maxDuration: params.get('maxDuration') ?? undefined,
              limit: parseInt(params.get('limit') ?? '20', 10) || 20,
              start: range.start,
              end: range.end,
            },
            s,
          );
          return traces.map(summarize).sort((a, b) => b.start - a.start);
        }
      : null,
    [...query, range],
  );
  const points: Point[] = (results.data ?? []).map((t) => ({
    x: t.start / 1e6,
    y: t.duration / 1000,
    key: t.id,
    title: `${t.rootService}: ${t.root} ${formatDuration(t.duration)}`,
    color: t.errors ? '#e15759' : serviceColor(t.rootService),
    radius: 4 + Math.min(6, Math.log2(t.spans)),
  }));

  return (
    <div class="page">
      <h1>Traces</h1>
      <div class="search-layout">
        <Panel title="Search" class="search-form">
          <form
            data-testid="trace-search"
            onSubmit={(e) => {
              e.preventDefault();
              setParams(form);
            }}
          >
            <label>
              Service
              <select name="service" value={form.service} onChange={(e) => setForm({ ...form, service: e.currentTarget.value, operation: '' })}>
                <option value="">Choose a service</option>
                {(services.data ?? []).map((s) => (
                  <option key={s}>{s}</option>
                ))}
              </select>
            </label>
            <label>
              Operation
              <select name="operation" value={form.operation} onChange={(e) => setForm({ ...form, operation: e.currentTarget.value })}>
                <option value="">All</option>
                {(operations.data ?? []).map((s) => (
                  <option key={s}>{s}</option>
                ))}
              </select>
            </label>
            <label>
              Attributes
              <input name="tags" placeholder='http.status_code=500 error=true' value={form.tags} onInput={(e) => setForm({ ...form, tags: e.currentTarget.value })} />
            </label>
            <div class="row">
              <label>
                Min duration
                <input name="minDuration" placeholder="e.g. 100ms" value={form.minDuration} onInput={(e) => setForm({ ...form, minDuration: e.currentTarget.value })} />
              </label>
              <label>
                Max duration
                <input name="maxDuration" placeholder="e.g. 1.5s" value={form.maxDuration} onInput={(e) => setForm({ ...form, maxDuration: e.currentTarget.value })} />
              </label>
            </div>
            <label>
              Limit
              <input name="limit" type="number" min="1" max="1500" placeholder="20" value={form.limit} onInput={(e) => setForm({ ...form, limit: e.currentTarget.value })} />
            </label>
            <button type="submit" disabled={!form.service}>
              Find traces
            </button>
          </form>
        </Panel>
        <div class="search-results">
          <Panel
            title={results.data ? `${results.data.length} traces` : 'Results'}
            loading={results.loading}
            error={results.error ?? services.error}
            empty={!service ? 'Choose a service to search its traces.' : results.data?.length === 0 && 'No traces match in this time range.'}
            testId="trace-results"
          >
            {results.data && results.data.length > 0 && (
              <>
                <Chart
                  xs={[]}
                  lines={[]}
                  points={points}
                  height={180}
                  xRange={[range.start / 1000, range.end / 1000]}
                  formatY={(v) => formatDuration(v * 1000)}
                  onPointClick={(p) => navigate(href(`/traces/${p.key}`))}
                />
                <table class="grid">
                  <thead>
                    <tr>
                      <th>Trace</th>
                      <th>Services</th>
                      <th class="num">Spans</th>
                      <th class="num">Duration</th>
                      <th>Started</th>
                    </tr>
                  </thead>
                  <tbody>
                    {results.data.map((t) => (
                      <tr key={t.id} data-testid="trace-row">
                        <td>
                          <Link to={`/traces/${t.id}`}>
                            <b>{t.rootService}</b>: {t.root}
                          </Link>
                          <div class="muted mono">{t.id}</div>
                        </td>
                        <td>
                          {[...t.services].map(([s, n]) => (
                            <span key={s} class="svc-chip" style={{ borderColor: serviceColor(s) }}>
                              {s} ({n})
                            </span>
                          ))}
                        </td>
                        <td class="num">
                          {t.spans}
                          {t.errors > 0 && <span class="bad"> · {t.errors} errors</span>}
                        </td>
                        <td class="num">{formatDuration(t.duration)}</td>
                        <td>{formatTime(t.start / 1000)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </>
            )}
          </Panel>
        </div>
      </div>
    </div>
  );
}
