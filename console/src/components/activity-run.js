// One activity run of an instance: name, status, attempt, timing, its error (prominent) and
// its published data.

import { html } from '../html.js';
import { elapsed, formatDuration, formatTime } from '../format.js';
import { StatusBadge } from './status.js';
import { PublishedData } from './published-data.js';

export function ActivityRun({ run, index, typeOf }) {
  const duration = run.duration_ms ?? (run.status === 'running' ? elapsed(run.started_at, null) : elapsed(run.started_at, run.ended_at));
  const hasData = run.published && (Array.isArray(run.published) ? run.published.length : Object.keys(run.published).length);
  return html`
    <li class=${`run run-${run.status}`} data-testid="activity-run" data-activity=${run.id} data-status=${run.status}
      id=${`run-${index}`}>
      <div class="run-head">
        <span class="run-index muted">${index + 1}</span>
        <h3 class="run-name">${run.name}${run.name !== run.id ? html` <span class="muted small mono">${run.id}</span>` : null}</h3>
        <${StatusBadge} status=${run.status} />
      </div>
      <div class="run-meta small">
        ${typeOf ? html`<span>${typeOf}</span>` : null}
        <span>attempt ${run.attempt}</span>
        <span>started ${formatTime(run.started_at)}</span>
        <span>${run.status === 'running' ? 'running for ' : 'took '}${formatDuration(duration)}</span>
      </div>
      ${run.error ? html`<p class=${`run-error ${run.status === 'failed' ? '' : 'run-note'}`} data-testid="activity-error">
        <strong>${run.status === 'failed' ? 'Error' : 'Note'}:</strong> ${run.error}</p>` : null}
      ${hasData || run.status !== 'running' ? html`
        <div class="run-data">
          <h4 class="h-tiny">Published data</h4>
          <${PublishedData} published=${run.published} truncated=${run.truncated} />
        </div>` : null}
    </li>`;
}
