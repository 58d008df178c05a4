/**
 * A layered (Sugiyama-style) drawing of a directed acyclic graph, so that graphs can be drawn
 * without Graphviz: longest-path layering, dummy nodes on edges that span several layers,
 * barycentre sweeps to reduce crossings, then coordinates that pull each node towards its
 * neighbours while keeping the order and spacing. Edges point down: sources at the top.
 */

export interface LayoutNodeInput {
  readonly id: string;
  readonly width: number;
  readonly height: number;
}

export interface LayoutEdgeInput {
  readonly from: string;
  readonly to: string;
}

export interface LayoutOptions {
  /** Vertical space between layers (default 48). */
  layerGap?: number;
  /** Horizontal space between neighbouring boxes (default 24). */
  nodeGap?: number;
  /** Space around the drawing (default 16). */
  margin?: number;
  /** Barycentre sweeps (down and up count as one each; default 12). */
  sweeps?: number;
}

export interface Point {
  x: number;
  y: number;
}

/** A node's box: (x, y) is its centre. */
export interface LayoutBox {
  readonly id: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  /** 0 for the top layer. */
  readonly layer: number;
}

export interface LayoutEdge {
  readonly from: string;
  readonly to: string;
  /** From the bottom of `from`'s box through the dummy nodes to the top of `to`'s box. */
  readonly points: readonly Point[];
}

export interface Layout {
  readonly width: number;
  readonly height: number;
  readonly nodes: readonly LayoutBox[];
  readonly edges: readonly LayoutEdge[];
  /** Edge crossings between adjacent layers after the sweeps. */
  readonly crossings: number;
}

interface Vertex {
  width: number;
  height: number;
  layer: number;
  /** Position within its layer. */
  order: number;
  x: number;
  up: number[];
  down: number[];
}

/**
 * Lays out a DAG given as boxes and edges.
 * @example
 * const layout = layeredLayout(
 *   [{ id: 'a', width: 40, height: 20 }, { id: 'b', width: 40, height: 20 }],
 *   [{ from: 'a', to: 'b' }],
 * );
 * layout.nodes[1].y > layout.nodes[0].y; // true: b is drawn below a
 */
export function layeredLayout(
  nodes: readonly LayoutNodeInput[],
  edges: readonly LayoutEdgeInput[],
  options: LayoutOptions = {},
): Layout {
  const layerGap = options.layerGap ?? 48;
  const nodeGap = options.nodeGap ?? 24;
  const margin = options.margin ?? 16;
  const sweeps = options.sweeps ?? 12;
  const index = new Map<string, number>();
  nodes.forEach((n, i) => {
    if (index.has(n.id)) throw new Error(`layeredLayout: node id '${n.id}' appears twice`);
    index.set(n.id, i);
  });
  const vertices: Vertex[] = nodes.map((n) => ({
    width: n.width,
    height: n.height,
    layer: 0,
    order: 0,
    x: 0,
    up: [],
    down: [],
  }));
  const ends = edges.map((e) => {
    const from = index.get(e.from);
    const to = index.get(e.to);
    if (from === undefined || to === undefined)
      throw new Error(
        `layeredLayout: edge ${e.from} -> ${e.to} names a node that is not in the list`,
      );
    return [from, to] as const;
  });
  assignLayers(vertices, ends);

  // Dummy vertices split edges spanning several layers, so each path crosses layers one at a time.
  const chains = ends.map(([from, to]) => {
    const chain = [from];
    for (let layer = vertices[from].layer + 1; layer < vertices[to].layer; layer++) {
      vertices.push({ width: 0, height: 0, layer, order: 0, x: 0, up: [], down: [] });
      chain.push(vertices.length - 1);
    }
    chain.push(to);
    for (let k = 0; k + 1 < chain.length; k++) {
      vertices[chain[k]].down.push(chain[k + 1]);
      vertices[chain[k + 1]].up.push(chain[k]);
    }
    return chain;
  });

  const layers = orderLayers(vertices, sweeps);
  const crossings = countAllCrossings(vertices, layers);
  placeX(vertices, layers, nodeGap);
  const layerY = placeY(vertices, layers, layerGap, margin);

  let left = Infinity;
  let right = -Infinity;
  for (const v of vertices) {
    left = Math.min(left, v.x - v.width / 2);
    right = Math.max(right, v.x + v.width / 2);
  }
  if (vertices.length === 0) left = right = 0;
  const shift = margin - left;
  for (const v of vertices) v.x += shift;
  const y = (v: Vertex) => layerY[v.layer];

  const boxes = nodes.map((n, i) => ({
    id: n.id,
    x: vertices[i].x,
    y: y(vertices[i]),
    width: n.width,
    height: n.height,
    layer: vertices[i].layer,
  }));
  const ports = edgePorts(vertices, ends, chains);
  const layoutEdges = edges.map((e, k) => {
    const chain = chains[k];
    const first = vertices[chain[0]];
    const last = vertices[chain[chain.length - 1]];
    const points: Point[] = [{ x: ports.out[k], y: y(first) + first.height / 2 }];
    for (const d of chain.slice(1, -1)) points.push({ x: vertices[d].x, y: y(vertices[d]) });
    points.push({ x: ports.in[k], y: y(last) - last.height / 2 });
    return { from: e.from, to: e.to, points };
  });
  const bottom =
    layers.length === 0
      ? 0
      : layerY[layers.length - 1] + layerHeight(vertices, layers[layers.length - 1]) / 2;
  return {
    width: right - left + 2 * margin,
    height: bottom + margin,
    nodes: boxes,
    edges: layoutEdges,
    crossings,
  };
}

