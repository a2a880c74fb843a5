import { describe, expect, it } from 'vitest';
import { allValue, interpolate, valuesFromURL, type Variable } from './model';

const vars: Variable[] = [
  { name: 'service', type: 'query', source: 'prometheus', labelName: 'service_name' },
  { name: 'quantile', type: 'custom', options: ['0.99', '0.5'] },
];
const b = { step: 15, rangeSeconds: 3600 };

describe('interpolate', () => {
  it('puts one value in as is, in every syntax Grafana takes', () => {
    const v = { service: ['inventory'] };
    expect(interpolate('rate(x{s="$service"}[$__rate_interval])', v, vars, b)).toBe('rate(x{s="inventory"}[60s])');
    expect(interpolate('${service} [[service]] $quantile', v, vars, b)).toBe('inventory inventory 0.99');
  });
  it('turns several values into an escaped alternation, and All into .*', () => {
    expect(interpolate('x{s=~"$service"}', { service: ['a.b', 'c'] }, vars, b)).toBe('x{s=~"(a\\.b|c)"}');
    expect(interpolate('x{s=~"$service"}', { service: [allValue] }, vars, b)).toBe('x{s=~".*"}');
  });
  it('leaves unknown variables and fills the built-ins', () => {
    expect(interpolate('$nope $__interval $__range', {}, vars, b)).toBe('$nope 15s 3600s');
  });
});

describe('valuesFromURL', () => {
  it('reads var- parameters, repeated for several values', () => {
    expect(valuesFromURL(new URLSearchParams('var-service=a&var-service=b&from=now-1h&var-q=1'))).toEqual({ service: ['a', 'b'], q: ['1'] });
  });
});
