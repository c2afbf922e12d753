// A status as a coloured badge that also says it in words (colour is never the only cue; a
// glyph is added by the stylesheet). Its text is exactly the status.

import { html } from '../html.js';

export function StatusBadge({ status, testid }) {
  const s = status || 'none';
  return html`<span class=${`badge status status-${s}`} data-testid=${testid}>${s === 'none' ? 'not run' : s}</span>`;
}

export const isActiveJob = (status) => status === 'pending' || status === 'running';
