import { describe, expect, it } from 'vitest';
import { align, redQueries, seriesName } from './red';

describe('align', () => {
  it('puts samples of a step-aligned range query on shared x values', () => {
    // 10:00:07 to 10:01:07 with a 15 s step: evaluation at :00, :15, ...
    const start = Date.UTC(2026, 0, 1, 10, 0, 7);
    const end = start + 60_000;
    const t0 = Date.UTC(2026, 0, 1, 10, 0, 0) / 1000;
    const a = align([{ metric: { job: 'a' }, values: [[t0 + 15, '1'], [t0 + 45, '3']] }], start, end, 15);
    expect(a.xs).toEqual([t0, t0 + 15, t0 + 30, t0 + 45, t0 + 60]);
    expect(a.series[0].values).toEqual([null, 1, null, 3, null]);
  });
});

describe('redQueries', () => {
  it('groups by the given label and filters entry spans', () => {
    const q = redQueries('span_name', '5m', 'service_name="x"');
    expect(q.rate).toBe('sum by (span_name) (rate(traces_span_metrics_calls_total{span_kind=~"SPAN_KIND_SERVER|SPAN_KIND_CONSUMER", service_name="x"}[5m]))');
    expect(q.p99).toContain('histogram_quantile(0.99, sum by (span_name)');
  });
});

describe('seriesName', () => {
  it('writes labels as Prometheus does', () => {
    expect(seriesName({ __name__: 'up', job: 'a"b' })).toBe('up{job="a\\"b"}');
    expect(seriesName({ __name__: 'up' })).toBe('up');
    expect(seriesName({})).toBe('{}');
  });
});