/**
 * Longest path to a sink: every node sits one layer above its lowest consumer, so a leaf is drawn
 * next to the op that uses it rather than at the top of the drawing.
 */
function assignLayers(vertices: Vertex[], ends: readonly (readonly [number, number])[]): void {
  const out = vertices.map(() => [] as number[]);
  const indegree = vertices.map(() => 0);
  for (const [from, to] of ends) {
    out[to].push(from);
    indegree[from]++;
  }
  // Kahn's algorithm from the sinks: `rank` is the longest distance to a sink.
  const rank = vertices.map(() => 0);
  const ready = vertices.map((_, i) => i).filter((i) => indegree[i] === 0);
  let seen = 0;
  while (ready.length > 0) {
    const v = ready.pop()!;
    seen++;
    for (const u of out[v]) {
      rank[u] = Math.max(rank[u], rank[v] + 1);
      if (--indegree[u] === 0) ready.push(u);
    }
  }
  if (seen !== vertices.length) throw new Error('layeredLayout: the graph has a cycle');
  const top = Math.max(0, ...rank);
  vertices.forEach((v, i) => (v.layer = top - rank[i]));
}

function orderLayers(vertices: Vertex[], sweeps: number): number[][] {
  const count = vertices.reduce((m, v) => Math.max(m, v.layer + 1), 0);
  const layers: number[][] = Array.from({ length: count }, () => []);
  // Initial order: depth-first from the top, so connected nodes start near each other.
  const visited = new Set<number>();
  const visit = (v: number) => {
    if (visited.has(v)) return;
    visited.add(v);
    layers[vertices[v].layer].push(v);
    for (const d of vertices[v].down) visit(d);
  };
  vertices.forEach((v, i) => v.up.length === 0 && visit(i));
  vertices.forEach((_, i) => visit(i));
  setOrder(vertices, layers);

  let best = layers.map((l) => [...l]);
  let bestCrossings = countAllCrossings(vertices, layers);
  for (let s = 0; s < sweeps && bestCrossings > 0; s++) {
    const down = s % 2 === 0;
    const range = down ? layers.keys() : [...layers.keys()].reverse();
    for (const l of range) {
      const layer = layers[l];
      const centre = new Map<number, number>();
      for (const v of layer) {
        const neighbours = down ? vertices[v].up : vertices[v].down;
        centre.set(
          v,
          neighbours.length === 0
            ? vertices[v].order
            : neighbours.reduce((sum, n) => sum + vertices[n].order, 0) / neighbours.length,
        );
      }
      // Stable: ties keep their current order.
      layer.sort(
        (a, b) => centre.get(a)! - centre.get(b)! || vertices[a].order - vertices[b].order,
      );
      setOrder(vertices, [layer]);
    }
    const crossings = countAllCrossings(vertices, layers);
    if (crossings < bestCrossings) {
      bestCrossings = crossings;
      best = layers.map((l) => [...l]);
    }
  }
  setOrder(vertices, best);
  return best;
}

function setOrder(vertices: Vertex[], layers: readonly number[][]): void {
  for (const layer of layers) layer.forEach((v, i) => (vertices[v].order = i));
}

