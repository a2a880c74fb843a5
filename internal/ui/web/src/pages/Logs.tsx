// The logs page: a LogQL box with completion, the volume by level over
// time, the lines with their structured fields, live tail, and a chart for
// metric queries.
import { useEffect, useRef, useState } from 'preact/hooks';
import { loki, type LokiStream } from '../api';
import { useAsync, type AsyncState } from '../components/async';
import { Chart, type Line } from '../components/Chart';
import { completionContext, logqlKeywords, rank } from '../components/completion';
import { fromStreams, LogList, type LogEntry } from '../components/LogList';
import { Panel } from '../components/Panel';
import { QueryEditor, type Completer } from '../components/QueryEditor';
import { align, seriesName, type Aligned } from '../red';
import { setParams, useLocation, useRange } from '../router';
import { stepFor, type Range } from '../time';

const levelColors: Record<string, string> = {
  error: '#e15759', fatal: '#b2182b', critical: '#b2182b', warn: '#f28e2b', warning: '#f28e2b', info: '#59a14f', debug: '#4e79a7', trace: '#9c9c9c',
};

/** isMetricQuery tells a LogQL metric query from a log query by its first token. */
export function isMetricQuery(q: string): boolean {
  return !q.trim().startsWith('{');
}

/** LogsPage explores logs with LogQL. */
export function LogsPage() {
  const { params } = useLocation();
  const range = useRange();
  const query = params.get('query') ?? '';
  const [text, setText] = useState(query);
  useEffect(() => setText(query), [query]);
  const [tailing, setTailing] = useState(false);
  const limit = parseInt(params.get('limit') ?? '500', 10) || 500;

  const complete: Completer = async (t, cursor, signal) => {
    const c = completionContext(t, cursor);
    if (c.kind === 'label') return { from: c.from, items: rank(await loki.labels(range.start, range.end, signal), c.prefix) };
    if (c.kind === 'value') return { from: c.from, items: rank(await loki.labelValues(c.label, range.start, range.end, signal), c.prefix) };
    if (c.kind === 'name') return { from: c.from, items: rank(logqlKeywords, c.prefix) };
    return null;
  };

  const lines = useAsync(
    query && !isMetricQuery(query)
      ? (s) => loki.queryRange(query, range.start, range.end, { limit, direction: 'backward' }, s)
      : null,
    [query, range, limit],
  );
  const step = stepFor(range, 200);
  const metric = useAsync(
    query && isMetricQuery(query)
      ? async (s) => {
          const res = await loki.queryRange(query, range.start, range.end, { step }, s);
          return res.resultType === 'matrix' ? align(res.result, range.start, range.end, step) : undefined;
        }
      : null,
    [query, range],
  );
  const error = lines.error ?? metric.error;

  return (
    <div class="page">
      <h1>Logs</h1>
      <Panel>
        <div class="query-row">
          <QueryEditor
            testId="logql"
            value={text}
            onChange={setText}
            onRun={(q) => setParams({ query: q })}
            complete={complete}
            error={error}
            placeholder='{service_name="inventory"} |= "error" | correlation_id="demo-42"'
          />
          <button type="button" class="primary" onClick={() => setParams({ query: text })}>
            Run
          </button>
          {query && !isMetricQuery(query) && (
            <button type="button" data-testid="tail" class={tailing ? 'active' : ''} onClick={() => setTailing(!tailing)}>
              {tailing ? 'Stop live tail' : 'Live tail'}
            </button>
          )}
        </div>
      </Panel>
      {!query && <Panel empty="Write a LogQL query, for example {service_name=&quot;inventory&quot;}, and press Enter." />}
      {query && isMetricQuery(query) && (
        <MetricResult state={metric} range={range} />
      )}
      {query && !isMetricQuery(query) && !tailing && (
        <>
          <Volume query={query} range={range} />
          <Panel
            title={lines.data?.resultType === 'streams' ? `${countLines(lines.data.result)} lines${countLines(lines.data.result) >= limit ? ` (the newest ${limit})` : ''}` : 'Lines'}
            loading={lines.loading}
            error={error}
            empty={lines.data?.resultType === 'streams' && lines.data.result.length === 0 && 'No log lines match in this time range.'}
            testId="log-results"
          >
            {lines.data?.resultType === 'streams' && <LogList entries={fromStreams(lines.data.result)} />}
          </Panel>
        </>
      )}
      {query && tailing && <Tail query={query} />}
    </div>
  );
}

