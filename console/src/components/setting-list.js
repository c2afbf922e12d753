// One kind of global setting (variables, counters, computer groups or schedules) as a table; administrators add, edit and
// delete entries in small inline forms. Encrypted variables never show their value.

import { html, useEffect, useState } from '../html.js';
import { api, seg } from '../api.js';
import { useLoad } from '../hooks.js';
import { Empty, ErrorMessage, Loading } from './feedback.js';

export const MASK = '••••••';

export const VARIABLES = {
  key: 'variable', title: 'Variables', path: '/api/v1/variables', encryption: true, integer: false,
  help: 'Runbooks read them as {{ var.NAME }}. Encrypted values are masked everywhere.',
};
export const COUNTERS = {
  key: 'counter', title: 'Counters', path: '/api/v1/counters', encryption: false, integer: true,
  // An optional column beside the value.
  extra: { title: 'Reset value', of: (item) => String(item.default ?? '') },
  help: 'Whole numbers that runbooks read and change with get_counter and modify_counter.',
};
export const GROUPS = {
  key: 'group', title: 'Computer groups', path: '/api/v1/groups', encryption: false, integer: false, hosts: true,
  help: 'Hosts, separated by spaces or commas. {{ group.NAME }} in an activity\'s host runs it once per host.',
};

export const SCHEDULES = {
  key: 'schedule', title: 'Schedules', path: '/api/v1/schedules', encryption: false, integer: false, definition: true,
  help: 'When runbooks that name one may start, as JSON: {"days_of_week": ["mon", "fri"], "hours": ["08:00-18:00"], '
    + '"timezone": "Europe/Paris"}; also days_of_month, occurrence and exceptions.',
};

/** A schedule in one line: its days, hours, time zone and how many exceptions (as `scorch schedule list`). */
export function scheduleSummary(definition) {
  const d = definition || {};
  const list = (key) => (Array.isArray(d[key]) && d[key].length ? d[key].join(',') : '');
  const week = list('days_of_week');
  const days = week ? [list('occurrence'), week].filter(Boolean).join(' ')
    : d.days_of_month ? `days ${d.days_of_month} of the month` : 'every day';
  const exceptions = Array.isArray(d.exceptions) ? d.exceptions.length : 0;
  const parts = [days, list('hours') || 'all day', d.timezone || 'UTC'];
  if (exceptions) parts.push(`${exceptions} exception${exceptions === 1 ? '' : 's'}`);
  return parts.join(', ');
}

