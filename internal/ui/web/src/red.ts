// PromQL for RED numbers (rate, errors, duration) over the span metrics
// Argus derives from traces, under the names of the OpenTelemetry
// Collector's spanmetrics connector, and over Tempo-named service graph
// metrics.
import { prom, type PromMatrixSeries, type PromVectorSample } from './api';
import { alignStart } from './time';

/** Spans that stand for requests a service served. */
export const entryKinds = 'span_kind=~"SPAN_KIND_SERVER|SPAN_KIND_CONSUMER"';

/** esc quotes a label value for a PromQL or LogQL matcher. */
export function esc(v: string): string {
  return JSON.stringify(v);
}

/** matchers joins label matchers, leaving out empty ones. */
function sel(...m: (string | undefined)[]): string {
  return `{${m.filter(Boolean).join(', ')}}`;
}

/** REDQueries are the PromQL of the RED numbers grouped by `by`, over window. */
export function redQueries(by: string, window: string, filter?: string) {
  const calls = `traces_span_metrics_calls_total${sel(entryKinds, filter)}`;
  const errors = `traces_span_metrics_calls_total${sel(entryKinds, 'status_code="STATUS_CODE_ERROR"', filter)}`;
  const dur = `traces_span_metrics_duration_seconds${sel(entryKinds, filter)}`;
  const q = (phi: number) => `histogram_quantile(${phi}, sum by (${by}) (rate(${dur}[${window}])))`;
  return {
    rate: `sum by (${by}) (rate(${calls}[${window}]))`,
    errors: `sum by (${by}) (rate(${errors}[${window}]))`,
    p50: q(0.5),
    p95: q(0.95),
    p99: q(0.99),
  };
}

/** byLabel maps each sample's value of label to its number. */
export function byLabel(samples: PromVectorSample[], label: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) if (s.value) out.set(s.metric[label] ?? '', parseFloat(s.value[1]));
  return out;
}

/** RED numbers of one row (a service or an operation). Latencies in seconds. */
export interface REDRow {
  key: string;
  rate: number;
  errorRate: number;
  p50?: number;
  p95?: number;
  p99?: number;
}

/** loadRED runs the RED queries at time end over window and joins them by `by`. */
export async function loadRED(by: string, window: string, end: number, filter: string | undefined, signal: AbortSignal): Promise<REDRow[]> {
  const q = redQueries(by, window, filter);
  const [rate, errors, p50, p95, p99] = await Promise.all(
    [q.rate, q.errors, q.p50, q.p95, q.p99].map((x) => prom.query(x, end, signal).then((r) => byLabel(r, by))),
  );
  return [...rate.keys()].sort().map((key) => ({
    key,
    rate: rate.get(key) ?? 0,
    errorRate: (errors.get(key) ?? 0) / (rate.get(key) || 1),
    p50: p50.get(key),
    p95: p95.get(key),
    p99: p99.get(key),
  }));
}

/** windowFor writes a range's length as a PromQL duration, at least one minute. */
export function windowFor(start: number, end: number): string {
  return `${Math.max(60, Math.round((end - start) / 1000))}s`;
}

/** Aligned series for a chart: shared x values (seconds) and one value list per series. */
export interface Aligned {
  xs: number[];
  series: { labels: Record<string, string>; values: (number | null)[] }[];
}

/** align puts range-query series on one x axis from start to end by step (seconds). */
export function align(result: PromMatrixSeries[], start: number, end: number, step: number): Aligned {
  const first = alignStart(start, step) / 1000;
  const xs: number[] = [];
  for (let t = first; t <= end / 1000; t += step) xs.push(t);
  const index = new Map(xs.map((t, i) => [Math.round(t * 1000), i]));
  const series = result.map((s) => {
    const values: (number | null)[] = new Array(xs.length).fill(null);
    for (const [t, v] of s.values ?? []) {
      const i = index.get(Math.round(t * 1000));
      if (i !== undefined) values[i] = parseFloat(v);
    }
    for (const [t, h] of s.histograms ?? []) {
      const i = index.get(Math.round(t * 1000));
      if (i !== undefined) values[i] = parseFloat(h.count);
    }
    return { labels: s.metric, values };
  });
  return { xs, series };
}

/** seriesName writes labels as Prometheus does: name{a="b", ...}. */
export function seriesName(labels: Record<string, string>): string {
  const { __name__: name = '', ...rest } = labels;
  const inner = Object.entries(rest)
    .map(([k, v]) => `${k}=${esc(v)}`)
    .join(', ');
  return inner || !name ? `${name}{${inner}}` : name;
}

/** formatSeconds writes a latency in seconds as ms or s. */
export function formatSeconds(s: number | undefined): string {
  if (s === undefined || isNaN(s)) return '–';
  if (s >= 1) return `${+s.toFixed(2)}s`;
  if (s >= 0.001) return `${+(s * 1000).toFixed(1)}ms`;
  return `${+(s * 1e6).toFixed(0)}μs`;
}

/** formatRate writes requests per second. */
export function formatRate(r: number): string {
  return r >= 100 ? `${r.toFixed(0)}/s` : `${+r.toFixed(2)}/s`;
}

/** formatPercent writes a ratio as a percentage. */
export function formatPercent(r: number): string {
  return `${+(r * 100).toFixed(r < 0.01 ? 2 : 1)}%`;
}
