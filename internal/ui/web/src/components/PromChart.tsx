// PromChart runs PromQL range queries and draws them, with the exemplars
// of the queried series as points that open their trace.
import { loki, prom } from '../api';
import { align, seriesName } from '../red';
import { navigate, href } from '../router';
import type { Range } from '../time';
import { useAsync } from './async';
import { Chart, lineColor, type Line, type Point } from './Chart';
import { Panel } from './Panel';

/** One query of a chart; legend names its series ("{{service_name}}" templates labels). */
export interface ChartQuery {
  expr: string;
  legend?: string;
  /** Where the query goes: PromQL (the default) or a LogQL metric query. */
  source?: 'prometheus' | 'loki';
}

/** Props of PromChart. */
export interface PromChartProps {
  title: string;
  queries: ChartQuery[];
  range: Range;
  step: number;
  /** Query the exemplars of these selectors and draw them as points. */
  exemplars?: string;
  formatY?: (v: number) => string;
  stacked?: boolean;
  height?: number;
  testId?: string;
  onSelect?: (from: number, to: number) => void;
}

/** legendOf fills a "{{label}}" template from labels, or names the series. */
export function legendOf(template: string | undefined, labels: Record<string, string>): string {
  if (!template) return seriesName(labels);
  return template.replace(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_, k) => labels[k] ?? '');
}

/**
 * exemplarPoints fetches the exemplars of expr's series over range as
 * points keyed by their trace ID (exemplars without one are left out).
 * A failure gives no points: the chart still draws.
 */
export async function exemplarPoints(expr: string, range: Range, signal: AbortSignal): Promise<Point[]> {
  const ex = await prom.exemplars(expr, range.start, range.end, signal).catch(() => []);
  return ex
    .flatMap((s) =>
      s.exemplars.map((e) => ({
        x: e.timestamp,
        y: parseFloat(e.value),
        key: e.labels.trace_id ?? e.labels.traceID ?? '',
        title: `exemplar ${parseFloat(e.value).toPrecision(3)}: trace ${e.labels.trace_id ?? e.labels.traceID ?? '?'}`,
        color: '#e5533d',
        radius: 3.5,
      })),
    )
    .filter((pt) => pt.key);
}

/** openTrace opens the trace an exemplar point is keyed by. */
export function openTrace(pt: Point) {
  navigate(href(`/traces/${pt.key}`));
}

/** PromChart renders a panel with a chart of the queries over range. */
export function PromChart(p: PromChartProps) {
  const { range, step } = p;
  const key = JSON.stringify([p.queries, p.exemplars, range, step]);
  const state = useAsync(
    async (signal) => {
      const results = await Promise.all(
        p.queries.map(async (q) => {
          if (q.source !== 'loki') return prom.queryRange(q.expr, range.start, range.end, step, signal);
          const r = await loki.queryRange(q.expr, range.start, range.end, { step }, signal);
          if (r.resultType !== 'matrix') throw new Error(`not a metric query: ${q.expr}`);
          return r.result;
        }),
      );
      const lines: Line[] = [];
      let xs: number[] = [];
      results.forEach((r, qi) => {
        const a = align(r, range.start, range.end, step);
        xs = a.xs;
        for (const s of a.series) lines.push({ label: legendOf(p.queries[qi].legend, s.labels), values: s.values, color: lineColor(lines.length) });
      });
      if (!xs.length) xs = align([], range.start, range.end, step).xs;
      const points = p.exemplars ? await exemplarPoints(p.exemplars, range, signal) : [];
      return { xs, lines, points };
    },
    [key],
  );
  return (
    <Panel title={p.title} loading={state.loading} error={state.error} testId={p.testId} empty={state.data && state.data.lines.length === 0 && 'No data in this time range.'}>
      {state.data && (
        <Chart
          xs={state.data.xs}
          lines={state.data.lines}
          points={state.data.points}
          xRange={[range.start / 1000, range.end / 1000]}
          formatY={p.formatY}
          stacked={p.stacked}
          height={p.height}
          onSelect={p.onSelect}
          onPointClick={openTrace}
        />
      )}
    </Panel>
  );
}
