// The service map: services as nodes and calls as edges with their rate,
// error rate and latency, from the service graph metrics Argus derives from
// traces, laid out by dagre.
import { Graph, layout, type Point as LayoutPoint } from '@dagrejs/dagre';
import { useMemo } from 'preact/hooks';
import { jaeger, prom } from '../api';
import { useAsync } from '../components/async';
import { Panel } from '../components/Panel';
import { formatPercent, formatRate, formatSeconds, windowFor } from '../red';
import { href, navigate, useLocation, useRange } from '../router';
import { serviceColor } from '../trace/model';

/** An edge of the map: calls from client to server. */
export interface MapEdge {
  client: string;
  server: string;
  rate: number;
  errorRate: number;
  p95?: number;
  virtual: boolean;
}

const nodeW = 170;
const nodeH = 52;

/** loadEdges reads the service graph metrics over the range ending at end. */
async function loadEdges(window: string, end: number, signal: AbortSignal): Promise<MapEdge[]> {
  const by = 'client, server';
  const [total, failed, p95, virtual] = await Promise.all([
    prom.query(`sum by (${by}) (rate(traces_service_graph_request_total[${window}]))`, end, signal),
    prom.query(`sum by (${by}) (rate(traces_service_graph_request_failed_total[${window}]))`, end, signal),
    prom.query(`histogram_quantile(0.95, sum by (${by}, le) (rate(traces_service_graph_request_server_seconds_bucket[${window}])))`, end, signal),
    prom.query(`group by (${by}) (traces_service_graph_request_total{connection_type="virtual_node"})`, end, signal),
  ]);
  const key = (m: Record<string, string>) => `${m.client}\u0000${m.server}`;
  const val = (r: typeof total) => new Map(r.map((s) => [key(s.metric), s.value ? parseFloat(s.value[1]) : NaN]));
  const f = val(failed);
  const q = val(p95);
  const v = new Set(virtual.map((s) => key(s.metric)));
  return total
    .filter((s) => s.value && parseFloat(s.value[1]) > 0)
    .map((s) => {
      const k = key(s.metric);
      const rate = parseFloat(s.value![1]);
      return { client: s.metric.client, server: s.metric.server, rate, errorRate: (f.get(k) ?? 0) / rate, p95: q.get(k), virtual: v.has(k) };
    });
}

/** ServiceMapPage draws the service graph. */
export function ServiceMapPage() {
  const { params } = useLocation();
  const range = useRange();
  const focus = params.get('service') ?? '';
  const edges = useAsync((s) => loadEdges(windowFor(range.start, range.end), range.end, s), [range]);
  const services = useAsync((s) => jaeger.services(s), []);
  const known = new Set(services.data ?? []);

  const graph = useMemo(() => {
    if (!edges.data) return undefined;
    const g = new Graph();
    g.setGraph({ rankdir: 'LR', nodesep: 40, ranksep: 140, marginx: 20, marginy: 20 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const e of edges.data) {
      for (const n of [e.client, e.server]) if (!g.hasNode(n)) g.setNode(n, { width: nodeW, height: nodeH });
      g.setEdge(e.client, e.server, { width: 120, height: 30, labelpos: 'c' });
    }
    layout(g);
    return g;
  }, [edges.data]);

  // A node's own request rate: the calls it served.
  const served = new Map<string, number>();
  for (const e of edges.data ?? []) served.set(e.server, (served.get(e.server) ?? 0) + e.rate);
  const label = graph?.graph();

  return (
    <div class="page">
      <h1>Service map</h1>
      <Panel
        title="Calls between services (click a node or an edge to see its traces)"
        loading={edges.loading}
        error={edges.error}
        empty={edges.data?.length === 0 && 'No calls between services in this time range.'}
        testId="service-map"
      >
        {graph && label && (
          <div class="map-scroll">
            <svg width={label.width} height={label.height} class="service-map">
              <defs>
                <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse">
                  <path d="M 0 0 L 10 5 L 0 10 z" fill="#8a94a6" />
                </marker>
              </defs>
              {(edges.data ?? []).map((e) => {
                const ge = graph.edge(e.client, e.server);
                const pts: LayoutPoint[] = ge.points ?? [];
                const d = pts.map((p, i) => `${i ? 'L' : 'M'} ${p.x} ${p.y}`).join(' ');
                const bad = e.errorRate > 0.05;
                const dim = focus && e.client !== focus && e.server !== focus;
                // Traces of an edge: the callee's when it sends spans, else the caller's.
                const target = known.has(e.server) ? e.server : e.client;
                return (
                  <g
                    key={`${e.client}->${e.server}`}
                    class={`map-edge ${bad ? 'bad' : ''} ${dim ? 'dim' : ''}`}
                    data-testid="map-edge"
                    data-edge={`${e.client}->${e.server}`}
                    onClick={() => navigate(href('/traces', { service: target }))}
                  >
                    <path d={d} stroke-width={Math.min(6, 1 + Math.log10(1 + e.rate * 10))} marker-end="url(#arrow)" fill="none" />
                    <text x={ge.x} y={(ge.y ?? 0) - 4} text-anchor="middle">
                      {formatRate(e.rate)} · {formatPercent(e.errorRate)} err
                    </text>
                    <text x={ge.x} y={(ge.y ?? 0) + 10} text-anchor="middle" class="muted">
                      p95 {formatSeconds(e.p95)}
                    </text>
                  </g>
                );
              })}
              {graph.nodes().map((n) => {
                const node = graph.node(n);
                const isService = known.has(n);
                const dim = focus && focus !== n && !(edges.data ?? []).some((e) => (e.client === focus && e.server === n) || (e.server === focus && e.client === n));
                return (
                  <g
                    key={n}
                    class={`map-node ${isService ? '' : 'virtual'} ${dim ? 'dim' : ''} ${focus === n ? 'focus' : ''}`}
                    transform={`translate(${node.x - nodeW / 2}, ${node.y - nodeH / 2})`}
                    data-testid="map-node"
                    data-node={n}
                    onClick={() => isService && navigate(href('/traces', { service: n }))}
                  >
                    <rect width={nodeW} height={nodeH} rx="8" style={{ stroke: isService ? serviceColor(n) : '#8a94a6' }} />
                    <text x={nodeW / 2} y={21} text-anchor="middle" class="node-name">
                      {n}
                    </text>
                    <text x={nodeW / 2} y={39} text-anchor="middle" class="muted">
                      {served.has(n) ? `${formatRate(served.get(n)!)} in` : isService ? 'caller' : 'outside callers'}
                    </text>
                  </g>
                );
              })}
            </svg>
          </div>
        )}
      </Panel>
    </div>
  );
}
