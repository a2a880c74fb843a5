// useAsync runs a loader whenever its inputs change, cancelling the previous
// run, and reports loading, data and error for the panel that shows them.
import { useEffect, useState } from 'preact/hooks';

/** The state of one asynchronous load. */
export interface AsyncState<T> {
  data?: T;
  error?: Error;
  loading: boolean;
}

/** useAsync calls load(signal) whenever deps change; a newer call aborts the older one. */
export function useAsync<T>(load: ((signal: AbortSignal) => Promise<T>) | null, deps: unknown[]): AsyncState<T> {
  const [state, setState] = useState<AsyncState<T>>({ loading: load !== null });
  useEffect(() => {
    if (!load) {
      setState({ loading: false });
      return;
    }
    const ctrl = new AbortController();
    setState((s) => ({ data: s.data, loading: true }));
    load(ctrl.signal).then(
      (data) => !ctrl.signal.aborted && setState({ data, loading: false }),
      (error: Error) => !ctrl.signal.aborted && setState({ error, loading: false }),
    );
    return () => ctrl.abort();
  }, deps);
  return state;
}
