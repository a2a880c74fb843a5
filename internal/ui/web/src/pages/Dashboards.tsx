// Dashboards: the list (built-in, per service, from files), one dashboard
// with its template variables and panels, and the import of a Grafana
// dashboard's JSON.
import { useMemo, useState } from 'preact/hooks';
import { dashboards, loki, prom } from '../api';
import { useAsync } from '../components/async';
import { fmtNum } from '../components/Chart';
import { HeatmapPanel } from '../components/HeatmapPanel';
import { Link } from '../components/Link';
import { fromStreams, LogList } from '../components/LogList';
import { Panel } from '../components/Panel';
import { legendOf, PromChart } from '../components/PromChart';
import { allValue, interpolate, valuesFromURL, type Dashboard, type DashboardPanel, type Variable, type VariableValues } from '../dashboards/model';
import { current, navigate, setParams, useLocation, useRange } from '../router';
import { resolveRange, stepFor, type Range } from '../time';
import { formatUnit } from '../units';

/** DashboardsPage lists dashboards and imports Grafana ones. */
export function DashboardsPage() {
  const list = useAsync((s) => dashboards.list(s), []);
  const groups: [string, string][] = [
    ['builtin', 'Built in'],
    ['file', 'From files (dashboard_files in the config)'],
  ];
  return (
    <div class="page">
      <h1>
        Dashboards
        <span class="page-links">
          <Link to="/dashboards/import">Import a Grafana dashboard</Link>
        </span>
      </h1>
      {groups.map(([source, title]) => {
        const ds = (list.data ?? []).filter((d) => d.source === source);
        return (
          <Panel
            key={source}
            title={title}
            loading={list.loading}
            error={list.error}
            empty={ds.length === 0 && (source === 'file' ? 'No dashboard files: list YAML, JSON or Grafana JSON files under dashboard_files in the config.' : 'None.')}
            testId={`dashboards-${source}`}
          >
            <ul class="plain">
              {ds.map((d) => (
                <li key={d.id}>
                  <Link to={`/dashboards/${d.id}`} testId="dashboard-link">
                    {d.title}
                  </Link>{' '}
                  {d.path && <span class="muted mono">{d.path}</span>} {d.tags?.map((t) => <span key={t} class="label-chip">{t}</span>)}
                </li>
              ))}
            </ul>
          </Panel>
        );
      })}
    </div>
  );
}

/** DashboardPage shows one dashboard by id. */
export function DashboardPage({ id }: { id: string }) {
  const d = useAsync((s) => dashboards.get(id, s), [id]);
  if (!d.data) return <Panel title={`Dashboard ${id}`} loading={d.loading} error={d.error} />;
  return <DashboardView dashboard={d.data} />;
}

