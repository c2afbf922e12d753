// An instance's activity runs folded into one status per activity, for colouring the graph.

const RANK = { running: 4, failed: 3, warning: 2, success: 1 };

/**
 * activity id → status. A later attempt of a loop replaces the earlier ones; several runs of
 * one activity (fan-out) show the most telling: running, then failed, warning, success.
 */
export function activityStatuses(runs) {
  return fold(runs).statuses;
}

/** activity id → how many times it ran (loop attempts counted once). */
export function activityRunCounts(runs) {
  return fold(runs).counts;
}

function fold(runs) {
  const latest = new Map(); // activity id → [runs], the last attempt of each loop
  for (const run of runs) {
    const list = latest.get(run.id) || [];
    if (run.attempt > 1 && list.length) list[list.length - 1] = run;
    else list.push(run);
    latest.set(run.id, list);
  }
  const statuses = {};
  const counts = {};
  for (const [id, list] of latest) {
    let best = null;
    for (const run of list) if (!best || (RANK[run.status] || 0) > (RANK[best] || 0)) best = run.status;
    statuses[id] = best;
    counts[id] = list.length;
  }
  return { statuses, counts };
}
