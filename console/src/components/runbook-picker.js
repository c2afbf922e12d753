// Choose a runbook by typing part of its name (the API's search, debounced, 20 at a time).

import { html, useEffect, useState } from '../html.js';
import { api } from '../api.js';
import { useDebounced } from '../hooks.js';
import { useRunbooks } from '../runbook-cache.js';

/** `testid` names the search box for tests. */
export function RunbookPicker({ id, value, onChange, testid }) {
  const [text, setText] = useState('');
  const [results, setResults] = useState([]);
  const [open, setOpen] = useState(false);
  const term = useDebounced(text.trim(), 250);
  const chosen = useRunbooks(value ? [value] : [])[value];

  useEffect(() => {
    if (!open) return undefined;
    let live = true;
    api.get('/api/v1/runbooks', { search: term, limit: 20 })
      .then((page) => live && setResults(page.items), () => live && setResults([]));
    return () => {
      live = false;
    };
  }, [term, open]);

  if (value) {
    return html`
      <div class="picker-chosen">
        <span class="badge chip" id=${id}>${chosen ? chosen.name : 'Loading…'}</span>
        <button type="button" class="btn btn-small" onClick=${() => onChange('')}
          aria-label="Clear the runbook filter">✕ Clear</button>
      </div>`;
  }
  return html`
    <div class="picker">
      <input id=${id} type="search" placeholder="Any runbook — type to search" value=${text} autocomplete="off"
        data-testid=${testid}
        onFocus=${() => setOpen(true)} onInput=${(e) => { setText(e.currentTarget.value); setOpen(true); }}
        onKeyDown=${(e) => { if (e.key === 'Escape') setOpen(false); }} />
      ${open && results.length ? html`
        <ul class="picker-list" aria-label="Matching runbooks">
          ${results.map((r) => html`
            <li key=${r.id}>
              <button type="button" class="picker-option" data-id=${r.id}
                onClick=${() => { setOpen(false); setText(''); onChange(r.id); }}>
                ${r.name}<span class="muted small"> ${r.folder}</span>
              </button>
            </li>`)}
        </ul>` : null}
    </div>`;
}
