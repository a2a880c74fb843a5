// Time ranges as Grafana writes them in URLs: "now-1h", "now", or
// milliseconds since the epoch.

/** A resolved time range in milliseconds since the epoch. */
export interface Range {
  start: number;
  end: number;
}

const units: Record<string, number> = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 };

/** parseDuration reads "90s", "1h30m", "250ms" into milliseconds, or NaN. */
export function parseDuration(s: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(s.trim())) !== null) {
    total += parseFloat(m[1]) * units[m[2]];
    end = re.lastIndex;
  }
  return end > 0 && end === s.trim().length ? total : NaN;
}

/** parseTime resolves "now", "now-15m", an epoch in ms or an ISO date. */
export function parseTime(s: string, now = Date.now()): number {
  const t = s.trim();
  if (t === 'now') return now;
  if (t.startsWith('now-')) {
    const d = parseDuration(t.slice(4));
    if (!isNaN(d)) return now - d;
  }
  if (/^\d+$/.test(t)) return parseInt(t, 10);
  const d = Date.parse(t);
  return isNaN(d) ? NaN : d;
}

/** resolveRange reads the from/to URL parameters, defaulting to the last hour. */
export function resolveRange(params: URLSearchParams, now = Date.now()): Range {
  let start = parseTime(params.get('from') ?? 'now-1h', now);
  let end = parseTime(params.get('to') ?? 'now', now);
  if (isNaN(start)) start = now - 3600e3;
  if (isNaN(end)) end = now;
  if (start >= end) start = end - 60e3;
  return { start, end };
}

const niceSteps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

/** stepFor picks a query step in seconds that gives about points points. */
export function stepFor(r: Range, points = 200): number {
  const raw = (r.end - r.start) / 1000 / points;
  return niceSteps.find((s) => s >= raw) ?? Math.ceil(raw / 86400) * 86400;
}

/**
 * alignStart rounds a start time in ms down to a multiple of step seconds,
 * so range queries evaluate at the same instants whatever the start, and
 * series of different queries share x values.
 */
export function alignStart(startMs: number, step: number): number {
  return Math.floor(startMs / 1000 / step) * step * 1000;
}

/** formatDuration writes microseconds the way Jaeger does: 1.2s, 35ms, 800μs. */
export function formatDuration(us: number): string {
  if (us >= 60e6) return `${(us / 60e6).toFixed(1)}m`;
  if (us >= 1e6) return `${+(us / 1e6).toFixed(2)}s`;
  if (us >= 1e3) return `${+(us / 1e3).toFixed(2)}ms`;
  return `${Math.round(us)}μs`;
}

/** formatTime writes an epoch in ms as local date and time with milliseconds. */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Ranges the time picker offers. */
export const quickRanges = [
  ['now-5m', 'Last 5 minutes'],
  ['now-15m', 'Last 15 minutes'],
  ['now-1h', 'Last 1 hour'],
  ['now-6h', 'Last 6 hours'],
  ['now-24h', 'Last 24 hours'],
  ['now-7d', 'Last 7 days'],
] as const;
