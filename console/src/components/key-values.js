// A name → value map as a definition list (parameters, returns, job fields). Values may be
// data (shown as text) or elements built by the caller.

import { html, isValidElement } from '../html.js';
import { formatValue } from '../format.js';

export function KeyValues({ values, empty = 'None.', testid }) {
  const entries = Object.entries(values || {});
  if (!entries.length) return html`<p class="muted" data-testid=${testid}>${empty}</p>`;
  return html`
    <dl class="kv" data-testid=${testid}>
      ${entries.map(([key, value]) => html`
        <div class="kv-row" key=${key}>
          <dt>${key}</dt>
          <dd>${isValidElement(value) ? value : formatValue(value)}</dd>
        </div>`)}
    </dl>`;
}
