// The metrics page: a PromQL box with completion of metric names, labels
// and values, and a chart with the exemplars of the queried series drawn as
// points that open their trace.
import { useEffect, useState } from 'preact/hooks';
import { prom } from '../api';
import { useAsync } from '../components/async';
import { completionContext, promqlFunctions, rank } from '../components/completion';
import { Panel } from '../components/Panel';
import { HeatmapPanel } from '../components/HeatmapPanel';
import { PromChart } from '../components/PromChart';
import { QueryEditor, type Completer } from '../components/QueryEditor';
import { setParams, useLocation, useRange } from '../router';
import { stepFor } from '../time';

/** MetricsPage explores metrics with PromQL. */
export function MetricsPage() {
  const { params } = useLocation();
  const range = useRange();
  const query = params.get('query') ?? '';
  const view = params.get('view');
  const [text, setText] = useState(query);
  useEffect(() => setText(query), [query]);
  const step = stepFor(range, 250);
  const names = useAsync((s) => prom.labelValues('__name__', undefined, s), []);

  // Parse errors are found before the chart draws, so the box can mark them.
  const check = useAsync(query ? (s) => prom.query(query, range.end, s).then(() => undefined) : null, [query, range]);

  const complete: Completer = async (t, cursor, signal) => {
    const c = completionContext(t, cursor);
    const match = (c: { metric: string; selector: string }) => (c.metric || c.selector ? `${c.metric}{${c.selector}}` : undefined);
    if (c.kind === 'name') return { from: c.from, items: rank([...(names.data ?? []), ...promqlFunctions], c.prefix) };
    if (c.kind === 'label') return { from: c.from, items: rank((await prom.labels(match(c), signal)).filter((l) => l !== '__name__'), c.prefix) };
    if (c.kind === 'value') return { from: c.from, items: rank(await prom.labelValues(c.label, match(c), signal), c.prefix) };
    return null;
  };

  return (
    <div class="page">
      <h1>Metrics</h1>
      <Panel>
        <div class="query-row">
          <QueryEditor
            testId="promql"
            value={text}
            onChange={setText}
            onRun={(q) => setParams({ query: q })}
            complete={complete}
            error={check.error}
            placeholder="sum by (service_name) (rate(traces_span_metrics_calls_total[5m]))"
          />
          <button type="button" class="primary" onClick={() => setParams({ query: text })}>
            Run
          </button>
          <div class="toggle" role="group" aria-label="View">
            <button type="button" class={view !== 'heatmap' ? 'active' : ''} onClick={() => setParams({ view: undefined })}>
              Lines
            </button>
            <button type="button" class={view === 'heatmap' ? 'active' : ''} onClick={() => setParams({ view: 'heatmap' })} title="For histograms: native, or classic buckets by le">
              Heatmap
            </button>
          </div>
        </div>
      </Panel>
      {!query && <Panel empty="Write a PromQL query and press Enter. Names, labels and values complete as you type." />}
      {query && !check.error && view === 'heatmap' && (
        <HeatmapPanel title="Result as a heatmap (dots are exemplars: click to open the trace)" testId="metrics-heatmap" expr={query} range={range} step={stepFor(range, 120)} height={360} exemplars />
      )}
      {query && !check.error && view !== 'heatmap' && (
        <PromChart
          title="Result (dots are exemplars: click to open the trace)"
          testId="metrics-chart"
          queries={[{ expr: query }]}
          exemplars={query}
          range={range}
          step={step}
          height={360}
          onSelect={(from, to) => setParams({ from: String(Math.round(from * 1000)), to: String(Math.round(to * 1000)) })}
        />
      )}
    </div>
  );
}
