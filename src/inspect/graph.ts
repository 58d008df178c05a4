/**
 * The backward graph of a tensor as data: one node per autograd node (ops and the leaves they
 * reach), one edge per differentiable input, exported as JSON, Graphviz DOT or a self-contained SVG.
 */
import { AccumulateGrad, type Node } from '../autograd/node.js';
import { recordedOf } from '../autograd/graph_recording.js';
import type { DType } from '../tensor/dtype.js';
import { formatShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import { reverseTopologicalOrder } from '../autograd/engine.js';
import { backwardSteps } from './backward_steps.js';
import { graphToSvg, type SvgOptions } from './graph_svg.js';

export interface GraphOptions {
  /** Include each node's value (root, leaves, and ops created under `recordGraph`). */
  values?: boolean;
  /** Include each node's gradient, from a replayed backward pass (the graph must not be freed). */
  grads?: boolean;
  /** Seed of that pass for a non-scalar tensor (ones for a scalar). */
  gradient?: Tensor;
  /** Names leaves by their parameter names in this module ('fc1.weight'). */
  module?: Module;
  /** Names of other leaves (inputs): `{ a, b }` or a Map from tensor to name. */
  names?: Record<string, Tensor> | Map<Tensor, string>;
}

export interface GraphNode {
  /** 'n0', 'n1', …: in the order of a forward topological sort (inputs before their consumers). */
  readonly id: string;
  readonly kind: 'op' | 'leaf';
  /** The autograd node's name: 'MulBackward', or 'AccumulateGrad' for leaves. */
  readonly op: string;
  /** The op name shown ('Mul'), or the leaf's name ('fc1.weight', 'a'; 'leaf' when unnamed). */
  readonly label: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Whether this is the node of the inspected tensor itself. */
  readonly isOutput: boolean;
  /** The first stack frame outside chainrule where the op was created (under recordGraph or detectAnomaly). */
  readonly site?: string;
  /** Row-major values, when asked and available (null when the op's output was not recorded). */
  readonly value?: number[] | null;
  /** Row-major gradient of the root with respect to this node's output, when asked. */
  readonly grad?: number[] | null;
}

export interface GraphEdge {
  /** The input's node. */
  readonly from: string;
  /** The op that consumes it. */
  readonly to: string;
  /** Which input of `to` it is. */
  readonly input: number;
}

export interface GraphJSON {
  readonly nodes: GraphNode[];
  readonly edges: GraphEdge[];
  /** Id of the inspected tensor's node. */
  readonly output: string;
}

/** A backward graph with its exports. */
export class Graph {
  readonly #ids: ReadonlyMap<Node, string>;

  constructor(
    readonly nodes: readonly GraphNode[],
    readonly edges: readonly GraphEdge[],
    readonly output: string,
    ids: ReadonlyMap<Node, string> = new Map(),
  ) {
    this.#ids = ids;
  }

  /** The id of an autograd node of this graph (a `backwardSteps` step's node, say). @example g.idOf(loss.gradFn!); // 'n7' */
  idOf(node: Node): string | undefined {
    return this.#ids.get(node);
  }

  /** Plain data (what JSON.stringify writes). @example JSON.stringify(inspect.graph(loss)); */
  toJSON(): GraphJSON {
    return { nodes: [...this.nodes], edges: [...this.edges], output: this.output };
  }

  /**
   * Graphviz DOT (`dot -Tsvg graph.dot`): boxes labelled with the op and shape, edges from
   * inputs to the ops that use them.
   * @example
   * writeFileSync('graph.dot', inspect.graph(loss).toDot());
   */
  toDot(): string {
    const lines = [
      'digraph chainrule {',
      '  rankdir=TB;',
      '  node [shape=box, style="rounded,filled", fontname="monospace", fontsize=11];',
    ];
    for (const n of this.nodes) {
      const fill = n.isOutput ? '#fde7e9' : n.kind === 'leaf' ? '#e6f4ea' : '#e8f0fe';
      const label = `${n.label}\\n${formatShape(n.shape)} ${n.dtype}`;
      lines.push(`  ${n.id} [label="${dotEscape(label)}", fillcolor="${fill}"];`);
    }
    for (const e of this.edges) lines.push(`  ${e.from} -> ${e.to};`);
    lines.push('}');
    return lines.join('\n') + '\n';
  }

  /**
   * A self-contained SVG drawing laid out without Graphviz (layered layout).
   * @example
   * writeFileSync('graph.svg', inspect.graph(loss).toSVG());
   */
  toSVG(options: SvgOptions = {}): string {
    return graphToSvg(
      this.nodes.map((n) => ({
        id: n.id,
        label: n.label,
        // A scalar's value fits the box, as in the worked examples of backprop.
        detail:
          formatShape(n.shape) +
          (n.value?.length === 1 ? ` = ${Number(n.value[0].toPrecision(4))}` : ''),
        title: nodeTitle(n),
        kind: n.isOutput ? 'output' : n.kind,
      })),
      this.edges,
      options,
    );
  }
}

function nodeTitle(n: GraphNode): string {
  const lines = [`${n.op} ${formatShape(n.shape)} ${n.dtype}`];
  if (n.site) lines.push(n.site);
  if (n.value) lines.push(`value: ${preview(n.value)}`);
  if (n.grad) lines.push(`grad: ${preview(n.grad)}`);
  return lines.join('\n');
}

function preview(values: readonly number[]): string {
  const shown = values.slice(0, 6).map((v) => Number(v.toPrecision(4)));
  return `[${shown.join(', ')}${values.length > 6 ? ', …' : ''}]`;
}

// Inside a quoted DOT string only the quote and the backslash are special; "\\n" is kept as DOT's newline.
function dotEscape(text: string): string {
  return text.replace(/\\(?!n)/g, '\\\\').replace(/"/g, '\\"');
}

/**
 * The backward graph of `tensor`: every autograd node it reaches, with the op name, shape, dtype,
 * creation site (for ops created under `inspect.recordGraph` or anomaly mode) and, when asked,
 * values and gradients. Leaves are named from `module`'s parameters and from `names`.
 * @example
 * const a = tensor([1, 2], { requiresGrad: true });
 * const b = tensor([3, 4], { requiresGrad: true });
 * const g = inspect.graph(a.mul(b).add(a.sin()).sum(), { names: { a, b } });
 * g.nodes.map((n) => n.label); // ['a', 'b', 'Mul', 'Sin', 'Add', 'Sum'] (in some topological order)
 * g.toSVG();
 */
export function graph(tensor: Tensor, options: GraphOptions = {}): Graph {
  if (!(tensor instanceof Tensor)) {
    throw new TypeError(
      `inspect.graph: expected a Tensor, got ${tensor === null ? 'null' : typeof tensor}`,
    );
  }
  const root = tensor.gradFn ?? (tensor.requiresGrad ? tensor.gradNode() : null);
  if (root === null) {
    throw new Error(
      `inspect.graph: the tensor (shape ${formatShape(tensor.shape)}, ${tensor.dtype}) does not require grad, so autograd recorded no graph for it; ` +
        `set requiresGrad on its inputs (or a module's parameters) before computing it`,
    );
  }
  const names = leafNames(options);
  const order = reverseTopologicalOrder([root]).reverse();
  const ids = new Map<Node, string>(order.map((node, i) => [node, `n${i}`]));

  // A node's output shape is known from the consumers that recorded it as an input.
  const shapes = new Map<Node, { shape: readonly number[]; dtype: DType }>();
  shapes.set(root, { shape: tensor.shape, dtype: tensor.dtype });
  const edges: GraphEdge[] = [];
  for (const node of order) {
    node.inputs.forEach((input, i) => {
      if (input === null) return;
      edges.push({ from: ids.get(input)!, to: ids.get(node)!, input: i });
      if (!shapes.has(input))
        shapes.set(input, { shape: node.inputShapes[i], dtype: node.inputDTypes[i]! });
    });
  }
  const grads = options.grads ? gradientsOf(tensor, options.gradient) : null;

  const nodes = order.map((node): GraphNode => {
    const leaf = node instanceof AccumulateGrad ? node.variable : null;
    const recorded = recordedOf(node);
    const { shape, dtype } = leaf ?? shapes.get(node)!;
    const stack = node.creationStack ?? recorded?.stack;
    const out: {
      -readonly [K in keyof GraphNode]: GraphNode[K];
    } = {
      id: ids.get(node)!,
      kind: leaf ? 'leaf' : 'op',
      op: node.name,
      label: leaf ? (names.get(leaf) ?? 'leaf') : node.name.replace(/Backward\d*$/, ''),
      shape: [...shape],
      dtype,
      isOutput: node === root,
    };
    const site = stack
      ?.split('\n')
      .find((line) => line.trim() !== '')
      ?.trim();
    if (site) out.site = site;
    if (options.values) {
      const value = leaf ?? (node === root ? tensor : recorded?.output);
      out.value = value ? Array.from(value.detach().dataSync(), Number) : null;
    }
    if (grads) {
      const g = grads.get(node);
      out.grad = g ? Array.from(g.dataSync(), Number) : null;
    }
    return out;
  });
  return new Graph(nodes, edges, ids.get(root)!, ids);
}

function leafNames(options: GraphOptions): Map<Tensor, string> {
  const names = new Map<Tensor, string>();
  if (options.module) for (const [name, p] of options.module.namedParameters()) names.set(p, name);
  const given = options.names;
  if (given instanceof Map) for (const [t, name] of given) names.set(t, name);
  else if (given) {
    for (const [name, t] of Object.entries(given)) {
      if (!(t instanceof Tensor))
        throw new TypeError(
          `inspect.graph: names.${name} must be a Tensor, got ${t === null ? 'null' : typeof t}`,
        );
      names.set(t, name);
    }
  }
  return names;
}

function gradientsOf(tensor: Tensor, gradient: Tensor | undefined): Map<Node, Tensor> {
  const steps = backwardSteps(tensor, { gradient, jacobianLimit: 0 });
  return new Map(steps.map((s) => [s.node, s.upstream]));
}
