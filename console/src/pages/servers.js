// The runbook servers: alive or not, heartbeat age, load and packs; refreshed every 5 s.

import { html } from '../html.js';
import { api } from '../api.js';
import { useInterval, useLoad } from '../hooks.js';
import { useReady } from '../ready.js';
import { formatAge, formatTime } from '../format.js';
import { Empty, ErrorMessage, Loading } from '../components/feedback.js';

function Load({ running, max }) {
  const ratio = max ? Math.min(1, running / max) : 0;
  return html`
    <span class="load">
      <span class="load-text">${running} / ${max}</span>
      <svg class="load-bar" width="80" height="8" viewBox="0 0 80 8" aria-hidden="true">
        <rect class="load-track" width="80" height="8" rx="4" />
        <rect class=${ratio >= 1 ? 'load-fill load-full' : 'load-fill'} width=${Math.round(80 * ratio)} height="8" rx="4" />
      </svg>
    </span>`;
}

export function ServersPage() {
  const servers = useLoad(() => api.get('/api/v1/runbook-servers'), []);
  useInterval(() => servers.refresh(), 5000);
  useReady('servers', !servers.loading);
  const items = servers.data ? servers.data.items : [];
  return html`
    <div class="page page-servers">
      <div class="page-head">
        <h1>Runbook servers</h1>
        <span class="muted small">Refreshed every 5 seconds</span>
      </div>
      ${servers.loading ? html`<${Loading} what="runbook servers" />` : null}
      <${ErrorMessage} error=${servers.error} />
      ${servers.data && !items.length ? html`<${Empty}>No runbook server has registered.</${Empty}>` : null}
      ${items.length ? html`
        <div class="table-scroll">
          <table class="table table-cards">
            <thead><tr><th scope="col">Name</th><th scope="col">Host</th><th scope="col">State</th>
              <th scope="col">Last heartbeat</th><th scope="col">Running / max</th><th scope="col">Integration packs</th></tr></thead>
            <tbody>
              ${items.map((s) => html`
                <tr key=${s.id} data-testid="server-row" data-id=${s.id} data-alive=${String(s.alive)}>
                  <td data-label="Name" class="strong">${s.name}</td>
                  <td data-label="Host">${s.host}</td>
                  <td data-label="State"><span class=${`badge status ${s.alive ? 'status-alive' : 'status-down'}`}>${s.alive ? 'alive' : 'not responding'}</span></td>
                  <td data-label="Last heartbeat" title=${formatTime(s.heartbeat_at)}>${formatAge(s.heartbeat_age_seconds)}</td>
                  <td data-label="Running / max"><${Load} running=${s.running} max=${s.max_instances} /></td>
                  <td data-label="Integration packs">${s.packs && s.packs.length
                    ? html`<ul class="chips">${s.packs.map((p) => html`<li key=${p}>${p}</li>`)}</ul>`
                    : html`<span class="muted">none</span>`}</td>
                </tr>`)}
            </tbody>
          </table>
        </div>` : null}
    </div>`;
}
