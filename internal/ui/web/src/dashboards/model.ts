// Dashboards as Argus's API serves them (GET /api/argus/v1/dashboards/...),
// and template variables: their values in the URL (var-<name>, as Grafana
// writes them) and their substitution into queries.
/** A panel query. */
export interface Target {
  expr: string;
  legend?: string;
  source: 'prometheus' | 'loki';
  instant?: boolean;
}

/** A panel on the 24-column grid. */
export interface DashboardPanel {
  title: string;
  type: 'timeseries' | 'stat' | 'table' | 'heatmap' | 'logs';
  description?: string;
  unit?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets: Target[];
}

/** A template variable. */
export interface Variable {
  name: string;
  label?: string;
  type: 'query' | 'custom' | 'interval' | 'constant' | 'textbox';
  source?: 'prometheus' | 'loki';
  query?: string;
  labelName?: string;
  match?: string;
  options?: string[];
  default?: string;
  multi?: boolean;
  includeAll?: boolean;
}

/** A dashboard. */
export interface Dashboard {
  id: string;
  title: string;
  description?: string;
  source: 'builtin' | 'file' | 'import';
  path?: string;
  tags?: string[];
  time: { from: string; to: string };
  refresh?: string;
  variables: Variable[];
  panels: DashboardPanel[];
  warnings?: string[];
}

/** A dashboard in the list. */
export type DashboardSummary = Pick<Dashboard, 'id' | 'title' | 'source' | 'path' | 'tags'>;

/** The "All" value of a variable that includes it. */
export const allValue = '$__all';

/** Values of variables, by name; a multi-value variable has several. */
export type VariableValues = Record<string, string[]>;

/** valuesFromURL reads var-<name> parameters. */
export function valuesFromURL(params: URLSearchParams): VariableValues {
  const out: VariableValues = {};
  for (const [k, v] of params) {
    if (k.startsWith('var-')) (out[k.slice(4)] ??= []).push(v);
  }
  return out;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * interpolate puts variable values into a query the way Grafana does for
 * Prometheus and Loki: a single value as is, several (or All) as a regex
 * alternation, and the built-ins $__interval, $__auto, $__rate_interval and
 * $__range.
 */
export function interpolate(expr: string, values: VariableValues, vars: Variable[], builtins: { step: number; rangeSeconds: number }): string {
  const rateInterval = Math.max(builtins.step * 4, 60);
  const builtin: Record<string, string> = {
    __interval: `${builtins.step}s`,
    __auto: `${builtins.step}s`,
    __rate_interval: `${rateInterval}s`,
    __range: `${Math.round(builtins.rangeSeconds)}s`,
    __range_s: `${Math.round(builtins.rangeSeconds)}`,
  };
  const value = (name: string, format?: string): string | undefined => {
    if (name in builtin) return builtin[name];
    const v = vars.find((x) => x.name === name);
    if (!v) return undefined;
    let vals = values[name] ?? (v.default !== undefined ? [v.default] : v.options?.length ? [v.options[0]] : []);
    if (vals.includes(allValue)) return '.*';
    if (format === 'raw' || (vals.length === 1 && format !== 'regex')) return vals[0] ?? '';
    vals = vals.map(escapeRegex);
    return vals.length === 1 ? vals[0] : `(${vals.join('|')})`;
  };
  return expr.replace(/\$\{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-z]+))?\}|\[\[([a-zA-Z_][a-zA-Z0-9_]*)\]\]|\$([a-zA-Z_][a-zA-Z0-9_]*)/g, (m, a, fmt, b, c) => {
    const v = value(a ?? b ?? c, fmt);
    return v === undefined ? m : v;
  });
}
