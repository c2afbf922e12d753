// One activity of a runbook, as defined: its name, id and type, its properties (and loop or
// retry settings), and its links in and out, each leading to the activity at its other end.
// Opened by clicking its box in the runbook's graph.

import { html } from '../html.js';
import { linkLabel } from '../graph-layout.js';
import { typeLabel } from '../activity-types.js';
import { KeyValues } from './key-values.js';

/** The settings besides `properties` that change how the activity runs. */
const SETTINGS = ['loop', 'retry', 'timeout', 'flatten'];

function Links({ title, links, end, names, onSelect, testid }) {
  if (!links.length) return null;
  return html`
    <h4 class="h-tiny">${title}</h4>
    <ul class="activity-links" data-testid=${testid}>
      ${links.map((link, i) => html`
        <li key=${i}>
          <button type="button" class="btn-link" onClick=${() => onSelect(link[end])}>${names[link[end]] || link[end]}</button>
          <span class="muted small"> ${linkLabel(link).full}</span>
        </li>`)}
    </ul>`;
}

export function ActivityDetails({ definition, activityId, onSelect, onClose }) {
  const activities = definition.activities || [];
  const activity = activities.find((a) => a.id === activityId);
  if (!activity) return null;
  const names = Object.fromEntries(activities.map((a) => [a.id, a.name || a.id]));
  const links = definition.links || [];
  const settings = Object.fromEntries(SETTINGS.filter((k) => activity[k] !== undefined).map((k) => [k, activity[k]]));
  return html`
    <section class="card activity-details" data-testid="activity-details" data-activity=${activity.id}
      aria-labelledby="activity-details-title">
      <div class="section-head">
        <h2 id="activity-details-title" class="h-small">Activity</h2>
        <button type="button" class="btn btn-small" data-testid="activity-details-close" onClick=${onClose}>Close</button>
      </div>
      <h3 data-testid="activity-details-name">${activity.name || activity.id}
        ${activity.name && activity.name !== activity.id ? html` <span class="muted small mono">${activity.id}</span>` : null}</h3>
      <p><span class="badge type" data-testid="activity-details-type">${activity.type}</span>
        <span class="muted small"> ${typeLabel(activity.type)}</span></p>
      <h4 class="h-tiny">Properties</h4>
      <${KeyValues} values=${activity.properties} empty="No properties." testid="activity-properties" />
      ${Object.keys(settings).length ? html`<h4 class="h-tiny">Settings</h4><${KeyValues} values=${settings} />` : null}
      <${Links} title="Runs after" links=${links.filter((l) => l.to === activity.id)} end="from" names=${names}
        onSelect=${onSelect} testid="activity-links-in" />
      <${Links} title="Then" links=${links.filter((l) => l.from === activity.id)} end="to" names=${names}
        onSelect=${onSelect} testid="activity-links-out" />
    </section>`;
}