/** ImportPage converts a pasted or chosen Grafana dashboard JSON and shows the result. */
export function ImportPage() {
  const [text, setText] = useState('');
  const [result, setResult] = useState<{ dashboard: Dashboard; warnings: string[] }>();
  const [error, setError] = useState<Error>();
  const convert = async (json: string) => {
    setError(undefined);
    setResult(undefined);
    try {
      setResult(await dashboards.importGrafana(json));
    } catch (e) {
      setError(e as Error);
    }
  };
  const download = () => {
    const blob = new Blob([JSON.stringify(result!.dashboard, null, 2) + '\n'], { type: 'application/json' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${result!.dashboard.id.replace(/[^a-zA-Z0-9_-]+/g, '-') || 'dashboard'}.json`;
    a.click();
    URL.revokeObjectURL(a.href);
  };
  return (
    <div class="page">
      <h1>Import a Grafana dashboard</h1>
      <Panel error={error} testId="import">
        <p class="muted">
          Paste a dashboard's JSON (Grafana: Share, Export) or choose its file. Time series, stat, gauge, table, heatmap and logs panels over Prometheus and
          Loki queries are converted, with their template variables; anything else is listed below. To keep it, save the converted dashboard and list it under{' '}
          <span class="mono">dashboard_files</span> in the config (Grafana's JSON can be listed there as it is, too).
        </p>
        <textarea class="json-input mono" rows={10} value={text} onInput={(e) => setText(e.currentTarget.value)} placeholder='{"title": "...", "panels": [...]}' aria-label="Grafana dashboard JSON" />
        <div class="inline-form">
          <button class="primary" onClick={() => convert(text)} disabled={!text.trim()}>
            Convert
          </button>
          <input
            type="file"
            accept=".json,application/json"
            aria-label="Grafana dashboard file"
            onChange={async (e) => {
              const f = e.currentTarget.files?.[0];
              if (f) {
                const t = await f.text();
                setText(t);
                convert(t);
              }
            }}
          />
          {result && <button onClick={download}>Save converted dashboard</button>}
        </div>
      </Panel>
      {result && (
        <>
          <Panel title={result.warnings.length ? `Not converted (${result.warnings.length})` : 'Everything was converted'} testId="import-warnings">
            <ul class="plain">
              {result.warnings.map((w, i) => (
                <li key={i}>{w}</li>
              ))}
            </ul>
          </Panel>
          <DashboardView dashboard={result.dashboard} />
        </>
      )}
    </div>
  );
}

function DashboardView({ dashboard: d }: { dashboard: Dashboard }) {
  const { params } = useLocation();
  // A dashboard's own default range applies until the user picks one.
  const range = useRange();
  const defaults = useMemo(() => resolveRange(new URLSearchParams({ from: d.time?.from || 'now-1h', to: d.time?.to || 'now' })), [d, params.get('r')]);
  const effective = params.has('from') ? range : defaults;
  const values = valuesFromURL(params);
  const step = stepFor(effective, 120);
  const builtins = { step, rangeSeconds: (effective.end - effective.start) / 1000 };
  const rows = Math.max(0, ...d.panels.map((p) => p.gridPos.y + p.gridPos.h));
  return (
    <div class="page" data-testid="dashboard">
      <h1>
        {d.title}
        {d.source === 'file' && d.path && <span class="muted mono">{d.path}</span>}
      </h1>
      {d.description && <p class="muted">{d.description}</p>}
      {d.warnings && d.warnings.length > 0 && d.source !== 'import' && (
        <Panel title={`Left out when converted from Grafana (${d.warnings.length})`}>
          <ul class="plain">
            {d.warnings.map((w, i) => (
              <li key={i}>{w}</li>
            ))}
          </ul>
        </Panel>
      )}
      {d.variables.length > 0 && <Variables vars={d.variables} values={values} range={effective} expr={(t) => interpolate(t, values, d.variables, builtins)} />}
      <div class="dash-grid" style={{ gridTemplateRows: `repeat(${rows}, 30px)` }}>
        {d.panels.map((p, i) => (
          <div
            key={i}
            class="dash-cell"
            style={{ gridColumn: `${p.gridPos.x + 1} / span ${p.gridPos.w}`, gridRow: `${p.gridPos.y + 1} / span ${p.gridPos.h}` }}
            data-testid="dashboard-panel"
            data-panel-type={p.type}
          >
            <PanelView panel={p} range={effective} step={step} expr={(t) => interpolate(t, values, d.variables, builtins)} />
          </div>
        ))}
      </div>
    </div>
  );
}

function Variables({ vars, values, range, expr }: { vars: Variable[]; values: VariableValues; range: Range; expr: (e: string) => string }) {
  return (
    <div class="variables" data-testid="variables">
      {vars.map((v) => (
        <VariableInput key={v.name} v={v} values={values[v.name]} range={range} expr={expr} />
      ))}
    </div>
  );
}

/** VariableInput picks a variable's values; a query variable's options may depend on other variables ($job in its match). */
function VariableInput({ v, values, range, expr }: { v: Variable; values?: string[]; range: Range; expr: (e: string) => string }) {
  const match = v.match ? expr(v.match) : undefined;
  const opts = useAsync(
    async (s) => {
      if (v.type !== 'query') return v.options ?? [];
      if (!v.labelName) return v.options ?? [];
      if (v.source === 'loki') return loki.labelValues(v.labelName, range.start, range.end, s);
      return prom.labelValues(v.labelName, match, s);
    },
    [v.name, v.labelName, match, range],
  );
  const set = (vals: string[]) => {
    const p = new URLSearchParams(current().params);
    p.delete(`var-${v.name}`);
    for (const x of vals) p.append(`var-${v.name}`, x);
    navigate(`${current().path}?${p}`, true);
  };
  const options = [...(v.includeAll ? [allValue] : []), ...(opts.data ?? [])];
  const selected = values ?? (v.default !== undefined ? [v.default] : options.length ? [options[0]] : []);
  const label = (o: string) => (o === allValue ? 'All' : o);
  if (v.type === 'textbox' || v.type === 'constant') {
    return (
      <label class="variable">
        {v.label ?? v.name}
        <input value={selected[0] ?? ''} readOnly={v.type === 'constant'} onChange={(e) => set([e.currentTarget.value])} />
      </label>
    );
  }
  return (
    <label class="variable" title={opts.error?.message}>
      {v.label ?? v.name}
      <select
        multiple={v.multi}
        aria-label={v.label ?? v.name}
        onChange={(e) => set([...e.currentTarget.selectedOptions].map((o) => o.value))}
        class={opts.error ? 'bad' : ''}
      >
        {options.map((o) => (
          <option key={o} value={o} selected={selected.includes(o)}>
            {label(o)}
          </option>
        ))}
      </select>
    </label>
  );
}

function PanelView({ panel: p, range, step, expr }: { panel: DashboardPanel; range: Range; step: number; expr: (e: string) => string }) {
  const targets = p.targets.map((t) => ({ ...t, expr: expr(t.expr) }));
  const height = Math.max(80, p.gridPos.h * 30 - 90);
  switch (p.type) {
    case 'timeseries':
      return (
        <PromChart
          title={p.title}
          range={range}
          step={step}
          height={height}
          queries={targets.map((t) => ({ expr: t.expr, legend: t.legend, source: t.source }))}
          formatY={(v) => formatUnit(v, p.unit)}
          onSelect={(from, to) => setParams({ from: String(Math.round(from * 1000)), to: String(Math.round(to * 1000)) })}
        />
      );
    case 'heatmap':
      return <HeatmapPanel title={p.title} expr={targets[0]?.expr ?? ''} range={range} step={step} height={height} formatBound={(v) => formatUnit(v, p.unit)} />;
    case 'logs':
      return <LogsPanel title={p.title} expr={targets[0]?.expr ?? ''} range={range} />;
    default:
      return <InstantPanel panel={p} targets={targets} range={range} />;
  }
}

function LogsPanel({ title, expr, range }: { title: string; expr: string; range: Range }) {
  const r = useAsync((s) => loki.queryRange(expr, range.start, range.end, { limit: 100, direction: 'backward' }, s), [expr, range]);
  const entries = r.data?.resultType === 'streams' ? fromStreams(r.data.result) : [];
  return (
    <Panel title={title} loading={r.loading} error={r.error} empty={r.data && entries.length === 0 && 'No log lines in this time range.'} class="fill">
      <LogList entries={entries} />
    </Panel>
  );
}

/** InstantPanel draws stat and table panels from the value of each target at the end of the range. */
function InstantPanel({ panel: p, targets, range }: { panel: DashboardPanel; targets: DashboardPanel['targets']; range: Range }) {
  const r = useAsync(
    async (s) => {
      const all = await Promise.all(
        targets.map(async ({ expr: e, source, legend }) => {
          if (source === 'loki') {
            const step = Math.max(1, Math.round((range.end - range.start) / 1000));
            const res = await loki.queryRange(e, range.end - 1000, range.end, { step }, s);
            return res.resultType === 'matrix' ? res.result.map((x) => ({ labels: x.metric, value: parseFloat(x.values?.at(-1)?.[1] ?? 'NaN'), legend })) : [];
          }
          const res = await prom.query(e, range.end, s);
          return res.map((x) => ({ labels: x.metric, value: parseFloat(x.value?.[1] ?? x.histogram?.[1].count ?? 'NaN'), legend }));
        }),
      );
      return all.flat();
    },
    [JSON.stringify(targets), range],
  );
  const rows = r.data ?? [];
  return (
    <Panel title={p.title} loading={r.loading} error={r.error} empty={r.data && rows.length === 0 && 'No data.'} class="fill">
      {p.type === 'stat' ? (
        <div class="stats">
          {rows.map((x, i) => (
            <div key={i} class="stat" data-testid="stat-value">
              <div class="stat-value">{formatUnit(x.value, p.unit)}</div>
              {rows.length > 1 && <div class="muted">{legendOf(x.legend, x.labels)}</div>}
            </div>
          ))}
        </div>
      ) : (
        <StatTable rows={rows} unit={p.unit} />
      )}
    </Panel>
  );
}

function StatTable({ rows, unit }: { rows: { labels: Record<string, string>; value: number }[]; unit?: string }) {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r.labels)))].filter((c) => c !== '__name__').sort();
  return (
    <table class="grid">
      <thead>
        <tr>
          {cols.map((c) => (
            <th key={c}>{c}</th>
          ))}
          <th class="num">Value</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r, i) => (
          <tr key={i}>
            {cols.map((c) => (
              <td key={c}>{r.labels[c] ?? ''}</td>
            ))}
            <td class="num">{unit ? formatUnit(r.value, unit) : fmtNum(r.value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
