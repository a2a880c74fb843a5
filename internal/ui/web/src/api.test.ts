import { describe, expect, it } from 'vitest';
import { positionOf } from './api';

describe('positionOf', () => {
  it('reads the position of a PromQL parse error as the HTTP API words it', () => {
    expect(positionOf('invalid parameter "query": 1:17: parse error: unclosed left parenthesis', 'sum(rate(up[5m])')).toBe(16);
    expect(positionOf('1:3: parse error: unexpected', 'a +\nb')).toBe(2);
    expect(positionOf('2:1: parse error: unexpected', 'a +\nb')).toBe(4);
  });
  it('reads the position of a LogQL parse error', () => {
    const q = '{service_name="inventory"} |= ';
    expect(positionOf('parse error at line 1, col 31: syntax error: unexpected $end, expecting STRING', q)).toBe(30);
  });
  it('says nothing for errors without a position', () => {
    expect(positionOf('query timed out', 'up')).toBeUndefined();
  });
});
