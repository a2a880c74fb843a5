// TimePicker edits the global time range, kept in the URL as from/to.
import { useState } from 'preact/hooks';
import { setParams, useLocation } from '../router';
import { formatTime, parseTime, quickRanges } from '../time';

/** TimePicker shows the current range with quick choices and free from/to fields. */
export function TimePicker() {
  const { params } = useLocation();
  const from = params.get('from') ?? 'now-1h';
  const to = params.get('to') ?? 'now';
  const [open, setOpen] = useState(false);
  const [f, setF] = useState(from);
  const [t, setT] = useState(to);
  const quick = quickRanges.find(([v]) => v === from && to === 'now');
  const label = quick ? quick[1] : `${show(from)} to ${show(to)}`;
  const invalid = isNaN(parseTime(f)) || isNaN(parseTime(t));

  return (
    <div class="time-picker">
      <button type="button" data-testid="time-picker" onClick={() => (setF(from), setT(to), setOpen(!open))}>
        {label}
      </button>
      <button type="button" title="Refresh" onClick={() => setParams({ r: String(Date.now()) }, true)}>
        ↻
      </button>
      {open && (
        <div class="time-menu">
          <form
            onSubmit={(e) => {
              e.preventDefault();
              if (invalid) return;
              setParams({ from: f, to: t === 'now' ? undefined : t });
              setOpen(false);
            }}
          >
            <label>
              From <input value={f} onInput={(e) => setF(e.currentTarget.value)} />
            </label>
            <label>
              To <input value={t} onInput={(e) => setT(e.currentTarget.value)} />
            </label>
            <button type="submit" disabled={invalid}>
              Apply
            </button>
          </form>
          <ul>
            {quickRanges.map(([v, l]) => (
              <li key={v}>
                <a
                  href="#"
                  onClick={(e) => {
                    e.preventDefault();
                    setParams({ from: v, to: undefined });
                    setOpen(false);
                  }}
                >
                  {l}
                </a>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

function show(v: string): string {
  return /^\d+$/.test(v) ? formatTime(parseInt(v, 10)).slice(0, 19) : v;
}
