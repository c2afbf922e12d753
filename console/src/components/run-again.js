// "Run again" on an ended job's page (and its instance's): POST /api/v1/jobs/{id}/rerun starts
// the runbook's latest version with the job's parameters, then the new instance is followed.

import { html, useState } from '../html.js';
import { api, seg } from '../api.js';
import { href } from '../router.js';
import { shortId } from '../format.js';
import { useFollowJob } from '../follow-job.js';
import { isActiveJob } from './status.js';
import { ErrorMessage } from './feedback.js';

const startedAgain = (job) => `Started version ${job.version} again (job ${shortId(job.id)}).`;

/** Shown only for an ended `job` whose `runbook` (detail, with can_start) the caller may start. */
export function RunAgain({ job, runbook }) {
  const [state, setState] = useState({ busy: false, error: null });
  const { following, follow } = useFollowJob();
  if (!job || isActiveJob(job.status) || !runbook || runbook.missing || runbook.can_start !== true) return null;

  const rerun = async () => {
    setState({ busy: true, error: null });
    try {
      const again = await api.post(`/api/v1/jobs/${seg(job.id)}/rerun`);
      follow(again, startedAgain(again));
      setState({ busy: false, error: null });
    } catch (error) {
      setState({ busy: false, error });
    }
  };
  return html`
    <div class="run-again">
      <button type="button" class="btn" data-testid="rerun-button" onClick=${rerun} disabled=${state.busy || !!following}>
        ${state.busy ? 'Starting…' : '↻ Run again'}</button>
      ${following ? html`
        <span class="notice notice-inline small" role="status" data-testid="rerun-started">
          ${startedAgain(following)}
          <a href=${href(`/jobs/${encodeURIComponent(following.id)}`)}>Its job</a> waits for a runbook server…</span>` : null}
      <${ErrorMessage} error=${state.error} testid="rerun-error" />
    </div>`;
}
