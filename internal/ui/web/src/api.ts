// Clients for the APIs Argus serves: Prometheus, Jaeger, Loki and Argus's
// own. Every call takes an AbortSignal so a panel can cancel when its query
// changes, and fails with an APIError that says what went wrong and, for a
// query the server could not parse, where.
import type { Dashboard, DashboardSummary } from './dashboards/model';
import { alignStart } from './time';

/** A failed API call. position is the 0-based offset in the query the server named. */
export class APIError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly position?: number,
  ) {
    super(message);
    this.name = 'APIError';
  }
}

const timeoutMs = 30_000;

/** positionOf finds the place a parse error names, as an offset into query. */
export function positionOf(message: string, query: string): number | undefined {
  // Prometheus: "1:12: parse error: ..."; LogQL: "parse error at line 1, col 12: ...".
  const m = /(?:^|: )(\d+):(\d+): parse error/.exec(message) ?? /parse error at line (\d+), col (\d+)/.exec(message);
  if (!m) return undefined;
  const line = parseInt(m[1], 10);
  const col = parseInt(m[2], 10);
  let offset = 0;
  const lines = query.split('\n');
  for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
  return Math.min(offset + col - 1, query.length);
}

async function request(url: string, signal?: AbortSignal, init: RequestInit = {}, query?: string): Promise<Response> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: combined });
  } catch (e) {
    if (timeout.aborted) throw new APIError(`${new URL(url, location.href).pathname} timed out after ${timeoutMs / 1000}s`, 0);
    throw e;
  }
  if (!res.ok) {
    const text = await res.text();
    let msg = text.trim();
    try {
      const j = JSON.parse(text);
      msg = j.error ?? j.message ?? j.errors?.[0]?.msg ?? msg;
    } catch {
      /* plain text error */
    }
    if (!msg) msg = `${res.status} ${res.statusText}`;
    throw new APIError(msg, res.status, query !== undefined ? positionOf(msg, query) : undefined);
  }
  return res;
}

async function getJSON<T>(url: string, signal?: AbortSignal, query?: string, headers?: Record<string, string>): Promise<T> {
  const res = await request(url, signal, { headers }, query);
  return (await res.json()) as T;
}

function qs(params: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') p.set(k, String(v));
  return p.toString();
}

// ---- Prometheus ----

/** One series of a range query: labels and [seconds, "value"] pairs. */
export interface PromMatrixSeries {
  metric: Record<string, string>;
  values?: [number, string][];
  histograms?: [number, PromHistogram][];
}

/** A native histogram sample as the Prometheus API writes it. */
export interface PromHistogram {
  count: string;
  sum: string;
  buckets?: [number, string, string, string][];
}

/** One series of an instant query. */
export interface PromVectorSample {
  metric: Record<string, string>;
  value?: [number, string];
  histogram?: [number, PromHistogram];
}

/** Exemplars of one series. */
export interface PromExemplars {
  seriesLabels: Record<string, string>;
  exemplars: { labels: Record<string, string>; value: string; timestamp: number }[];
}

interface PromResponse<T> {
  status: string;
  data: T;
}

export const prom = {
  async queryRange(query: string, start: number, end: number, step: number, signal?: AbortSignal): Promise<PromMatrixSeries[]> {
    const url = `/api/v1/query_range?${qs({ query, start: alignStart(start, step) / 1000, end: end / 1000, step })}`;
    const r = await getJSON<PromResponse<{ resultType: string; result: PromMatrixSeries[] }>>(url, signal, query);
    return r.data.result;
  },
  async query(query: string, time: number, signal?: AbortSignal): Promise<PromVectorSample[]> {
    const url = `/api/v1/query?${qs({ query, time: time / 1000 })}`;
    const r = await getJSON<PromResponse<{ resultType: string; result: PromVectorSample[] | [number, string] }>>(url, signal, query);
    if (r.data.resultType === 'scalar') return [{ metric: {}, value: r.data.result as [number, string] }];
    return r.data.result as PromVectorSample[];
  },
  async labelValues(name: string, match?: string, signal?: AbortSignal): Promise<string[]> {
    const url = `/api/v1/label/${encodeURIComponent(name)}/values?${qs({ 'match[]': match })}`;
    return (await getJSON<PromResponse<string[]>>(url, signal)).data;
  },
  async labels(match?: string, signal?: AbortSignal): Promise<string[]> {
    return (await getJSON<PromResponse<string[]>>(`/api/v1/labels?${qs({ 'match[]': match })}`, signal)).data;
  },
  async exemplars(query: string, start: number, end: number, signal?: AbortSignal): Promise<PromExemplars[]> {
    const url = `/api/v1/query_exemplars?${qs({ query, start: start / 1000, end: end / 1000 })}`;
    return (await getJSON<PromResponse<PromExemplars[]>>(url, signal, query)).data ?? [];
  },
  async metadata(signal?: AbortSignal): Promise<Record<string, { type: string; help: string }[]>> {
    return (await getJSON<PromResponse<Record<string, { type: string; help: string }[]>>>('/api/v1/metadata', signal)).data;
  },
};

