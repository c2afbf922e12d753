// A page of jobs that stays current: statuses change as `job` events arrive, and new jobs
// appear at the top of the first page when they match the filters.

import { api } from './api.js';
import { useCallback } from './html.js';
import { useLoad } from './hooks.js';
import { useEvents } from './events.js';

function matches(filters, event) {
  if (filters.runbook_id && filters.runbook_id !== event.runbook_id) return false;
  if (filters.status && filters.status !== event.status) return false;
  if (filters.until && new Date(filters.until).getTime() < Date.now()) return false;
  return true;
}

/**
 * GET /api/v1/jobs with `filters` ({runbook_id, status, since, until}), `limit` and `offset`,
 * kept live. Returns { jobs, nextOffset, error, loading, add(job) }.
 */
export function useLiveJobs(filters, limit, offset) {
  const key = JSON.stringify([filters, limit, offset]);
  const page = useLoad(() => api.get('/api/v1/jobs', { ...filters, limit, offset }), [key]);
  const { data, setData, refresh } = page;

  useEvents((name, event) => {
    if (name === 'lagged') {
      refresh();
      return;
    }
    if (name !== 'job' || !data) return;
    const known = data.items.some((j) => j.id === event.id);
    if (known) {
      setData((d) => ({
        ...d,
        items: d.items.map((j) => (j.id === event.id ? { ...j, status: event.status } : j)),
      }));
      // Fetch the rest of what changed (ended_at, instance_id); coalesced across a burst.
      refresh();
    } else if (offset === 0 && matches(filters, event)) {
      refresh();
    }
  });

  const add = useCallback((job) => {
    setData((d) => {
      if (!d || d.items.some((j) => j.id === job.id)) return d;
      return { ...d, items: [job, ...d.items].slice(0, limit) };
    });
  }, [limit]);

  return {
    jobs: data ? data.items : [],
    nextOffset: data ? data.next_offset : null,
    error: page.error,
    loading: page.loading,
    add,
  };
}