function countAllCrossings(vertices: Vertex[], layers: readonly number[][]): number {
  let total = 0;
  for (const layer of layers) {
    const segments: [number, number][] = [];
    for (const v of layer)
      for (const d of vertices[v].down) segments.push([vertices[v].order, vertices[d].order]);
    for (let i = 0; i < segments.length; i++)
      for (let j = i + 1; j < segments.length; j++)
        if ((segments[i][0] - segments[j][0]) * (segments[i][1] - segments[j][1]) < 0) total++;
  }
  return total;
}

/**
 * Packs each layer left to right, then alternately pulls every vertex towards the mean x of its
 * neighbours above (and below), keeping the order and the gaps: each layer takes the mean of its
 * leftmost and rightmost placements that satisfy the gaps, both as near the targets as they can be.
 */
function placeX(vertices: Vertex[], layers: readonly number[][], nodeGap: number): void {
  const gap = (a: number, b: number) => {
    const dummy = vertices[a].width === 0 || vertices[b].width === 0;
    return (vertices[a].width + vertices[b].width) / 2 + (dummy ? nodeGap / 2 : nodeGap);
  };
  for (const layer of layers) {
    let x = 0;
    layer.forEach((v, i) => {
      if (i > 0) x += gap(layer[i - 1], v);
      vertices[v].x = x;
    });
  }
  for (let pass = 0; pass < 8; pass++) {
    const down = pass % 2 === 0;
    const range = down ? [...layers.keys()] : [...layers.keys()].reverse();
    for (const l of range) {
      const layer = layers[l];
      const target = layer.map((v) => {
        const neighbours = down ? vertices[v].up : vertices[v].down;
        return neighbours.length === 0
          ? vertices[v].x
          : neighbours.reduce((s, n) => s + vertices[n].x, 0) / neighbours.length;
      });
      const pushedRight = [...target];
      for (let i = 1; i < layer.length; i++)
        pushedRight[i] = Math.max(pushedRight[i], pushedRight[i - 1] + gap(layer[i - 1], layer[i]));
      const pushedLeft = [...target];
      for (let i = layer.length - 2; i >= 0; i--)
        pushedLeft[i] = Math.min(pushedLeft[i], pushedLeft[i + 1] - gap(layer[i], layer[i + 1]));
      layer.forEach((v, i) => (vertices[v].x = (pushedRight[i] + pushedLeft[i]) / 2));
    }
  }
}

function layerHeight(vertices: Vertex[], layer: readonly number[]): number {
  return layer.reduce((h, v) => Math.max(h, vertices[v].height), 0);
}

/** The centre line of each layer. */
function placeY(
  vertices: Vertex[],
  layers: readonly number[][],
  layerGap: number,
  margin: number,
): number[] {
  const ys: number[] = [];
  let top = margin;
  for (const layer of layers) {
    const h = layerHeight(vertices, layer);
    ys.push(top + h / 2);
    top += h + layerGap;
  }
  return ys;
}

/**
 * Where each edge leaves its source's bottom side and enters its target's top side: spread over
 * the box's width in the order of the far ends, so parallel edges (x · x) stay apart.
 */
function edgePorts(
  vertices: Vertex[],
  ends: readonly (readonly [number, number])[],
  chains: readonly number[][],
): { out: number[]; in: number[] } {
  const out = new Array<number>(ends.length);
  const into = new Array<number>(ends.length);
  const spread = (
    owner: number,
    edgeIds: number[],
    farX: (k: number) => number,
    target: number[],
  ) => {
    edgeIds.sort((a, b) => farX(a) - farX(b) || a - b);
    const v = vertices[owner];
    const usable = v.width * 0.6;
    edgeIds.forEach((k, j) => {
      target[k] =
        edgeIds.length === 1 ? v.x : v.x - usable / 2 + (usable * j) / (edgeIds.length - 1);
    });
  };
  const bySource = new Map<number, number[]>();
  const byTarget = new Map<number, number[]>();
  ends.forEach(([from, to], k) => {
    (bySource.get(from) ?? bySource.set(from, []).get(from)!).push(k);
    (byTarget.get(to) ?? byTarget.set(to, []).get(to)!).push(k);
  });
  for (const [v, ks] of bySource) spread(v, ks, (k) => vertices[chains[k][1]].x, out);
  for (const [v, ks] of byTarget)
    spread(v, ks, (k) => vertices[chains[k][chains[k].length - 2]].x, into);
  return { out, in: into };
}
