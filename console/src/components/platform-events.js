// Platform events: what the instance's send_platform_event runs recorded (severity, summary,
// details), read again as more of those runs end.

import { html, useEffect } from '../html.js';
import { api, seg } from '../api.js';
import { useLoad } from '../hooks.js';
import { formatTime } from '../format.js';
import { ErrorMessage } from './feedback.js';

const SENDER = 'send_platform_event';

/** The instance's platform events, when its runbook sends any. */
export function PlatformEvents({ instanceId, runs, definition }) {
  const senders = new Set(((definition && definition.activities) || []).filter((a) => a.type === SENDER).map((a) => a.id));
  const sent = (runs || []).filter((r) => senders.has(r.id) && r.status !== 'running').length;
  const events = useLoad(() => (senders.size ? api.get(`/api/v1/instances/${seg(instanceId)}/events`) : null), [instanceId, senders.size]);
  useEffect(() => {
    if (sent) events.refresh();
  }, [sent]);
  const items = events.data ? events.data.items : [];
  if (!items.length && !events.error) return null;
  return html`
    <section class="card" aria-labelledby="inst-events">
      <h2 id="inst-events" class="h-small">Platform events <span class="muted">(${items.length})</span></h2>
      <${ErrorMessage} error=${events.error} />
      <div class="table-scroll">
        <table class="table table-cards">
          <thead><tr><th scope="col">Severity</th><th scope="col">Summary</th><th scope="col">Details</th>
            <th scope="col">Activity</th><th scope="col">At</th></tr></thead>
          <tbody>
            ${items.map((e) => html`
              <tr key=${e.event_id} data-testid="platform-event-row" data-severity=${e.severity}>
                <td data-label="Severity"><span class=${`badge severity-${e.severity}`}>${e.severity}</span></td>
                <th scope="row" data-label="Summary">${e.summary}</th>
                <td data-label="Details" class="event-details">${e.details}</td>
                <td data-label="Activity">${e.activity_name}</td>
                <td data-label="At">${formatTime(e.at)}</td>
              </tr>`)}
          </tbody>
        </table>
      </div>
    </section>`;
}
