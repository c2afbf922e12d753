// Jobs as a table (stacked cards on a phone): each row a `job-row` with the job's live status.

import { html } from '../html.js';
import { href } from '../router.js';
import { elapsed, formatDuration, formatTime, shortId } from '../format.js';
import { useRunbooks } from '../runbook-cache.js';
import { StatusBadge } from './status.js';
import { FailedAt } from './failed-at.js';
import { Empty } from './feedback.js';

/** A link to a runbook by its name (from the runbook cache), or its short id while unknown. */
export function RunbookCell({ id, runbook }) {
  const name = runbook ? runbook.name : null;
  return html`<a href=${href(`/runbooks/${encodeURIComponent(id)}`)}>${name || html`<span class="muted">…${shortId(id)}</span>`}</a>`;
}

/** `showRunbook` adds the runbook's name (resolved lazily through the runbook cache). */
export function JobTable({ jobs, showRunbook = true, empty = 'No jobs.' }) {
  const runbooks = useRunbooks(showRunbook ? jobs.map((j) => j.runbook_id) : []);
  if (!jobs.length) return html`<${Empty}>${empty}</${Empty}>`;
  return html`
    <div class="table-scroll">
      <table class="table table-cards">
        <thead>
          <tr>
            <th scope="col">Job</th>
            ${showRunbook ? html`<th scope="col">Runbook</th>` : null}
            <th scope="col">Status</th>
            <th scope="col">Created</th>
            <th scope="col">Created by</th>
            <th scope="col">Ended</th>
            <th scope="col">Duration</th>
          </tr>
        </thead>
        <tbody>
          ${jobs.map((job) => html`
            <tr key=${job.id} data-testid="job-row" data-id=${job.id} data-status=${job.status}>
              <td data-label="Job"><a href=${href(`/jobs/${encodeURIComponent(job.id)}`)} class="mono" title=${job.id}>${shortId(job.id)}</a>
                ${job.version !== undefined ? html` <span class="muted small">v${job.version}</span>` : null}</td>
              ${showRunbook ? html`<td data-label="Runbook"><${RunbookCell} id=${job.runbook_id} runbook=${runbooks[job.runbook_id]} /></td>` : null}
              <td data-label="Status"><${StatusBadge} status=${job.status} /><${FailedAt} failed=${job.failed_activity} /></td>
              <td data-label="Created" class="nowrap">${formatTime(job.created_at)}</td>
              <td data-label="Created by">${job.created_by}</td>
              <td data-label="Ended" class="nowrap">${formatTime(job.ended_at) || html`<span class="muted">—</span>`}</td>
              <td data-label="Duration">${job.ended_at ? formatDuration(elapsed(job.created_at, job.ended_at)) : ''}</td>
            </tr>`)}
        </tbody>
      </table>
    </div>`;
}
