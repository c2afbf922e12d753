// The top bar: product name, navigation, the live-stream state, who is signed in, sign-out.

import { html } from '../html.js';
import { href } from '../router.js';
import { useStreamStatus } from '../events.js';
import { highestRole } from '../session.js';

// "Runbook servers" is "servers" on a phone, so the bar fits one line.
const LINKS = [
  { id: 'runbooks', label: 'Runbooks', path: '/runbooks', match: ['runbooks', 'runbook'] },
  { id: 'jobs', label: 'Jobs', path: '/jobs', match: ['jobs', 'job'] },
  { id: 'instances', label: 'Instances', path: '/instances', match: ['instances', 'instance'] },
  { id: 'servers', label: html`<span class="wide-only">Runbook servers</span><span class="narrow-only">Servers</span>`, path: '/servers', match: ['servers'] },
  { id: 'settings', label: 'Settings', path: '/settings', match: ['settings'] },
  { id: 'audit', label: 'Audit', path: '/audit', match: ['audit'] },
];

const STREAM_TEXT = { live: 'Live', connecting: 'Connecting…', retrying: 'Reconnecting…', off: 'Offline' };

function StreamState() {
  const state = useStreamStatus();
  return html`<span class=${`stream stream-${state}`} title="Live updates from the web service" role="status">
    <span class="stream-dot" aria-hidden="true"></span>${STREAM_TEXT[state] || state}</span>`;
}

export function Header({ me, page, onSignOut }) {
  const role = highestRole(me);
  return html`
    <header class="topbar">
      <a class="brand" href=${href('/runbooks')}>
        <span class="brand-mark" aria-hidden="true">◆</span>
        <span class="brand-name">scorch</span>
        <span class="brand-sub">Orchestration console</span>
      </a>
      ${me ? html`
        <nav class="mainnav" aria-label="Main">
          ${LINKS.map((l) => html`
            <a key=${l.id} href=${href(l.path)} data-testid=${`nav-${l.id}`}
              aria-current=${l.match.includes(page) ? 'page' : undefined}>${l.label}</a>`)}
        </nav>
        <div class="userbox">
          <${StreamState} />
          <span class="user">
            <span class="sr-only">Signed in as </span>
            <span data-testid="whoami" class="whoami">${me.name}</span>
            ${role ? html`<span class="badge role">${role}</span>` : null}
          </span>
          <button type="button" class="btn btn-small" data-testid="signout" onClick=${onSignOut}>Sign out</button>
        </div>` : null}
    </header>`;
}
