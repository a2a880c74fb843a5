import { describe, expect, it } from 'vitest';
import { formatMatchers, parseMatchers } from './matchers';

describe('parseMatchers', () => {
  it('reads every operator, quoted and bare values, with or without braces', () => {
    expect(parseMatchers('{alertname="High, errors", service=~"inv.*", env!=dev, team!~"a|b"}')).toEqual([
      { name: 'alertname', value: 'High, errors', isRegex: false, isEqual: true },
      { name: 'service', value: 'inv.*', isRegex: true, isEqual: true },
      { name: 'env', value: 'dev', isRegex: false, isEqual: false },
      { name: 'team', value: 'a|b', isRegex: true, isEqual: false },
    ]);
    expect(parseMatchers('job="x"')).toHaveLength(1);
  });
  it('names what is wrong', () => {
    expect(() => parseMatchers('{job="x"')).toThrow('missing closing "}"');
    expect(() => parseMatchers('job=="x"')).toThrow('bad matcher at "job=="x""');
    expect(() => parseMatchers('{}')).toThrow('no matchers');
  });
  it('round-trips through formatMatchers', () => {
    const text = '{alertname="A", service=~"inv.*", env!="dev", team!~"a|b"}';
    expect(formatMatchers(parseMatchers(text))).toBe(text);
  });
});
