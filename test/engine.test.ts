/**
 * The graph engine: accumulation, shared subgraphs, retainGraph / createGraph, autograd.grad,
 * grad mode, detach, leaves and hooks, deep graphs, gradient dtypes and shapes.
 */
import { describe, expect, it } from 'vitest';
import {
  autograd,
  enableGrad,
  isGradEnabled,
  manualSeed,
  nn,
  noGrad,
  ones,
  optim,
  randn,
  setGradEnabled,
  tensor,
  zeros,
  type Tensor,
} from '../src/index.js';

import { expectClose, values } from './helpers/values.js';

describe('accumulation through the graph', () => {
  it('sums the gradients of a tensor used many times (fan-out)', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    // y = x + x·x + 3x + x·x·x  →  dy/dx = 1 + 2x + 3 + 3x²
    const y = x.add(x.mul(x)).add(x.mul(3)).add(x.mul(x).mul(x));
    y.sum().backward();
    expectClose(x.grad, [1 + 2 + 3 + 3, 1 + 4 + 3 + 12, 1 + 6 + 3 + 27]);
  });

  it('sums 100 uses of the same leaf', () => {
    const x = tensor([2], { requiresGrad: true });
    let total = x.mul(0);
    for (let i = 0; i < 100; i++) total = total.add(x);
    total.sum().backward();
    expectClose(x.grad, [100]);
  });

  it('handles shared subgraphs (diamond) and runs each node once', () => {
    const x = tensor([0.5, -1], { requiresGrad: true });
    const h = x.exp(); // shared node
    const a = h.mul(2);
    const b = h.sin();
    const out = a.add(b).sum();
    let calls = 0;
    h.registerHook(() => {
      calls++;
    });
    out.backward();
    // d/dx [2 e^x + sin(e^x)] = e^x (2 + cos(e^x))
    const expected = [0.5, -1].map((v) => Math.exp(v) * (2 + Math.cos(Math.exp(v))));
    expectClose(x.grad, expected);
    expect(calls).toBe(1);
  });

  it('accumulates .grad across backward calls, and zeroing resets it', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    x.mul(3).sum().backward();
    expectClose(x.grad, [3, 3]);
    x.mul(x).sum().backward();
    expectClose(x.grad, [5, 7]);
    noGrad(() => x.grad!.zero_());
    x.mul(2).sum().backward();
    expectClose(x.grad, [2, 2]);
    x.grad = null;
    x.mul(4).sum().backward();
    expectClose(x.grad, [4, 4]);
  });

  it('gives each leaf a gradient of its own storage, safe to modify in place', () => {
    const a = tensor([1, 2, 3], { requiresGrad: true });
    const b = tensor([4, 5, 6], { requiresGrad: true });
    a.add(b).sum().backward();
    expectClose(a.grad, [1, 1, 1]);
    expectClose(b.grad, [1, 1, 1]);
    expect(a.grad!.isContiguous()).toBe(true);
    noGrad(() => a.grad!.add_(tensor([10, 20, 30])));
    expectClose(a.grad, [11, 21, 31]);
    expectClose(b.grad, [1, 1, 1]);
  });

  it('hands a fresh gradient to one leaf only, and never one a hook, retainGrad or a custom Function saw', () => {
    // The engine may make a leaf's first gradient its .grad without a copy (as PyTorch's
    // AccumulateGrad steals it): only when nothing else can reach that storage.
    const w = tensor([2, 3, 4]);
    const a = tensor([1, 2, 3], { requiresGrad: true });
    const b = tensor([4, 5, 6], { requiresGrad: true });
    a.add(b).mul(w).sum().backward(); // add passes one fresh contiguous gradient to both
    noGrad(() => a.grad!.add_(100));
    expectClose(a.grad, [102, 103, 104]);
    expectClose(b.grad, [2, 3, 4]);

    const x = tensor([1, 2, 3], { requiresGrad: true });
    const y = x.add(1);
    y.retainGrad();
    y.mul(w).sum().backward();
    noGrad(() => x.grad!.zero_());
    expectClose(y.grad, [2, 3, 4]);

    let seen: Tensor | null = null;
    const u = tensor([1, 2, 3], { requiresGrad: true });
    const v = u.mul(w);
    v.registerHook((g) => {
      seen = g.mul(1);
      return seen;
    });
    v.sum().backward();
    noGrad(() => u.grad!.zero_());
    expectClose(seen, [1, 1, 1]);

    let kept: Tensor | null = null;
    class Keep extends autograd.Function {
      static override forward(_ctx: unknown, t: Tensor): Tensor {
        return t.mul(2);
      }
      static override backward(_ctx: unknown, g: Tensor): Tensor {
        kept = g.mul(2);
        return kept;
      }
    }
    const k = tensor([1, 2], { requiresGrad: true });
    Keep.apply(k)
      .mul(tensor([1, 1]))
      .sum()
      .backward();
    noGrad(() => k.grad!.zero_());
    expectClose(kept, [2, 2]);
  });

  it('gives the memory of spent gradients back at once, and never of one anything else can reach', () => {
    // Gradients large enough to live in the WebAssembly kernels' memory (tensor storage there is
    // reused as soon as the engine releases it).
    const n = 4096;
    const w = randn([n]);
    const x = randn([n], { requiresGrad: true });
    const backend = x.backend;
    const released: unknown[] = [];
    const original = backend.release;
    if (!original) return; // this backend frees memory only through the collector
    backend.release = (storage) => {
      released.push(storage);
      original.call(backend, storage);
    };
    try {
      // A chain: the gradients between the nodes are spent as soon as the next node has run.
      x.mul(w).relu().mul(w).exp().sum().backward();
      expect(released.length).toBeGreaterThan(0);
      expect(released).not.toContain(x.grad!.storage);

      // Reachable gradients: a retained one, one a hook kept, one a custom Function kept, and
      // one fanned out to two inputs; each must keep its values while new results reuse memory.
      const y = x.add(1);
      y.retainGrad();
      let hooked: Tensor | null = null;
      const v = x.mul(2);
      v.registerHook((g) => void (hooked = g));
      let kept: Tensor | null = null;
      class Keep extends autograd.Function {
        static override forward(_ctx: unknown, t: Tensor): Tensor {
          return t.mul(1);
        }
        static override backward(_ctx: unknown, g: Tensor): Tensor {
          kept = g;
          return g.mul(1);
        }
      }
      const a = randn([n], { requiresGrad: true });
      const b = randn([n], { requiresGrad: true });
      released.length = 0;
      y.mul(w).add(v.mul(w)).add(Keep.apply(x).mul(w)).add(a.add(b).mul(w)).sum().backward();
      const expected = values(w);
      for (let i = 0; i < 20; i++) randn([n]).mul(3).relu(); // results that reuse released memory
      for (const t of [y.grad, hooked, kept, a.grad, b.grad]) {
        expect(released).not.toContain(t!.storage);
        expectClose(t, expected);
      }

      // One gradient fanned out to two nodes: the first to run must not give it back while the
      // second (a flip, which reads it in another order than it writes) still waits for it.
      const c = randn([n], { requiresGrad: true });
      const d = randn([n], { requiresGrad: true });
      c.flip(0).add(d.flip(0)).mul(w).sum().backward();
      expectClose(c.grad, values(w.flip(0)));
      expectClose(d.grad, values(w.flip(0)));
    } finally {
      backend.release = original;
    }
  });

  it('zeroGrad gives back the memory of a gradient only autograd held, never of one user code can reach', () => {
    const n = 4096;
    const x = randn([n]);
    const w = randn([n], { requiresGrad: true });
    const backend = w.backend;
    const original = backend.release;
    if (!original) return; // this backend frees memory only through the collector
    const released: unknown[] = [];
    backend.release = (storage) => {
      released.push(storage);
      original.call(backend, storage);
    };
    const reuse = () => {
      for (let i = 0; i < 20; i++) randn([n]).mul(3).relu();
    };
    try {
      const optimizer = new optim.SGD([w], { lr: 0.1 });
      const step = (createGraph = false) => {
        released.length = 0;
        optimizer.zeroGrad();
        w.mul(x).sum().backward(undefined, { createGraph });
        optimizer.step();
      };
      // Made by backward, read by the optimizer only: back at the next zeroGrad.
      step();
      const unread = w.peekGrad()!.storage;
      step();
      expect(released).toContain(unread);
      expectClose(w.grad, values(x));

      // Read by user code (and kept): never given back, its values stay.
      const held = w.grad!;
      step();
      expect(released).not.toContain(held.storage);
      reuse();
      expectClose(held, values(x));

      // Set by user code, or part of a graph of gradients (createGraph): never given back.
      const mine = randn([n]);
      w.grad = mine;
      step();
      expect(released).not.toContain(mine.storage);
      step(true);
      const graphGrad = w.peekGrad()!;
      step();
      expect(released).not.toContain(graphGrad.storage);

      // nn.Module.zeroGrad does the same.
      const layer = new nn.Linear(64, 64);
      layer
        .forward(randn([8, 64]))
        .sum()
        .backward();
      const weightGrad = layer.weight.peekGrad()!.storage;
      released.length = 0;
      layer.zeroGrad();
      expect(released).toContain(weightGrad);
      expect(layer.weight.grad).toBeNull();
    } finally {
      backend.release = original;
    }
  });

  it('releases nothing while building a graph of the gradients (createGraph)', () => {
    const x = randn([4096], { requiresGrad: true });
    const backend = x.backend;
    const original = backend.release;
    if (!original) return;
    let count = 0;
    backend.release = (storage) => {
      count++;
      original.call(backend, storage);
    };
    try {
      const [g] = autograd.grad(x.mul(x).exp().sum(), [x], { createGraph: true }) as Tensor[];
      expect(count).toBe(0);
      g.sum().backward();
      expect(count).toBeGreaterThan(0);
    } finally {
      backend.release = original;
    }
  });

  it('does not alias a user-given gradient into .grad', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const g = tensor([5, 6]);
    x.clone().backward(g);
    expectClose(x.grad, [5, 6]);
    noGrad(() => x.grad!.zero_());
    expectClose(g, [5, 6]);
  });
});

