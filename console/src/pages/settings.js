// Global settings: variables, counters, computer groups and schedules (editable by administrators).

import { html, useState } from '../html.js';
import { useReady } from '../ready.js';
import { useSession } from '../session.js';
import { COUNTERS, GROUPS, SCHEDULES, SettingList, VARIABLES } from '../components/setting-list.js';

export function SettingsPage() {
  const { me } = useSession();
  const admin = !!(me && me.admin);
  const [loaded, setLoaded] = useState({});
  const onLoaded = (key) => setLoaded((l) => (l[key] ? l : { ...l, [key]: true }));
  useReady('settings', !!(loaded.variable && loaded.counter && loaded.group && loaded.schedule));
  return html`
    <div class="page page-settings">
      <div class="page-head">
        <h1>Global settings</h1>
        ${admin ? null : html`<span class="muted small">Only administrators can change these.</span>`}
      </div>
      <div class="columns">
        <${SettingList} kind=${VARIABLES} admin=${admin} onLoaded=${onLoaded} />
        <${SettingList} kind=${COUNTERS} admin=${admin} onLoaded=${onLoaded} />
        <${SettingList} kind=${GROUPS} admin=${admin} onLoaded=${onLoaded} />
        <${SettingList} kind=${SCHEDULES} admin=${admin} onLoaded=${onLoaded} />
      </div>
    </div>`;
}
