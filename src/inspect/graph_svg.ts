/**
 * A graph drawn as one self-contained SVG document (inline style, no external font or script):
 * a box per node with its label and shape, a path with an arrow per edge.
 */
import { layeredLayout, type Layout, type Point } from './graph_layout.js';
import { escapeXml } from './plots/svg.js';

export interface SvgNode {
  readonly id: string;
  /** First line (the op or the leaf's name). */
  readonly label: string;
  /** Second line (the shape). */
  readonly detail: string;
  /** Shown as a tooltip (<title>). */
  readonly title: string;
  /** Extra CSS class: 'leaf', 'op' or 'output'. */
  readonly kind: string;
}

export interface SvgEdge {
  readonly from: string;
  readonly to: string;
}

export interface SvgOptions {
  /** Prefix of the ids inside the SVG (the arrow marker), so that several SVGs fit one page. */
  idPrefix?: string;
}

const CHAR_WIDTH = 7.2;
const LINE_HEIGHT = 15;

/** Box sizes from the text lengths (a monospace estimate: no font metrics without a browser). */
function boxSize(node: SvgNode): { width: number; height: number } {
  const chars = Math.max(node.label.length, node.detail.length, 4);
  return { width: Math.ceil(chars * CHAR_WIDTH + 20), height: 2 * LINE_HEIGHT + 12 };
}

/** The layout the SVG uses: exported so a page can place its own drawing the same way. */
export function layoutGraph(nodes: readonly SvgNode[], edges: readonly SvgEdge[]): Layout {
  return layeredLayout(
    nodes.map((n) => ({ id: n.id, ...boxSize(n) })),
    edges,
  );
}

/** A path through the points: vertical cubic segments, so edges leave and enter boxes straight. */
export function edgePath(points: readonly Point[]): string {
  const f = (v: number) => Number(v.toFixed(1));
  let d = `M${f(points[0].x)},${f(points[0].y)}`;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    const dy = (b.y - a.y) / 2;
    d += ` C${f(a.x)},${f(a.y + dy)} ${f(b.x)},${f(b.y - dy)} ${f(b.x)},${f(b.y)}`;
  }
  return d;
}

/** The SVG document of a graph: one `<g class="node">` per node and one `<path>` per edge. */
export function graphToSvg(
  nodes: readonly SvgNode[],
  edges: readonly SvgEdge[],
  options: SvgOptions = {},
): string {
  const prefix = options.idPrefix ?? 'chainrule-graph';
  const layout = layoutGraph(nodes, edges);
  const width = Math.ceil(layout.width);
  const height = Math.ceil(layout.height);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="ui-monospace, Menlo, Consolas, monospace" font-size="12">`,
    `<defs><marker id="${prefix}-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>`,
    `<style>.edge{fill:none;stroke:#555;stroke-width:1.3}.node rect{stroke:#333;stroke-width:1;fill:#e8f0fe}.node.leaf rect{fill:#e6f4ea}.node.output rect{fill:#fde7e9}.node .detail{fill:#555}</style>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
  ];
  layout.edges.forEach((e) => {
    parts.push(
      `<path class="edge" data-from="${escapeXml(e.from)}" data-to="${escapeXml(e.to)}" d="${edgePath(e.points)}" marker-end="url(#${prefix}-arrow)"/>`,
    );
  });
  layout.nodes.forEach((box, i) => {
    const n = nodes[i];
    const x = (box.x - box.width / 2).toFixed(1);
    const y = (box.y - box.height / 2).toFixed(1);
    parts.push(
      `<g class="node ${escapeXml(n.kind)}" data-id="${escapeXml(n.id)}" transform="translate(${x},${y})">` +
        `<title>${escapeXml(n.title)}</title>` +
        `<rect width="${box.width}" height="${box.height}" rx="4"/>` +
        `<text x="${box.width / 2}" y="${6 + LINE_HEIGHT - 3}" text-anchor="middle">${escapeXml(n.label)}</text>` +
        `<text class="detail" x="${box.width / 2}" y="${6 + 2 * LINE_HEIGHT - 3}" text-anchor="middle">${escapeXml(n.detail)}</text>` +
        `</g>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
