// The filters of a list page (jobs, instances), kept in the route's query: runbook, status and
// a time range (applied with its button, so typing a date does not reload at every digit),
// plus the offset that the Previous/Next pager moves.

import { html, useEffect, useState } from '../html.js';
import { navigate } from '../router.js';
import { localInputToRfc3339, rfc3339ToLocalInput } from '../format.js';
import { RunbookPicker } from './runbook-picker.js';

export const FILTER_KEYS = ['runbook_id', 'status', 'since', 'until'];

/**
 * The filters and offset of a list page at `path` from its route's `query`: { filters,
 * offset, filtered, go(changes, offset = 0), clear() }. `go` changes filters (back to the
 * first page unless an offset is given).
 */
export function listQuery(path, query) {
  const filters = Object.fromEntries(FILTER_KEYS.map((k) => [k, query.get(k) || '']));
  const offset = Math.max(0, Number.parseInt(query.get('offset') || '0', 10) || 0);
  return {
    filters,
    offset,
    filtered: FILTER_KEYS.some((k) => filters[k]),
    go: (changes, newOffset = 0) => navigate(path, { ...filters, ...changes, offset: newOffset || undefined }),
    clear: () => navigate(path),
  };
}

/**
 * The filter form of `list` (from listQuery). `prefix` names the ids and test ids
 * (`<prefix>-status`, `<prefix>-since`, `<prefix>-until`, `<prefix>-apply`,
 * `<prefix>-runbook-search`); `statuses` are the status choices; `label` names the form
 * ("Filter jobs"); `sinceLabel` and `untilLabel` name the time range's ends.
 */
export function ListFilters({ list, prefix, statuses, label, sinceLabel, untilLabel }) {
  const { filters, filtered, go, clear } = list;
  const [range, setRange] = useState({ since: '', until: '' });
  useEffect(() => {
    setRange({ since: rfc3339ToLocalInput(filters.since), until: rfc3339ToLocalInput(filters.until) });
  }, [filters.since, filters.until]);
  const applyRange = (e) => {
    e.preventDefault();
    go({ since: localInputToRfc3339(range.since), until: localInputToRfc3339(range.until) });
  };
  const id = (name) => `${prefix}-${name}`;

  return html`
    <details class="card filters-box" open=${filtered || window.innerWidth > 640}>
      <summary>Filters${filtered ? ' (active)' : ''}</summary>
      <form class="filters" aria-label=${label} onSubmit=${applyRange}>
        <div class="field">
          <label for=${id('runbook')}>Runbook</label>
          <${RunbookPicker} id=${id('runbook')} testid=${id('runbook-search')} value=${filters.runbook_id}
            onChange=${(v) => go({ runbook_id: v })} />
        </div>
        <div class="field">
          <label for=${id('status')}>Status</label>
          <select id=${id('status')} data-testid=${id('status')} value=${filters.status}
            onChange=${(e) => go({ status: e.currentTarget.value })}>
            <option value="">Any status</option>
            ${statuses.map((s) => html`<option key=${s} value=${s}>${s}</option>`)}
          </select>
        </div>
        <div class="field">
          <label for=${id('since')}>${sinceLabel}</label>
          <input id=${id('since')} data-testid=${id('since')} type="datetime-local" step="1" value=${range.since}
            onInput=${(e) => setRange({ ...range, since: e.currentTarget.value })} />
        </div>
        <div class="field">
          <label for=${id('until')}>${untilLabel}</label>
          <input id=${id('until')} data-testid=${id('until')} type="datetime-local" step="1" value=${range.until}
            onInput=${(e) => setRange({ ...range, until: e.currentTarget.value })} />
        </div>
        <div class="field field-end">
          <button type="submit" class="btn" data-testid=${id('apply')}>Apply time range</button>
          ${filtered ? html`<button type="button" class="btn" data-testid=${id('clear')} onClick=${clear}>Clear filters</button>` : null}
        </div>
      </form>
    </details>`;
}
