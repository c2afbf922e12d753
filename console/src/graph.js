// The runbook graph as the designer draws it: activities as labelled boxes with a type badge,
// links as arrows labelled with their conditions. SVG in a scrollable, draggable viewport
// that fits its width by default and zooms in and out.

import { html, useMemo, useRef, useState } from './html.js';
import { NODE_H, NODE_W, edgePath, layoutRunbook, linkKind, linkLabel } from './graph-layout.js';
import { typeBadge, typeCategory, typeLabel } from './activity-types.js';
import { truncate } from './format.js';

const ZOOMS = [0.25, 0.4, 0.55, 0.7, 0.85, 1, 1.25, 1.5, 2];
const STATUS_MARK = { success: '✓', warning: '!', failed: '✕', running: '▶' };

function Node({ node, status, count, onSelect, selected }) {
  const a = node.activity;
  const name = a.name || a.id;
  const type = String(a.type || '');
  const category = typeCategory(type);
  const select = onSelect ? () => onSelect(a.id) : undefined;
  const onKeyDown = onSelect ? (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      onSelect(a.id);
    }
  } : undefined;
  const runs = count > 1 ? ` ×${count}` : '';
  const statusText = status ? `${STATUS_MARK[status] || '•'} ${status === 'none' ? 'not run' : status}${runs}` : '';
  // The type label gets what the status text (drawn right-aligned on the same line) leaves.
  const shownStatus = status && status !== 'none' ? statusText.length : 0;
  const typeRoom = Math.max(0, Math.floor((NODE_W - 66 - 14 - shownStatus * 7.2) / 6.2));
  return html`
    <g data-testid="graph-node" data-activity=${a.id} data-status=${status || 'none'}
      class=${`node cat-${category} ${status ? `node-status-${status}` : ''} ${onSelect ? 'node-clickable' : ''} ${selected ? 'node-selected' : ''}`}
      transform=${`translate(${node.x - NODE_W / 2},${node.y - NODE_H / 2})`}
      tabindex=${onSelect ? 0 : undefined} role=${onSelect ? 'button' : 'img'} aria-pressed=${onSelect && selected !== undefined ? String(selected) : undefined}
      aria-label=${`${name} (${typeLabel(type)})${statusText ? `: ${statusText}` : ''}`}
      onClick=${select} onKeyDown=${onKeyDown}>
      <title>${name} — ${type}${a.id !== name ? ` (id ${a.id})` : ''}${statusText ? ` — ${statusText}` : ''}</title>
      <rect class="node-box" width=${NODE_W} height=${NODE_H} rx="6" />
      <rect class="node-bar" width="6" height=${NODE_H} rx="3" />
      <rect class="node-badge" x="14" y="9" width="46" height="18" rx="4" />
      <text class="node-badge-text" x="37" y="22" text-anchor="middle">${typeBadge(type)}</text>
      ${typeRoom >= 6 ? html`<text class="node-type" x="66" y="22">${truncate(typeLabel(type), typeRoom)}</text>` : null}
      ${status && status !== 'none' ? html`
        <text class="node-status-text" x=${NODE_W - 8} y="22" text-anchor="end">${statusText}</text>` : null}
      <text class="node-name" x="14" y="47">${truncate(name, a.loop ? 21 : 24)}</text>
      ${a.loop ? html`<text class="node-loop" x=${NODE_W - 8} y="48" text-anchor="end">↻<title>Loops (at most ${a.loop.max_attempts ?? '?'} attempts)</title></text>` : null}
    </g>`;
}

