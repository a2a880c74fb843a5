// QueryEditor is the PromQL/LogQL box: completion of names, labels and
// values, Enter to run, and the server's error marked at the place it names.
import { useEffect, useRef, useState } from 'preact/hooks';
import { APIError } from '../api';

/** Suggestions for the text at cursor: the words, and where the replaced word starts. */
export type Completer = (text: string, cursor: number, signal: AbortSignal) => Promise<{ from: number; items: string[] } | null>;

/** Props of QueryEditor. */
export interface QueryEditorProps {
  value: string;
  onChange: (v: string) => void;
  onRun: (v: string) => void;
  complete?: Completer;
  error?: Error;
  placeholder?: string;
  testId?: string;
}

/** QueryEditor renders a query box with completion and error marking. */
export function QueryEditor(p: QueryEditorProps) {
  const ta = useRef<HTMLTextAreaElement>(null);
  const [items, setItems] = useState<string[]>([]);
  const [from, setFrom] = useState(0);
  const [sel, setSel] = useState(0);
  const ctrl = useRef<AbortController | null>(null);
  const position = p.error instanceof APIError ? p.error.position : undefined;

  const rows = Math.min(8, Math.max(1, p.value.split('\n').length));

  async function suggest(text: string, cursor: number) {
    ctrl.current?.abort();
    if (!p.complete) return;
    const c = new AbortController();
    ctrl.current = c;
    try {
      const r = await p.complete(text, cursor, c.signal);
      if (c.signal.aborted) return;
      setItems(r?.items ?? []);
      setFrom(r?.from ?? cursor);
      setSel(0);
    } catch {
      if (!c.signal.aborted) setItems([]);
    }
  }

  function accept(item: string) {
    const el = ta.current!;
    const next = el.value.slice(0, from) + item + el.value.slice(el.selectionStart);
    // The text and the cursor are written now, not on the next frame: a key
    // typed before that frame would otherwise land where the cursor was.
    el.value = next;
    el.selectionStart = el.selectionEnd = from + item.length;
    el.focus();
    p.onChange(next);
    setItems([]);
  }

  function onKeyDown(e: KeyboardEvent) {
    if (items.length) {
      if (e.key === 'ArrowDown') return e.preventDefault(), setSel((sel + 1) % items.length);
      if (e.key === 'ArrowUp') return e.preventDefault(), setSel((sel - 1 + items.length) % items.length);
      if (e.key === 'Tab' || (e.key === 'Enter' && !e.shiftKey && !e.ctrlKey)) return e.preventDefault(), accept(items[sel]);
      if (e.key === 'Escape') return e.preventDefault(), setItems([]);
    }
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      setItems([]);
      p.onRun(p.value);
    }
  }

  useEffect(() => () => ctrl.current?.abort(), []);

  return (
    <div class="query-editor" data-testid={p.testId}>
      <div class="query-box">
        {position !== undefined && (
          <div class="query-mirror" aria-hidden="true">
            {p.value.slice(0, position)}
            <mark class="query-error-mark">{p.value.slice(position, position + 1) || ' '}</mark>
            {p.value.slice(position + 1)}
          </div>
        )}
        <textarea
          ref={ta}
          rows={rows}
          spellcheck={false}
          value={p.value}
          placeholder={p.placeholder}
          onInput={(e) => {
            const el = e.currentTarget;
            p.onChange(el.value);
            suggest(el.value, el.selectionStart);
          }}
          onKeyDown={onKeyDown}
          onBlur={() => setTimeout(() => setItems([]), 150)}
        />
        {items.length > 0 && (
          <ul class="completions" role="listbox">
            {items.map((it, i) => (
              <li key={it} role="option" aria-selected={i === sel} class={i === sel ? 'selected' : ''} onMouseDown={(e) => (e.preventDefault(), accept(it))}>
                {it}
              </li>
            ))}
          </ul>
        )}
      </div>
      {p.error && (
        <div class="error query-error" role="alert" data-testid="query-error">
          {position !== undefined && <pre class="query-caret">{caretLine(p.value, position)}</pre>}
          {p.error.message}
        </div>
      )}
    </div>
  );
}

/** caretLine draws the line of the query at position with a caret under it. */
export function caretLine(query: string, position: number): string {
  const lineStart = query.lastIndexOf('\n', position - 1) + 1;
  let lineEnd = query.indexOf('\n', position);
  if (lineEnd < 0) lineEnd = query.length;
  return `${query.slice(lineStart, lineEnd)}\n${' '.repeat(position - lineStart)}^`;
}
