// Under a failed job's or instance's status in a list: where it failed (the list answer's
// `failed_activity`: the activity's name and the first line of its error).

import { html } from '../html.js';

export function FailedAt({ failed }) {
  if (!failed) return null;
  return html`
    <div class="failed-at small" data-testid="failed-activity" data-activity=${failed.id} title=${failed.error}>
      at <strong>${failed.name}</strong>${failed.error ? html`: <span class="failed-at-error">${failed.error}</span>` : null}
    </div>`;
}
