// The alerts page: what fires now (acknowledge, silence), the rules, the
// silences, every recorded transition, the audit log of automated
// responses, and how notification deliveries went.
import { useState } from 'preact/hooks';
import { alerting, prom, type ActionRun, type AlertEvent, type PromAlert } from '../api';
import { useAsync } from '../components/async';
import { Link } from '../components/Link';
import { Panel } from '../components/Panel';
import { PromChart } from '../components/PromChart';
import { formatMatchers, parseMatchers, type Matcher } from '../matchers';
import { href, setParams, useLocation, useRange } from '../router';
import { formatTime, parseDuration, stepFor } from '../time';

const tabs = [
  ['alerts', 'Alerts'],
  ['rules', 'Rules'],
  ['silences', 'Silences'],
  ['history', 'History'],
  ['actions', 'Actions'],
  ['notifications', 'Notifications'],
] as const;

/** AlertsPage shows alerting in one place, a tab at a time. Each tab reads "now" when it opens. */
export function AlertsPage() {
  const { params } = useLocation();
  const tab = params.get('tab') ?? 'alerts';
  return (
    <div class="page">
      <h1>Alerts</h1>
      <nav class="tabs" role="tablist">
        {tabs.map(([id, label]) => (
          <a
            key={id}
            role="tab"
            aria-selected={tab === id}
            class={tab === id ? 'active' : ''}
            href={href('/alerts', { tab: id })}
            onClick={(e) => (e.preventDefault(), setParams({ tab: id }))}
          >
            {label}
          </a>
        ))}
      </nav>
      {tab === 'alerts' && <ActiveAlerts />}
      {tab === 'rules' && <Rules />}
      {tab === 'silences' && <Silences />}
      {tab === 'history' && <History />}
      {tab === 'actions' && <Actions />}
      {tab === 'notifications' && <Notifications />}
    </div>
  );
}

function Labels({ labels, skip = [] }: { labels: Record<string, string>; skip?: string[] }) {
  return (
    <span class="labels">
      {Object.entries(labels)
        .filter(([k]) => !skip.includes(k))
        .map(([k, v]) => (
          <span key={k} class="label-chip">
            {k}={v}
          </span>
        ))}
    </span>
  );
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** user is who acknowledges and silences, remembered in the browser. */
function useUser(): [string, (v: string) => void] {
  const [u, setU] = useState(() => localStorage.getItem('argus.user') ?? '');
  return [u, (v: string) => (localStorage.setItem('argus.user', v), setU(v))];
}

/** silence creates a silence from now for duration ("2h"), or throws an error naming what is wrong. */
async function silence(matchers: Matcher[], duration: string, createdBy: string, comment: string): Promise<void> {
  const d = parseDuration(duration);
  if (isNaN(d) || d <= 0) throw new Error(`invalid duration "${duration}": write it like 2h or 30m`);
  await alerting.createSilence({ matchers, startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + d).toISOString(), createdBy, comment });
}

/** An active alert joined with its fingerprint and acknowledgement from the history. */
interface ActiveAlert extends PromAlert {
  fingerprint?: string;
  ack?: AlertEvent;
}

function ActiveAlerts() {
  const [reload, setReload] = useState(0);
  const state = useAsync(
    async (s) => {
      const alerts = await alerting.alerts(s);
      if (!alerts.length) return [];
      const since = Math.min(...alerts.map((a) => Date.parse(a.activeAt))) - 60_000;
      const events = await alerting.history({ start: since, end: Date.now() + 60_000, limit: 10000 }, s);
      return alerts.map((a): ActiveAlert => {
        const mine = events.filter((e) => e.alertname === a.labels.alertname && sameLabels(e.labels, a.labels));
        const fp = mine[0]?.fingerprint;
        const lastFiring = mine.filter((e) => e.event === 'firing' || e.event === 'pending').pop();
        const ack = mine.filter((e) => e.event === 'acknowledged' && (!lastFiring || e.time >= lastFiring.time)).pop();
        return { ...a, fingerprint: fp, ack };
      });
    },
    [reload],
  );
  const alerts = state.data ?? [];
  return (
    <Panel
      title={`${alerts.filter((a) => a.state === 'firing').length} firing, ${alerts.filter((a) => a.state === 'pending').length} pending`}
      loading={state.loading}
      error={state.error}
      empty={alerts.length === 0 && 'No alert is pending or firing.'}
      testId="active-alerts"
      actions={<button onClick={() => setReload(reload + 1)}>Refresh</button>}
    >
      {alerts.map((a) => (
        <AlertCard key={JSON.stringify(a.labels)} alert={a} onChange={() => setReload(reload + 1)} />
      ))}
    </Panel>
  );
}

