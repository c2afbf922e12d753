// The audit trail, newest first, 50 a page, as a table (when, who, action, target, details)
// filtered on the server by who, action, time range and text; the filters live in the route.

import { html, useEffect, useState } from '../html.js';
import { api } from '../api.js';
import { useLoad } from '../hooks.js';
import { useReady } from '../ready.js';
import { href, navigate } from '../router.js';
import { formatTime, formatValue, localInputToRfc3339, rfc3339ToLocalInput, shortId, truncate } from '../format.js';
import { Pager } from '../components/pager.js';
import { Empty, ErrorMessage, Loading } from '../components/feedback.js';

const LIMIT = 50;
const FILTERS = ['actor', 'action', 'since', 'until', 'text'];
/** The action families the action filter offers (a trailing '.' takes every action it begins). */
const ACTIONS = ['job.', 'runbook.', 'folder.', 'user.', 'token.', 'session.', 'variable.', 'counter.'];

const OBJECT_ROUTES = { job: '/jobs', runbook: '/runbooks', instance: '/instances' };

function ObjectCell({ type, id }) {
  const base = OBJECT_ROUTES[type];
  const label = id && id.length > 20 ? shortId(id) : id;
  return html`<span class="badge type">${type}</span> ${base && id
    ? html`<a href=${href(`${base}/${encodeURIComponent(id)}`)} class="mono" title=${id}>${label}</a>`
    : html`<span class="mono" title=${id}>${label || ''}</span>`}`;
}

/** A value in the details: short text as it is, a long one folded. */
function DetailValue({ value }) {
  const text = formatValue(value);
  if (text.length <= 80) return html`<span class="value">${text}</span>`;
  return html`<details><summary>${truncate(text, 80)}</summary><pre class="detail-full">${text}</pre></details>`;
}

/** An entry's detail: its fields as name: value lines. */
function Details({ detail }) {
  if (detail === null || detail === undefined || detail === '') return html`<span class="muted">—</span>`;
  if (typeof detail !== 'object' || Array.isArray(detail)) return html`<${DetailValue} value=${detail} />`;
  const entries = Object.entries(detail);
  if (!entries.length) return html`<span class="muted">—</span>`;
  return html`
    <dl class="audit-detail">
      ${entries.map(([key, value]) => html`<div key=${key}><dt>${key}</dt><dd><${DetailValue} value=${value} /></dd></div>`)}
    </dl>`;
}

function AuditFilters({ filters, onApply }) {
  const [draft, setDraft] = useState(filters);
  useEffect(() => setDraft(filters), [JSON.stringify(filters)]);
  const set = (key) => (e) => setDraft({ ...draft, [key]: e.currentTarget.value });
  const submit = (e) => {
    e.preventDefault();
    onApply(draft);
  };
  const active = FILTERS.some((k) => filters[k]);
  return html`
    <details class="card filters-box" open=${active || window.innerWidth > 640}>
      <summary>Filters${active ? ' (active)' : ''}</summary>
      <form class="filters" aria-label="Filter the audit trail" onSubmit=${submit}>
        <div class="field">
          <label for="audit-actor">Who</label>
          <input id="audit-actor" data-testid="audit-actor" type="text" autocomplete="off" placeholder="user name"
            value=${draft.actor} onInput=${set('actor')} />
        </div>
        <div class="field">
          <label for="audit-action">Action</label>
          <input id="audit-action" data-testid="audit-action" type="text" autocomplete="off" list="audit-actions"
            placeholder="job.start, or job. for all" value=${draft.action} onInput=${set('action')} />
          <datalist id="audit-actions">${ACTIONS.map((a) => html`<option key=${a} value=${a} />`)}</datalist>
        </div>
        <div class="field">
          <label for="audit-since">From</label>
          <input id="audit-since" data-testid="audit-since" type="datetime-local" step="1" value=${draft.since}
            onInput=${set('since')} />
        </div>
        <div class="field">
          <label for="audit-until">Before</label>
          <input id="audit-until" data-testid="audit-until" type="datetime-local" step="1" value=${draft.until}
            onInput=${set('until')} />
        </div>
        <div class="field">
          <label for="audit-text">Text</label>
          <input id="audit-text" data-testid="audit-text" type="search" autocomplete="off" maxlength="200"
            placeholder="in the action, target or details" value=${draft.text} onInput=${set('text')} />
        </div>
        <div class="field field-end">
          <button type="submit" class="btn btn-primary" data-testid="audit-apply">Apply</button>
          ${active ? html`<button type="button" class="btn" data-testid="audit-clear" onClick=${() => onApply({})}>Clear filters</button>` : null}
        </div>
      </form>
    </details>`;
}

export function AuditPage({ query }) {
  const offset = Math.max(0, Number.parseInt(query.get('offset') || '0', 10) || 0);
  const filters = Object.fromEntries(FILTERS.map((k) => [k, query.get(k) || '']));
  const key = JSON.stringify([filters, offset]);
  // The answer carries the query it answers: a new query is not ready on the last one's rows.
  const page = useLoad(async () => ({ key, ...(await api.get('/api/v1/audit', { ...filters, limit: LIMIT, offset })) }), [key]);
  useReady('audit', !page.loading && !!page.data && page.data.key === key, key);
  const items = page.data ? page.data.items : [];
  const filtered = FILTERS.some((k) => filters[k]);
  // The form holds local times; the route and the API hold RFC 3339.
  const shown = { ...filters, since: rfc3339ToLocalInput(filters.since), until: rfc3339ToLocalInput(filters.until) };
  const apply = (draft) => navigate('/audit', {
    actor: (draft.actor || '').trim(),
    action: (draft.action || '').trim(),
    since: localInputToRfc3339(draft.since),
    until: localInputToRfc3339(draft.until),
    text: (draft.text || '').trim(),
  });
  return html`
    <div class="page page-audit">
      <div class="page-head"><h1>Audit trail</h1><span class="muted small">Newest first</span></div>
      <${AuditFilters} filters=${shown} onApply=${apply} />
      ${page.loading ? html`<${Loading} what="the audit trail" />` : null}
      <${ErrorMessage} error=${page.error} />
      ${page.data && !items.length ? html`<${Empty}>${filtered ? 'No record matches these filters.'
        : `Nothing recorded${offset ? ' on this page' : ' yet'}.`}</${Empty}>` : null}
      ${items.length ? html`
        <div class="table-scroll">
          <table class="table table-cards">
            <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th>
              <th scope="col">Target</th><th scope="col">Details</th></tr></thead>
            <tbody>
              ${items.map((a) => html`
                <tr key=${a.id} data-testid="audit-row" data-id=${a.id} data-actor=${a.actor} data-action=${a.action}>
                  <td data-label="When" class="nowrap">${formatTime(a.at)}</td>
                  <td data-label="Who">${a.actor}</td>
                  <td data-label="Action"><code>${a.action}</code></td>
                  <td data-label="Target"><${ObjectCell} type=${a.object_type} id=${a.object_id} /></td>
                  <td data-label="Details"><${Details} detail=${a.detail} /></td>
                </tr>`)}
            </tbody>
          </table>
        </div>` : null}
      ${page.data ? html`<${Pager} offset=${offset} limit=${LIMIT} nextOffset=${page.data.next_offset} count=${items.length}
        onPage=${(o) => navigate('/audit', { ...filters, offset: o || undefined })} label="Audit pages" />` : null}
    </div>`;
}
