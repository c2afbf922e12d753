// Where a runbook's activities and links go: the designer's stored positions when every
// activity has one, otherwise dagre's layered layout. Pure functions, no DOM.

import dagre from '../vendor/dagre.esm.js';
import { truncate } from './format.js';

export const NODE_W = 200;
export const NODE_H = 62;
const MARGIN = 24;
const LABEL_CHARS = 34;
const LABEL_H = 18;

const OPS = {
  equals: '=',
  not_equals: '≠',
  contains: 'contains',
  not_contains: 'not contains',
  starts_with: 'starts with',
  ends_with: 'ends with',
  matches: 'matches',
  not_matches: 'not matches',
  lt: '<',
  le: '≤',
  gt: '>',
  ge: '≥',
  is_empty: 'is empty',
  is_not_empty: 'is not empty',
};

function conditionText(condition, source) {
  if (!condition || typeof condition !== 'object') return '?';
  if (Array.isArray(condition.status)) return condition.status.join(', ');
  if (condition.data !== undefined) {
    let field = String(condition.data);
    if (field.startsWith(`${source}.`)) field = field.slice(source.length + 1);
    const op = OPS[condition.op] || condition.op || '';
    const unary = condition.op === 'is_empty' || condition.op === 'is_not_empty';
    return unary ? `${field} ${op}` : `${field} ${op} "${condition.value ?? ''}"`;
  }
  return '?';
}

/**
 * A link's label and its full text: its name when it has one, else its conditions
 * ("success", "failed", "exit_code = \"3\"", "… and not …").
 */
export function linkLabel(link) {
  const include = Array.isArray(link.include) && link.include.length ? link.include : [{ status: ['success'] }];
  const parts = [include.map((c) => conditionText(c, link.from)).join(' or ')];
  for (const c of link.exclude || []) parts.push(`not ${conditionText(c, link.from)}`);
  if (link.delay && link.delay !== '0s') parts.push(`after ${link.delay}`);
  const full = parts.join('; ');
  const text = link.name ? link.name : full;
  return { text: truncate(text, LABEL_CHARS), full: link.name ? `${link.name}: ${full}` : full };
}

/** failure (only on failed), data (a data condition), or success. */
export function linkKind(link) {
  const include = Array.isArray(link.include) && link.include.length ? link.include : [{ status: ['success'] }];
  if (include.some((c) => c && c.data !== undefined)) return 'data';
  const statuses = include.flatMap((c) => (c && Array.isArray(c.status) ? c.status : []));
  if (statuses.length && statuses.every((s) => s === 'failed')) return 'failure';
  if (statuses.includes('failed')) return 'any';
  return 'success';
}

const labelWidth = (text) => Math.ceil(text.length * 6.4) + 12;

/** Where a segment from the centre of a box towards (px, py) leaves the box. */
function clipToBox(cx, cy, px, py) {
  const dx = px - cx;
  const dy = py - cy;
  if (dx === 0 && dy === 0) return { x: cx, y: cy };
  const sx = dx === 0 ? Infinity : (NODE_W / 2) / Math.abs(dx);
  const sy = dy === 0 ? Infinity : (NODE_H / 2) / Math.abs(dy);
  const s = Math.min(sx, sy);
  return { x: cx + dx * s, y: cy + dy * s };
}

function storedLayout(activities, links) {
  const xs = activities.map((a) => Number(a.position.x));
  const ys = activities.map((a) => Number(a.position.y));
  const minX = Math.min(...xs);
  const minY = Math.min(...ys);
  const nodes = activities.map((a) => ({
    activity: a,
    // Positions are the boxes' top-left corners; centres are used from here on.
    x: Number(a.position.x) - minX + MARGIN + NODE_W / 2,
    y: Number(a.position.y) - minY + MARGIN + NODE_H / 2,
  }));
  const at = new Map(nodes.map((n) => [n.activity.id, n]));
  const edges = links.map((link, index) => {
    const a = at.get(link.from);
    const b = at.get(link.to);
    const start = clipToBox(a.x, a.y, b.x, b.y);
    const end = clipToBox(b.x, b.y, a.x, a.y);
    return { link, index, points: [start, end], label: { x: (start.x + end.x) / 2, y: (start.y + end.y) / 2 } };
  });
  const width = Math.max(...nodes.map((n) => n.x)) + NODE_W / 2 + MARGIN;
  const height = Math.max(...nodes.map((n) => n.y)) + NODE_H / 2 + MARGIN;
  return { nodes, edges, width, height, stored: true };
}

function dagreLayout(activities, links, rankdir) {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir, nodesep: 36, ranksep: 56, edgesep: 16, marginx: MARGIN, marginy: MARGIN });
  g.setDefaultEdgeLabel(() => ({}));
  for (const a of activities) g.setNode(a.id, { width: NODE_W, height: NODE_H });
  links.forEach((link, index) => {
    const { text } = linkLabel(link);
    g.setEdge(link.from, link.to, { width: labelWidth(text), height: LABEL_H, labelpos: 'c' }, `l${index}`);
  });
  dagre.layout(g);
  const nodes = activities.map((a) => {
    const n = g.node(a.id);
    return { activity: a, x: n.x, y: n.y };
  });
  const edges = links.map((link, index) => {
    const e = g.edge(link.from, link.to, `l${index}`);
    return { link, index, points: e.points || [], label: { x: e.x, y: e.y } };
  });
  const graph = g.graph();
  return { nodes, edges, width: Math.ceil(graph.width || NODE_W), height: Math.ceil(graph.height || NODE_H), stored: false };
}

const hasPosition = (a) => a.position && Number.isFinite(Number(a.position.x)) && Number.isFinite(Number(a.position.y));

/**
 * The layout of a runbook definition: { nodes: [{activity, x, y (centre)}], edges: [{link,
 * index, points, label}], width, height, stored }. Links to unknown activities are left out.
 */
export function layoutRunbook(definition, rankdir = 'TB') {
  const activities = (definition && Array.isArray(definition.activities) ? definition.activities : [])
    .filter((a) => a && a.id !== undefined);
  if (!activities.length) return { nodes: [], edges: [], width: 0, height: 0, stored: false };
  const ids = new Set(activities.map((a) => a.id));
  const links = (definition && Array.isArray(definition.links) ? definition.links : [])
    .filter((l) => l && ids.has(l.from) && ids.has(l.to));
  if (activities.every(hasPosition)) return storedLayout(activities, links);
  return dagreLayout(activities, links, rankdir);
}

/** An SVG path through the points, with rounded corners. */
export function edgePath(points) {
  if (!points.length) return '';
  if (points.length < 3) return `M${points.map((p) => `${p.x},${p.y}`).join(' L')}`;
  let d = `M${points[0].x},${points[0].y}`;
  for (let i = 1; i < points.length - 1; i += 1) {
    const p = points[i];
    const next = points[i + 1];
    const mid = i === points.length - 2 ? next : { x: (p.x + next.x) / 2, y: (p.y + next.y) / 2 };
    d += ` Q${p.x},${p.y} ${mid.x},${mid.y}`;
  }
  return d;
}