function AlertCard({ alert: a, onChange }: { alert: ActiveAlert; onChange: () => void }) {
  const [form, setForm] = useState<'ack' | 'silence' | null>(null);
  const [user, setUser] = useUser();
  const [comment, setComment] = useState('');
  const [duration, setDuration] = useState('2h');
  const [error, setError] = useState<string>();
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      if (form === 'ack') {
        if (!a.fingerprint) throw new Error('this alert is not in the history yet; try again after its next evaluation');
        await alerting.ack(a.fingerprint, user, comment);
      } else {
        const matchers = Object.entries(a.labels).map(([name, value]) => ({ name, value, isRegex: false, isEqual: true }));
        await silence(matchers, duration, user, comment);
      }
      setForm(null);
      setComment('');
      onChange();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <div class={`alert-card state-${a.state}`} data-testid="alert-card">
      <div class="alert-head">
        <span class={`badge badge-${a.state}`}>{a.state}</span>
        <b>{a.labels.alertname}</b>
        <Labels labels={a.labels} skip={['alertname']} />
        <span class="muted">
          since {formatTime(Date.parse(a.activeAt))} · value {(+a.value).toPrecision(4)}
        </span>
        <span class="alert-buttons">
          {a.ack ? (
            <span class="ack" data-testid="acked">
              acknowledged by {a.ack.by}
              {a.ack.comment ? `: ${a.ack.comment}` : ''}
            </span>
          ) : (
            <button onClick={() => setForm(form === 'ack' ? null : 'ack')}>Acknowledge</button>
          )}
          <button onClick={() => setForm(form === 'silence' ? null : 'silence')}>Silence</button>
        </span>
      </div>
      {(a.annotations.summary || a.annotations.description) && <div class="alert-text">{a.annotations.summary ?? a.annotations.description}</div>}
      {form && (
        <form class="inline-form" onSubmit={submit}>
          <input required placeholder="Your name" value={user} onInput={(e) => setUser(e.currentTarget.value)} aria-label="Your name" />
          {form === 'silence' && <input value={duration} onInput={(e) => setDuration(e.currentTarget.value)} aria-label="Duration" title="How long, e.g. 2h" />}
          <input placeholder="Comment" value={comment} onInput={(e) => setComment(e.currentTarget.value)} aria-label="Comment" />
          <button type="submit" class="primary">
            {form === 'ack' ? 'Acknowledge' : 'Silence'}
          </button>
          {error && <span class="bad">{error}</span>}
        </form>
      )}
    </div>
  );
}

