// One runbook: its graph (a box opens that activity's definition, kept in the route as
// `?activity=`), description, parameters, return data, versions, and its recent jobs (live),
// with the Start form for those who may start it; a started job's instance is opened as soon
// as it exists.

import { html, useState } from '../html.js';
import { api, seg } from '../api.js';
import { useLoad } from '../hooks.js';
import { useReady } from '../ready.js';
import { href, navigate } from '../router.js';
import { formatTime, shortId } from '../format.js';
import { rememberRunbook } from '../runbook-cache.js';
import { useLiveJobs } from '../live-list.js';
import { useFollowJob } from '../follow-job.js';
import { RunbookGraph } from '../graph.js';
import { JobTable } from '../components/job-table.js';
import { StartJobForm } from '../components/start-job-form.js';
import { ActivityDetails } from '../components/activity-details.js';
import { ErrorMessage, Loading } from '../components/feedback.js';

async function loadVersions(id) {
  return (await api.get(`/api/v1/runbooks/${seg(id)}/versions`)).items;
}

function Parameters({ runbook }) {
  const params = runbook.parameters || [];
  return html`
    <section class="card" data-testid="runbook-parameters" aria-labelledby="rb-params">
      <h2 id="rb-params" class="h-small">Parameters</h2>
      ${params.length ? html`
        <div class="table-scroll">
          <table class="table table-compact">
            <thead><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Default</th></tr></thead>
            <tbody>
              ${params.map((p) => html`
                <tr key=${p.name}>
                  <td>${p.name}</td>
                  <td><span class="badge type">${p.type}</span></td>
                  <td>${p.default === null || p.default === undefined
                    ? html`<span class="badge required">required</span>`
                    : p.default === '' ? html`<span class="muted">(empty)</span>` : html`<code>${p.default}</code>`}</td>
                </tr>`)}
            </tbody>
          </table>
        </div>` : html`<p class="muted">None: jobs start without parameters.</p>`}
      <h2 class="h-small">Return data</h2>
      ${(runbook.returns || []).length ? html`
        <ul class="chips">
          ${runbook.returns.map((r) => html`<li key=${r.name}>${r.name} <span class="badge type">${r.type}</span></li>`)}
        </ul>` : html`<p class="muted">None.</p>`}
    </section>`;
}

function Versions({ id, current }) {
  const versions = useLoad(() => loadVersions(id), [id]);
  return html`
    <section class="card" data-testid="runbook-versions" aria-labelledby="rb-versions">
      <h2 id="rb-versions" class="h-small">Versions</h2>
      ${versions.loading ? html`<${Loading} />` : null}
      <${ErrorMessage} error=${versions.error} />
      ${versions.data && versions.data.length ? html`
        <ol class="versions">
          ${versions.data.slice(0, 20).map((v) => html`
            <li key=${v.version}>
              <strong>v${v.version}</strong>${v.version === current ? html` <span class="badge">shown</span>` : null}
              <span class="muted small"> ${formatTime(v.created_at)} by ${v.created_by}</span>
            </li>`)}
        </ol>
        ${versions.data.length > 20 ? html`<p class="muted small">and ${versions.data.length - 20} older.</p>` : null}` : null}
    </section>`;
}

function RecentJobs({ runbook, live }) {
  return html`
    <section class="card" data-testid="runbook-jobs" aria-labelledby="rb-jobs">
      <div class="section-head">
        <h2 id="rb-jobs" class="h-small">Recent jobs</h2>
        <span class="section-links small">
          <a href=${href('/jobs', { runbook_id: runbook.id })}>All jobs of this runbook →</a>
          <a href=${href('/instances', { runbook_id: runbook.id })} data-testid="runbook-instances-link">All instances of this runbook →</a>
        </span>
      </div>
      ${live.loading ? html`<${Loading} what="jobs" />` : null}
      <${ErrorMessage} error=${live.error} />
      ${!live.loading ? html`<${JobTable} jobs=${live.jobs} showRunbook=${false} empty="No jobs yet." />` : null}
    </section>`;
}

export function RunbookPage({ id, query }) {
  const detail = useLoad(async () => {
    const r = await api.get(`/api/v1/runbooks/${seg(id)}`);
    rememberRunbook(r);
    return r;
  }, [id]);
  const live = useLiveJobs({ runbook_id: id }, 10, 0);
  const [starting, setStarting] = useState(false);
  const { following, follow } = useFollowJob();
  const activity = query.get('activity') || '';
  useReady('runbook', !detail.loading, activity);

  if (detail.loading) return html`<${Loading} what="the runbook" />`;
  if (detail.error) {
    return html`<div class="page"><h1>Runbook</h1><${ErrorMessage} error=${detail.error} />
      <p><a href=${href('/runbooks')}>Back to the runbooks</a></p></div>`;
  }
  const rb = detail.data;
  const onStarted = (job) => {
    setStarting(false);
    live.add(job);
    follow(job, `Job ${shortId(job.id)} started (version ${job.version}).`);
  };
  const select = (activityId) => navigate(`/runbooks/${id}`, { activity: activityId || undefined });
  return html`
    <div class="page page-runbook">
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href=${href('/runbooks')}>Runbooks</a>
        ${rb.folder ? html` / <a href=${href('/runbooks', { folder: rb.folder })}>${rb.folder}</a>` : null}
      </nav>
      <div class="page-head">
        <h1 data-testid="runbook-name">${rb.name}</h1>
        <div class="head-meta">
          <span class="badge">v${rb.version}</span>
          ${rb.checked_out_by ? html`<span class="badge checkout">checked out by ${rb.checked_out_by}</span>` : null}
          ${rb.can_start ? html`
            <button type="button" class="btn btn-primary" data-testid="start-button" aria-expanded=${starting}
              onClick=${() => setStarting(!starting)}>▶ Start</button>` : null}
        </div>
      </div>
      <p class="lead" data-testid="runbook-description">${rb.description || html`<span class="muted">No description.</span>`}</p>
      ${following ? html`
        <p class="notice" role="status" data-testid="start-waiting">Job <a href=${href(`/jobs/${encodeURIComponent(following.id)}`)}
          class="mono">${shortId(following.id)}</a> started; its instance opens as soon as a runbook server takes it…</p>` : null}
      ${starting && rb.can_start ? html`<${StartJobForm} runbook=${rb} onStarted=${onStarted} onClose=${() => setStarting(false)} />` : null}
      <section class="card card-graph" aria-labelledby="rb-graph">
        <h2 id="rb-graph" class="h-small">Graph</h2>
        <${RunbookGraph} definition=${rb.definition} title=${`Graph of ${rb.name}`} onSelect=${select} selected=${activity} />
      </section>
      ${activity ? html`<${ActivityDetails} definition=${rb.definition} activityId=${activity} onSelect=${select}
        onClose=${() => select(null)} />` : null}
      <div class="columns columns-wide-left">
        <div>
          <${RecentJobs} runbook=${rb} live=${live} />
        </div>
        <div>
          <${Parameters} runbook=${rb} />
          <${Versions} id=${rb.id} current=${rb.version} />
          <section class="card small muted">
            Path <code>${rb.path}</code> · id <code>${rb.id}</code> · created ${formatTime(rb.created_at)} by ${rb.created_by}
          </section>
        </div>
      </div>
    </div>`;
}
