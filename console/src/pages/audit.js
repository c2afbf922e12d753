// The audit trail, newest first, 50 a page.

import { html } from '../html.js';
import { api } from '../api.js';
import { useLoad } from '../hooks.js';
import { useReady } from '../ready.js';
import { href, navigate } from '../router.js';
import { formatTime, formatValue, shortId, truncate } from '../format.js';
import { Pager } from '../components/pager.js';
import { Empty, ErrorMessage, Loading } from '../components/feedback.js';

const LIMIT = 50;

const OBJECT_ROUTES = { job: '/jobs', runbook: '/runbooks', instance: '/instances' };

function ObjectCell({ type, id }) {
  const base = OBJECT_ROUTES[type];
  const label = id && id.length > 20 ? shortId(id) : id;
  return html`<span class="badge type">${type}</span> ${base && id
    ? html`<a href=${href(`${base}/${encodeURIComponent(id)}`)} class="mono" title=${id}>${label}</a>`
    : html`<span class="mono" title=${id}>${label || ''}</span>`}`;
}

function Detail({ detail }) {
  if (detail === null || detail === undefined || detail === '') return html`<span class="muted">—</span>`;
  const text = formatValue(detail);
  if (text.length <= 80) return html`<code class="detail">${text}</code>`;
  return html`<details><summary><code class="detail">${truncate(text, 80)}</code></summary>
    <pre class="detail-full">${typeof detail === 'string' ? detail : JSON.stringify(detail, null, 2)}</pre></details>`;
}

export function AuditPage({ query }) {
  const offset = Math.max(0, Number.parseInt(query.get('offset') || '0', 10) || 0);
  const page = useLoad(() => api.get('/api/v1/audit', { limit: LIMIT, offset }), [offset]);
  useReady('audit', !page.loading);
  const items = page.data ? page.data.items : [];
  return html`
    <div class="page page-audit">
      <div class="page-head"><h1>Audit trail</h1><span class="muted small">Newest first</span></div>
      ${page.loading ? html`<${Loading} what="the audit trail" />` : null}
      <${ErrorMessage} error=${page.error} />
      ${page.data && !items.length ? html`<${Empty}>Nothing recorded${offset ? ' on this page' : ' yet'}.</${Empty}>` : null}
      ${items.length ? html`
        <div class="table-scroll">
          <table class="table table-cards">
            <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th>
              <th scope="col">Object</th><th scope="col">Detail</th></tr></thead>
            <tbody>
              ${items.map((a) => html`
                <tr key=${a.id} data-testid="audit-row" data-id=${a.id}>
                  <td data-label="When">${formatTime(a.at)}</td>
                  <td data-label="Who">${a.actor}</td>
                  <td data-label="Action"><code>${a.action}</code></td>
                  <td data-label="Object"><${ObjectCell} type=${a.object_type} id=${a.object_id} /></td>
                  <td data-label="Detail"><${Detail} detail=${a.detail} /></td>
                </tr>`)}
            </tbody>
          </table>
        </div>` : null}
      ${page.data ? html`<${Pager} offset=${offset} limit=${LIMIT} nextOffset=${page.data.next_offset} count=${items.length}
        onPage=${(o) => navigate('/audit', { offset: o || undefined })} label="Audit pages" />` : null}
    </div>`;
}
