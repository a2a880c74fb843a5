import { describe, expect, it } from 'vitest';
import { completionContext, rank } from './completion';

const at = (s: string) => completionContext(s.replace('|', ''), s.indexOf('|'));

describe('completionContext', () => {
  it('completes a metric name outside braces', () => {
    expect(at('sum(rate(http_req|')).toEqual({ kind: 'name', prefix: 'http_req', from: 9 });
  });
  it('completes a label name inside braces, with the metric and other matchers', () => {
    expect(at('up{job="a", inst|')).toEqual({ kind: 'label', metric: 'up', prefix: 'inst', from: 12, selector: 'job="a"' });
    expect(at('{|')).toMatchObject({ kind: 'label', metric: '', prefix: '' });
  });
  it('completes a label value after a matcher', () => {
    expect(at('up{job="a", instance=~"loc|')).toEqual({
      kind: 'value', metric: 'up', label: 'instance', prefix: 'loc', from: 23, selector: 'job="a"',
    });
  });
  it('offers nothing inside a string outside braces or after a closed selector value', () => {
    expect(at('{a="x"} |= "err|')).toEqual({ kind: 'none' });
    expect(at('up{job="a"}|')).toEqual({ kind: 'none' });
  });
  it('ignores braces inside strings', () => {
    expect(at('{a="{"} |= "}" or |')).toEqual({ kind: 'none' });
    expect(at('{a="{", b|')).toMatchObject({ kind: 'label', prefix: 'b' });
  });
});

describe('rank', () => {
  it('puts prefix matches before substring matches and drops exact ones', () => {
    expect(rank(['rate', 'irate', 'rates', 'sum'], 'rate')).toEqual(['rates', 'irate']);
  });
});
