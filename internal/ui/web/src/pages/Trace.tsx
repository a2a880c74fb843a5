// The trace view: a waterfall of the span tree (virtualized, so a trace of
// 10,000 spans stays responsive) with the critical path, the chosen span's
// details, and the trace's log lines inline.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { argus, jaeger, type JaegerKV } from '../api';
import { useAsync } from '../components/async';
import { Link } from '../components/Link';
import { fromCorrelated, LogList } from '../components/LogList';
import { Panel } from '../components/Panel';
import { setParams, useLocation } from '../router';
import { formatDuration, formatTime } from '../time';
import { buildTree, criticalPath, serviceColor, visibleRows, type Segment, type SpanNode, type TraceTree } from '../trace/model';

const rowHeight = 24;
const overscan = 20;

/** TracePage loads and shows one trace. */
export function TracePage({ id }: { id: string }) {
  const { params } = useLocation();
  const trace = useAsync((s) => jaeger.trace(id, s), [id]);
  const logs = useAsync((s) => argus.correlate(id, s), [id]);
  const tree = useMemo(() => (trace.data ? buildTree(trace.data) : undefined), [trace.data]);
  const crit = useMemo(() => (tree ? criticalPath(tree) : []), [tree]);
  const selected = params.get('span') ?? undefined;
  const entries = useMemo(() => fromCorrelated(logs.data?.logs ?? []), [logs.data]);

  if (trace.error) {
    const notFound = /not found/i.test(trace.error.message);
    return (
      <div class="page">
        <h1>Trace {id}</h1>
        <Panel
          error={
            notFound
              ? new Error(`Trace ${id} is not stored: it may never have been sent, or it is older than the retention period.`)
              : trace.error
          }
        />
        {notFound && (
          <p>
            <Link to={`/correlate/${encodeURIComponent(id)}`}>Look for logs and spans with this ID as a correlation ID</Link>
          </p>
        )}
      </div>
    );
  }
  if (!tree) return <Panel title={`Trace ${id}`} loading />;
  const span = selected ? tree.byId.get(selected) : undefined;
  const root = tree.roots[0];
  return (
    <div class="page trace-page">
      <h1>
        <span class="svc-dot" style={{ background: serviceColor(root.service) }} />
        {root.service}: {root.operation}
        <span class="page-links">
          <Link to={`/correlate/${tree.traceID}`}>Everything with this ID</Link>
        </span>
      </h1>
      <div class="trace-meta" data-testid="trace-meta">
        <span class="mono">{tree.traceID}</span>
        <span>Started {formatTime(tree.start / 1000)}</span>
        <span>Duration {formatDuration(tree.end - tree.start)}</span>
        <span data-testid="span-count">{tree.spanCount} spans</span>
        <span>{tree.services.length} services</span>
        {tree.errorCount > 0 && <span class="bad">{tree.errorCount} errors</span>}
      </div>
      <Waterfall tree={tree} critical={crit} selected={selected} onSelect={(s) => setParams({ span: s === selected ? undefined : s }, true)} />
      {span && <SpanDetails span={span} />}
      <Panel
        title={span ? `Logs of span ${span.operation} (highlighted) and of the trace` : `Logs of this trace (${entries.length})`}
        loading={logs.loading}
        error={logs.error}
        empty={entries.length === 0 && 'No log lines carry this trace ID.'}
        testId="trace-logs"
      >
        <LogList entries={entries} spanId={span?.id} />
      </Panel>
    </div>
  );
}

/** Props of Waterfall. */
interface WaterfallProps {
  tree: TraceTree;
  critical: Segment[];
  selected?: string;
  onSelect: (spanId: string) => void;
}

