// A small router over the History API. The URL is the whole state of a view
// (path plus query parameters), so any view can be shared as a link.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { resolveRange, type Range } from './time';

/** Query parameters that every page carries over when the user moves on. */
export const globalParams = ['from', 'to', 'service'] as const;

/** Where the app is: the path and its query parameters. */
export interface Location {
  path: string;
  params: URLSearchParams;
}

const changeEvent = 'argus:navigate';

/** current reads the browser's location. */
export function current(): Location {
  return { path: window.location.pathname, params: new URLSearchParams(window.location.search) };
}

/** navigate moves to href; replace keeps the history entry (for edits of a form). */
export function navigate(href: string, replace = false): void {
  if (href === window.location.pathname + window.location.search) return;
  if (replace) window.history.replaceState(null, '', href);
  else window.history.pushState(null, '', href);
  window.dispatchEvent(new Event(changeEvent));
}

/** useLocation re-renders its component whenever the location changes. */
export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const update = () => setLoc(current());
    window.addEventListener('popstate', update);
    window.addEventListener(changeEvent, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(changeEvent, update);
    };
  }, []);
  return loc;
}

/**
 * href builds a link to path with params, keeping the global parameters
 * (time range, service filter) of the current location unless params sets
 * them. A parameter set to undefined or '' is left out.
 */
export function href(path: string, params: Record<string, string | number | undefined> = {}, from: URLSearchParams = current().params): string {
  const out = new URLSearchParams();
  for (const k of globalParams) {
    const v = from.get(k);
    if (v && !(k in params)) out.set(k, v);
  }
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== '') out.set(k, String(v));
  }
  const q = out.toString();
  return q ? `${path}?${q}` : path;
}

/** setParams replaces some query parameters of the current location. */
export function setParams(params: Record<string, string | undefined>, replace = false): void {
  const loc = current();
  const out = new URLSearchParams(loc.params);
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === '') out.delete(k);
    else out.set(k, v);
  }
  const q = out.toString();
  navigate(q ? `${loc.path}?${q}` : loc.path, replace);
}

/** match returns the path's parameters if path fits pattern ("/traces/:id"). */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/');
  const s = path.replace(/\/+$/, '').split('/');
  if (p.length !== s.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(':')) out[p[i].slice(1)] = decodeURIComponent(s[i]);
    else if (p[i] !== s[i]) return null;
  }
  return out;
}

/**
 * useRange resolves the time range of the current location. "now" is read
 * when the calling component mounts and when the range or the refresh
 * parameter changes, not at every other change of the URL (a filter being
 * typed), so panels do not reload on each keystroke.
 */
export function useRange(): Range {
  const { params } = useLocation();
  return useMemo(() => resolveRange(params), [params.get('from'), params.get('to'), params.get('r')]);
}