describe('backward() arguments', () => {
  it('takes the gradient of a non-scalar output (vector-Jacobian product)', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const y = x.mul(x);
    y.backward(tensor([1, 0.5, -1]));
    expectClose(x.grad, [2, 2, -6]);
  });

  it('throws for a non-scalar output without a gradient', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    expect(() => x.mul(2).backward()).toThrow(/backward.*scalar.*\[3\]/);
  });

  it('throws for a gradient of the wrong shape', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    expect(() => x.mul(2).backward(ones([2]))).toThrow(/backward.*\[2\].*\[3\]/);
  });

  it('throws when the output does not require grad', () => {
    expect(() => tensor([1, 2]).sum().backward()).toThrow(/does not require grad/);
  });

  it('without retainGraph, a second backward throws a clear error', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.exp().sum();
    y.backward();
    expect(() => y.backward()).toThrow(/backward through the graph a second time/);
    expect(() => y.backward()).toThrow(/retainGraph/);
  });

  it('the second-backward error names the node that needed its saved tensors, and accumulates nothing', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const w = tensor([3, 4], { requiresGrad: true });
    const y = x.exp().sum().add(w.sum());
    y.backward();
    const before = values(w.grad);
    expect(() => y.backward()).toThrow(
      /^ExpBackward: trying to backward through the graph a second time/,
    );
    expect(values(w.grad)).toEqual(before);
  });

  it('with retainGraph, a second backward works and accumulates', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.exp().mul(x).sum();
    y.backward(undefined, { retainGraph: true });
    const first = values(x.grad);
    y.backward(undefined, { retainGraph: true });
    values(x.grad).forEach((v, i) => expect(v).toBeCloseTo(2 * first[i], 4));
    y.backward();
    values(x.grad).forEach((v, i) => expect(v).toBeCloseTo(3 * first[i], 4));
    expect(() => y.backward()).toThrow(/second time/);
  });

  it('createGraph gives differentiable gradients (second derivatives)', () => {
    const x = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const y = x.pow(3).sum();
    y.backward(undefined, { createGraph: true });
    const g = x.grad!;
    expect(g.requiresGrad).toBe(true);
    expectClose(g, [3, 12]);
    // d/dx Σ 3x² = 6x
    const [h] = autograd.grad(g.sum(), [x]);
    expectClose(h, [6, 12]);
  });

  it('backward({ inputs }) accumulates only into the chosen leaves', () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const b = tensor([3, 4], { requiresGrad: true });
    a.mul(b)
      .sum()
      .backward(undefined, { inputs: [a] });
    expectClose(a.grad, [3, 4]);
    expect(b.grad).toBeNull();
  });

  it('backward({ inputs }) gives .grad storage of its own', () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const b = tensor([3, 4], { requiresGrad: true });
    a.add(b)
      .sum()
      .backward(undefined, { inputs: [a, b] });
    noGrad(() => a.grad!.add_(tensor([1, 2])));
    expectClose(a.grad, [2, 3]);
    expectClose(b.grad, [1, 1]);
  });

  it('casts a user gradient of another float dtype to the output dtype', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    x.mul(2).backward(tensor([1, 1], { dtype: 'float64' }));
    expect(x.grad!.dtype).toBe('float32');
    expectClose(x.grad, [2, 2]);
  });

  it('backward({ inputs }) works for a non-leaf input', () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const h = a.mul(2);
    h.mul(h)
      .sum()
      .backward(undefined, { inputs: [h] });
    expectClose(h.grad, [4, 8]);
    expect(a.grad).toBeNull();
  });
});