// ---- Jaeger ----

/** A span as the Jaeger JSON API writes it. Times are in microseconds. */
export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references?: { refType: string; traceID: string; spanID: string }[];
  startTime: number;
  duration: number;
  tags?: JaegerKV[];
  logs?: { timestamp: number; fields: JaegerKV[] }[];
  processID: string;
  warnings?: string[] | null;
}

/** A key-value pair of a Jaeger span. */
export interface JaegerKV {
  key: string;
  type: string;
  value: string | number | boolean;
}

/** A trace as the Jaeger JSON API writes it. */
export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags?: JaegerKV[] }>;
}

/** Trace search parameters, in the Jaeger API's names. */
export interface TraceQuery {
  service: string;
  operation?: string;
  tags?: string;
  minDuration?: string;
  maxDuration?: string;
  limit?: number;
  start: number;
  end: number;
}

/** An edge of the Jaeger dependencies API. */
export interface Dependency {
  parent: string;
  child: string;
  callCount: number;
}

export const jaeger = {
  async services(signal?: AbortSignal): Promise<string[]> {
    return ((await getJSON<{ data: string[] | null }>('/jaeger/api/services', signal)).data ?? []).sort();
  },
  async operations(service: string, signal?: AbortSignal): Promise<string[]> {
    const r = await getJSON<{ data: string[] | null }>(`/jaeger/api/services/${encodeURIComponent(service)}/operations`, signal);
    return (r.data ?? []).sort();
  },
  async search(q: TraceQuery, signal?: AbortSignal): Promise<JaegerTrace[]> {
    const url = `/jaeger/api/traces?${qs({ ...q, start: q.start * 1000, end: q.end * 1000 })}`;
    return (await getJSON<{ data: JaegerTrace[] | null }>(url, signal)).data ?? [];
  },
  async trace(id: string, signal?: AbortSignal): Promise<JaegerTrace> {
    const r = await getJSON<{ data: JaegerTrace[] | null }>(`/jaeger/api/traces/${encodeURIComponent(id)}`, signal);
    if (!r.data?.length) throw new APIError(`trace ${id} not found`, 404);
    return r.data[0];
  },
  async dependencies(end: number, lookback: number, signal?: AbortSignal): Promise<Dependency[]> {
    const r = await getJSON<{ data: Dependency[] | null }>(`/jaeger/api/dependencies?${qs({ endTs: end, lookback })}`, signal);
    return r.data ?? [];
  },
};

// ---- Loki ----

/** A log stream of a Loki query, with categorized labels per line. */
export interface LokiStream {
  stream: Record<string, string>;
  values: [string, string, { structuredMetadata?: Record<string, string>; parsed?: Record<string, string> }?][];
}

/** A Loki query's result: log streams, or series for a metric query. */
export type LokiResult = { resultType: 'streams'; result: LokiStream[] } | { resultType: 'matrix'; result: PromMatrixSeries[] };

