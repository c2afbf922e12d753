// Instances as a table (stacked cards on a phone): each row an `instance-row` with the
// instance's live status; running ones count their duration up.

import { html } from '../html.js';
import { href } from '../router.js';
import { useTick } from '../hooks.js';
import { elapsed, formatDuration, formatTime, shortId } from '../format.js';
import { useRunbooks } from '../runbook-cache.js';
import { RunbookCell } from './job-table.js';
import { StatusBadge } from './status.js';
import { FailedAt } from './failed-at.js';
import { Empty } from './feedback.js';

/** The runbook's name is resolved lazily through the runbook cache. */
export function InstanceTable({ instances, empty = 'No instances.' }) {
  const runbooks = useRunbooks(instances.map((i) => i.runbook_id));
  useTick(instances.some((i) => !i.ended_at) ? 1000 : null);
  if (!instances.length) return html`<${Empty}>${empty}</${Empty}>`;
  return html`
    <div class="table-scroll">
      <table class="table table-cards">
        <thead>
          <tr>
            <th scope="col">Instance</th>
            <th scope="col">Runbook</th>
            <th scope="col">Status</th>
            <th scope="col">Server</th>
            <th scope="col">Started</th>
            <th scope="col">Ended</th>
            <th scope="col">Duration</th>
          </tr>
        </thead>
        <tbody>
          ${instances.map((inst) => html`
            <tr key=${inst.id} data-testid="instance-row" data-id=${inst.id} data-status=${inst.status}>
              <td data-label="Instance"><a href=${href(`/instances/${encodeURIComponent(inst.id)}`)} class="mono" title=${inst.id}>${shortId(inst.id)}</a></td>
              <td data-label="Runbook"><${RunbookCell} id=${inst.runbook_id} runbook=${runbooks[inst.runbook_id]} /></td>
              <td data-label="Status"><${StatusBadge} status=${inst.status} /><${FailedAt} failed=${inst.failed_activity} /></td>
              <td data-label="Server">${inst.server}</td>
              <td data-label="Started" class="nowrap">${formatTime(inst.started_at)}</td>
              <td data-label="Ended" class="nowrap">${formatTime(inst.ended_at) || html`<span class="muted">—</span>`}</td>
              <td data-label="Duration">${inst.ended_at
                ? formatDuration(elapsed(inst.started_at, inst.ended_at))
                : html`<span class="muted">${formatDuration(elapsed(inst.started_at))}</span>`}</td>
            </tr>`)}
        </tbody>
      </table>
    </div>`;
}
