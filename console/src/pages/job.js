// One job: its fields and status (live), its instance(s) (where a failed one failed), Cancel
// while it is pending or running and Run again once it has ended, for those who may start the
// runbook.

import { html, useEffect, useState } from '../html.js';
import { api, seg } from '../api.js';
import { useLoad } from '../hooks.js';
import { useEvents } from '../events.js';
import { useReady } from '../ready.js';
import { href } from '../router.js';
import { elapsed, formatDuration, formatTime, shortId } from '../format.js';
import { getRunbook } from '../runbook-cache.js';
import { KeyValues } from '../components/key-values.js';
import { RunAgain } from '../components/run-again.js';
import { StatusBadge, isActiveJob } from '../components/status.js';
import { FailedAt } from '../components/failed-at.js';
import { Empty, ErrorMessage, Loading } from '../components/feedback.js';

function Instances({ instances }) {
  if (!instances.length) return html`<${Empty}>No instance yet: the job waits for a runbook server.</${Empty}>`;
  return html`
    <div class="table-scroll">
      <table class="table table-cards">
        <thead><tr><th scope="col">Instance</th><th scope="col">Status</th><th scope="col">Server</th>
          <th scope="col">Started</th><th scope="col">Ended</th><th scope="col">Duration</th></tr></thead>
        <tbody>
          ${instances.map((i) => html`
            <tr key=${i.id} data-testid="instance-row" data-id=${i.id} data-status=${i.status}>
              <td data-label="Instance"><a data-testid="instance-link" href=${href(`/instances/${encodeURIComponent(i.id)}`)}
                class="mono">${shortId(i.id)}</a></td>
              <td data-label="Status"><${StatusBadge} status=${i.status} /><${FailedAt} failed=${i.failed_activity} /></td>
              <td data-label="Server">${i.server}</td>
              <td data-label="Started">${formatTime(i.started_at)}</td>
              <td data-label="Ended">${formatTime(i.ended_at) || html`<span class="muted">—</span>`}</td>
              <td data-label="Duration">${i.ended_at ? formatDuration(elapsed(i.started_at, i.ended_at)) : ''}</td>
            </tr>`)}
        </tbody>
      </table>
    </div>`;
}

export function JobPage({ id }) {
  const job = useLoad(() => api.get(`/api/v1/jobs/${seg(id)}`), [id]);
  const instances = useLoad(() => api.get('/api/v1/instances', { job_id: id, limit: 50 }), [id]);
  const [runbook, setRunbook] = useState(null);
  const [cancel, setCancel] = useState({ busy: false, error: null });
  useReady('job', !job.loading && !instances.loading);

  const runbookId = job.data ? job.data.runbook_id : null;
  useEffect(() => {
    if (runbookId) getRunbook(runbookId).then(setRunbook, () => {});
  }, [runbookId]);

  useEvents((name, event) => {
    if (name === 'lagged') {
      job.refresh();
      instances.refresh();
    } else if (name === 'job' && event.id === id) {
      job.setData((j) => (j ? { ...j, status: event.status } : j));
      job.refresh();
    } else if (name === 'instance' && event.job_id === id) {
      instances.refresh();
    }
  });

  if (job.loading) return html`<${Loading} what="the job" />`;
  if (job.error) {
    return html`<div class="page"><h1>Job</h1><${ErrorMessage} error=${job.error} />
      <p><a href=${href('/jobs')}>Back to the jobs</a></p></div>`;
  }
  const j = job.data;
  const canCancel = isActiveJob(j.status) && runbook && runbook.can_start === true && !runbook.missing;

  const doCancel = async () => {
    setCancel({ busy: true, error: null });
    try {
      const updated = await api.post(`/api/v1/jobs/${seg(id)}/cancel`);
      if (updated && updated.id) job.setData(updated);
      setCancel({ busy: false, error: null });
      job.refresh();
    } catch (error) {
      setCancel({ busy: false, error });
    }
  };

  const fields = {
    Runbook: html`<a href=${href(`/runbooks/${encodeURIComponent(j.runbook_id)}`)}>${runbook ? runbook.name : shortId(j.runbook_id)}</a>`,
    Version: `v${j.version}`,
    Created: formatTime(j.created_at),
    'Created by': j.created_by,
    'Runbook server': j.claimed_by || '—',
    Ended: formatTime(j.ended_at) || '—',
    Duration: j.ended_at ? formatDuration(elapsed(j.created_at, j.ended_at)) : '—',
  };
  if (j.parent_job) {
    fields['Started by job'] = html`<a href=${href(`/jobs/${encodeURIComponent(j.parent_job)}`)} class="mono">${shortId(j.parent_job)}</a>`;
  }
  if (j.cancel_requested) fields['Cancel requested'] = 'yes';

  return html`
    <div class="page page-job">
      <nav class="crumbs" aria-label="Breadcrumb"><a href=${href('/jobs')}>Jobs</a></nav>
      <div class="page-head">
        <h1>Job <span class="mono">${shortId(j.id)}</span></h1>
        <div class="head-meta">
          <span class="sr-only">Status:</span><${StatusBadge} status=${j.status} testid="job-status" />
          ${canCancel ? html`
            <button type="button" class="btn btn-danger" data-testid="cancel-button" onClick=${doCancel}
              disabled=${cancel.busy || j.cancel_requested}>${j.cancel_requested ? 'Canceling…' : 'Cancel job'}</button>` : null}
          <${RunAgain} job=${j} runbook=${runbook} />
        </div>
      </div>
      <${ErrorMessage} error=${cancel.error} />
      <div class="columns">
        <section class="card" aria-labelledby="job-fields">
          <h2 id="job-fields" class="h-small">Details</h2>
          <${KeyValues} values=${fields} />
          <p class="muted small mono">${j.id}</p>
        </section>
        <section class="card" aria-labelledby="job-params">
          <h2 id="job-params" class="h-small">Parameters</h2>
          <${KeyValues} values=${j.parameters} empty="No parameters given." />
        </section>
      </div>
      <section class="card" aria-labelledby="job-instances">
        <h2 id="job-instances" class="h-small">Instances</h2>
        ${instances.loading ? html`<${Loading} />` : null}
        <${ErrorMessage} error=${instances.error} />
        ${instances.data ? html`<${Instances} instances=${instances.data.items} />` : null}
      </section>
    </div>`;
}
