// After a start: the new job's instance page, as soon as the instance exists, where the run is
// watched live. Until then the page that started the job says it waits for a runbook server;
// what it said goes along to the instance page (a one-time notice there).

import { api } from './api.js';
import { useCallback, useEffect, useRef, useState } from './html.js';
import { useEvents } from './events.js';
import { navigate } from './router.js';

let notice = '';

/** The notice the last start left for the instance page it went to, once; '' when none. */
export function takeNotice() {
  const text = notice;
  notice = '';
  return text;
}

/**
 * { following, follow(job, said) }: `follow` goes to the job's instance once it is there (its
 * `instance` event, or a look when the stream may have missed it), where `said` is shown;
 * `following` is the job waited for, null before.
 */
export function useFollowJob() {
  const [following, setFollowing] = useState(null);
  const ref = useRef(null);
  const said = useRef('');
  const goTo = useCallback((instanceId) => {
    ref.current = null; // once there, done following
    notice = said.current;
    navigate(`/instances/${encodeURIComponent(instanceId)}`);
  }, []);
  const look = useCallback(async (jobId) => {
    try {
      const page = await api.get('/api/v1/instances', { job_id: jobId, limit: 1 });
      if (ref.current === jobId && page.items.length) goTo(page.items[0].id);
    } catch {
      // The job's events still lead there; its page is linked meanwhile.
    }
  }, []);

  // A look still in flight when the page is left must not take the person away from the next.
  useEffect(() => () => {
    ref.current = null;
  }, []);

  useEvents((name, event) => {
    const jobId = ref.current;
    if (!jobId) return;
    if (name === 'instance' && event.job_id === jobId) goTo(event.id);
    else if (name === 'lagged' || (name === 'job' && event.id === jobId && event.status !== 'pending')) look(jobId);
  });

  const follow = useCallback((job, text) => {
    ref.current = job.id;
    said.current = text;
    setFollowing(job);
    if (job.instance_id) goTo(job.instance_id);
    else look(job.id);
  }, []);
  return { following, follow };
}
