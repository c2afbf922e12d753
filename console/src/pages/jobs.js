// All jobs, newest first: filters (runbook, status, time range) in the route, pages of 50
// with Previous/Next, statuses and new jobs live.

import { html } from '../html.js';
import { useReady } from '../ready.js';
import { useLiveJobs } from '../live-list.js';
import { JobTable } from '../components/job-table.js';
import { ListFilters, listQuery } from '../components/list-filters.js';
import { Pager } from '../components/pager.js';
import { ErrorMessage, Loading } from '../components/feedback.js';

const LIMIT = 50;
const STATUSES = ['pending', 'running', 'completed', 'failed', 'canceled'];

export function JobsPage({ query }) {
  const list = listQuery('/jobs', query);
  const { filters, offset, filtered } = list;
  const live = useLiveJobs(filters, LIMIT, offset);
  useReady('jobs', !live.loading);

  return html`
    <div class="page page-jobs">
      <div class="page-head"><h1>Jobs</h1></div>
      <${ListFilters} list=${list} prefix="jobs" statuses=${STATUSES} label="Filter jobs"
        sinceLabel="Created from" untilLabel="Created before" />
      ${live.loading ? html`<${Loading} what="jobs" />` : null}
      <${ErrorMessage} error=${live.error} />
      ${!live.loading && !live.error ? html`
        <${JobTable} jobs=${live.jobs} empty=${filtered ? 'No job matches these filters.' : 'No jobs yet.'} />
        <${Pager} offset=${offset} limit=${LIMIT} nextOffset=${live.nextOffset} count=${live.jobs.length}
          onPage=${(o) => list.go({}, o)} label="Job pages" />` : null}
    </div>`;
}
