// The services page: every service with its RED numbers over the chosen
// range and sparklines of its request and error rates.
import { useMemo } from 'preact/hooks';
import { jaeger, prom } from '../api';
import { useAsync } from '../components/async';
import { Chart } from '../components/Chart';
import { Link } from '../components/Link';
import { Panel } from '../components/Panel';
import { ErrorCell, LatencyCells, LatencyHeaders } from '../components/RED';
import { align, formatRate, loadRED, redQueries, windowFor, type REDRow } from '../red';
import { setParams, useLocation, useRange } from '../router';
import { stepFor } from '../time';

/** ServicesPage lists services with RED numbers. */
export function ServicesPage() {
  const { params } = useLocation();
  const range = useRange();
  // A substring to narrow the list: this page's own, not the global service
  // filter, which names one service exactly.
  const filter = params.get('filter') ?? '';
  const win = windowFor(range.start, range.end);
  const step = stepFor(range, 60);

  const red = useAsync((s) => loadRED('service_name', win, range.end, undefined, s), [range, win]);
  const services = useAsync((s) => jaeger.services(s), [range]);
  const sparks = useAsync(
    async (s) => {
      const q = redQueries('service_name', `${Math.max(step * 2, 60)}s`);
      const [rate, errors] = await Promise.all([q.rate, q.errors].map((x) => prom.queryRange(x, range.start, range.end, step, s)));
      const r = align(rate, range.start, range.end, step);
      const e = align(errors, range.start, range.end, step);
      // A service with no requests in the range gets an empty line, not a missing chart.
      const pick = (a: typeof r, name: string) => a.series.find((x) => x.labels.service_name === name)?.values ?? new Array<null>(a.xs.length).fill(null);
      return { xs: r.xs, rate: (n: string) => pick(r, n), errors: (n: string) => pick(e, n) };
    },
    [range, step],
  );

  // Services that sent spans but serve no requests (only clients, say) are listed too.
  const rows: REDRow[] = useMemo(() => {
    const byKey = new Map((red.data ?? []).map((r) => [r.key, r]));
    for (const s of services.data ?? []) if (!byKey.has(s)) byKey.set(s, { key: s, rate: 0, errorRate: 0 });
    return [...byKey.values()].filter((r) => r.key.includes(filter)).sort((a, b) => a.key.localeCompare(b.key));
  }, [red.data, services.data, filter]);

  return (
    <div class="page">
      <h1>Services</h1>
      <Panel
        testId="services"
        title={`${rows.length} services`}
        loading={red.loading || services.loading}
        error={red.error ?? services.error}
        empty={rows.length === 0 && 'No services have sent spans in this time range.'}
        actions={
          <input
            class="filter"
            placeholder="Filter services"
            value={filter}
            onInput={(e) => setParams({ filter: e.currentTarget.value }, true)}
          />
        }
      >
        <table class="grid">
          <thead>
            <tr>
              <th>Service</th>
              <th class="num">Requests</th>
              <th class="spark">Rate</th>
              <th class="num">Errors</th>
              <th class="spark">Error rate</th>
              <LatencyHeaders />
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.key} data-testid="service-row">
                <td>
                  <Link to={`/services/${encodeURIComponent(r.key)}`}>{r.key}</Link>
                </td>
                <td class="num">{formatRate(r.rate)}</td>
                <td class="spark">
                  {sparks.data && <Chart sparkline height={28} xs={sparks.data.xs} lines={[{ label: 'rate', values: sparks.data.rate(r.key) }]} />}
                </td>
                <ErrorCell row={r} />
                <td class="spark">
                  {sparks.data && <Chart sparkline height={28} xs={sparks.data.xs} lines={[{ label: 'errors', values: sparks.data.errors(r.key), color: '#e15759' }]} />}
                </td>
                <LatencyCells row={r} />
              </tr>
            ))}
          </tbody>
        </table>
      </Panel>
    </div>
  );
}
