// The live event stream (GET /api/v1/events). EventSource cannot send the Authorization
// header, so this reads the stream with fetch() and parses server-sent events itself. One
// connection is shared by every subscriber; it reconnects with backoff when it drops, and
// after a reconnect tells subscribers `lagged` (they may have missed changes meanwhile).

import { ApiError, getToken, reportUnauthorized, webServiceUrl } from './api.js';
import { useEffect, useRef, useState } from './html.js';

const listeners = new Set();
const statusListeners = new Set();
let controller = null;
let status = 'off'; // off | connecting | live | retrying

function setStatus(next) {
  status = next;
  for (const fn of statusListeners) fn(next);
}

function emit(name, data) {
  for (const fn of [...listeners]) {
    try {
      fn(name, data);
    } catch (e) {
      console.error('event listener failed', e);
    }
  }
}

/**
 * An incremental parser of the text/event-stream format: feed it chunks, it calls
 * `dispatch(event, data)` for each complete event (`event:`/`data:` lines, a blank line ends
 * one, lines starting with ':' are comments).
 */
export function sseParser(dispatch) {
  let buffer = '';
  let eventName = '';
  let data = [];
  const line = (text) => {
    if (text === '') {
      if (data.length) dispatch(eventName || 'message', data.join('\n'));
      eventName = '';
      data = [];
      return;
    }
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') eventName = value;
    else if (field === 'data') data.push(value);
  };
  return (chunk) => {
    buffer += chunk;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop();
    for (const l of lines) line(l);
  };
}

const sleep = (ms, signal) => new Promise((resolve) => {
  const timer = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => {
    clearTimeout(timer);
    resolve();
  }, { once: true });
});

/** `resync`: tell subscribers `lagged` once connected (they missed changes while it was closed). */
async function connectLoop(signal, resync) {
  let backoff = 1000;
  let connectedBefore = resync;
  while (!signal.aborted) {
    setStatus(connectedBefore ? 'retrying' : 'connecting');
    try {
      const res = await fetch(`${webServiceUrl()}/api/v1/events`, {
        headers: { Authorization: `Bearer ${getToken()}`, Accept: 'text/event-stream' },
        cache: 'no-store',
        signal,
      });
      if (res.status === 401) {
        setStatus('off');
        reportUnauthorized(new ApiError(401, 'unauthenticated', 'Your session has ended.'));
        return;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      setStatus('live');
      if (connectedBefore) emit('lagged', { missed: null, reconnected: true });
      connectedBefore = true;
      backoff = 1000;
      const parse = sseParser((name, text) => {
        let payload = null;
        try {
          payload = JSON.parse(text);
        } catch {
          return;
        }
        emit(name, payload);
      });
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parse(value);
      }
    } catch (e) {
      if (signal.aborted) return;
    }
    if (signal.aborted) return;
    setStatus('retrying');
    await sleep(backoff + Math.random() * 500, signal);
    backoff = Math.min(backoff * 2, 30000);
  }
}

function ensureConnected(resync = false) {
  if (controller || !getToken()) return;
  controller = new AbortController();
  const mine = controller;
  connectLoop(mine.signal, resync).finally(() => {
    if (controller === mine) {
      controller = null;
      setStatus('off');
    }
  });
}

/** Closes the stream (sign-out, or a hidden page); the next subscriber opens it again. */
export function disconnect() {
  if (controller) {
    controller.abort();
    controller = null;
  }
  setStatus('off');
}

// A page that is hidden, or left for another (and perhaps kept in the back/forward cache), gives
// its connection back: a browser opens at most six connections to one host, so pages holding
// streams they do not show would soon leave none for the pages in front. Shown again, it
// reconnects and tells subscribers to re-read what they show.
let paused = false;

function pause() {
  if (!controller) return;
  paused = true;
  disconnect();
}

function resume() {
  if (!paused) return;
  paused = false;
  ensureConnected(true);
}

document.addEventListener('visibilitychange', () => (document.visibilityState === 'hidden' ? pause() : resume()));
window.addEventListener('pagehide', pause);
window.addEventListener('pageshow', (e) => {
  if (e.persisted) resume();
});

/** Calls `handler(eventName, data)` for every event until the returned function is called. */
export function subscribe(handler) {
  listeners.add(handler);
  ensureConnected();
  return () => listeners.delete(handler);
}

/** Subscribes for the component's lifetime; the latest `handler` is always the one called. */
export function useEvents(handler) {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => subscribe((name, data) => ref.current(name, data)), []);
}

/** The stream's state for the header: off, connecting, live or retrying. */
export function useStreamStatus() {
  const [value, setValue] = useState(status);
  useEffect(() => {
    statusListeners.add(setValue);
    setValue(status);
    return () => statusListeners.delete(setValue);
  }, []);
  return value;
}

/** Opens the stream as soon as someone is signed in, so the header can show it is live. */
export function connect() {
  ensureConnected();
}
