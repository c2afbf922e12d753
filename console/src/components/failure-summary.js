// At the top of a failed instance, before its graph: where it failed (its last failed activity
// run), the activity's type, the error and its kind, and links to that run and to the activity
// as the runbook defines it.

import { html } from '../html.js';
import { href } from '../router.js';

const KINDS = {
  invalid_input: 'invalid input (its properties or data do not fit)',
  failed: 'failed',
  transient: 'transient (retries may help)',
  timed_out: 'timed out',
  canceled: 'canceled',
};

/** The index of the last failed run in `runs`, or -1. */
export function lastFailedRun(runs) {
  for (let i = runs.length - 1; i >= 0; i -= 1) if (runs[i].status === 'failed') return i;
  return -1;
}

/** `index`: of the failing run in `runs`; `onShowRun(activityId)` scrolls to it. */
export function FailureSummary({ runs, index, typeOf, runbookId, onShowRun }) {
  const run = runs[index];
  const showRun = (e) => {
    e.preventDefault();
    onShowRun(run.id);
  };
  return html`
    <section class="failure" role="alert" data-testid="failure-summary" data-activity=${run.id}>
      <h2 class="failure-title">
        Failed at <span data-testid="failure-activity">${run.name}</span>
        ${run.name !== run.id ? html` <span class="muted small mono">${run.id}</span>` : null}
        ${typeOf ? html` <span class="badge type" data-testid="failure-type">${typeOf}</span>` : null}
      </h2>
      <p class="failure-error" data-testid="failure-error">${run.error || 'No error message was recorded.'}</p>
      <p class="meta-line small">
        ${run.error_kind ? html`<span>Kind: <strong data-testid="failure-kind">${KINDS[run.error_kind] || run.error_kind}</strong></span>` : null}
        <span>Attempt ${run.attempt}</span>
        <a href=${`#run-${index}`} onClick=${showRun} data-testid="failure-run-link">Its run and published data ↓</a>
        ${runbookId ? html`<a href=${href(`/runbooks/${encodeURIComponent(runbookId)}`, { activity: run.id })}
          data-testid="failure-activity-link">The activity's properties →</a>` : null}
      </p>
    </section>`;
}
