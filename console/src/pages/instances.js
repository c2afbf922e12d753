// All instances, newest first: filters (runbook, status, time range on the start) in the
// route, pages of 50 with Previous/Next, statuses and new instances live.

import { html } from '../html.js';
import { useReady } from '../ready.js';
import { useLiveInstances } from '../live-list.js';
import { InstanceTable } from '../components/instance-table.js';
import { ListFilters, listQuery } from '../components/list-filters.js';
import { Pager } from '../components/pager.js';
import { ErrorMessage, Loading } from '../components/feedback.js';

const LIMIT = 50;
const STATUSES = ['running', 'success', 'warning', 'failed', 'canceled'];

export function InstancesPage({ query }) {
  const list = listQuery('/instances', query);
  const { filters, offset, filtered } = list;
  const live = useLiveInstances(filters, LIMIT, offset);
  useReady('instances', !live.loading);

  return html`
    <div class="page page-instances">
      <div class="page-head"><h1>Instances</h1></div>
      <${ListFilters} list=${list} prefix="instances" statuses=${STATUSES} label="Filter instances"
        sinceLabel="Started from" untilLabel="Started before" />
      ${live.loading ? html`<${Loading} what="instances" />` : null}
      <${ErrorMessage} error=${live.error} />
      ${!live.loading && !live.error ? html`
        <${InstanceTable} instances=${live.instances}
          empty=${filtered ? 'No instance matches these filters.' : 'No instances yet.'} />
        <${Pager} offset=${offset} limit=${LIMIT} nextOffset=${live.nextOffset} count=${live.instances.length}
          onPage=${(o) => list.go({}, o)} label="Instance pages" />` : null}
    </div>`;
}
