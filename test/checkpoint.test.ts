/**
 * utils.checkpoint (torch.utils.checkpoint): the same gradients as without it, with the
 * segment's activations recomputed in backward instead of kept.
 */
import { describe, expect, it } from 'vitest';
import { F, manualSeed, nn, randn, tensor, utils, type Node, type Tensor } from '../src/index.js';
import { expectAllClose, expectBitEqual } from './helpers/close.js';

/** Bytes of the distinct storages that the graph behind `t` keeps saved for backward. */
function savedBytes(t: Tensor): number {
  const storages = new Set<unknown>();
  let bytes = 0;
  const seen = new Set<Node>();
  const stack: Node[] = t.gradFn ? [t.gradFn] : [];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (seen.has(node)) continue;
    seen.add(node);
    for (const s of node.savedTensors) {
      if (storages.has(s.storage) || s.isLeaf) continue; // parameters are not activations
      storages.add(s.storage);
      bytes += (s.storage as ArrayLike<number> & { byteLength: number }).byteLength;
    }
    for (const input of node.inputs) if (input !== null) stack.push(input);
  }
  return bytes;
}

function deepMlp(depth: number, width: number): nn.Sequential {
  const layers: nn.Module[] = [];
  for (let i = 0; i < depth; i++) layers.push(new nn.Linear(width, width), new nn.Tanh());
  return new nn.Sequential(...layers);
}

/** The model's layers in segments of `size` layers, each segment checkpointed. */
function checkpointed(model: nn.Sequential, size: number) {
  const layers = model.children();
  return (x: Tensor): Tensor => {
    let h = x;
    for (let i = 0; i < layers.length; i += size) {
      const segment = layers.slice(i, i + size);
      h = utils.checkpoint(
        (input: Tensor) => segment.reduce((a, m) => m.call(a) as Tensor, input),
        h,
      );
    }
    return h;
  };
}

describe('utils.checkpoint', () => {
  it('gives the same gradients and keeps fewer activations for a deep MLP', () => {
    manualSeed(0);
    const model = deepMlp(8, 16);
    const x = randn([4, 16]).requiresGrad_();
    const target = randn([4, 16]);

    const plain = F.mseLoss(model.call(x), target);
    const plainBytes = savedBytes(plain);
    plain.backward();
    const expected = [x, ...model.parameters()].map((p) => p.grad!.clone());

    model.zeroGrad();
    x.grad = null;
    const loss = F.mseLoss(checkpointed(model, 8)(x), target);
    const bytes = savedBytes(loss);
    expectBitEqual(loss, plain.detach());
    loss.backward();
    [x, ...model.parameters()].forEach((p, i) => expectBitEqual(p.grad!, expected[i]));
    // Plain: each Tanh keeps its output, which the next Linear keeps as its input (8 activations
    // of [4, 16] float32, 256 bytes each); checkpointed in two segments of 4 layers: the second
    // segment's input. Both also keep the loss's own operands (a [4, 16] difference and the count).
    expect(plainBytes).toBe(8 * 256 + 256 + 4);
    expect(bytes).toBe(256 + 256 + 4);
  });

  it('recomputes dropout with the same mask, and handles several outputs and unused inputs', () => {
    const layer = new nn.Linear(3, 3).double();
    const x = randn([2, 3], { dtype: 'float64' }).requiresGrad_();
    const y = randn([2, 3], { dtype: 'float64' }).requiresGrad_();
    const fn = (a: Tensor, b: Tensor, scale: number) => {
      const h = F.dropout(layer.call(a), 0.5);
      return [h.mul(scale), h.sum(1), b.detach()] as const;
    };
    manualSeed(7);
    const [p1, p2] = fn(x, y, 3);
    p1.square().sum().add(p2.sum()).backward();
    const expected = [x.grad!.clone(), ...layer.parameters().map((p) => p.grad!.clone())];
    x.grad = null;
    layer.zeroGrad();
    manualSeed(7);
    const [c1, c2, c3] = utils.checkpoint(fn, x, y, 3);
    expect(c3.requiresGrad).toBe(false);
    c1.square().sum().add(c2.sum()).backward();
    const got = [x.grad!, ...layer.parameters().map((p) => p.grad!)];
    got.forEach((g, i) => expectAllClose(g, expected[i], { rtol: 1e-12 }));
    expect(y.grad).toBeNull();
  });

  it('runs fn directly without grad mode, and names what it cannot do', () => {
    const w = randn([2]).requiresGrad_();
    const outside = w.mul(2);
    expect(() => utils.checkpoint((a: Tensor) => a.mul(outside), randn([2]))).toThrow(
      /utils.checkpoint: fn uses a tensor that requires grad and was computed outside the segment \(the output of MulBackward\); pass it to checkpoint as an argument/,
    );
    const x = tensor([1, 2], { requiresGrad: true });
    const out = utils.checkpoint((a: Tensor) => a.square().sum(), x);
    expect(() => out.backward(undefined, { createGraph: true })).toThrow(
      /utils.checkpoint: double backward .* is not supported/,
    );
    expect(() => utils.checkpoint(42 as never)).toThrow(/expected fn to be a function/);
  });
});