function Edge({ edge }) {
  const { text, full } = linkLabel(edge.link);
  const kind = linkKind(edge.link);
  const w = Math.ceil(text.length * 6.4) + 12;
  return html`
    <g data-testid="graph-edge" data-from=${edge.link.from} data-to=${edge.link.to} class=${`edge edge-${kind}`}>
      <title>${edge.link.from} → ${edge.link.to}: ${full}</title>
      <path class="edge-line" d=${edgePath(edge.points)} marker-end=${`url(#scorch-arrow-${kind})`} />
      <rect class="edge-label-box" x=${edge.label.x - w / 2} y=${edge.label.y - 9} width=${w} height="18" rx="9" />
      <text class="edge-label" x=${edge.label.x} y=${edge.label.y + 4} text-anchor="middle">${text}</text>
    </g>`;
}

function Arrow({ kind }) {
  return html`
    <marker id=${`scorch-arrow-${kind}`} class=${`arrow arrow-${kind}`} viewBox="0 0 10 10" refX="9" refY="5"
      markerWidth="8" markerHeight="8" orient="auto-start-reverse">
      <path d="M0,0 L10,5 L0,10 z" />
    </marker>`;
}

const AUTO_LIMIT = 200;

/**
 * Left-to-right (as the designer draws) unless top-down shows the graph larger in a
 * landscape view; big graphs are laid out once, top-down.
 */
function autoLayout(definition) {
  const count = definition && Array.isArray(definition.activities) ? definition.activities.length : 0;
  const tb = layoutRunbook(definition, 'TB');
  if (tb.stored || count > AUTO_LIMIT) return { rankdir: 'TB', layout: tb };
  const lr = layoutRunbook(definition, 'LR');
  // The room a graph gets: the page's width, and about two thirds of its height.
  const fitW = Math.max(280, Math.min(1400, window.innerWidth - 60));
  const fitH = Math.max(300, window.innerHeight * 0.65);
  const scale = (l) => Math.min(fitW / Math.max(1, l.width), fitH / Math.max(1, l.height), 1);
  return scale(tb) > scale(lr) * 1.15 ? { rankdir: 'TB', layout: tb } : { rankdir: 'LR', layout: lr };
}

/** Drag to pan the scroll container (mouse and pen; touch scrolls natively). */
function usePan() {
  const ref = useRef(null);
  const drag = useRef(null);
  const onPointerDown = (e) => {
    if (e.pointerType === 'touch' || e.button !== 0 || !ref.current) return;
    drag.current = { x: e.clientX, y: e.clientY, left: ref.current.scrollLeft, top: ref.current.scrollTop };
    ref.current.classList.add('panning');
  };
  const onPointerMove = (e) => {
    if (!drag.current || !ref.current) return;
    ref.current.scrollLeft = drag.current.left - (e.clientX - drag.current.x);
    ref.current.scrollTop = drag.current.top - (e.clientY - drag.current.y);
  };
  const end = () => {
    drag.current = null;
    if (ref.current) ref.current.classList.remove('panning');
  };
  return { ref, onPointerDown, onPointerMove, onPointerUp: end, onPointerLeave: end };
}

/**
 * The graph of `definition`. `statuses` (activity id → status) colours the boxes, for an
 * instance; `onSelect(activityId)` makes boxes clickable; `selected` (an activity id) is drawn
 * as chosen.
 */
export function RunbookGraph({ definition, statuses, counts, onSelect, selected, title }) {
  const [chosen, setRankdir] = useState(null); // null: whichever direction fits better
  const [zoom, setZoom] = useState(null); // null: fit the width (never enlarging)
  const auto = useMemo(() => autoLayout(definition), [definition]);
  const rankdir = chosen || auto.rankdir;
  const layout = useMemo(() => (rankdir === auto.rankdir ? auto.layout : layoutRunbook(definition, rankdir)),
    [definition, rankdir, auto]);
  const pan = usePan();
  if (!layout.nodes.length) return html`<p class="muted">This runbook has no activities.</p>`;
  const step = (dir) => {
    const current = zoom ?? 1;
    const i = ZOOMS.findIndex((z) => z >= current - 1e-9);
    const next = ZOOMS[Math.min(ZOOMS.length - 1, Math.max(0, (i < 0 ? ZOOMS.length - 1 : i) + dir))];
    setZoom(next);
  };
  const scale = zoom ?? 1;
  const statusOf = (id) => (statuses ? statuses[id] || 'none' : null);
  return html`
    <div class="graph">
      <div class="graph-toolbar" role="toolbar" aria-label="Graph view">
        ${layout.stored ? html`<span class="muted small">Designer layout</span>` : html`
          <button type="button" class="btn btn-small" aria-pressed=${rankdir === 'TB'}
            onClick=${() => setRankdir('TB')}>Top–down</button>
          <button type="button" class="btn btn-small" aria-pressed=${rankdir === 'LR'}
            onClick=${() => setRankdir('LR')}>Left–right</button>`}
        <span class="toolbar-gap"></span>
        <button type="button" class="btn btn-small" onClick=${() => step(-1)} aria-label="Zoom out">−</button>
        <button type="button" class="btn btn-small" aria-pressed=${zoom === null} onClick=${() => setZoom(null)}>Fit</button>
        <button type="button" class="btn btn-small" onClick=${() => step(1)} aria-label="Zoom in">+</button>
      </div>
      <div class="graph-scroll" ref=${pan.ref} onPointerDown=${pan.onPointerDown}
        onPointerMove=${pan.onPointerMove} onPointerUp=${pan.onPointerUp} onPointerLeave=${pan.onPointerLeave}>
        <svg data-testid="runbook-graph" class=${zoom === null ? 'graph-svg graph-fit' : 'graph-svg'}
          xmlns="http://www.w3.org/2000/svg" role="group" aria-label=${title || 'Runbook graph'}
          viewBox=${`0 0 ${layout.width} ${layout.height}`}
          width=${Math.round(layout.width * scale)} height=${Math.round(layout.height * scale)}>
          <defs>
            <${Arrow} kind="success" /><${Arrow} kind="failure" /><${Arrow} kind="data" /><${Arrow} kind="any" />
          </defs>
          ${layout.edges.map((edge) => html`<${Edge} key=${`e${edge.index}`} edge=${edge} />`)}
          ${layout.nodes.map((node) => html`
            <${Node} key=${node.activity.id} node=${node} status=${statusOf(node.activity.id)}
              count=${counts ? counts[node.activity.id] : 0} onSelect=${onSelect}
              selected=${selected === undefined ? undefined : selected === node.activity.id} />`)}
        </svg>
      </div>
      <${Legend} statuses=${!!statuses} />
    </div>`;
}

function Legend({ statuses }) {
  return html`
    <ul class="graph-legend small" aria-label="Legend">
      <li><span class="legend-line edge-success"></span> on success</li>
      <li><span class="legend-line edge-failure"></span> on failure</li>
      <li><span class="legend-line edge-data"></span> on published data</li>
      ${statuses ? html`
        <li><span class="legend-box node-status-success"></span> success</li>
        <li><span class="legend-box node-status-warning"></span> warning</li>
        <li><span class="legend-box node-status-failed"></span> failed</li>
        <li><span class="legend-box node-status-running"></span> running</li>
        <li><span class="legend-box node-status-none"></span> not run</li>` : null}
    </ul>`;
}
