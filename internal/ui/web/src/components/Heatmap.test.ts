import { describe, expect, it } from 'vitest';
import { bucketRow, fromClassic, fromNative } from './Heatmap';

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

describe('bucketRow', () => {
  it('puts a value in the middle of the row of the first bucket that holds it', () => {
    const bounds = [0.1, 0.5, Infinity];
    expect(bucketRow(bounds, 0.05)).toBe(0.5);
    expect(bucketRow(bounds, 0.1)).toBe(0.5);
    expect(bucketRow(bounds, 0.3)).toBe(1.5);
    expect(bucketRow(bounds, 7)).toBe(2.5);
    expect(bucketRow([0.1, 0.5], 7)).toBe(1.5); // above the last bound: the top row
  });
});
