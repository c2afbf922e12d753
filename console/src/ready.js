// The test and benchmark hook: a page says when its primary data is on screen.

import { useEffect } from './html.js';

export function markReady(routeName) {
  performance.mark(`scorch:ready:${routeName}`);
  document.body.dataset.ready = routeName;
}

export function resetReady() {
  document.body.dataset.ready = '';
}

/**
 * Marks `routeName` ready once `ready` turns true (again after it was false, or when `key`
 * changes: a page whose data needs no loading passes its route's query, so that a new query
 * marks it again).
 */
export function useReady(routeName, ready, key) {
  useEffect(() => {
    if (ready) markReady(routeName);
  }, [routeName, ready, key]);
}
