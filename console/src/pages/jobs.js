// All jobs, newest first: filters (runbook, status, time range) in the route, pages of 50
// with Previous/Next, statuses and new jobs live.

import { html, useEffect, useState } from '../html.js';
import { useReady } from '../ready.js';
import { navigate } from '../router.js';
import { localInputToRfc3339, rfc3339ToLocalInput } from '../format.js';
import { useLiveJobs } from '../jobs-live.js';
import { JobTable } from '../components/job-table.js';
import { Pager } from '../components/pager.js';
import { RunbookPicker } from '../components/runbook-picker.js';
import { ErrorMessage, Loading } from '../components/feedback.js';

const LIMIT = 50;
const STATUSES = ['pending', 'running', 'completed', 'failed', 'canceled'];
const FILTERS = ['runbook_id', 'status', 'since', 'until'];

export function JobsPage({ query }) {
  const filters = Object.fromEntries(FILTERS.map((k) => [k, query.get(k) || '']));
  const offset = Math.max(0, Number.parseInt(query.get('offset') || '0', 10) || 0);
  const live = useLiveJobs(filters, LIMIT, offset);
  useReady('jobs', !live.loading);

  const go = (changes, newOffset = 0) => navigate('/jobs', { ...filters, ...changes, offset: newOffset || undefined });
  // The time range applies on "Apply" (typing a date would otherwise reload at every digit).
  const [range, setRange] = useState({ since: '', until: '' });
  useEffect(() => {
    setRange({ since: rfc3339ToLocalInput(filters.since), until: rfc3339ToLocalInput(filters.until) });
  }, [filters.since, filters.until]);
  const applyRange = (e) => {
    e.preventDefault();
    go({ since: localInputToRfc3339(range.since), until: localInputToRfc3339(range.until) });
  };
  const filtered = FILTERS.some((k) => filters[k]);

  return html`
    <div class="page page-jobs">
      <div class="page-head"><h1>Jobs</h1></div>
      <details class="card filters-box" open=${filtered || window.innerWidth > 640}>
      <summary>Filters${filtered ? ' (active)' : ''}</summary>
      <form class="filters" aria-label="Filter jobs" onSubmit=${applyRange}>
        <div class="field">
          <label for="jobs-runbook">Runbook</label>
          <${RunbookPicker} id="jobs-runbook" value=${filters.runbook_id} onChange=${(v) => go({ runbook_id: v })} />
        </div>
        <div class="field">
          <label for="jobs-status">Status</label>
          <select id="jobs-status" data-testid="jobs-status" value=${filters.status}
            onChange=${(e) => go({ status: e.currentTarget.value })}>
            <option value="">Any status</option>
            ${STATUSES.map((s) => html`<option key=${s} value=${s}>${s}</option>`)}
          </select>
        </div>
        <div class="field">
          <label for="jobs-since">Created from</label>
          <input id="jobs-since" data-testid="jobs-since" type="datetime-local" step="1" value=${range.since}
            onInput=${(e) => setRange({ ...range, since: e.currentTarget.value })} />
        </div>
        <div class="field">
          <label for="jobs-until">Created before</label>
          <input id="jobs-until" data-testid="jobs-until" type="datetime-local" step="1" value=${range.until}
            onInput=${(e) => setRange({ ...range, until: e.currentTarget.value })} />
        </div>
        <div class="field field-end">
          <button type="submit" class="btn" data-testid="jobs-apply">Apply time range</button>
          ${filtered ? html`<button type="button" class="btn" onClick=${() => navigate('/jobs')}>Clear filters</button>` : null}
        </div>
      </form>
      </details>
      ${live.loading ? html`<${Loading} what="jobs" />` : null}
      <${ErrorMessage} error=${live.error} />
      ${!live.loading && !live.error ? html`
        <${JobTable} jobs=${live.jobs} empty=${filtered ? 'No job matches these filters.' : 'No jobs yet.'} />
        <${Pager} offset=${offset} limit=${LIMIT} nextOffset=${live.nextOffset} count=${live.jobs.length}
          onPage=${(o) => go({}, o)} label="Job pages" />` : null}
    </div>`;
}
