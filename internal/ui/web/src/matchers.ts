// Alertmanager's matcher syntax, as amtool and the silence form take it:
// {alertname="HighErrors", service=~"inv.*"} (braces optional).
import type { Silence } from './api';

/** A parsed matcher in the Alertmanager API v2's shape. */
export type Matcher = Silence['matchers'][number];

/** parseMatchers reads a list of matchers, or throws an error naming what is wrong. */
export function parseMatchers(text: string): Matcher[] {
  let s = text.trim();
  if (s.startsWith('{')) {
    if (!s.endsWith('}')) throw new Error('missing closing "}"');
    s = s.slice(1, -1);
  }
  const out: Matcher[] = [];
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|[^,\s"]+)\s*(,|$)/y;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) throw new Error(`bad matcher at "${s.slice(pos).trim()}": want name="value", name!="value", name=~"regex" or name!~"regex"`);
    const value = m[3].startsWith('"') ? (JSON.parse(m[3]) as string) : m[3];
    out.push({ name: m[1], value, isRegex: m[2].includes('~'), isEqual: !m[2].startsWith('!') });
    pos = re.lastIndex;
  }
  if (!out.length) throw new Error('no matchers: a silence needs at least one');
  return out;
}

/** formatMatchers writes matchers back in the same syntax. */
export function formatMatchers(ms: Matcher[]): string {
  const op = (m: Matcher) => (m.isEqual === false ? (m.isRegex ? '!~' : '!=') : m.isRegex ? '=~' : '=');
  return `{${ms.map((m) => `${m.name}${op(m)}${JSON.stringify(m.value)}`).join(', ')}}`;
}
