// The runbooks: folder tree, a name search (debounced, by the API), and the list, 100 at a
// time with "More".

import { html, useEffect, useRef, useState } from '../html.js';
import { api } from '../api.js';
import { useDebounced, useLoad } from '../hooks.js';
import { useReady } from '../ready.js';
import { href } from '../router.js';
import { formatTime } from '../format.js';
import { useSession } from '../session.js';
import { FolderTree } from '../components/folder-tree.js';
import { Empty, ErrorMessage, Loading } from '../components/feedback.js';

const PAGE = 100;

async function loadFolders() {
  const { items } = await api.get('/api/v1/folders');
  return items.map((f) => f.path);
}

function RunbookTable({ items }) {
  return html`
    <div class="table-scroll">
      <table class="table table-cards">
        <thead>
          <tr>
            <th scope="col">Name</th><th scope="col">Folder</th><th scope="col">Description</th>
            <th scope="col">Version</th><th scope="col">Checked out by</th><th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          ${items.map((r) => html`
            <tr key=${r.id} data-testid="runbook-row" data-id=${r.id}>
              <td data-label="Name"><a href=${href(`/runbooks/${encodeURIComponent(r.id)}`)} class="strong">${r.name}</a></td>
              <td data-label="Folder">${r.folder ? html`<a href=${href('/runbooks', { folder: r.folder })} class="muted-link">${r.folder}</a>` : html`<span class="muted">(root)</span>`}</td>
              <td data-label="Description" class="desc">${r.description || html`<span class="muted">—</span>`}</td>
              <td data-label="Version">v${r.latest_version}</td>
              <td data-label="Checked out by">${r.checked_out_by ? html`<span class="badge checkout">${r.checked_out_by}</span>` : html`<span class="muted">—</span>`}</td>
              <td data-label="Updated">${formatTime(r.updated_at)}</td>
            </tr>`)}
        </tbody>
      </table>
    </div>`;
}

function NoAccess({ name }) {
  return html`
    <div class="notice" role="status" data-testid="no-access">
      <p><strong>You have no access to any folder yet.</strong> Ask an administrator to grant you a role on a
        folder:</p>
      <pre class="command"><code>scorch user grant ${name} FOLDER viewer</code></pre>
    </div>`;
}

export function RunbooksPage({ query }) {
  const folder = query.get('folder') || '';
  const [search, setSearch] = useState('');
  const term = useDebounced(search.trim(), 250);
  const folders = useLoad(loadFolders, []);
  const [list, setList] = useState({ items: [], next: null, loading: true, error: null, forKey: null });
  const [more, setMore] = useState({ loading: false, error: null });
  const generation = useRef(0);
  const key = `${folder}\n${term}`;

  useEffect(() => {
    const mine = ++generation.current;
    setList((l) => ({ ...l, loading: true, error: null }));
    api.get('/api/v1/runbooks', { folder, search: term, limit: PAGE, offset: 0 })
      .then((page) => {
        if (mine === generation.current) {
          setList({ items: page.items, next: page.next_offset, loading: false, error: null, forKey: key });
        }
      }, (error) => {
        if (mine === generation.current) setList({ items: [], next: null, loading: false, error, forKey: key });
      });
  }, [key]);

  const loadMore = async () => {
    const mine = generation.current;
    setMore({ loading: true, error: null });
    try {
      const page = await api.get('/api/v1/runbooks', { folder, search: term, limit: PAGE, offset: list.next });
      if (mine !== generation.current) return;
      setList((l) => ({ ...l, items: [...l.items, ...page.items], next: page.next_offset }));
      setMore({ loading: false, error: null });
    } catch (error) {
      setMore({ loading: false, error });
    }
  };

  useReady('runbooks', !list.loading && list.forKey === key);
  const searching = term !== '';
  const { me } = useSession();
  // Signed in, but granted nothing: an empty list would say nothing of why.
  const noAccess = !!me && !me.admin && !(me.grants || []).length;

  return html`
    <div class="page page-runbooks">
      <div class="page-head">
        <h1>Runbooks</h1>
        <div class="field field-search">
          <label for="runbook-search" class="sr-only">Search runbooks by name</label>
          <input id="runbook-search" data-testid="runbook-search" type="search" placeholder="Search by name…"
            value=${search} onInput=${(e) => setSearch(e.currentTarget.value)} autocomplete="off" />
        </div>
      </div>
      <div class="split">
        <aside class="split-side card">
          <h2 class="h-small">Folders</h2>
          ${folders.loading ? html`<${Loading} what="folders" />` : null}
          <${ErrorMessage} error=${folders.error} />
          ${folders.data ? html`<${FolderTree} paths=${folders.data} selected=${folder} />` : null}
        </aside>
        <section class="split-main" aria-labelledby="runbook-list-title">
          <h2 id="runbook-list-title" class="h-small">
            ${folder ? `In ${folder}` : 'All folders'}${searching ? ` · names containing “${term}”` : ''}
          </h2>
          <${ErrorMessage} error=${list.error} />
          ${list.forKey === null ? html`<${Loading} what="runbooks" />` : null}
          ${list.forKey !== null && !list.error ? html`
            <div class=${list.loading ? 'is-stale' : ''} aria-busy=${list.loading ? 'true' : 'false'}>
              ${list.items.length
                ? html`<${RunbookTable} items=${list.items} />`
                : noAccess ? html`<${NoAccess} name=${me.name} />`
                : html`<${Empty}>${searching ? 'No runbook matches this search.' : 'No runbooks here yet.'}</${Empty}>`}
            </div>` : null}
          <${ErrorMessage} error=${more.error} />
          ${list.next !== null && list.next !== undefined && !list.loading ? html`
            <div class="more">
              <button type="button" class="btn" data-testid="runbooks-more" onClick=${loadMore} disabled=${more.loading}>
                ${more.loading ? 'Loading…' : 'More'}</button>
              <span class="muted small">${list.items.length} shown</span>
            </div>` : null}
        </section>
      </div>
    </div>`;
}
