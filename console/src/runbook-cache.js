// Runbooks by id, fetched lazily (GET /api/v1/runbooks/{id}) and cached for the session, so
// lists of jobs and instances can show names without fetching every runbook. At most a few
// fetches run at once; the same id is never fetched twice at the same time.

import { api, seg } from './api.js';
import { useEffect, useState } from './html.js';

const MAX_ENTRIES = 300;
const MAX_PARALLEL = 6;

const details = new Map(); // id → RunbookDetail (or { missing: true, ... })
const inflight = new Map(); // id → Promise
const queue = [];
let running = 0;
const listeners = new Set();

function remember(id, detail) {
  details.delete(id);
  details.set(id, detail);
  if (details.size > MAX_ENTRIES) details.delete(details.keys().next().value);
  for (const fn of listeners) fn();
}

/** Records a runbook a page fetched itself. */
export function rememberRunbook(detail) {
  if (detail && detail.id) remember(detail.id, detail);
}

export function forgetRunbooks() {
  details.clear();
}

function pump() {
  while (running < MAX_PARALLEL && queue.length) {
    const { id, resolve, reject } = queue.shift();
    running += 1;
    api.get(`/api/v1/runbooks/${seg(id)}`)
      .then((detail) => {
        remember(id, detail);
        resolve(detail);
      }, (error) => {
        if (error.status === 404 || error.status === 403) {
          const missing = { id, name: '(runbook not visible)', path: '', missing: true };
          remember(id, missing);
          resolve(missing);
        } else {
          reject(error);
        }
      })
      .finally(() => {
        running -= 1;
        inflight.delete(id);
        pump();
      });
  }
}

/** The runbook's detail, from the cache or fetched; `fresh` skips the cache. */
export function getRunbook(id, { fresh = false } = {}) {
  if (!fresh && details.has(id)) return Promise.resolve(details.get(id));
  if (inflight.has(id)) return inflight.get(id);
  const promise = new Promise((resolve, reject) => queue.push({ id, resolve, reject }));
  inflight.set(id, promise);
  pump();
  return promise;
}

/** A map id → runbook detail for these ids, filled in as their fetches finish. */
export function useRunbooks(ids) {
  const key = [...new Set(ids.filter(Boolean))].sort().join(',');
  const [, setVersion] = useState(0);
  useEffect(() => {
    const bump = () => setVersion((v) => v + 1);
    listeners.add(bump);
    for (const id of key ? key.split(',') : []) {
      if (!details.has(id)) getRunbook(id).catch(() => {});
    }
    return () => listeners.delete(bump);
  }, [key]);
  const map = {};
  for (const id of key ? key.split(',') : []) map[id] = details.get(id);
  return map;
}
