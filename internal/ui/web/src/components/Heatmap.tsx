// Heatmap draws a histogram over time: one column per step, one cell per
// bucket, darker for more observations, and exemplars as dots in their
// buckets. uPlot draws the axes and the cursor; the cells are painted in
// its draw hook, as uPlot's own heatmap examples do.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { PromMatrixSeries } from '../api';
import { drawPoints, type Point } from './Chart';

/** Buckets over time: bounds[i] is bucket i's upper bound; counts[t][i] its observations at xs[t]. */
export interface HeatmapData {
  xs: number[];
  bounds: number[];
  counts: number[][];
}

/**
 * fromClassic builds heatmap data from a range query over classic buckets
 * (series with an `le` label, cumulative, as rate(x_bucket[...]) returns):
 * each cell is its bucket's share, the difference to the bucket below.
 */
export function fromClassic(series: PromMatrixSeries[]): HeatmapData | undefined {
  const byLe = new Map<number, Map<number, number>>();
  for (const s of series) {
    if (s.metric.le === undefined) return undefined;
    const le = s.metric.le === '+Inf' ? Infinity : parseFloat(s.metric.le);
    const m = byLe.get(le) ?? new Map<number, number>();
    for (const [t, v] of s.values ?? []) m.set(t, (m.get(t) ?? 0) + parseFloat(v));
    byLe.set(le, m);
  }
  if (!byLe.size) return undefined;
  const bounds = [...byLe.keys()].sort((a, b) => a - b);
  const xs = [...new Set([...byLe.values()].flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
  const counts = xs.map((t) => {
    let below = 0;
    return bounds.map((le) => {
      const c = byLe.get(le)!.get(t) ?? below;
      const d = Math.max(0, c - below);
      below = Math.max(below, c);
      return d;
    });
  });
  return { xs, bounds, counts };
}

/** fromNative builds heatmap data from a range query over native histograms, summing series. */
export function fromNative(series: PromMatrixSeries[]): HeatmapData | undefined {
  const cells = new Map<number, Map<number, number>>(); // t -> upper bound -> count
  for (const s of series) {
    for (const [t, h] of s.histograms ?? []) {
      const m = cells.get(t) ?? new Map<number, number>();
      for (const [, , upper, count] of h.buckets ?? []) {
        const u = parseFloat(upper);
        m.set(u, (m.get(u) ?? 0) + parseFloat(count));
      }
      cells.set(t, m);
    }
  }
  if (!cells.size) return undefined;
  const bounds = [...new Set([...cells.values()].flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
  const xs = [...cells.keys()].sort((a, b) => a - b);
  return { xs, bounds, counts: xs.map((t) => bounds.map((b) => cells.get(t)!.get(b) ?? 0)) };
}

/**
 * bucketRow returns the y position, in rows, of an observed value: the
 * middle of the row of the first bucket whose upper bound holds it.
 */
export function bucketRow(bounds: number[], value: number): number {
  const i = bounds.findIndex((b) => value <= b);
  return (i < 0 ? bounds.length - 1 : i) + 0.5;
}

/** Props of Heatmap. Points (exemplars) have y in the histogram's unit. */
export interface HeatmapProps {
  data: HeatmapData;
  height?: number;
  xRange?: [number, number];
  formatBound?: (v: number) => string;
  points?: Point[];
  onPointClick?: (p: Point) => void;
}

/** Heatmap renders data with y as bucket rows labelled by upper bound, and points in their buckets. */
export function Heatmap({ data, height = 240, xRange, formatBound = (v: number) => `${v}`, points, onPointClick }: HeatmapProps) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    // Blue, not the cells' red.
    const rowPoints = (points ?? []).map((p) => ({ ...p, y: bucketRow(data.bounds, p.y), color: '#1f6feb' }));
    const container = el.current!;
    let max = 0;
    for (const col of data.counts) for (const c of col) max = Math.max(max, c);
    const n = data.bounds.length;
    const step = data.xs.length > 1 ? data.xs[1] - data.xs[0] : 60;
    const opts: uPlot.Options = {
      width: container.clientWidth || 600,
      height,
      legend: { show: false },
      cursor: { points: { show: false } },
      scales: { x: { time: true, range: () => xRange ?? [data.xs[0] - step / 2, data.xs[data.xs.length - 1] + step / 2] }, y: { range: () => [0, n] } },
      axes: [
        {},
        {
          size: 70,
          splits: () => data.bounds.map((_, i) => i + 1).filter((_, i, a) => a.length <= 12 || i % Math.ceil(a.length / 12) === 0),
          values: (_u, vals) => vals.map((v) => (data.bounds[v - 1] === Infinity ? '+Inf' : formatBound(data.bounds[v - 1]))),
        },
      ],
      series: [{}, { paths: () => null, points: { show: false } }],
      hooks: {
        draw: [
          (u) => {
            const ctx = u.ctx;
            ctx.save();
            const w = Math.max(1, u.valToPos(step, 'x', true) - u.valToPos(0, 'x', true));
            const h = Math.abs(u.valToPos(1, 'y', true) - u.valToPos(0, 'y', true));
            data.xs.forEach((t, ti) => {
              const x = u.valToPos(t - step / 2, 'x', true);
              data.counts[ti].forEach((c, bi) => {
                if (c <= 0 || max === 0) return;
                const y = u.valToPos(bi + 1, 'y', true);
                // Intensity on a square-root scale, so rare buckets stay visible.
                const a = 0.12 + 0.88 * Math.sqrt(c / max);
                ctx.fillStyle = `rgba(229, 83, 61, ${a.toFixed(3)})`;
                ctx.fillRect(x, y, w - 1, h - 1);
              });
            });
            ctx.restore();
            drawPoints(u, rowPoints, (p) => onPointClick?.(p));
          },
        ],
      },
    };
    const u = new uPlot(opts, [data.xs, data.xs.map(() => null)], container);
    const ro = new ResizeObserver(() => container.clientWidth > 0 && u.setSize({ width: container.clientWidth, height }));
    ro.observe(container);
    return () => (ro.disconnect(), u.destroy());
  }, [data, points, height, xRange?.[0], xRange?.[1]]);
  return <div class="chart heatmap" ref={el} data-testid="heatmap" data-buckets={data.bounds.length} data-columns={data.xs.length} data-points={points?.length ?? 0} />;
}
