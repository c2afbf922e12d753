// A route the console does not know.

import { html } from '../html.js';
import { href } from '../router.js';

export function NotFoundPage() {
  return html`
    <div class="page">
      <h1>Page not found</h1>
      <p>There is no such page in the console. <a href=${href('/runbooks')}>Go to the runbooks</a>.</p>
    </div>`;
}
