// Live output: what the instance's run_program and run_script runs print on stdout and stderr,
// as it comes (read again on each `output` event of the run) and kept once they have ended.
// The server keeps at most 1 MiB per run, then one truncation marker, and masks secrets.

import { html, useEffect, useRef, useState } from '../html.js';
import { api, seg } from '../api.js';
import { useCoalesced } from '../hooks.js';
import { useEvents } from '../events.js';

/** Activity types whose runs print. */
const PRINTING = new Set(['run_program', 'run_script', 'run_ssh_command']);

/** Panels shown at most: the latest printing runs (a loop may run a script many times). */
const SHOWN = 20;

/** One panel per printing run of the instance, in start order. */
export function LiveOutputs({ instanceId, runs, definition }) {
  const types = Object.fromEntries(((definition && definition.activities) || []).map((a) => [a.id, a.type]));
  const printing = (runs || []).filter((run) => PRINTING.has(types[run.id]));
  if (!printing.length) return null;
  const hidden = Math.max(0, printing.length - SHOWN);
  return html`
    <section class="card" aria-labelledby="inst-output">
      <h2 id="inst-output" class="h-small">Live output</h2>
      ${hidden ? html`<p class="muted small">The ${hidden} earlier runs are not shown here; the API keeps their output.</p>` : null}
      ${printing.slice(hidden).map((run) => html`<${LiveOutput} key=${run.seq} instanceId=${instanceId} run=${run} />`)}
    </section>`;
}

/** What one run printed, followed live while it runs. */
export function LiveOutput({ instanceId, run }) {
  const [chunks, setChunks] = useState([]);
  const [error, setError] = useState(null);
  const offset = useRef(0);
  const pre = useRef(null);
  const atBottom = useRef(true);

  const fetchMore = useCoalesced(async () => {
    try {
      for (;;) {
        const path = `/api/v1/instances/${seg(instanceId)}/activities/${seg(run.seq)}/output`;
        const page = await api.get(path, { offset: offset.current });
        offset.current = page.next_offset;
        if (page.items.length) setChunks((old) => old.concat(page.items));
        setError(null);
        if (!page.more) return;
      }
    } catch (e) {
      setError(e);
    }
  });

  useEffect(() => {
    offset.current = 0;
    setChunks([]);
    fetchMore();
  }, [instanceId, run.seq]);
  // The run's end is recorded after all its output is stored: one last read then.
  useEffect(() => {
    if (run.status !== 'running') fetchMore();
  }, [run.status]);
  useEvents((name, event) => {
    if (name === 'lagged' || (name === 'output' && event.instance_id === instanceId && event.seq === run.seq)) {
      fetchMore();
    }
  });

  // Stay at the end while the reader is there.
  useEffect(() => {
    const el = pre.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [chunks]);
  const onScroll = () => {
    const el = pre.current;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
  };

  const running = run.status === 'running';
  return html`
    <details class="live-output" open data-testid="live-output" data-activity=${run.id} data-seq=${run.seq}>
      <summary>
        <strong>${run.name}</strong>
        <span class="muted small"> ${running ? 'running…' : run.status}${run.attempt > 1 ? `, attempt ${run.attempt}` : ''}</span>
      </summary>
      ${error ? html`<p class="run-error small">Cannot read the output: ${error.message}</p>` : null}
      ${chunks.length ? html`
        <pre class="live-output-text" ref=${pre} onScroll=${onScroll} tabindex="0"
          aria-label=${`Output of ${run.name}`} aria-live=${running ? 'polite' : 'off'}>${chunks.map((c) => html`<span
            class=${c.stream === 'stderr' ? 'stderr' : null}>${c.text}</span>`)}</pre>`
        : html`<p class="muted small" data-testid="live-output-empty">${running ? 'Nothing printed yet.' : 'It printed nothing.'}</p>`}
    </details>`;
}
