// The form that starts a job: one input per runbook parameter (by type), defaults filled in,
// checked before sending; POST /api/v1/jobs.

import { html, useMemo, useState } from '../html.js';
import { api } from '../api.js';
import { localInputToRfc3339, rfc3339ToLocalInput } from '../format.js';
import { Field, fieldId } from './fields.js';
import { ErrorMessage } from './feedback.js';

const hasDefault = (p) => p.default !== null && p.default !== undefined;

/** The input's starting value for a parameter: its default, in the input's format. */
function initialValue(p) {
  if (!hasDefault(p)) return '';
  if (p.type === 'datetime') return rfc3339ToLocalInput(p.default);
  if (p.type === 'boolean') return String(p.default).toLowerCase() === 'true' ? 'true' : 'false';
  return String(p.default);
}

/** An error message for the value, or '' when it is fine. */
export function validateParameter(p, value) {
  if (value === '' || value === null || value === undefined) return hasDefault(p) ? '' : 'Required: this parameter has no default.';
  if (p.type === 'integer' && !/^[+-]?\d+$/.test(String(value).trim())) return 'Must be a whole number (an integer).';
  if (p.type === 'datetime' && !localInputToRfc3339(value)) return 'Must be a date and time.';
  if (p.type === 'boolean' && value !== 'true' && value !== 'false') return 'Must be true or false.';
  return '';
}

/** The value sent to the API for an input's value (typed). */
function wireValue(p, value) {
  if (p.type === 'integer') return Number.parseInt(String(value).trim(), 10);
  if (p.type === 'boolean') return value === 'true';
  if (p.type === 'datetime') return localInputToRfc3339(value);
  return value;
}

function ParameterInput({ p, id, value, onInput, invalid }) {
  const common = {
    id,
    name: p.name,
    'data-testid': `param-${p.name}`,
    'aria-invalid': invalid ? 'true' : undefined,
    'aria-describedby': invalid ? `${id}-error` : `${id}-hint`,
    required: !hasDefault(p),
  };
  const set = (e) => onInput(e.currentTarget.value);
  if (p.type === 'boolean') {
    return html`
      <select ...${common} value=${value} onChange=${set}>
        ${hasDefault(p) ? null : html`<option value="">Choose…</option>`}
        <option value="true">true</option>
        <option value="false">false</option>
      </select>`;
  }
  if (p.type === 'integer') return html`<input ...${common} type="number" step="1" inputmode="numeric" value=${value} onInput=${set} />`;
  if (p.type === 'datetime') return html`<input ...${common} type="datetime-local" step="1" value=${value} onInput=${set} />`;
  return html`<input ...${common} type="text" value=${value} onInput=${set} autocomplete="off" />`;
}

function hint(p) {
  const type = { string: 'text', integer: 'integer', boolean: 'true or false', datetime: 'date and time (your time zone)' }[p.type] || p.type;
  return hasDefault(p) ? `${type}; default ${p.default === '' ? '(empty)' : p.default}` : `${type}; required`;
}

export function StartJobForm({ runbook, onStarted, onClose }) {
  const params = runbook.parameters || [];
  const ids = useMemo(() => params.map(() => fieldId('param')), [runbook.id]);
  const initial = useMemo(() => Object.fromEntries(params.map((p) => [p.name, initialValue(p)])), [runbook.id]);
  const [values, setValues] = useState(initial);
  const [errors, setErrors] = useState({});
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e) => {
    e.preventDefault();
    const found = {};
    for (const p of params) {
      const message = validateParameter(p, values[p.name]);
      if (message) found[p.name] = message;
    }
    setErrors(found);
    setError(null);
    if (Object.keys(found).length) {
      const first = params.findIndex((p) => found[p.name]);
      document.getElementById(ids[first])?.focus();
      return;
    }
    const parameters = {};
    for (const p of params) {
      const value = values[p.name];
      // Untouched defaults are left to the server, which applies them exactly.
      if (value === '' || (hasDefault(p) && value === initial[p.name])) continue;
      parameters[p.name] = wireValue(p, value);
    }
    setBusy(true);
    try {
      const job = await api.post('/api/v1/jobs', { runbook_id: runbook.id, parameters });
      onStarted(job);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return html`
    <form class="card start-form" data-testid="start-form" onSubmit=${submit} novalidate
      aria-label=${`Start ${runbook.name}`}>
      <h3>Start “${runbook.name}”</h3>
      ${params.length ? null : html`<p class="muted">This runbook takes no parameters.</p>`}
      ${params.map((p, i) => html`
        <${Field} key=${p.name} id=${ids[i]} label=${p.name} hint=${hint(p)} error=${errors[p.name]} errorTestid="param-error">
          <${ParameterInput} p=${p} id=${ids[i]} value=${values[p.name]} invalid=${!!errors[p.name]}
            onInput=${(v) => {
              setValues((s) => ({ ...s, [p.name]: v }));
              if (errors[p.name]) setErrors((s) => ({ ...s, [p.name]: validateParameter(p, v) }));
            }} />
        </${Field}>`)}
      <${ErrorMessage} error=${error} testid="start-error" />
      <div class="form-actions">
        <button type="submit" class="btn btn-primary" data-testid="start-submit" disabled=${busy}>
          ${busy ? 'Starting…' : 'Start job'}</button>
        <button type="button" class="btn" onClick=${onClose}>Cancel</button>
      </div>
    </form>`;
}
