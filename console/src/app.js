// The console's entry point: loads /config.json, restores the session, and renders the page
// the hash route names inside the header and main area.

import { html, render, useCallback, useEffect, useState } from './html.js';
import { api, clearToken, getToken, loadConfig, onUnauthorized, setToken } from './api.js';
import { connect, disconnect } from './events.js';
import { navigate, useRoute } from './router.js';
import { forgetRunbooks } from './runbook-cache.js';
import { SessionContext, fetchMe } from './session.js';
import { Header } from './components/header.js';
import { ErrorMessage, Loading } from './components/feedback.js';
import { SignInPage } from './pages/signin.js';
import { RunbooksPage } from './pages/runbooks.js';
import { RunbookPage } from './pages/runbook.js';
import { JobsPage } from './pages/jobs.js';
import { JobPage } from './pages/job.js';
import { InstancesPage } from './pages/instances.js';
import { InstancePage } from './pages/instance.js';
import { ServersPage } from './pages/servers.js';
import { SettingsPage } from './pages/settings.js';
import { AuditPage } from './pages/audit.js';
import { NotFoundPage } from './pages/not-found.js';

/** The page a route names: { name, id }. */
export function resolveRoute(segments) {
  const [first, id, extra] = segments;
  if (extra !== undefined) return { name: 'notfound' };
  switch (first) {
    case undefined: return { name: 'home' };
    case 'signin': return id ? { name: 'notfound' } : { name: 'signin' };
    case 'runbooks': return id ? { name: 'runbook', id } : { name: 'runbooks' };
    case 'jobs': return id ? { name: 'job', id } : { name: 'jobs' };
    case 'instances': return id ? { name: 'instance', id } : { name: 'instances' };
    case 'servers': return id ? { name: 'notfound' } : { name: 'servers' };
    case 'settings': return id ? { name: 'notfound' } : { name: 'settings' };
    case 'audit': return id ? { name: 'notfound' } : { name: 'audit' };
    default: return { name: 'notfound' };
  }
}

const PAGES = {
  runbooks: RunbooksPage,
  runbook: RunbookPage,
  jobs: JobsPage,
  job: JobPage,
  instances: InstancesPage,
  instance: InstancePage,
  servers: ServersPage,
  settings: SettingsPage,
  audit: AuditPage,
  notfound: NotFoundPage,
};

const currentHash = () => location.hash.replace(/^#/, '');

function App() {
  const route = useRoute();
  const [boot, setBoot] = useState({ phase: 'loading', error: null });
  const [me, setMe] = useState(null);
  const page = resolveRoute(route.segments);

  const endSession = useCallback(() => {
    clearToken();
    disconnect();
    forgetRunbooks();
    setMe(null);
  }, []);

  const start = useCallback(async () => {
    setBoot({ phase: 'loading', error: null });
    try {
      await loadConfig();
    } catch (error) {
      setBoot({ phase: 'error', error });
      return;
    }
    onUnauthorized(() => {
      endSession();
      const here = currentHash();
      if (!here.startsWith('/signin')) navigate('/signin', { next: here, expired: 1 });
    });
    if (getToken()) {
      try {
        setMe(await fetchMe());
      } catch (error) {
        if (error.status === 401) {
          endSession();
        } else {
          setBoot({ phase: 'error', error });
          return;
        }
      }
    }
    setBoot({ phase: 'ready', error: null });
  }, []);

  useEffect(() => {
    start();
  }, []);

  // Signed-out visitors go to the sign-in page; the bare root goes to the runbooks.
  useEffect(() => {
    if (boot.phase !== 'ready') return;
    // The hash, not `page`: a navigation just made (sign-out) may not have reached the route yet.
    const here = currentHash();
    if (!me && !here.startsWith('/signin')) {
      navigate('/signin', here && here !== '/' ? { next: here } : undefined);
    } else if (me && page.name === 'home') {
      location.replace('#/runbooks');
    }
  }, [boot.phase, me, page.name]);

  useEffect(() => {
    if (me) connect();
  }, [me]);

  useEffect(() => {
    window.scrollTo(0, 0);
  }, [route.path]);

  const signIn = useCallback(async (token) => {
    const who = await fetchMe(token);
    setToken(token);
    forgetRunbooks();
    setMe(who);
    const next = new URLSearchParams(currentHash().split('?')[1] || '').get('next');
    navigate(next && next.startsWith('/') && !next.startsWith('/signin') ? next : '/runbooks');
  }, []);

  const signOut = useCallback(async () => {
    try {
      await api.del('/api/v1/session', { auth: false });
    } catch {
      // The token may already be gone; signing out locally is what matters.
    }
    endSession();
    navigate('/signin');
  }, []);

  if (boot.phase === 'loading') return html`<main class="main"><${Loading} what="the console" /></main>`;
  if (boot.phase === 'error') {
    return html`
      <main class="main">
        <h1>The console cannot start</h1>
        <${ErrorMessage} error=${boot.error} />
        <button type="button" class="btn btn-primary" onClick=${start}>Try again</button>
      </main>`;
  }

  let content = null;
  if (page.name === 'signin') {
    content = html`<${SignInPage} me=${me} onSignIn=${signIn} query=${route.query} />`;
  } else if (me && PAGES[page.name]) {
    const Page = PAGES[page.name];
    // Keyed by the path: another page or id is a fresh page; a new query (filters, offset)
    // is the same page loading new data.
    content = html`<${Page} key=${route.path} id=${page.id} query=${route.query} />`;
  }
  return html`
    <${SessionContext.Provider} value=${{ me, signOut }}>
      <button type="button" class="skip-link" onClick=${() => document.getElementById('main')?.focus()}>Skip to content</button>
      <${Header} me=${me} page=${page.name} onSignOut=${signOut} />
      <main id="main" class="main" tabindex="-1">${content}</main>
    </${SessionContext.Provider}>`;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
