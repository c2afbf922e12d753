// Loading, error and empty states.

import { html } from '../html.js';

export function Loading({ what }) {
  return html`<p class="loading" role="status"><span class="spinner" aria-hidden="true"></span>Loading${what ? ` ${what}` : ''}…</p>`;
}

/** The API's message for a failure (ApiError or any Error). */
export function ErrorMessage({ error, testid }) {
  if (!error) return null;
  return html`<p class="error" role="alert" data-testid=${testid}>${error.message || String(error)}</p>`;
}

export function Empty({ children }) {
  return html`<p class="empty">${children}</p>`;
}
