// A labelled form field with its error message beside it.

import { html } from '../html.js';

let counter = 0;
/** A unique id for label/input pairs. */
export const fieldId = (prefix) => `${prefix}-${++counter}`;

export function Field({ id, label, hint, error, errorTestid, children, inline }) {
  return html`
    <div class=${`field ${inline ? 'field-inline' : ''} ${error ? 'field-invalid' : ''}`}>
      <label for=${id}>${label}</label>
      ${children}
      ${hint ? html`<span class="hint" id=${`${id}-hint`}>${hint}</span>` : null}
      ${error ? html`<span class="field-error" id=${`${id}-error`} role="alert" data-testid=${errorTestid}>${error}</span>` : null}
    </div>`;
}