function Rules() {
  const groups = useAsync((s) => alerting.rules(s), []);
  return (
    <Panel title="Rule groups" loading={groups.loading} error={groups.error} empty={groups.data?.length === 0 && 'No rules are loaded: list rule files under rule_files in the config.'} testId="rules">
      {(groups.data ?? []).map((g) => (
        <div key={g.file + g.name} class="rule-group">
          <h3>
            {g.name} <span class="muted">{g.file} · every {g.interval}s · last took {(g.evaluationTime * 1000).toFixed(1)} ms</span>
          </h3>
          <table class="grid">
            <tbody>
              {g.rules.map((r) => (
                <tr key={r.name + r.query}>
                  <td>
                    <b>{r.name}</b> <span class="muted">{r.type}</span>
                    <div class="mono">
                      <Link to="/query" params={{ query: r.query }}>
                        {r.query}
                      </Link>
                    </div>
                    {r.lastError && <div class="bad">{r.lastError}</div>}
                  </td>
                  <td>{r.type === 'alerting' && <span class={`badge badge-${r.state}`}>{r.state}</span>}</td>
                  <td class={r.health === 'ok' ? '' : 'bad'}>{r.health}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </Panel>
  );
}

function Silences() {
  const [reload, setReload] = useState(0);
  const list = useAsync((s) => alerting.silences(s), [reload]);
  const [user, setUser] = useUser();
  const [matchers, setMatchers] = useState('');
  const [duration, setDuration] = useState('2h');
  const [comment, setComment] = useState('');
  const [error, setError] = useState<string>();
  const create = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      await silence(parseMatchers(matchers), duration, user, comment);
      setMatchers('');
      setComment('');
      setReload(reload + 1);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const silences = (list.data ?? []).filter((s) => s.status.state !== 'expired').sort((a, b) => a.endsAt.localeCompare(b.endsAt));
  return (
    <>
      <Panel title="New silence">
        <form class="inline-form" onSubmit={create} data-testid="silence-form">
          <input required class="grow mono" placeholder='{alertname="InventoryErrors", service_name=~"inv.*"}' value={matchers} onInput={(e) => setMatchers(e.currentTarget.value)} aria-label="Matchers" />
          <input value={duration} onInput={(e) => setDuration(e.currentTarget.value)} aria-label="Duration" />
          <input required placeholder="Your name" value={user} onInput={(e) => setUser(e.currentTarget.value)} aria-label="Your name" />
          <input placeholder="Comment" value={comment} onInput={(e) => setComment(e.currentTarget.value)} aria-label="Comment" />
          <button type="submit" class="primary">
            Silence
          </button>
        </form>
        {error && <div class="error" role="alert">{error}</div>}
      </Panel>
      <Panel title={`${silences.length} active or pending silences`} loading={list.loading} error={list.error} empty={silences.length === 0 && 'No silences.'} testId="silences">
        <table class="grid">
          <tbody>
            {silences.map((s) => (
              <tr key={s.id} data-testid="silence-row">
                <td class="mono">{formatMatchers(s.matchers)}</td>
                <td>
                  <span class={`badge badge-${s.status.state}`}>{s.status.state}</span>
                </td>
                <td>until {formatTime(Date.parse(s.endsAt))}</td>
                <td>
                  {s.createdBy}
                  {s.comment ? `: ${s.comment}` : ''}
                </td>
                <td>
                  <button onClick={() => alerting.expireSilence(s.id).then(() => setReload(reload + 1), (e: Error) => setError(e.message))}>Expire</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Panel>
    </>
  );
}

function History() {
  const range = useRange();
  const events = useAsync((s) => alerting.history({ start: range.start, end: range.end, limit: 1000 }, s), [range]);
  const list = [...(events.data ?? [])].reverse();
  return (
    <Panel title={`${list.length} events, newest first`} loading={events.loading} error={events.error} empty={list.length === 0 && 'No alert changed state in this time range.'} testId="alert-history">
      <table class="grid">
        <tbody>
          {list.map((e, i) => (
            <tr key={i} data-testid="history-row">
              <td class="nowrap">{formatTime(Date.parse(e.time))}</td>
              <td>
                <span class={`badge badge-${e.event}`}>{e.event}</span>
              </td>
              <td>
                <b>{e.alertname}</b> <Labels labels={e.labels} skip={['alertname']} />
              </td>
              <td class="num">{e.value === null ? '' : e.value.toPrecision(4)}</td>
              <td>{e.by ? `${e.by}${e.comment ? `: ${e.comment}` : ''}` : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Panel>
  );
}

function Actions() {
  const range = useRange();
  const runs = useAsync((s) => alerting.runs({ start: range.start, end: range.end, limit: 1000 }, s), [range]);
  const [open, setOpen] = useState<number | null>(null);
  const list = [...(runs.data ?? [])].reverse();
  return (
    <Panel title={`${list.length} action runs, newest first`} loading={runs.loading} error={runs.error} empty={list.length === 0 && 'No automated response ran in this time range.'} testId="action-runs">
      <table class="grid">
        <thead>
          <tr>
            <th>Time</th>
            <th>Action</th>
            <th>Alert</th>
            <th>Result</th>
            <th class="num">Status</th>
            <th class="num">Attempts</th>
            <th class="num">Took</th>
          </tr>
        </thead>
        <tbody>
          {list.map((r, i) => (
            <RunRow key={i} run={r} open={open === i} onToggle={() => setOpen(open === i ? null : i)} />
          ))}
        </tbody>
      </table>
    </Panel>
  );
}

function RunRow({ run: r, open, onToggle }: { run: ActionRun; open: boolean; onToggle: () => void }) {
  return (
    <>
      <tr class="clickable" onClick={onToggle} data-testid="run-row">
        <td class="nowrap">{formatTime(Date.parse(r.time))}</td>
        <td>
          <b>{r.action}</b> <span class="muted">{r.kind}</span>
        </td>
        <td>{r.alertname}</td>
        <td>
          <span class={`badge badge-${r.result}`}>{r.result}</span> {r.error && <span class="bad">{r.error}</span>}
        </td>
        <td class="num">{r.status || ''}</td>
        <td class="num">{r.attempts}</td>
        <td class="num">{r.durationMs} ms</td>
      </tr>
      {open && (
        <tr>
          <td colSpan={7}>
            <h3>Inputs</h3>
            <pre class="mono">{JSON.stringify(r.inputs, null, 2)}</pre>
            {r.output && (
              <>
                <h3>Output</h3>
                <pre class="mono">{r.output}</pre>
              </>
            )}
          </td>
        </tr>
      )}
    </>
  );
}

/** Notifications shows deliveries by integration from Argus's own metrics (it scrapes itself as job argus). */
function Notifications() {
  const range = useRange();
  const win = `${Math.max(60, Math.round((range.end - range.start) / 1000))}s`;
  const totals = useAsync(
    async (s) => {
      const [sent, failed] = await Promise.all(
        ['alertmanager_notifications_total', 'alertmanager_notifications_failed_total'].map((m) => prom.query(`sum by (integration) (increase(${m}{job="argus"}[${win}]))`, range.end, s)),
      );
      const f = new Map(failed.map((x) => [x.metric.integration, parseFloat(x.value?.[1] ?? '0')]));
      return sent
        .map((x) => ({ integration: x.metric.integration, sent: parseFloat(x.value?.[1] ?? '0'), failed: f.get(x.metric.integration) ?? 0 }))
        .filter((x) => x.sent > 0 || x.failed > 0)
        .sort((a, b) => b.failed - a.failed || a.integration.localeCompare(b.integration));
    },
    [range, win],
  );
  const step = stepFor(range, 120);
  return (
    <>
      <Panel title="Deliveries by integration in this time range" loading={totals.loading} error={totals.error} empty={totals.data?.length === 0 && 'No notification was sent in this time range.'} testId="deliveries">
        <table class="grid">
          <thead>
            <tr>
              <th>Integration</th>
              <th class="num">Attempts</th>
              <th class="num">Failed</th>
            </tr>
          </thead>
          <tbody>
            {(totals.data ?? []).map((t) => (
              <tr key={t.integration}>
                <td>{t.integration}</td>
                <td class="num">{Math.round(t.sent)}</td>
                <td class={`num ${t.failed > 0 ? 'bad' : ''}`}>{Math.round(t.failed)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p class="muted">
          Failed deliveries are retried with backoff. Every attempt is counted in <span class="mono">alertmanager_notifications_total</span> and every failure in{' '}
          <span class="mono">alertmanager_notifications_failed_total</span> at <span class="mono">/metrics</span>.
        </p>
      </Panel>
      <PromChart
        title="Failed deliveries per minute"
        range={range}
        step={step}
        queries={[{ expr: `sum by (integration, reason) (rate(alertmanager_notifications_failed_total{job="argus"}[${Math.max(step * 2, 60)}s])) * 60`, legend: '{{integration}} {{reason}}' }]}
      />
    </>
  );
}
