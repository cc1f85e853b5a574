import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { describeFailure } from './api.ts';

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** Loads again now. */
  reload: () => void;
}

/**
 * The result of `load`, loaded when `deps` (or `everyMs`) change and again every `everyMs` when given. A load
 * still running when a newer one starts (or the view closes) is aborted and its answer dropped. A load that
 * fails drops the answer before it too: the view shows the error, never an older page, filter or reading
 * as if it were the current one (and a pager reads no `next_cursor` from it); `reload` asks again.
 */
export function useLoad<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: unknown[],
  everyMs?: number,
): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  const latest = useRef(load);
  latest.current = load;

  useEffect(() => {
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    latest
      .current(controller.signal)
      .then((data) => !controller.signal.aborted && setState({ data, error: undefined, loading: false }))
      .catch((error) => !controller.signal.aborted && setState({ data: undefined, error, loading: false }));
    const timer = everyMs === undefined ? undefined : setTimeout(reload, everyMs);
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [...deps, tick, everyMs]);

  return { ...state, reload };
}

/** The current time, updated every `everyMs`: for "12 s ago" labels. */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

// Whether the person has moved from view to view yet. On the page's first view, focus stays at
// the start of the document (where Tab reaches the skip link first), as on any page load.
let navigated = false;
addEventListener('hashchange', () => {
  navigated = true;
});

/**
 * Puts keyboard focus on the view's heading when the person opens another view, so focus (and a
 * screen reader) follows navigation instead of staying on a link that is gone.
 */
export function useFocusOnMount<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  useEffect(() => {
    if (navigated) ref.current?.focus();
  }, []);
  return ref;
}

/** How a change went, for a `Notice`. */
export interface Outcome {
  kind: 'error' | 'info' | 'success';
  text: string;
}

/**
 * Runs one change at a time (a retry, a replay, a PATCH): `busy` while it runs, then `outcome`
 * says how it went, and `after` runs (to read a list again). The work answers the text of its
 * success, an outcome of its own, or null for nothing to say; a failure becomes the API's words.
 *
 * @example
 * const { busy, outcome, run } = useChange(list.reload);
 * run(async () => { await api(apiKey).subscriptions.delete(id); return 'Deleted.'; });
 */
export function useChange(after?: () => void) {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const run = async (work: () => Promise<string | Outcome | null>) => {
    setBusy(true);
    setOutcome(null);
    try {
      const result = await work();
      setOutcome(typeof result === 'string' ? { kind: 'success', text: result } : result);
    } catch (err) {
      setOutcome({ kind: 'error', text: describeFailure(err) });
    } finally {
      setBusy(false);
      after?.();
    }
  };
  return { busy, outcome, setOutcome, run };
}