describe('autograd.grad', () => {
  it('returns gradients without touching .grad', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = tensor([3, 4], { requiresGrad: true });
    const [gx, gy] = autograd.grad(x.mul(y).sum(), [x, y]);
    expectClose(gx, [3, 4]);
    expectClose(gy, [1, 2]);
    expect(x.grad).toBeNull();
    expect(y.grad).toBeNull();
    expect(gx!.requiresGrad).toBe(false);
  });

  it('takes gradOutputs for non-scalar outputs', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const [g] = autograd.grad(x.square(), [x], { gradOutputs: [tensor([1, 10, 100])] });
    expectClose(g, [2, 40, 600]);
    expect(() => autograd.grad(x.square(), [x])).toThrow(/grad.*scalar.*\[3\]/);
  });

  it('sums over several outputs', () => {
    const x = tensor([2], { requiresGrad: true });
    const [g] = autograd.grad([x.mul(3).sum(), x.square().sum()], [x]);
    expectClose(g, [3 + 4]);
  });

  it('throws for an unused input unless allowUnused', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const unused = tensor([1], { requiresGrad: true });
    expect(() => autograd.grad(x.sum(), [x, unused])).toThrow(/input 1.*not used.*allowUnused/);
    const [gx, gu] = autograd.grad(x.sum(), [x, unused], { allowUnused: true });
    expectClose(gx, [1, 1]);
    expect(gu).toBeNull();
    const [, zerosGrad] = autograd.grad(x.sum(), [x, unused], {
      allowUnused: true,
      materializeGrads: true,
    });
    expectClose(zerosGrad, [0]);
  });

  it('throws for an input that does not require grad', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    expect(() => autograd.grad(x.sum(), [tensor([1])])).toThrow(
      /grad: input 0 does not require grad/,
    );
  });

  it('createGraph allows third derivatives', () => {
    const x = tensor(2, { dtype: 'float64', requiresGrad: true });
    const [d1] = autograd.grad(x.pow(4), [x], { createGraph: true });
    const [d2] = autograd.grad(d1!, [x], { createGraph: true });
    const [d3] = autograd.grad(d2!, [x]);
    expect(d1!.itemSync()).toBeCloseTo(32); // 4x³
    expect(d2!.itemSync()).toBeCloseTo(48); // 12x²
    expect(d3!.itemSync()).toBeCloseTo(48); // 24x
  });

  it('frees the graph unless retainGraph', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.exp().sum();
    autograd.grad(y, [x], { retainGraph: true });
    autograd.grad(y, [x]);
    expect(() => autograd.grad(y, [x])).toThrow(/second time/);
  });
});

