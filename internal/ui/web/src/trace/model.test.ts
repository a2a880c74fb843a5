import { describe, expect, it } from 'vitest';
import type { JaegerSpan, JaegerTrace } from '../api';
import { buildTree, criticalPath, visibleRows } from './model';

function span(id: string, parent: string | undefined, start: number, duration: number, proc = 'p1', tags: JaegerSpan['tags'] = []): JaegerSpan {
  return {
    traceID: 't1',
    spanID: id,
    operationName: `op-${id}`,
    references: parent ? [{ refType: 'CHILD_OF', traceID: 't1', spanID: parent }] : [],
    startTime: start,
    duration,
    tags,
    processID: proc,
  };
}

function trace(...spans: JaegerSpan[]): JaegerTrace {
  return { traceID: 't1', spans, processes: { p1: { serviceName: 'frontend' }, p2: { serviceName: 'inventory' } } };
}

describe('buildTree', () => {
  it('links children to parents in start order and counts errors', () => {
    const t = buildTree(
      trace(
        span('b', 'a', 30, 10, 'p2', [{ key: 'otel.status_code', type: 'string', value: 'ERROR' }]),
        span('a', undefined, 0, 100),
        span('c', 'a', 10, 10, 'p1', [{ key: 'error', type: 'bool', value: true }]),
      ),
    );
    expect(t.roots.map((r) => r.id)).toEqual(['a']);
    expect(t.roots[0].children.map((c) => c.id)).toEqual(['c', 'b']);
    expect(t.byId.get('b')!.depth).toBe(1);
    expect(t.services).toEqual(['frontend', 'inventory']);
    expect(t.errorCount).toBe(2);
    expect([t.start, t.end]).toEqual([0, 100]);
  });

  it('makes a span whose parent is missing a root', () => {
    const t = buildTree(trace(span('a', undefined, 0, 10), span('x', 'gone', 5, 1)));
    expect(t.roots.map((r) => r.id)).toEqual(['a', 'x']);
  });
});

describe('criticalPath', () => {
  it('follows the last-finishing child and skips overlapped ones', () => {
    // a: 0..100; b: 10..60; c: 20..50 (overlapped by b); d: 70..90
    const t = buildTree(trace(span('a', undefined, 0, 100), span('b', 'a', 10, 50), span('c', 'a', 20, 30), span('d', 'a', 70, 20)));
    const segs = criticalPath(t).map((s) => `${s.spanId}:${s.start}-${s.end}`);
    expect(segs).toEqual(['a:0-10', 'b:10-60', 'a:60-70', 'd:70-90', 'a:90-100']);
  });

  it('clamps a child that outlives its parent', () => {
    const t = buildTree(trace(span('a', undefined, 0, 50), span('b', 'a', 40, 30)));
    expect(criticalPath(t).map((s) => `${s.spanId}:${s.start}-${s.end}`)).toEqual(['a:0-40', 'b:40-50']);
  });

  it('covers the whole root exactly once', () => {
    const spans = [span('r', undefined, 0, 1000)];
    for (let i = 0; i < 50; i++) spans.push(span(`s${i}`, i % 5 === 0 ? 'r' : `s${i - 1}`, i * 17, 100 + (i % 7) * 13));
    const segs = criticalPath(buildTree(trace(...spans)));
    let covered = 0;
    for (let i = 0; i < segs.length; i++) {
      covered += segs[i].end - segs[i].start;
      if (i > 0) expect(segs[i].start).toBeGreaterThanOrEqual(segs[i - 1].end);
    }
    expect(covered).toBe(1000);
  });
});

describe('visibleRows', () => {
  it('hides the descendants of collapsed spans', () => {
    const t = buildTree(trace(span('a', undefined, 0, 100), span('b', 'a', 10, 50), span('c', 'b', 20, 10), span('d', 'a', 70, 20)));
    expect(visibleRows(t, new Set()).map((n) => n.id)).toEqual(['a', 'b', 'c', 'd']);
    expect(visibleRows(t, new Set(['b'])).map((n) => n.id)).toEqual(['a', 'b', 'd']);
  });

  it('handles 10,000 spans in a chain without recursion', () => {
    const spans = [span('s0', undefined, 0, 10000)];
    for (let i = 1; i < 10000; i++) spans.push(span(`s${i}`, `s${i - 1}`, i, 10000 - i));
    const t = buildTree(trace(...spans));
    expect(visibleRows(t, new Set()).length).toBe(10000);
    expect(t.byId.get('s9999')!.depth).toBe(9999);
    expect(criticalPath(t).length).toBeGreaterThan(0);
  });
});
