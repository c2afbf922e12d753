// One instance: where it failed (first, when it did), the runbook's graph coloured by what
// ran, the instance's status, parameters and return data, and its activity runs in order (a long
// list collapsed); live while it runs; Run again once its job has ended.

import { html, useEffect, useMemo, useState } from '../html.js';
import { api, seg } from '../api.js';
import { useLoad, useTick } from '../hooks.js';
import { useEvents } from '../events.js';
import { useReady } from '../ready.js';
import { href } from '../router.js';
import { elapsed, formatDuration, formatTime, shortId } from '../format.js';
import { getRunbook } from '../runbook-cache.js';
import { activityRunCounts, activityStatuses } from '../run-status.js';
import { RunbookGraph } from '../graph.js';
import { typeLabel } from '../activity-types.js';
import { KeyValues } from '../components/key-values.js';
import { StatusBadge } from '../components/status.js';
import { LiveOutputs } from '../components/live-output.js';
import { PlatformEvents } from '../components/platform-events.js';
import { RunList, TAIL, initialHead } from '../components/run-list.js';
import { FailureSummary, lastFailedRun } from '../components/failure-summary.js';
import { RunAgain } from '../components/run-again.js';
import { takeNotice } from '../follow-job.js';
import { Empty, ErrorMessage, Loading } from '../components/feedback.js';