function Waterfall({ tree, critical, selected, onSelect }: WaterfallProps) {
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const [showCritical, setShowCritical] = useState(true);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const box = useRef<HTMLDivElement>(null);
  const rows = useMemo(() => visibleRows(tree, collapsed), [tree, collapsed]);
  const bySpan = useMemo(() => {
    const m = new Map<string, Segment[]>();
    for (const s of critical) m.set(s.spanId, [...(m.get(s.spanId) ?? []), s]);
    return m;
  }, [critical]);
  const total = Math.max(1, tree.end - tree.start);
  const pct = (t: number) => `${((t - tree.start) / total) * 100}%`;
  const width = (d: number) => `${Math.max(0.1, (d / total) * 100)}%`;

  useEffect(() => {
    const el = box.current!;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // Bring a span chosen elsewhere (a link with ?span=) into view.
  useEffect(() => {
    if (!selected || !box.current) return;
    const i = rows.findIndex((r) => r.id === selected);
    const el = box.current;
    if (i >= 0 && (i * rowHeight < el.scrollTop || (i + 1) * rowHeight > el.scrollTop + el.clientHeight)) {
      el.scrollTop = Math.max(0, i * rowHeight - el.clientHeight / 3);
    }
  }, [selected, rows]);

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(rows.length, Math.ceil((scrollTop + height) / rowHeight) + overscan);
  const toggle = (id: string) => {
    const n = new Set(collapsed);
    if (n.has(id)) n.delete(id);
    else n.add(id);
    setCollapsed(n);
  };
  const ticks = [0, 0.25, 0.5, 0.75, 1];

  return (
    <section class="panel waterfall" data-testid="waterfall">
      <header>
        <h2>Spans</h2>
        <div class="actions">
          <label>
            <input type="checkbox" checked={showCritical} onChange={(e) => setShowCritical(e.currentTarget.checked)} /> Critical path
          </label>
          <button type="button" onClick={() => setCollapsed(new Set())}>
            Expand all
          </button>
          <button type="button" onClick={() => setCollapsed(new Set([...tree.byId.values()].filter((n) => n.children.length && n.depth >= 1).map((n) => n.id)))}>
            Collapse all
          </button>
        </div>
      </header>
      <div class="wf-ruler">
        <div class="wf-name-col">Service: operation</div>
        <div class="wf-time-col">
          {ticks.map((t) => (
            <span key={t} style={{ left: `${t * 100}%` }}>
              {formatDuration(total * t)}
            </span>
          ))}
        </div>
      </div>
      <div class="wf-scroll" ref={box} onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)} data-testid="waterfall-scroll">
        <div style={{ height: `${rows.length * rowHeight}px`, position: 'relative' }}>
          {rows.slice(first, last).map((n, i) => (
            <div
              key={n.id}
              class={`wf-row ${n.id === selected ? 'selected' : ''} ${n.error ? 'error' : ''}`}
              style={{ transform: `translateY(${(first + i) * rowHeight}px)` }}
              onClick={() => onSelect(n.id)}
              data-testid="span-row"
              data-span-id={n.id}
            >
              <div class="wf-name-col" style={{ paddingLeft: `${Math.min(n.depth, 40) * 12 + 4}px` }}>
                {n.children.length > 0 ? (
                  <button
                    type="button"
                    class="wf-toggle"
                    aria-label={collapsed.has(n.id) ? 'expand' : 'collapse'}
                    onClick={(e) => (e.stopPropagation(), toggle(n.id))}
                  >
                    {collapsed.has(n.id) ? '▸' : '▾'}
                  </button>
                ) : (
                  <span class="wf-toggle" />
                )}
                <span class="svc-dot" style={{ background: serviceColor(n.service) }} />
                <span class="wf-svc">{n.service}</span> <span class="wf-op">{n.operation}</span>
                {collapsed.has(n.id) && <span class="muted"> (+{countDescendants(n)})</span>}
              </div>
              <div class="wf-time-col">
                <div class="wf-bar" style={{ left: pct(n.start), width: width(n.duration), background: serviceColor(n.service) }} />
                {showCritical &&
                  bySpan.get(n.id)?.map((s, j) => <div key={j} class="wf-critical" style={{ left: pct(s.start), width: width(s.end - s.start) }} />)}
                <span class="wf-label" style={{ left: pct(n.end) }}>
                  {formatDuration(n.duration)}
                </span>
              </div>
            </div>
          ))}
        </div>
      </div>
    </section>
  );
}

function countDescendants(n: SpanNode): number {
  let c = 0;
  const stack = [...n.children];
  while (stack.length) {
    const x = stack.pop()!;
    c++;
    stack.push(...x.children);
  }
  return c;
}

function KVTable({ kvs }: { kvs: JaegerKV[] }) {
  if (!kvs.length) return <div class="muted">none</div>;
  return (
    <table class="kv">
      <tbody>
        {kvs.map((kv, i) => (
          <tr key={i}>
            <th>{kv.key}</th>
            <td>{String(kv.value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function SpanDetails({ span }: { span: SpanNode }) {
  return (
    <Panel title={`${span.service}: ${span.operation}`} testId="span-details">
      <div class="trace-meta">
        <span class="mono">span {span.id}</span>
        <span>Started {formatTime(span.start / 1000)}</span>
        <span>Duration {formatDuration(span.duration)}</span>
        {span.kind && <span>Kind {span.kind}</span>}
        {span.error && <span class="bad">error</span>}
      </div>
      <div class="grid-2">
        <div>
          <h3>Attributes</h3>
          <KVTable kvs={span.tags} />
          <h3>Events ({span.events.length})</h3>
          {span.events.map((e, i) => (
            <div key={i} class="event">
              <div class="muted">{formatTime(e.timestamp / 1000)}</div>
              <KVTable kvs={e.fields} />
            </div>
          ))}
          {span.links.length > 0 && (
            <>
              <h3>Links</h3>
              <ul class="plain">
                {span.links.map((l) => (
                  <li key={l.spanID}>
                    <Link to={`/traces/${l.traceID}`} params={{ span: l.spanID }}>
                      {l.traceID} / {l.spanID}
                    </Link>
                  </li>
                ))}
              </ul>
            </>
          )}
        </div>
        <div>
          <h3>Resource</h3>
          <KVTable kvs={span.resource} />
        </div>
      </div>
    </Panel>
  );
}
