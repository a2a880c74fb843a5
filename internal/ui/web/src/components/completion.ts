// What to complete at the cursor of a PromQL or LogQL query: a metric or
// function name, a label name inside braces, or a label value after `=`.

/** The completion context at a cursor. from is where the replaced word starts. */
export type CompletionContext =
  | { kind: 'name'; prefix: string; from: number }
  | { kind: 'label'; metric: string; prefix: string; from: number; selector: string }
  | { kind: 'value'; metric: string; label: string; prefix: string; from: number; selector: string }
  | { kind: 'none' };

/**
 * completionContext reads text up to cursor. Inside braces it finds the
 * label being written or valued; outside, the identifier being typed.
 * selector is the text of the other matchers in the braces, to narrow the
 * values offered ({job="x", instance=|} offers instances of job x).
 */
export function completionContext(text: string, cursor: number): CompletionContext {
  const before = text.slice(0, cursor);
  // Find an unclosed '{' outside of strings.
  let open = -1;
  let inString: string | null = null;
  for (let i = 0; i < before.length; i++) {
    const c = before[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === inString) inString = null;
    } else if (c === '"' || c === '`' || c === "'") inString = c;
    else if (c === '{') open = i;
    else if (c === '}') open = -1;
  }
  if (open >= 0) {
    const metric = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*$/.exec(before.slice(0, open))?.[1] ?? '';
    const inside = before.slice(open + 1);
    const value = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)$/.exec(inside);
    if (value) {
      const selector = inside.slice(0, value.index).replace(/,\s*$/, '');
      return { kind: 'value', metric, label: value[1], prefix: value[3], from: cursor - value[3].length, selector };
    }
    if (inString) return { kind: 'none' };
    const label = /(^|[{,\s])([a-zA-Z_][a-zA-Z0-9_]*)?$/.exec(inside);
    if (label) {
      const prefix = label[2] ?? '';
      const selector = inside.slice(0, inside.length - prefix.length).replace(/,\s*$/, '');
      return { kind: 'label', metric, prefix, from: cursor - prefix.length, selector };
    }
    return { kind: 'none' };
  }
  if (inString) return { kind: 'none' };
  const word = /[a-zA-Z_:][a-zA-Z0-9_:]*$/.exec(before);
  if (!word) return { kind: 'none' };
  return { kind: 'name', prefix: word[0], from: cursor - word[0].length };
}

/** rank orders candidates: prefix matches first, then substring matches, each alphabetically. */
export function rank(candidates: Iterable<string>, prefix: string, max = 50): string[] {
  const p = prefix.toLowerCase();
  const starts: string[] = [];
  const contains: string[] = [];
  for (const c of candidates) {
    const l = c.toLowerCase();
    if (l === p) continue;
    if (l.startsWith(p)) starts.push(c);
    else if (p && l.includes(p)) contains.push(c);
  }
  starts.sort();
  contains.sort();
  return [...starts, ...contains].slice(0, max);
}

/** PromQL functions and aggregations, offered beside metric names. */
export const promqlFunctions = [
  'abs', 'absent', 'absent_over_time', 'avg', 'avg_over_time', 'bottomk', 'ceil', 'changes', 'clamp', 'clamp_max', 'clamp_min',
  'count', 'count_over_time', 'count_values', 'day_of_month', 'day_of_week', 'delta', 'deriv', 'exp', 'floor', 'group',
  'histogram_avg', 'histogram_count', 'histogram_fraction', 'histogram_quantile', 'histogram_sum', 'holt_winters', 'idelta',
  'increase', 'irate', 'label_join', 'label_replace', 'last_over_time', 'ln', 'log10', 'log2', 'max', 'max_over_time', 'min',
  'min_over_time', 'predict_linear', 'present_over_time', 'quantile', 'quantile_over_time', 'rate', 'resets', 'round',
  'scalar', 'sort', 'sort_desc', 'sqrt', 'stddev', 'stddev_over_time', 'stdvar', 'sum', 'sum_over_time', 'time',
  'timestamp', 'topk', 'vector', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset',
];

/** LogQL functions, aggregations and stages, offered outside braces. */
export const logqlKeywords = [
  'rate', 'count_over_time', 'bytes_over_time', 'bytes_rate', 'sum_over_time', 'avg_over_time', 'max_over_time',
  'min_over_time', 'quantile_over_time', 'first_over_time', 'last_over_time', 'absent_over_time', 'sum', 'avg', 'min',
  'max', 'count', 'topk', 'bottomk', 'by', 'without', 'json', 'logfmt', 'regexp', 'pattern', 'line_format', 'label_format',
  'drop', 'keep', 'unwrap', 'duration', 'bytes',
];
