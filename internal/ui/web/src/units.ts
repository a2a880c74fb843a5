// Value formatting by Grafana unit id, for the units dashboards use most.
import { fmtNum } from './components/Chart';

/** formatUnit writes v in unit (a Grafana unit id); unknown units fall back to a plain number. */
export function formatUnit(v: number, unit?: string): string {
  if (v === null || v === undefined || isNaN(v)) return '–';
  switch (unit) {
    case 's':
      return seconds(v);
    case 'ms':
      return seconds(v / 1000);
    case 'µs':
    case 'us':
      return seconds(v / 1e6);
    case 'ns':
      return seconds(v / 1e9);
    case 'percentunit':
      return `${+(v * 100).toPrecision(3)}%`;
    case 'percent':
      return `${+v.toPrecision(3)}%`;
    case 'bytes':
    case 'decbytes':
      return bytes(v);
    case 'reqps':
      return `${fmtNum(v)} req/s`;
    case 'ops':
      return `${fmtNum(v)} ops/s`;
    case 'cps':
      return `${fmtNum(v)}/s`;
    default:
      return fmtNum(v);
  }
}

function seconds(s: number): string {
  const a = Math.abs(s);
  if (a === 0) return '0';
  if (a >= 3600) return `${+(s / 3600).toPrecision(3)}h`;
  if (a >= 60) return `${+(s / 60).toPrecision(3)}m`;
  if (a >= 1) return `${+s.toPrecision(3)}s`;
  if (a >= 1e-3) return `${+(s * 1e3).toPrecision(3)}ms`;
  if (a >= 1e-6) return `${+(s * 1e6).toPrecision(3)}µs`;
  return `${+(s * 1e9).toPrecision(3)}ns`;
}

function bytes(b: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = b;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${+v.toPrecision(3)} ${units[i]}`;
}