export const loki = {
  async queryRange(query: string, start: number, end: number, opts: { limit?: number; step?: number; direction?: string } = {}, signal?: AbortSignal): Promise<LokiResult> {
    // A metric query's start is aligned to its step, as for PromQL; a log query's is not.
    const from = opts.step ? alignStart(start, opts.step) : start;
    const url = `/loki/api/v1/query_range?${qs({ query, start: from * 1e6, end: end * 1e6, ...opts })}`;
    const r = await getJSON<{ data: LokiResult }>(url, signal, query, { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' });
    return r.data;
  },
  async labels(start: number, end: number, signal?: AbortSignal): Promise<string[]> {
    const r = await getJSON<{ data: string[] | null }>(`/loki/api/v1/labels?${qs({ start: start * 1e6, end: end * 1e6 })}`, signal);
    return r.data ?? [];
  },
  async labelValues(name: string, start: number, end: number, signal?: AbortSignal): Promise<string[]> {
    const url = `/loki/api/v1/label/${encodeURIComponent(name)}/values?${qs({ start: start * 1e6, end: end * 1e6 })}`;
    return (await getJSON<{ data: string[] | null }>(url, signal)).data ?? [];
  },
  /** tailURL is the WebSocket address of a live tail of query. */
  tailURL(query: string, start: number): string {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${proto}//${location.host}/loki/api/v1/tail?${qs({ query, start: start * 1e6, limit: 100 })}`;
  },
};

// ---- Argus ----

/** A log line of the correlate API. */
export interface CorrelatedLog {
  time: string;
  timeUnixNano: string;
  service: string;
  level: string;
  body: string;
  traceId?: string;
  spanId?: string;
  correlationId?: string;
  attributes?: Record<string, string>;
}

/** What the correlate API knows of one trace or correlation ID. */
export interface Correlation {
  id: string;
  services: string[];
  traceIds: string[];
  logs: CorrelatedLog[];
  spans: { traceId: string; spanId: string; service: string; name: string; start: string; durationNanos: string; status: string }[];
}

export const argus = {
  async correlate(id: string, signal?: AbortSignal): Promise<Correlation> {
    return getJSON<Correlation>(`/api/argus/v1/correlate/${encodeURIComponent(id)}`, signal);
  },
};

// ---- Alerting ----

/** An alert as Prometheus's /api/v1/alerts writes it. */
export interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing' | 'inactive';
  activeAt: string;
  value: string;
  keepFiringSince?: string;
}

/** A rule of Prometheus's /api/v1/rules. */
export interface PromRule {
  name: string;
  query: string;
  type: 'alerting' | 'recording';
  health: string;
  lastError?: string;
  state?: string;
  duration?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  alerts?: PromAlert[];
  lastEvaluation: string;
  evaluationTime: number;
}

/** A rule group of Prometheus's /api/v1/rules. */
export interface PromRuleGroup {
  name: string;
  file: string;
  interval: number;
  rules: PromRule[];
  lastEvaluation: string;
  evaluationTime: number;
}

/** One transition or acknowledgement in the alert history. */
export interface AlertEvent {
  time: string;
  event: 'pending' | 'firing' | 'resolved' | 'inactive' | 'acknowledged';
  alertname: string;
  fingerprint: string;
  group?: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  value: number | null;
  activeAt?: string;
  by?: string;
  comment?: string;
}

/** One run of an automated response, from the audit log. */
export interface ActionRun {
  time: string;
  action: string;
  alertname: string;
  fingerprint: string;
  labels: Record<string, string>;
  kind: string;
  inputs: Record<string, unknown>;
  result: 'success' | 'failure' | 'timeout' | 'dry_run' | 'skipped';
  status: number;
  output?: string;
  error?: string;
  attempts: number;
  durationMs: number;
}

/** A silence of the Alertmanager API v2. */
export interface Silence {
  id: string;
  status: { state: 'active' | 'pending' | 'expired' };
  matchers: { name: string; value: string; isRegex: boolean; isEqual?: boolean }[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

async function send<T>(url: string, method: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const res = await request(url, signal, { method, headers: { 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const alerting = {
  async alerts(signal?: AbortSignal): Promise<PromAlert[]> {
    return (await getJSON<PromResponse<{ alerts: PromAlert[] }>>('/api/v1/alerts', signal)).data.alerts ?? [];
  },
  async rules(signal?: AbortSignal): Promise<PromRuleGroup[]> {
    return (await getJSON<PromResponse<{ groups: PromRuleGroup[] }>>('/api/v1/rules', signal)).data.groups ?? [];
  },
  async history(params: { start: number; end: number; alertname?: string; event?: string; limit?: number }, signal?: AbortSignal): Promise<AlertEvent[]> {
    const url = `/api/argus/v1/alerts/history?${qs({ ...params, start: params.start / 1000, end: params.end / 1000 })}`;
    return (await getJSON<{ events: AlertEvent[] }>(url, signal)).events;
  },
  async ack(fingerprint: string, by: string, comment: string): Promise<AlertEvent> {
    return send<AlertEvent>(`/api/argus/v1/alerts/${encodeURIComponent(fingerprint)}/ack`, 'POST', { by, comment });
  },
  async runs(params: { start: number; end: number; limit?: number }, signal?: AbortSignal): Promise<ActionRun[]> {
    const url = `/api/argus/v1/actions/runs?${qs({ ...params, start: params.start / 1000, end: params.end / 1000 })}`;
    return (await getJSON<{ runs: ActionRun[] }>(url, signal)).runs;
  },
  async silences(signal?: AbortSignal): Promise<Silence[]> {
    return getJSON<Silence[]>('/alertmanager/api/v2/silences', signal);
  },
  async createSilence(s: { matchers: Silence['matchers']; startsAt: string; endsAt: string; createdBy: string; comment: string }): Promise<{ silenceID: string }> {
    return send('/alertmanager/api/v2/silences', 'POST', s);
  },
  async expireSilence(id: string): Promise<void> {
    await send(`/alertmanager/api/v2/silence/${encodeURIComponent(id)}`, 'DELETE', undefined);
  },
};

// ---- Dashboards ----

export const dashboards = {
  async list(signal?: AbortSignal): Promise<DashboardSummary[]> {
    return (await getJSON<{ dashboards: DashboardSummary[] }>('/api/argus/v1/dashboards', signal)).dashboards ?? [];
  },
  async get(id: string, signal?: AbortSignal): Promise<Dashboard> {
    return getJSON<Dashboard>(`/api/argus/v1/dashboards/${id.split('/').map(encodeURIComponent).join('/')}`, signal);
  },
  /** importGrafana converts a Grafana dashboard's JSON; warnings say what could not be carried over. */
  async importGrafana(json: string): Promise<{ dashboard: Dashboard; warnings: string[] }> {
    const res = await request('/api/argus/v1/dashboards/import', undefined, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: json });
    return res.json();
  },
};
