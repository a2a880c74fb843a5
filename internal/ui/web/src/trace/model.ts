// The trace model of the waterfall: a span tree built from the Jaeger JSON,
// the critical path, and the rows that are visible with some spans collapsed.
// Pure functions, so the component tests exercise them without a browser.
import type { JaegerKV, JaegerTrace } from '../api';

/** A span of the tree. Times are microseconds since the epoch. */
export interface SpanNode {
  id: string;
  parentId?: string;
  service: string;
  operation: string;
  start: number;
  duration: number;
  end: number;
  depth: number;
  children: SpanNode[];
  error: boolean;
  kind?: string;
  tags: JaegerKV[];
  resource: JaegerKV[];
  events: { timestamp: number; fields: JaegerKV[] }[];
  links: { traceID: string; spanID: string }[];
}

/** A trace ready to draw. */
export interface TraceTree {
  traceID: string;
  roots: SpanNode[];
  byId: Map<string, SpanNode>;
  start: number;
  end: number;
  services: string[];
  spanCount: number;
  errorCount: number;
}

/** A stretch of a span's time that lies on the critical path. */
export interface Segment {
  spanId: string;
  start: number;
  end: number;
}

function tag(tags: JaegerKV[], key: string): JaegerKV | undefined {
  return tags.find((t) => t.key === key);
}

/** isError reports whether a span failed, by the OpenTelemetry status or the error tag. */
function isError(tags: JaegerKV[]): boolean {
  const e = tag(tags, 'error');
  if (e && (e.value === true || e.value === 'true')) return true;
  return tag(tags, 'otel.status_code')?.value === 'ERROR';
}

/** buildTree turns the Jaeger JSON of one trace into a span tree. */
export function buildTree(t: JaegerTrace): TraceTree {
  const byId = new Map<string, SpanNode>();
  let start = Infinity;
  let end = -Infinity;
  let errorCount = 0;
  const services = new Set<string>();
  for (const s of t.spans) {
    const proc = t.processes[s.processID];
    const tags = s.tags ?? [];
    const parent = s.references?.find((r) => r.refType === 'CHILD_OF' && r.traceID === s.traceID);
    const node: SpanNode = {
      id: s.spanID,
      parentId: parent?.spanID,
      service: proc?.serviceName ?? 'unknown',
      operation: s.operationName,
      start: s.startTime,
      duration: s.duration,
      end: s.startTime + s.duration,
      depth: 0,
      children: [],
      error: isError(tags),
      kind: tag(tags, 'span.kind')?.value as string | undefined,
      tags,
      resource: proc?.tags ?? [],
      events: s.logs ?? [],
      links: (s.references ?? []).filter((r) => r !== parent).map((r) => ({ traceID: r.traceID, spanID: r.spanID })),
    };
    byId.set(node.id, node);
    start = Math.min(start, node.start);
    end = Math.max(end, node.end);
    if (node.error) errorCount++;
    services.add(node.service);
  }
  const roots: SpanNode[] = [];
  for (const n of byId.values()) {
    const p = n.parentId ? byId.get(n.parentId) : undefined;
    if (p && p !== n) p.children.push(n);
    else roots.push(n);
  }
  const byStart = (a: SpanNode, b: SpanNode) => a.start - b.start || a.operation.localeCompare(b.operation);
  roots.sort(byStart);
  // Depths by an explicit stack: a deep trace must not overflow the call stack.
  const stack = roots.map((r) => ({ n: r, d: 0 }));
  while (stack.length) {
    const { n, d } = stack.pop()!;
    n.depth = d;
    n.children.sort(byStart);
    for (const c of n.children) stack.push({ n: c, d: d + 1 });
  }
  return { traceID: t.traceID, roots, byId, start, end, services: [...services].sort(), spanCount: byId.size, errorCount };
}

/**
 * criticalPath returns the stretches of time that determined the trace's
 * duration: from the end of the root backwards, the child that finished last,
 * recursively, then the parent's own time before that child started.
 * Children are clamped to their parent's bounds, since clocks of different
 * hosts disagree.
 */
export function criticalPath(tree: TraceTree): Segment[] {
  const segs: Segment[] = [];
  const root = tree.roots.reduce<SpanNode | undefined>((a, r) => (!a || r.duration > a.duration ? r : a), undefined);
  if (!root) return segs;
  // An explicit work list in place of recursion: (span, the time up to which it is critical).
  type Frame = { span: SpanNode; until: number; children: SpanNode[]; i: number; t: number };
  const frame = (span: SpanNode, until: number): Frame => ({
    span,
    until,
    children: [...span.children].sort((a, b) => Math.min(b.end, span.end) - Math.min(a.end, span.end)),
    i: 0,
    t: until,
  });
  const stack: Frame[] = [frame(root, root.end)];
  while (stack.length) {
    const f = stack[stack.length - 1];
    let descended = false;
    while (f.i < f.children.length) {
      const c = f.children[f.i++];
      const cEnd = Math.min(c.end, f.span.end);
      const cStart = Math.max(c.start, f.span.start);
      if (cEnd > f.t || cEnd <= cStart) continue; // overlapped by a later child, or outside the parent
      if (cEnd < f.t) segs.push({ spanId: f.span.id, start: cEnd, end: f.t });
      f.t = cStart;
      stack.push(frame({ ...c, start: cStart, end: cEnd } as SpanNode, cEnd));
      descended = true;
      break;
    }
    if (descended) continue;
    if (f.t > f.span.start) segs.push({ spanId: f.span.id, start: f.span.start, end: f.t });
    stack.pop();
  }
  return segs.sort((a, b) => a.start - b.start);
}

/** visibleRows lists the spans in tree order, leaving out descendants of collapsed spans. */
export function visibleRows(tree: TraceTree, collapsed: ReadonlySet<string>): SpanNode[] {
  const out: SpanNode[] = [];
  const stack = [...tree.roots].reverse();
  while (stack.length) {
    const n = stack.pop()!;
    out.push(n);
    if (collapsed.has(n.id)) continue;
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]);
  }
  return out;
}

const palette = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#ff9da7', '#9c755f', '#bab0ac', '#e15759'];

/** serviceColor gives each service a stable color. */
export function serviceColor(service: string): string {
  let h = 0;
  for (let i = 0; i < service.length; i++) h = (h * 31 + service.charCodeAt(i)) | 0;
  return palette[Math.abs(h) % palette.length];
}