function countLines(streams: LokiStream[]): number {
  return streams.reduce((n, s) => n + s.values.length, 0);
}

/** Volume draws the number of matching lines by level over time. */
function Volume({ query, range }: { query: string; range: Range }) {
  const step = stepFor(range, 100);
  const vq = `sum by (level) (count_over_time(${query} [${step}s]))`;
  const v = useAsync(async (s) => {
    const r = await loki.queryRange(vq, range.start, range.end, { step }, s);
    return r.resultType === 'matrix' ? align(r.result, range.start, range.end, step) : undefined;
  }, [vq, range]);
  const lines: Line[] = (v.data?.series ?? [])
    .map((s) => ({ label: s.labels.level || 'unknown', values: s.values, color: levelColors[s.labels.level?.toLowerCase()] ?? '#bab0ac' }))
    .sort((a, b) => a.label.localeCompare(b.label));
  return (
    <Panel title="Volume by level" loading={v.loading} error={v.error} testId="log-volume">
      {v.data && (
        <Chart
          xs={v.data.xs}
          lines={lines}
          bars
          stacked
          height={120}
          xRange={[range.start / 1000, range.end / 1000]}
          onSelect={(from, to) => setParams({ from: String(Math.round(from * 1000)), to: String(Math.round(to * 1000)) })}
        />
      )}
    </Panel>
  );
}

/** MetricResult draws the series of a LogQL metric query. */
function MetricResult({ state, range }: { state: AsyncState<Aligned | undefined>; range: Range }) {
  const d = state.data;
  return (
    <Panel title="Result" loading={state.loading} error={state.error} testId="logql-chart" empty={d?.series.length === 0 && 'No data in this time range.'}>
      {d && (
        <Chart xs={d.xs} lines={d.series.map((x) => ({ label: seriesName(x.labels), values: x.values }))} xRange={[range.start / 1000, range.end / 1000]} />
      )}
    </Panel>
  );
}

/** Tail shows new lines as they arrive over the Loki tail WebSocket. */
function Tail({ query }: { query: string }) {
  const [entries, setEntries] = useState<LogEntry[]>([]);
  const [error, setError] = useState<Error>();
  const [connected, setConnected] = useState(false);
  const buf = useRef<LogEntry[]>([]);
  useEffect(() => {
    setEntries([]);
    setError(undefined);
    const ws = new WebSocket(loki.tailURL(query, Date.now() - 10_000));
    ws.onopen = () => setConnected(true);
    ws.onmessage = (m) => {
      const msg = JSON.parse(m.data as string) as { streams?: LokiStream[] };
      buf.current = [...fromStreams(msg.streams ?? []), ...buf.current].slice(0, 1000);
    };
    ws.onerror = () => setError(new Error('The live tail connection failed.'));
    ws.onclose = (e) => {
      setConnected(false);
      if (e.code !== 1000 && e.reason) setError(new Error(e.reason));
    };
    // Re-render at most a few times a second, however fast lines come.
    const timer = setInterval(() => setEntries(buf.current), 250);
    return () => {
      clearInterval(timer);
      ws.close();
      buf.current = [];
    };
  }, [query]);
  return (
    <Panel title={`Live tail: ${entries.length} lines${connected ? '' : ' (disconnected)'}`} error={error} testId="log-tail" empty={entries.length === 0 && 'Waiting for new lines…'}>
      <LogList entries={entries} />
    </Panel>
  );
}
