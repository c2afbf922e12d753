// An activity run's published data: one row as a name/value table, several rows as a table
// with a column per field. Values come masked from the server and are shown as given.

import { html } from '../html.js';
import { formatValue } from '../format.js';

function Value({ value }) {
  const text = formatValue(value);
  if (text === '') return html`<span class="muted">(empty)</span>`;
  return html`<span class=${text.includes('\n') || text.length > 80 ? 'value value-long' : 'value'}>${text}</span>`;
}

function columnsOf(rows) {
  const seen = new Set();
  for (const row of rows) for (const key of Object.keys(row || {})) seen.add(key);
  return [...seen];
}

export function PublishedData({ published, truncated }) {
  const note = truncated ? html`<p class="muted small">Cut to the configured size limit.</p>` : null;
  if (Array.isArray(published)) {
    if (!published.length) return html`<div data-testid="published-data"><p class="muted">No rows.</p></div>`;
    const rows = published.map((r) => (r && typeof r === 'object' ? r : { value: r }));
    const columns = columnsOf(rows);
    return html`
      <div data-testid="published-data" class="published">
        <p class="muted small">${rows.length} rows</p>
        <div class="table-scroll">
          <table class="table table-compact table-data">
            <thead><tr><th scope="col">#</th>${columns.map((c) => html`<th scope="col" key=${c}>${c}</th>`)}</tr></thead>
            <tbody>
              ${rows.map((row, i) => html`
                <tr key=${i}><td class="muted">${i + 1}</td>${columns.map((c) => html`<td key=${c}><${Value} value=${row[c]} /></td>`)}</tr>`)}
            </tbody>
          </table>
        </div>
        ${note}
      </div>`;
  }
  const entries = published && typeof published === 'object' ? Object.entries(published) : [];
  if (!entries.length) return html`<div data-testid="published-data"><p class="muted">No published data.</p></div>`;
  return html`
    <div data-testid="published-data" class="published">
      <table class="table table-compact table-kv">
        <tbody>
          ${entries.map(([key, value]) => html`
            <tr key=${key}><th scope="row">${key}</th><td><${Value} value=${value} /></td></tr>`)}
        </tbody>
      </table>
      ${note}
    </div>`;
}