function definitionOf(value) {
  try {
    const parsed = JSON.parse(String(value));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

const hostsOf = (value) => String(value).split(/[\s,]+/).filter(Boolean);

/** The value as the edit form starts from it. */
function valueText(kind, item) {
  if (kind.hosts) return (item.hosts || []).join(' ');
  if (kind.definition) return JSON.stringify(item.definition || {}, null, 2);
  return item.value === null || item.value === undefined ? '' : String(item.value);
}

/** The value as the table shows it. */
function shownText(kind, item) {
  return kind.definition ? scheduleSummary(item.definition) : valueText(kind, item);
}

function checkValue(kind, value, encrypted) {
  if (kind.definition) return definitionOf(value) ? '' : 'Enter the definition as a JSON object.';
  if (kind.hosts) return hostsOf(value).length ? '' : 'Enter at least one host.';
  if (kind.integer) return /^[+-]?\d+$/.test(String(value).trim()) ? '' : 'Enter a whole number.';
  if (encrypted && value === '') return 'Enter the value to encrypt.';
  return '';
}

function bodyFor(kind, value, encrypted) {
  if (kind.definition) return definitionOf(value);
  if (kind.hosts) return { hosts: hostsOf(value) };
  if (kind.integer) return { value: Number.parseInt(String(value).trim(), 10) };
  return { value, encrypted: !!encrypted };
}

/** The inputs shared by the add form and a row's edit form. */
function ValueInputs({ kind, prefix, value, encrypted, onValue, onEncrypted, error }) {
  return html`
    <div class=${`field field-inline ${error ? 'field-invalid' : ''}`}>
      <label for=${`${prefix}-value`}>${kind.definition ? 'Definition' : 'Value'}</label>
      ${kind.definition ? html`
        <textarea id=${`${prefix}-value`} data-testid=${`${kind.key}-value`} value=${value} rows="4" spellcheck="false"
          placeholder='{"days_of_week": ["mon"]}' aria-invalid=${error ? 'true' : undefined}
          onInput=${(e) => onValue(e.currentTarget.value)}></textarea>` : html`
        <input id=${`${prefix}-value`} data-testid=${`${kind.key}-value`} value=${value}
          type=${kind.integer ? 'number' : encrypted ? 'password' : 'text'} step=${kind.integer ? '1' : undefined}
          autocomplete="off" placeholder=${encrypted ? 'new value' : ''}
          aria-invalid=${error ? 'true' : undefined} onInput=${(e) => onValue(e.currentTarget.value)} />`}
      ${error ? html`<span class="field-error" role="alert">${error}</span>` : null}
    </div>
    ${kind.encryption ? html`
      <div class="field field-check">
        <input id=${`${prefix}-encrypted`} type="checkbox" data-testid=${`${kind.key}-encrypted`} checked=${encrypted}
          onChange=${(e) => onEncrypted(e.currentTarget.checked)} />
        <label for=${`${prefix}-encrypted`}>Encrypted</label>
      </div>` : null}`;
}

function AddForm({ kind, onSaved }) {
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const [encrypted, setEncrypted] = useState(false);
  const [errors, setErrors] = useState({});
  const [busy, setBusy] = useState(false);
  const prefix = `${kind.key}-add`;
  const submit = async (e) => {
    e.preventDefault();
    const found = {
      name: name.trim() ? '' : 'Enter a name.',
      value: checkValue(kind, value, encrypted),
    };
    setErrors(found);
    if (found.name || found.value) return;
    setBusy(true);
    try {
      await api.put(`${kind.path}/${seg(name.trim())}`, bodyFor(kind, value, encrypted));
      setName('');
      setValue('');
      setEncrypted(false);
      onSaved();
    } catch (error) {
      setErrors({ form: error.message });
    } finally {
      setBusy(false);
    }
  };
  return html`
    <form class="inline-form" onSubmit=${submit} novalidate aria-label=${`Add or replace a ${kind.key}`}>
      <div class=${`field field-inline ${errors.name ? 'field-invalid' : ''}`}>
        <label for=${`${prefix}-name`}>Name</label>
        <input id=${`${prefix}-name`} data-testid=${`${kind.key}-name`} value=${name} autocomplete="off"
          aria-invalid=${errors.name ? 'true' : undefined} onInput=${(e) => setName(e.currentTarget.value)} />
        ${errors.name ? html`<span class="field-error" role="alert">${errors.name}</span>` : null}
      </div>
      <${ValueInputs} kind=${kind} prefix=${prefix} value=${value} encrypted=${encrypted}
        onValue=${setValue} onEncrypted=${setEncrypted} error=${errors.value} />
      <button type="submit" class="btn btn-primary" data-testid=${`${kind.key}-save`} disabled=${busy}>Save</button>
      ${errors.form ? html`<p class="error" role="alert">${errors.form}</p>` : null}
    </form>`;
}

function Row({ kind, item, admin, onChanged }) {
  const [mode, setMode] = useState('view'); // view | edit | delete
  const [value, setValue] = useState('');
  const [encrypted, setEncrypted] = useState(false);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const prefix = `${kind.key}-${item.name}`.replace(/[^A-Za-z0-9_-]/g, '_');

  const startEdit = () => {
    setValue(item.encrypted ? '' : valueText(kind, item));
    setEncrypted(!!item.encrypted);
    setError('');
    setMode('edit');
  };
  const act = async (work) => {
    setBusy(true);
    setError('');
    try {
      await work();
      setMode('view');
      onChanged();
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  };
  const save = (e) => {
    e.preventDefault();
    const problem = checkValue(kind, value, encrypted);
    if (problem) {
      setError(problem);
      return;
    }
    act(() => api.put(`${kind.path}/${seg(item.name)}`, bodyFor(kind, value, encrypted)));
  };
  const remove = () => act(() => api.del(`${kind.path}/${seg(item.name)}`));

  const shown = item.encrypted
    ? html`<span class="masked" aria-label="hidden value">${MASK}</span> <span class="badge encrypted">encrypted</span>`
    : html`<code class="value">${shownText(kind, item)}</code>`;
  return html`
    <tr data-testid=${`${kind.key}-row`} data-name=${item.name}>
      <th scope="row" data-label="Name">${item.name}</th>
      <td data-label="Value">
        ${mode === 'edit' ? html`
          <form class="inline-form" onSubmit=${save} novalidate aria-label=${`Edit ${item.name}`}>
            <${ValueInputs} kind=${kind} prefix=${prefix} value=${value} encrypted=${encrypted}
              onValue=${setValue} onEncrypted=${setEncrypted} error=${error} />
            <button type="submit" class="btn btn-primary btn-small" disabled=${busy}>Save</button>
            <button type="button" class="btn btn-small" onClick=${() => setMode('view')}>Cancel</button>
          </form>` : shown}
      </td>
      ${kind.extra ? html`<td data-label=${kind.extra.title}>${kind.extra.of(item)}</td>` : null}
      ${admin ? html`
        <td data-label="Actions" class="actions">
          ${mode === 'view' ? html`
            <button type="button" class="btn btn-small" data-testid=${`${kind.key}-edit`} onClick=${startEdit}
              aria-label=${`Edit ${item.name}`}>Edit</button>
            <button type="button" class="btn btn-small btn-danger-quiet" data-testid=${`${kind.key}-delete`}
              onClick=${() => { setError(''); setMode('delete'); }} aria-label=${`Delete ${item.name}`}>Delete</button>` : null}
          ${mode === 'delete' ? html`
            <span class="confirm">Delete ${item.name}?</span>
            <button type="button" class="btn btn-small btn-danger" data-testid=${`${kind.key}-confirm-delete`}
              onClick=${remove} disabled=${busy}>Delete</button>
            <button type="button" class="btn btn-small" onClick=${() => setMode('view')}>Keep</button>` : null}
          ${error && mode !== 'edit' ? html`<p class="error small" role="alert">${error}</p>` : null}
        </td>` : null}
    </tr>`;
}

export function SettingList({ kind, admin, onLoaded }) {
  const list = useLoad(() => api.get(kind.path), [kind.path]);
  useEffect(() => {
    if (!list.loading && onLoaded) onLoaded(kind.key);
  }, [list.loading]);
  const items = list.data ? list.data.items : [];
  return html`
    <section class="card" aria-labelledby=${`${kind.key}-title`}>
      <div class="section-head">
        <h2 id=${`${kind.key}-title`}>${kind.title}</h2>
        ${admin ? null : html`<span class="badge">read-only</span>`}
      </div>
      <p class="muted small">${kind.help}</p>
      ${admin ? html`<${AddForm} kind=${kind} onSaved=${list.refresh} />` : null}
      ${list.loading ? html`<${Loading} />` : null}
      <${ErrorMessage} error=${list.error} />
      ${list.data && !items.length ? html`<${Empty}>None yet.</${Empty}>` : null}
      ${items.length ? html`
        <div class="table-scroll">
          <table class="table table-cards">
            <thead><tr><th scope="col">Name</th><th scope="col">Value</th>${kind.extra ? html`<th scope="col">${kind.extra.title}</th>` : null}
              ${admin ? html`<th scope="col"><span class="sr-only">Actions</span></th>` : null}</tr></thead>
            <tbody>
              ${items.map((item) => html`<${Row} key=${item.name} kind=${kind} item=${item} admin=${admin} onChanged=${list.refresh} />`)}
            </tbody>
          </table>
        </div>` : null}
    </section>`;
}
