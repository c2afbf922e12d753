// The folder tree of the runbooks page, built from GET /api/v1/folders' flat list of
// '/'-separated paths. Folders open and close; which ones are open survives navigation.

import { html, useMemo, useState } from '../html.js';
import { href } from '../router.js';

const expanded = new Set();

/** [{path, name, children}] from paths; parents that are not listed are added. */
export function buildTree(paths) {
  const root = { path: '', name: '', children: new Map() };
  for (const full of paths) {
    const parts = String(full).split('/').filter(Boolean);
    let node = root;
    parts.forEach((part, i) => {
      if (!node.children.has(part)) {
        node.children.set(part, { path: parts.slice(0, i + 1).join('/'), name: part, children: new Map() });
      }
      node = node.children.get(part);
    });
  }
  const toList = (node) => [...node.children.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((n) => ({ path: n.path, name: n.name, children: toList(n) }));
  return toList(root);
}

function FolderIcon() {
  return html`<svg class="folder-icon" width="16" height="13" viewBox="0 0 16 13" aria-hidden="true" focusable="false">
    <path d="M1 2.2C1 1.5 1.5 1 2.2 1h3.6l1.6 1.7h6.4c.7 0 1.2.5 1.2 1.2v7c0 .7-.5 1.1-1.2 1.1H2.2C1.5 12 1 11.5 1 10.9z" />
  </svg>`;
}

function FolderItem({ node, selected, toggle }) {
  const open = expanded.has(node.path);
  const hasChildren = node.children.length > 0;
  return html`
    <li>
      <div class=${`folder-row ${selected === node.path ? 'is-selected' : ''}`}>
        ${hasChildren ? html`
          <button type="button" class="folder-toggle" aria-expanded=${open}
            aria-label=${`${open ? 'Close' : 'Open'} ${node.name}`} onClick=${() => toggle(node.path, open)}>
            <span aria-hidden="true">${open ? '▾' : '▸'}</span>
          </button>` : html`<span class="folder-toggle-gap" aria-hidden="true"></span>`}
        <a data-testid="folder-item" data-path=${node.path} href=${href('/runbooks', { folder: node.path })}
          aria-current=${selected === node.path ? 'page' : undefined}>
          <${FolderIcon} />${node.name}</a>
      </div>
      ${hasChildren && open ? html`
        <ul>${node.children.map((c) => html`<${FolderItem} key=${c.path} node=${c} selected=${selected} toggle=${toggle} />`)}</ul>` : null}
    </li>`;
}

export function FolderTree({ paths, selected = '' }) {
  const tree = useMemo(() => buildTree(paths), [paths]);
  // Selecting a folder opens it and its ancestors (they may be closed afterwards).
  useMemo(() => {
    const parts = selected.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i += 1) expanded.add(parts.slice(0, i).join('/'));
  }, [selected]);
  const [, setVersion] = useState(0);
  const toggle = (path, open) => {
    if (open) {
      expanded.delete(path);
    } else {
      expanded.add(path);
    }
    setVersion((v) => v + 1);
  };
  return html`
    <nav class="folder-tree" data-testid="folder-tree" aria-label="Folders">
      <ul>
        <li>
          <div class=${`folder-row ${selected === '' ? 'is-selected' : ''}`}>
            <span class="folder-toggle-gap" aria-hidden="true"></span>
            <a data-testid="folder-item" data-path="" href=${href('/runbooks')}
              aria-current=${selected === '' ? 'page' : undefined}>All runbooks</a>
          </div>
        </li>
        ${tree.map((node) => html`<${FolderItem} key=${node.path} node=${node} selected=${selected} toggle=${toggle} />`)}
      </ul>
    </nav>`;
}
