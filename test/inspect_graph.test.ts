import { describe, expect, it } from 'vitest';
import { inspect, manualSeed, nn, randn, tensor, type Tensor } from '../src/index.js';
import { layeredLayout } from '../src/inspect/graph_layout.js';
import { expectAllClose } from './helpers/close.js';
import { parseXmlElements } from './helpers/xml.js';

/** y = (a*b + sin(a)).sum() with its leaves. */
function example(): { a: Tensor; b: Tensor; y: Tensor } {
  const a = tensor([0.5, -1, 2], { requiresGrad: true, dtype: 'float64' });
  const b = tensor([3, 4, -2], { requiresGrad: true, dtype: 'float64' });
  return { a, b, y: a.mul(b).add(a.sin()).sum() };
}

/** Edges as 'label -> label#input', sorted. */
function edgeNames(g: inspect.Graph): string[] {
  const label = new Map(g.nodes.map((n) => [n.id, n.label]));
  return g.edges.map((e) => `${label.get(e.from)} -> ${label.get(e.to)}#${e.input}`).sort();
}

/** Parses DOT structurally: balanced braces, node statements, and edges between declared nodes. */
function parseDot(dot: string): { nodes: Set<string>; edges: [string, string][] } {
  let depth = 0;
  for (const c of dot.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
    if (c === '{' || c === '[') depth++;
    if (c === '}' || c === ']') depth--;
    expect(depth).toBeGreaterThanOrEqual(0);
  }
  expect(depth).toBe(0);
  expect(dot.trimStart().startsWith('digraph')).toBe(true);
  const nodes = new Set(
    [...dot.matchAll(/^\s*(\w+) \[label="(?:[^"\\]|\\.)*"/gm)].map((m) => m[1]),
  );
  const edges = [...dot.matchAll(/^\s*(\w+) -> (\w+);$/gm)].map(
    (m) => [m[1], m[2]] as [string, string],
  );
  return { nodes, edges };
}

describe('inspect.graph', () => {
  it('has exactly the nodes and edges of (a*b + sin(a)).sum()', () => {
    const { a, b, y } = example();
    const g = inspect.graph(y, { names: { a, b } });
    expect(g.nodes.map((n) => n.label).sort()).toEqual(['Add', 'Mul', 'Sin', 'Sum', 'a', 'b']);
    expect(edgeNames(g)).toEqual([
      'Add -> Sum#0',
      'Mul -> Add#0',
      'Sin -> Add#1',
      'a -> Mul#0',
      'a -> Sin#0',
      'b -> Mul#1',
    ]);
    const byLabel = new Map(g.nodes.map((n) => [n.label, n]));
    expect(byLabel.get('Sum')).toMatchObject({
      kind: 'op',
      op: 'SumBackward',
      shape: [],
      isOutput: true,
    });
    expect(byLabel.get('Mul')).toMatchObject({ shape: [3], dtype: 'float64', isOutput: false });
    expect(byLabel.get('a')).toMatchObject({ kind: 'leaf', op: 'AccumulateGrad', shape: [3] });
    expect(g.output).toBe(byLabel.get('Sum')!.id);
    // Ids follow a topological order: every edge goes from a lower id to a higher one.
    for (const e of g.edges) expect(Number(e.from.slice(1))).toBeLessThan(Number(e.to.slice(1)));
    expect(JSON.parse(JSON.stringify(g))).toEqual(g.toJSON());
  });

  it('names parameters from a module and gives gradients equal to backward()', () => {
    manualSeed(3);
    const model = new nn.Sequential(new nn.Linear(2, 3), new nn.Tanh(), new nn.Linear(3, 1));
    const x = randn([4, 2]);
    const loss = model.call(x).pow(2).mean();
    const g = inspect.graph(loss, { module: model, grads: true, values: true });
    const leaves = g.nodes.filter((n) => n.kind === 'leaf');
    expect(leaves.map((n) => n.label).sort()).toEqual(['0.bias', '0.weight', '2.bias', '2.weight']);
    loss.backward();
    for (const [name, p] of model.namedParameters()) {
      const node = leaves.find((n) => n.label === name)!;
      expectAllClose(node.grad!, p.grad!, { rtol: 1e-6, message: name });
      expectAllClose(node.value!, p, { rtol: 0, message: name });
    }
    const out = g.nodes.find((n) => n.isOutput)!;
    expect(out.grad).toEqual([1]);
    expect(out.value).toEqual([loss.itemSync()]);
    // Without recordGraph, intermediate values are not kept.
    expect(g.nodes.find((n) => n.label === 'Tanh')!.value).toBeNull();
  });

  it('records creation sites and intermediate values only under recordGraph', () => {
    const { a, b } = example();
    const y = inspect.recordGraph(() => a.mul(b).add(a.sin()).sum());
    expect(inspect.isGraphRecording()).toBe(false);
    const g = inspect.graph(y, { values: true });
    const sin = g.nodes.find((n) => n.label === 'Sin')!;
    expect(sin.site).toMatch(/inspect_graph\.test\.ts:\d+:\d+/);
    expectAllClose(sin.value!, a.sin(), { rtol: 0 });
    expect(inspect.graph(example().y).nodes.every((n) => n.site === undefined)).toBe(true);
    // Scalars show their value in the box.
    expect(g.toSVG()).toContain(`[] = ${Number(Number(y.itemSync()).toPrecision(4))}</text>`);
  });

  it('writes DOT whose edges join declared nodes', () => {
    const { a, b, y } = example();
    const g = inspect.graph(y, { names: { a, b } });
    const dot = parseDot(g.toDot());
    expect(dot.nodes).toEqual(new Set(g.nodes.map((n) => n.id)));
    expect(dot.edges).toEqual(g.edges.map((e) => [e.from, e.to]));
    expect(g.toDot()).toContain('label="Mul\\n[3] float64"');
  });

  it('writes well-formed SVG with one <g> per node and one path per edge', () => {
    const { a, b, y } = example();
    const g = inspect.graph(y, { names: { a, b } });
    const elements = parseXmlElements(g.toSVG());
    expect(elements[0].name).toBe('svg');
    const groups = elements.filter((e) => e.name === 'g');
    expect(groups.map((e) => e.attrs['data-id']).sort()).toEqual(g.nodes.map((n) => n.id).sort());
    const paths = elements.filter((e) => e.name === 'path' && e.attrs.class === 'edge');
    expect(paths.map((p) => [p.attrs['data-from'], p.attrs['data-to']])).toEqual(
      g.edges.map((e) => [e.from, e.to]),
    );
  });

  it('refuses a tensor without a graph, and gradients of a freed graph', () => {
    expect(() => inspect.graph(tensor([1, 2]))).toThrow(/does not require grad/);
    const { a, y: z } = example();
    expect(() => inspect.graph(z, { names: { a, b: 3 as unknown as Tensor } })).toThrow(
      'inspect.graph: names.b must be a Tensor, got number',
    );
    const { y } = example();
    y.backward();
    expect(() => inspect.graph(y, { grads: true })).toThrow(
      /backward through the graph a second time/,
    );
    expect(inspect.graph(y).nodes).toHaveLength(6);
  });
});

describe('inspect.backwardSteps', () => {
  it('shows upstream · local = product at every node, ending in the leaves .grad', () => {
    const { a, b, y } = example();
    const steps = inspect.backwardSteps(y);
    expect(steps.map((s) => s.node.name)).toEqual([
      'SumBackward',
      'AddBackward',
      'SinBackward',
      'MulBackward',
      'AccumulateGrad',
      'AccumulateGrad',
    ]);
    for (const step of steps) {
      for (const input of step.inputs) {
        // The chain rule: the product is the upstream row vector times the local Jacobian.
        const chained = step.upstream
          .reshape([1, -1])
          .matmul(input.local!)
          .reshape(input.product.shape);
        expectAllClose(input.product, chained, { rtol: 1e-12, message: step.node.name });
      }
    }
    const sin = steps.find((s) => s.node.name === 'SinBackward')!;
    const cos = Array.from(a.detach().cos().dataSync());
    const diagonal = cos.flatMap((c, i) => cos.map((_, j) => (i === j ? c : 0)));
    expectAllClose(sin.inputs[0].local!, diagonal, { rtol: 1e-12 });
    y.backward();
    const leafGrads = steps.filter((s) => s.inputs.length === 0);
    const byLeaf = new Map(
      leafGrads.map((s) => [(s.node as unknown as { variable: Tensor }).variable, s.upstream]),
    );
    expectAllClose(byLeaf.get(a)!, a.grad!, { rtol: 1e-12 });
    expectAllClose(byLeaf.get(b)!, b.grad!, { rtol: 1e-12 });
    expectAllClose(a.grad!, b.add(a.detach().cos()), { rtol: 1e-12 });
  });

  it('skips Jacobians over the limit and needs a seed for non-scalar outputs', () => {
    const x = randn([20, 20]).requiresGrad_();
    const steps = inspect.backwardSteps(x.relu().sum());
    expect(steps.find((s) => s.node.name === 'ReluBackward')!.inputs[0].local).toBeNull();
    expect(() => inspect.backwardSteps(x.relu())).toThrow(/needs \{ gradient \}/);
  });
});

describe('layeredLayout', () => {
  it('puts every edge downwards, keeps boxes of a layer apart, and uncrosses a crossed start', () => {
    // Two chains whose depth-first order starts crossed: a -> d, b -> c, with c before d.
    const nodes = ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, width: 30, height: 20 }));
    const edges = [
      { from: 'a', to: 'd' },
      { from: 'b', to: 'c' },
      { from: 'a', to: 'c' },
      { from: 'c', to: 'e' },
      { from: 'd', to: 'e' },
      { from: 'b', to: 'e' },
    ];
    const layout = layeredLayout(nodes, edges);
    const box = new Map(layout.nodes.map((n) => [n.id, n]));
    for (const e of layout.edges) {
      const ys = e.points.map((p) => p.y);
      expect(ys.every((y, i) => i === 0 || y > ys[i - 1])).toBe(true);
      expect(e.points[0].y).toBe(box.get(e.from)!.y + 10);
    }
    for (const layer of new Set(layout.nodes.map((n) => n.layer))) {
      const row = layout.nodes.filter((n) => n.layer === layer);
      const sorted = [...row].sort((p, q) => p.x - q.x);
      for (let i = 1; i < sorted.length; i++)
        expect(sorted[i].x - sorted[i - 1].x).toBeGreaterThanOrEqual(30);
    }
    // b -> e spans two layers: it passes through one dummy point.
    expect(layout.edges[5].points).toHaveLength(3);
    expect(layout.crossings).toBe(0);
    expect(() => layeredLayout(nodes, [...edges, { from: 'e', to: 'a' }])).toThrow(/cycle/);
  });
});