describe('grad mode', () => {
  it('noGrad stops recording and nests with enableGrad', () => {
    const x = tensor([1], { requiresGrad: true });
    expect(isGradEnabled()).toBe(true);
    noGrad(() => {
      expect(isGradEnabled()).toBe(false);
      const y = x.mul(2);
      expect(y.requiresGrad).toBe(false);
      expect(y.gradFn).toBeNull();
      enableGrad(() => {
        expect(isGradEnabled()).toBe(true);
        expect(x.mul(2).requiresGrad).toBe(true);
        noGrad(() => expect(isGradEnabled()).toBe(false));
        expect(isGradEnabled()).toBe(true);
      });
      expect(isGradEnabled()).toBe(false);
    });
    expect(isGradEnabled()).toBe(true);
  });

  it('restores the previous mode when the function throws', () => {
    expect(() =>
      noGrad(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(isGradEnabled()).toBe(true);
    noGrad(() => {
      expect(() =>
        enableGrad(() => {
          throw new Error('inner');
        }),
      ).toThrow('inner');
      expect(isGradEnabled()).toBe(false);
    });
    expect(isGradEnabled()).toBe(true);
  });

  it('returns the value of the function', () => {
    expect(noGrad(() => 42)).toBe(42);
    expect(enableGrad(() => 'x')).toBe('x');
  });

  it('setGradEnabled switches the mode globally', () => {
    setGradEnabled(false);
    try {
      expect(tensor([1], { requiresGrad: true }).mul(2).requiresGrad).toBe(false);
    } finally {
      setGradEnabled(true);
    }
    expect(tensor([1], { requiresGrad: true }).mul(2).requiresGrad).toBe(true);
  });

  it('backward restores grad mode even when a backward function throws', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.exp().sum();
    y.backward();
    expect(() => y.backward()).toThrow();
    expect(isGradEnabled()).toBe(true);
  });
});

describe('detach and leaves', () => {
  it('detach shares storage and cuts the graph', () => {
    const x = tensor([1, 2, 3], { requiresGrad: true });
    const y = x.mul(2);
    const d = y.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.gradFn).toBeNull();
    expect(d.isLeaf).toBe(true);
    expect(d.storage).toBe(y.storage);
    noGrad(() => y.add_(1));
    expectClose(d, [3, 5, 7]);
    // Using the detached tensor contributes no gradient.
    y.mul(d).sum().backward();
    expectClose(x.grad, [6, 10, 14]);
  });

  it('isLeaf, requiresGrad and gradFn names', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const c = tensor([1, 2]);
    expect(x.isLeaf).toBe(true);
    expect(c.isLeaf).toBe(true);
    expect(x.gradFn).toBeNull();
    const y = x.mul(c);
    expect(y.isLeaf).toBe(false);
    expect(y.requiresGrad).toBe(true);
    expect(y.gradFn!.name).toBe('MulBackward');
    expect(x.add(1).gradFn!.name).toBe('AddBackward');
    expect(x.sum().gradFn!.name).toBe('SumBackward');
    expect(x.exp().gradFn!.name).toBe('ExpBackward');
    expect(x.matmul(x).gradFn!.name).toMatch(/Backward$/);
    // ops on tensors that do not require grad produce leaves
    const z = c.mul(2);
    expect(z.isLeaf).toBe(true);
    expect(z.requiresGrad).toBe(false);
  });

  it('requiresGrad_ errors on non-leaf and integer tensors', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.mul(2);
    expect(() => y.requiresGrad_(false)).toThrow(/requiresGrad_.*leaf/);
    expect(() => {
      y.requiresGrad = false;
    }).toThrow(/leaf/);
    expect(() => tensor([1, 2], { dtype: 'int32' }).requiresGrad_()).toThrow(
      /requiresGrad_.*floating point.*int32/,
    );
    expect(() => tensor([true]).requiresGrad_()).toThrow(/bool/);
    expect(() => tensor([1, 2], { dtype: 'int32', requiresGrad: true })).toThrow(/int32/);
    const w = zeros([2]).requiresGrad_();
    expect(w.requiresGrad).toBe(true);
    w.requiresGrad_(false);
    expect(w.requiresGrad).toBe(false);
  });

  it('retainGrad fills .grad of a non-leaf', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const h = x.mul(3);
    const h2 = x.mul(4);
    h.retainGrad();
    expect(h.retainsGrad).toBe(true);
    h.square().sum().backward();
    expectClose(h.grad, [6, 12]);
    expect(h2.grad).toBeNull();
    expectClose(x.grad, [18, 36]);
    expect(() => tensor([1]).retainGrad()).toThrow(/retainGrad/);
  });
});

