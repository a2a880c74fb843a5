// Chart draws time series with uPlot, plus optional points (exemplars, or
// traces on a duration-over-time scatter plot) that can be clicked.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** A line of the chart: values aligned with the chart's x values (null for gaps). */
export interface Line {
  label: string;
  values: (number | null)[];
  color?: string;
}

/** A clickable point drawn over the lines. x is in seconds. */
export interface Point {
  x: number;
  y: number;
  color?: string;
  radius?: number;
  title: string;
  key: string;
}

/** Props of Chart. xs are seconds since the epoch. */
export interface ChartProps {
  xs: number[];
  lines: Line[];
  points?: Point[];
  height?: number;
  /** Fixed x range in seconds; default is the data's. */
  xRange?: [number, number];
  yLabel?: string;
  formatY?: (v: number) => string;
  stacked?: boolean;
  bars?: boolean;
  onPointClick?: (p: Point) => void;
  /** Called with the selected x range (seconds) when the user drags over the chart. */
  onSelect?: (from: number, to: number) => void;
  sparkline?: boolean;
}

const palette = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

/** lineColor picks the i-th color of the palette. */
export function lineColor(i: number): string {
  return palette[i % palette.length];
}

/** Chart renders a uPlot chart that follows its container's width. */
export function Chart(props: ChartProps) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latest = useRef(props);
  latest.current = props;

  useEffect(() => {
    const container = el.current!;
    const { xs, lines, height = 220, sparkline } = props;
    const stacked = props.stacked ?? false;
    const data: uPlot.AlignedData = [xs, ...stackValues(lines, stacked)];
    const opts: uPlot.Options = {
      width: container.clientWidth || 600,
      height,
      legend: { show: !sparkline && lines.length > 0 && lines.length <= 12 },
      cursor: sparkline ? { show: false } : { drag: { x: true, y: false, setScale: false } },
      select: { show: !sparkline, left: 0, top: 0, width: 0, height: 0 },
      axes: sparkline
        ? [{ show: false }, { show: false }]
        : [{}, { label: props.yLabel, size: 60, values: (_u, vals) => vals.map((v) => (latest.current.formatY ?? fmtNum)(v)) }],
      scales: {
        x: { time: true, ...(props.xRange ? { range: () => props.xRange! } : {}) },
        y: { range: (_u, min, max) => yRange(min, max, latest.current.points) },
      },
      series: [
        {},
        ...lines.map((l, i) => ({
          label: l.label,
          stroke: l.color ?? lineColor(i),
          fill: stacked || props.bars ? (l.color ?? lineColor(i)) + (props.bars ? 'cc' : '55') : undefined,
          width: sparkline ? 1.25 : 1.5,
          points: { show: false },
          spanGaps: false,
          paths: props.bars ? uPlot.paths.bars!({ size: [0.9, 40] }) : undefined,
        })),
      ],
      hooks: {
        draw: [
          (u) => drawPoints(u, latest.current.points ?? [], (p) => latest.current.onPointClick?.(p)),
        ],
        setSelect: [
          (u) => {
            if (u.select.width < 5) return;
            const from = u.posToVal(u.select.left, 'x');
            const to = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            latest.current.onSelect?.(from, to);
          },
        ],
      },
    };
    const u = new uPlot(opts, data, container);
    plot.current = u;
    const ro = new ResizeObserver(() => {
      if (container.clientWidth > 0) u.setSize({ width: container.clientWidth, height });
    });
    ro.observe(container);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // A new shape of data (other series, style) needs a new plot; values alone update below.
  }, [props.lines.map((l) => `${l.label}\u0000${l.color ?? ''}`).join('\u0001'), props.stacked, props.bars, props.height, props.sparkline, props.xRange?.[0], props.xRange?.[1]]);

  useEffect(() => {
    plot.current?.setData([props.xs, ...stackValues(props.lines, props.stacked ?? false)]);
  }, [props.xs, props.lines, props.points]);

  return <div class={props.sparkline ? 'chart sparkline' : 'chart'} ref={el} data-points={props.points?.length ?? 0} />;
}

/** At most this many points get a button; more would cost more DOM than they help. */
const maxPointButtons = 500;

/**
 * drawPoints paints pts on u's canvas as dots, in u's x and y scales, and
 * makes each one clickable. Charts and heatmaps call it from their draw
 * hook.
 */
export function drawPoints(u: uPlot, pts: Point[], onClick: (p: Point) => void) {
  placeButtons(u, pts, onClick);
  if (!pts.length) return;
  const ctx = u.ctx;
  ctx.save();
  ctx.beginPath();
  ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
  ctx.clip();
  for (const p of pts) {
    const x = u.valToPos(p.x, 'x', true);
    const y = u.valToPos(p.y, 'y', true);
    ctx.beginPath();
    ctx.arc(x, y, (p.radius ?? 4) * devicePixelRatio, 0, 2 * Math.PI);
    ctx.fillStyle = (p.color ?? '#e5533d') + 'cc';
    ctx.strokeStyle = '#ffffff';
    ctx.fill();
    ctx.stroke();
  }
  ctx.restore();
}

/**
 * placeButtons lays a transparent button over each drawn point, so a point
 * can be clicked, hovered for its title, reached by keyboard and found by
 * tests, while the canvas does the drawing.
 */
function placeButtons(u: uPlot, pts: Point[], onClick: (p: Point) => void) {
  let layer = u.over.querySelector<HTMLDivElement>('.chart-points');
  if (!layer) {
    layer = document.createElement('div');
    layer.className = 'chart-points';
    u.over.appendChild(layer);
  }
  const w = u.over.clientWidth;
  const h = u.over.clientHeight;
  const buttons: HTMLButtonElement[] = [];
  for (const p of pts) {
    if (buttons.length >= maxPointButtons) break;
    const left = u.valToPos(p.x, 'x');
    const top = u.valToPos(p.y, 'y');
    if (!(left >= 0 && left <= w && top >= 0 && top <= h)) continue;
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'chart-point';
    b.style.left = `${left}px`;
    b.style.top = `${top}px`;
    b.title = p.title;
    b.setAttribute('aria-label', p.title);
    b.dataset.testid = 'chart-point';
    b.dataset.key = p.key;
    b.addEventListener('mousedown', (e) => e.stopPropagation()); // not the start of a range selection
    b.addEventListener('click', () => onClick(p));
    buttons.push(b);
  }
  layer.replaceChildren(...buttons);
}

function stackValues(lines: Line[], stacked: boolean): (number | null)[][] {
  if (!stacked) return lines.map((l) => l.values);
  const out: (number | null)[][] = [];
  const acc: number[] = [];
  for (const l of lines) {
    out.push(l.values.map((v, i) => (acc[i] = (acc[i] ?? 0) + (v ?? 0))));
  }
  return out;
}

function yRange(min: number | null, max: number | null, points?: Point[]): uPlot.Range.MinMax {
  let lo = min ?? 0;
  let hi = max ?? 1;
  for (const p of points ?? []) {
    lo = Math.min(lo, p.y);
    hi = Math.max(hi, p.y);
  }
  if (lo > 0) lo = 0;
  if (hi <= lo) hi = lo + 1;
  return [lo, hi + (hi - lo) * 0.05];
}

/** fmtNum writes a number compactly: 1.2k, 3.4M, 0.012. */
export function fmtNum(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toFixed(2)}k`;
  if (a === 0) return '0';
  if (a < 0.001) return v.toExponential(1);
  return `${+v.toPrecision(3)}`;
}
