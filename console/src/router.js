// Hash routes (#/runbooks, #/jobs/<id>?status=failed ...), so the server needs no fallback.

import { useEffect, useState } from './html.js';
import { resetReady } from './ready.js';

/** `#/jobs/abc?status=failed` → { path: '/jobs/abc', segments: ['jobs','abc'], query }. */
export function parseHash(hash) {
  const raw = (hash || '').replace(/^#/, '');
  const at = raw.indexOf('?');
  const path = at >= 0 ? raw.slice(0, at) : raw;
  const query = new URLSearchParams(at >= 0 ? raw.slice(at + 1) : '');
  const segments = path.split('/').filter(Boolean).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  return { hash: raw, path: `/${segments.map(encodeURIComponent).join('/')}`, segments, query };
}

/** A hash link: href('/jobs', { status: 'failed' }) → '#/jobs?status=failed'. */
export function href(path, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const qs = params.toString();
  return `#${path}${qs ? `?${qs}` : ''}`;
}

export function navigate(path, query) {
  const target = href(path, query);
  if (location.hash !== target) location.hash = target;
}

/** The current route; re-renders on every hash change (and clears the ready mark first). */
export function useRoute() {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const onChange = () => {
      resetReady();
      setRoute(parseHash(location.hash));
    };
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