describe('hooks', () => {
  it('a hook on a leaf can replace the gradient', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const seen: number[][] = [];
    x.registerHook((g) => {
      seen.push(values(g));
      return g.mul(10);
    });
    x.mul(x).sum().backward();
    expect(seen).toEqual([[2, 4]]);
    expectClose(x.grad, [20, 40]);
  });

  it('a hook on a non-leaf changes what flows further back', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const h = x.mul(2);
    h.registerHook((g) => g.mul(-1));
    h.sum().backward();
    expectClose(x.grad, [-2, -2]);
  });

  it('is called once with the summed gradient of all uses', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const calls: number[][] = [];
    x.registerHook((g) => {
      calls.push(values(g));
    });
    x.add(x.mul(2)).add(x.square()).sum().backward();
    expect(calls.length).toBe(1);
    expect(calls[0]).toEqual([1 + 2 + 2, 1 + 2 + 4]);
  });

  it('remove() unregisters the hook', () => {
    const x = tensor([1], { requiresGrad: true });
    let calls = 0;
    const handle = x.registerHook((g) => {
      calls++;
      return g.mul(2);
    });
    x.sum().backward();
    expect(calls).toBe(1);
    expectClose(x.grad, [2]);
    handle.remove();
    handle.remove(); // idempotent
    x.grad = null;
    x.sum().backward();
    expect(calls).toBe(1);
    expectClose(x.grad, [1]);
  });

  it('several hooks run in registration order, each seeing the previous result', () => {
    const x = tensor([1], { requiresGrad: true });
    const order: string[] = [];
    x.registerHook((g) => {
      order.push('a');
      return g.add(1);
    });
    x.registerHook((g) => {
      order.push('b');
      return g.mul(3);
    });
    x.sum().backward();
    expect(order).toEqual(['a', 'b']);
    expectClose(x.grad, [6]);
  });

  it('retained gradients see the hooked gradient', () => {
    const x = tensor([1], { requiresGrad: true });
    const h = x.mul(2);
    h.retainGrad();
    h.registerHook((g) => g.mul(5));
    h.sum().backward();
    expectClose(h.grad, [5]);
    expectClose(x.grad, [10]);
  });

  it('registerHook throws on a tensor that does not require grad', () => {
    expect(() => tensor([1]).registerHook((g) => g)).toThrow(/registerHook.*does not require grad/);
  });
});

