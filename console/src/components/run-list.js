// An instance's activity runs in start order. A long list (loops, retries, fan-out) shows its
// first and last few runs, with a button that shows more of the ones between.

import { html } from '../html.js';
import { ActivityRun } from './activity-run.js';

export const HEAD = 5;
export const TAIL = 5;
const STEP = 200;

/** How many runs the list shows from the start, for `total` runs: all of a short list. */
export const initialHead = (total) => (total <= HEAD + TAIL + 2 ? total : HEAD);

/** `head`: how many runs are shown from the start (the last TAIL are always shown). */
export function RunList({ runs, types, head, onShowMore }) {
  const hidden = Math.max(0, runs.length - head - TAIL);
  const shown = (from, to) => runs.slice(from, to).map((run, i) => html`
    <${ActivityRun} key=${from + i} run=${run} index=${from + i} typeOf=${types[run.id]} />`);
  if (!hidden) return html`<ol class="runs">${shown(0, runs.length)}</ol>`;
  return html`
    <ol class="runs">${shown(0, head)}</ol>
    <div class="runs-gap">
      <button type="button" class="btn btn-small" data-testid="runs-show-more" onClick=${() => onShowMore(head + STEP)}>
        Show ${Math.min(STEP, hidden)} more</button>
      <span class="muted small" data-testid="runs-hidden">${hidden} runs hidden${hidden > STEP ? `; ${STEP} at a time` : ''}</span>
    </div>
    <ol class="runs" start=${runs.length - TAIL + 1}>${shown(runs.length - TAIL, runs.length)}</ol>`;
}
