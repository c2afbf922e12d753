// Previous/Next paging by offset (the API answers next_offset when there may be more).

import { html } from '../html.js';

export function Pager({ offset, limit, nextOffset, count, onPage, label = 'Pages' }) {
  const from = count ? offset + 1 : 0;
  const to = offset + (count || 0);
  const hasPrevious = offset > 0;
  const hasNext = nextOffset !== null && nextOffset !== undefined;
  if (!hasPrevious && !hasNext) return null;
  return html`
    <nav class="pager" aria-label=${label}>
      <button type="button" class="btn" disabled=${!hasPrevious} data-testid="page-previous"
        onClick=${() => onPage(Math.max(0, offset - limit))}>← Previous</button>
      <span class="muted small">${count ? `${from}–${to}` : 'none'}</span>
      <button type="button" class="btn" disabled=${!hasNext} data-testid="page-next"
        onClick=${() => onPage(nextOffset)}>Next →</button>
    </nav>`;
}