describe('deep graphs', () => {
  it('backward through a chain of 10,000 ops does not overflow the stack', () => {
    const x = tensor([1], { requiresGrad: true, dtype: 'float64' });
    let y: Tensor = x;
    for (let i = 0; i < 10_000; i++) y = y.mul(1.0001);
    y.sum().backward();
    expectClose(x.grad, [Math.pow(1.0001, 10_000)], 4);
  });

  it('a long chain of mixed ops gives the right gradient', () => {
    const x = tensor([0.3], { requiresGrad: true, dtype: 'float64' });
    let y: Tensor = x;
    for (let i = 0; i < 5_000; i++) y = y.add(0.001).sub(0.001).tanh().atan2(1).mul(1);
    y.sum().backward();
    // reference: same chain differentiated by hand in float64
    let v = 0.3;
    let d = 1;
    for (let i = 0; i < 5_000; i++) {
      const t = Math.tanh(v + 0.001 - 0.001);
      d *= (1 - t * t) * (1 / (1 + t * t));
      v = Math.atan2(t, 1);
    }
    expect(x.grad!.itemSync()).toBeCloseTo(d, 8);
  });
});

describe('gradient dtype and shape', () => {
  it('the gradient has the dtype and shape of the tensor', () => {
    manualSeed(1);
    for (const dtype of ['float32', 'float64'] as const) {
      const w = randn([3, 4], { dtype, requiresGrad: true });
      const b = randn([4], { dtype, requiresGrad: true });
      const s = randn([], { dtype, requiresGrad: true });
      w.add(b).mul(s).sum().backward();
      for (const t of [w, b, s]) {
        expect(t.grad!.dtype).toBe(dtype);
        expect(t.grad!.shape).toEqual(t.shape);
      }
    }
  });

  it('mixed precision: a float32 leaf used with float64 gets a float32 gradient', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = tensor([3, 4], { dtype: 'float64', requiresGrad: true });
    const h = x.mul(2);
    h.retainGrad();
    const out = h.mul(y);
    expect(out.dtype).toBe('float64');
    out.sum().backward();
    expect(x.grad!.dtype).toBe('float32');
    expect(h.grad!.dtype).toBe('float32');
    expect(y.grad!.dtype).toBe('float64');
    expectClose(x.grad, [6, 8]);
    const [gx] = autograd.grad(x.double().mul(y).sum(), [x]);
    expect(gx!.dtype).toBe('float32');
  });

  it('a broadcast operand gets a gradient of its own shape', () => {
    const a = ones([2, 3], { requiresGrad: true });
    const b = ones([1, 3], { requiresGrad: true });
    const c = ones([], { requiresGrad: true });
    a.mul(b).mul(c).sum().backward();
    expect(b.grad!.shape).toEqual([1, 3]);
    expectClose(b.grad, [2, 2, 2]);
    expect(c.grad!.shape).toEqual([]);
    expectClose(c.grad, [6]);
  });
});
