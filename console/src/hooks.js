// Small hooks shared by the pages: loading data, coalesced refreshes, timers, debouncing.

import { useCallback, useEffect, useRef, useState } from './html.js';

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn` now, or once more after the run in flight when called during one (at least
 * `gapMs` later): a burst of live events costs at most two fetches.
 */
export function useCoalesced(fn, gapMs = 250) {
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const state = useRef({ running: false, pending: false });
  return useCallback(async () => {
    const s = state.current;
    if (s.running) {
      s.pending = true;
      return;
    }
    s.running = true;
    try {
      for (;;) {
        s.pending = false;
        await fnRef.current();
        if (!s.pending) break;
        await pause(gapMs);
      }
    } finally {
      s.running = false;
    }
  }, [gapMs]);
}

/**
 * Loads data with `loader()` whenever `deps` change. Returns { data, error, loading, reload,
 * refresh, setData }: `reload` shows the loading state again, `refresh` (coalesced) keeps the
 * data on screen while it fetches, for live updates.
 */
export function useLoad(loader, deps) {
  const [state, setState] = useState({ data: undefined, error: null, loading: true });
  const loaderRef = useRef(loader);
  loaderRef.current = loader;
  const generation = useRef(0);

  const run = useCallback(async (quiet) => {
    const mine = ++generation.current;
    if (!quiet) setState({ data: undefined, error: null, loading: true });
    try {
      const data = await loaderRef.current();
      if (mine === generation.current) setState({ data, error: null, loading: false });
    } catch (error) {
      if (mine === generation.current) {
        setState((s) => ({ data: quiet ? s.data : undefined, error, loading: false }));
      }
    }
  }, []);

  useEffect(() => {
    run(false);
    return () => {
      generation.current += 1;
    };
  }, deps);

  const refresh = useCoalesced(() => run(true));
  const setData = useCallback((update) => {
    setState((s) => ({ ...s, data: typeof update === 'function' ? update(s.data) : update }));
  }, []);
  return { ...state, reload: () => run(false), refresh, setData };
}

/** Calls `fn` every `ms` milliseconds while mounted (the latest `fn`); `ms` null pauses. */
export function useInterval(fn, ms) {
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    if (ms === null || ms === undefined) return undefined;
    const timer = setInterval(() => fnRef.current(), ms);
    return () => clearInterval(timer);
  }, [ms]);
}

/** `value`, once it has stopped changing for `ms` milliseconds. */
export function useDebounced(value, ms) {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/** Re-renders every `ms` milliseconds (for ages and running durations); null pauses. */
export function useTick(ms) {
  const [, setTick] = useState(0);
  useInterval(() => setTick((t) => t + 1), ms);
}