export function InstancePage({ id }) {
  const instance = useLoad(() => api.get(`/api/v1/instances/${seg(id)}`), [id]);
  const runs = useLoad(() => api.get(`/api/v1/instances/${seg(id)}/activities`), [id]);
  const [runbook, setRunbook] = useState({ data: null, error: null, loading: true });
  const [head, setHead] = useState(null); // null: as many as initialHead shows
  const [notice] = useState(takeNotice); // what the start that led here said

  const inst = instance.data;
  const running = !!inst && inst.status === 'running';
  useTick(running ? 1000 : null);
  const runbookId = inst ? inst.runbook_id : null;
  const jobId = inst ? inst.job_id : null;
  useEffect(() => {
    if (!runbookId) return;
    getRunbook(runbookId).then(
      (data) => setRunbook({ data, error: null, loading: false }),
      (error) => setRunbook({ data: null, error, loading: false }),
    );
  }, [runbookId]);
  // The job: its version, and its end (which offers Run again); a failure to read it hides both.
  const jobLoad = useLoad(() => (jobId ? api.get(`/api/v1/jobs/${seg(jobId)}`) : null), [jobId]);
  const job = jobLoad.data || null;

  useEvents((name, event) => {
    if (name === 'lagged') {
      instance.refresh();
      runs.refresh();
      jobLoad.refresh();
    } else if (name === 'job' && event.id === jobId) {
      jobLoad.refresh();
    } else if (name === 'activity' && event.instance_id === id) {
      runs.refresh();
    } else if (name === 'instance' && event.id === id) {
      instance.setData((i) => (i ? { ...i, status: event.status } : i));
      instance.refresh();
      runs.refresh();
    }
  });

  const items = runs.data ? runs.data.items : [];
  const statuses = useMemo(() => activityStatuses(items), [runs.data]);
  const counts = useMemo(() => activityRunCounts(items), [runs.data]);
  const types = useMemo(() => {
    const defs = runbook.data && runbook.data.definition ? runbook.data.definition.activities || [] : [];
    return Object.fromEntries(defs.map((a) => [a.id, typeLabel(a.type)]));
  }, [runbook.data]);

  const primaryLoaded = !instance.loading && !runs.loading && (!inst || !runbook.loading);
  useReady('instance', primaryLoaded);

  if (instance.loading) return html`<${Loading} what="the instance" />`;
  if (instance.error) {
    return html`<div class="page"><h1>Instance</h1><${ErrorMessage} error=${instance.error} />
      <p><a href=${href('/jobs')}>Back to the jobs</a></p></div>`;
  }
  const rb = runbook.data;
  const shownHead = head ?? initialHead(items.length);
  const failedAt = inst.status === 'failed' ? lastFailedRun(items) : -1;
  const select = (activityId) => {
    // The latest run of the activity: the one that tells how it ended.
    const index = items.map((r) => r.id).lastIndexOf(activityId);
    if (index < 0) return;
    if (index >= shownHead && index < items.length - TAIL) setHead(index + 1);
    setTimeout(() => {
      const el = document.getElementById(`run-${index}`);
      if (el) {
        el.scrollIntoView({ behavior: 'smooth', block: 'center' });
        el.classList.add('flash');
        setTimeout(() => el.classList.remove('flash'), 1200);
      }
    }, 0);
  };

  return html`
    <div class="page page-instance">
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href=${href('/jobs')}>Jobs</a> /
        <a href=${href(`/jobs/${encodeURIComponent(inst.job_id)}`)} class="mono">job ${shortId(inst.job_id)}</a>
      </nav>
      <div class="page-head">
        <h1>Instance of ${rb && !rb.missing ? html`<a href=${href(`/runbooks/${encodeURIComponent(inst.runbook_id)}`)}>${rb.name}</a>` : 'a runbook'}</h1>
        <div class="head-meta">
          <span class="sr-only">Status:</span><${StatusBadge} status=${inst.status} testid="instance-status" />
          <${RunAgain} job=${job} runbook=${rb} />
        </div>
      </div>
      <p class="meta-line small">
        <span>Server <strong>${inst.server}</strong></span>
        <span>Started ${formatTime(inst.started_at)}</span>
        <span>${inst.ended_at ? `Ended ${formatTime(inst.ended_at)}` : 'Still running'}</span>
        <span>${running ? 'Running for' : 'Took'} ${formatDuration(elapsed(inst.started_at, inst.ended_at))}</span>
        <span class="mono muted">${inst.id}</span>
      </p>
      ${notice ? html`<p class="notice" role="status" data-testid="start-notice">${notice}</p>` : null}
      ${failedAt >= 0 ? html`<${FailureSummary} runs=${items} index=${failedAt} typeOf=${types[items[failedAt].id]}
        runbookId=${inst.runbook_id} onShowRun=${select} />` : null}
      ${inst.problems && inst.problems.length ? html`
        <div class="problems" role="alert" data-testid="instance-problems">
          <strong>The instance failed outside its activities:</strong>
          <ul>${inst.problems.map((p) => html`<li>${p}</li>`)}</ul>
        </div>` : null}
      <section class="card card-graph" aria-labelledby="inst-graph">
        <h2 id="inst-graph" class="h-small">Graph</h2>
        ${job && rb && rb.version && job.version !== rb.version ? html`
          <p class="notice small">This instance ran version ${job.version}; the graph shows the latest, version ${rb.version}.</p>` : null}
        ${runbook.loading ? html`<${Loading} what="the graph" />` : null}
        <${ErrorMessage} error=${runbook.error} />
        ${rb && rb.definition ? html`<${RunbookGraph} definition=${rb.definition} statuses=${statuses} counts=${counts} onSelect=${select}
          title=${`Graph of ${rb.name}, coloured by this instance`} />` : null}
      </section>
      <div class="columns">
        <section class="card" aria-labelledby="inst-params">
          <h2 id="inst-params" class="h-small">Parameters</h2>
          <${KeyValues} values=${inst.parameters} empty="No parameters." testid="instance-parameters" />
        </section>
        <section class="card" aria-labelledby="inst-returns">
          <h2 id="inst-returns" class="h-small">Return data</h2>
          <${KeyValues} values=${inst.returns} empty=${running ? 'Not yet.' : 'None.'} testid="instance-returns" />
        </section>
      </div>
      <${PlatformEvents} instanceId=${id} runs=${items} definition=${rb && rb.definition} />
      <${LiveOutputs} instanceId=${id} runs=${items} definition=${rb && rb.definition} />
      <section class="card" aria-labelledby="inst-runs">
        <h2 id="inst-runs" class="h-small">Activity runs ${items.length ? html`<span class="muted">(${items.length})</span>` : null}</h2>
        ${runs.loading ? html`<${Loading} what="activity runs" />` : null}
        <${ErrorMessage} error=${runs.error} />
        ${!runs.loading && !items.length ? html`<${Empty}>No activity has run yet.</${Empty}>` : null}
        <${RunList} runs=${items} types=${types} head=${shownHead} onShowMore=${setHead} />
      </section>
    </div>`;
}
