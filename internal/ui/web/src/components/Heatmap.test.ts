import { describe, expect, it } from 'vitest';
import { fromClassic, fromNative } from './Heatmap';

describe('fromClassic', () => {
  it('turns cumulative buckets into per-bucket counts per step', () => {
    const d = fromClassic([
      { metric: { le: '0.1' }, values: [[10, '1'], [20, '2']] },
      { metric: { le: '+Inf' }, values: [[10, '4'], [20, '2']] },
      { metric: { le: '0.5' }, values: [[10, '3'], [20, '2']] },
    ])!;
    expect(d.bounds).toEqual([0.1, 0.5, Infinity]);
    expect(d.xs).toEqual([10, 20]);
    expect(d.counts).toEqual([[1, 2, 1], [2, 0, 0]]);
  });
  it('refuses series without le', () => {
    expect(fromClassic([{ metric: { job: 'x' }, values: [[10, '1']] }])).toBeUndefined();
  });
});

describe('fromNative', () => {
  it('sums native histogram buckets of all series by upper bound', () => {
    const h = (b: [number, string, string, string][]) => ({ count: '0', sum: '0', buckets: b });
    const d = fromNative([
      { metric: { a: '1' }, histograms: [[10, h([[0, '0.5', '1', '2'], [0, '1', '2', '1']])]] },
      { metric: { a: '2' }, histograms: [[10, h([[0, '0.5', '1', '3']])]] },
    ])!;
    expect(d.bounds).toEqual([1, 2]);
    expect(d.counts).toEqual([[5, 1]]);
  });
});
