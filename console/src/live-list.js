// A page of a list (jobs, instances) that stays current: statuses change as their events
// arrive, and new items appear at the top of the first page when they match the filters.

import { api } from './api.js';
import { useCallback } from './html.js';
import { useLoad } from './hooks.js';
import { useEvents } from './events.js';

/** Whether a new item an event announces (just made: its time is now) passes the filters. */
function matches(filters, event) {
  if (filters.runbook_id && filters.runbook_id !== event.runbook_id) return false;
  if (filters.status && filters.status !== event.status) return false;
  const now = Date.now();
  if (filters.since && new Date(filters.since).getTime() > now) return false;
  if (filters.until && new Date(filters.until).getTime() < now) return false;
  return true;
}

/**
 * GET `path` with `filters` ({runbook_id, status, since, until}), `limit` and `offset`, kept
 * live by the `eventName` events ({id, runbook_id, status, ...}). Returns { items,
 * nextOffset, error, loading, add(item) }.
 */
export function useLiveList(path, eventName, filters, limit, offset) {
  const key = JSON.stringify([path, filters, limit, offset]);
  const page = useLoad(() => api.get(path, { ...filters, limit, offset }), [key]);
  const { data, setData, refresh } = page;

  useEvents((name, event) => {
    if (name === 'lagged') {
      refresh();
      return;
    }
    if (name !== eventName || !data) return;
    const known = data.items.some((item) => item.id === event.id);
    if (known) {
      setData((d) => ({
        ...d,
        items: d.items.map((item) => (item.id === event.id ? { ...item, status: event.status } : item)),
      }));
      // Fetch the rest of what changed (ended_at, instance_id, returns); coalesced across a burst.
      refresh();
    } else if (offset === 0 && matches(filters, event)) {
      refresh();
    }
  });

  const add = useCallback((item) => {
    setData((d) => {
      if (!d || d.items.some((i) => i.id === item.id)) return d;
      return { ...d, items: [item, ...d.items].slice(0, limit) };
    });
  }, [limit]);

  return {
    items: data ? data.items : [],
    nextOffset: data ? data.next_offset : null,
    error: page.error,
    loading: page.loading,
    add,
  };
}

/** A page of GET /api/v1/jobs kept live by `job` events; `jobs` is its items. */
export function useLiveJobs(filters, limit, offset) {
  const live = useLiveList('/api/v1/jobs', 'job', filters, limit, offset);
  return { ...live, jobs: live.items };
}

/** A page of GET /api/v1/instances kept live by `instance` events; `instances` is its items. */
export function useLiveInstances(filters, limit, offset) {
  const live = useLiveList('/api/v1/instances', 'instance', filters, limit, offset);
  return { ...live, instances: live.items };
}
