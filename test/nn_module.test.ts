/**
 * Module mechanics: discovery of parameters, buffers and submodules from fields, PyTorch's key
 * names (checked against PyTorch's own lists for an equivalent model), stateDict / loadStateDict,
 * train / eval, hooks, zeroGrad, apply, dtype conversion and printing.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { F, nn, ones, randn, tensor, zeros, type Tensor } from '../src/index.js';

const model = (
  JSON.parse(readFileSync(new URL('./fixtures/nn.json', import.meta.url), 'utf8')) as {
    model: {
      stateDictKeys: string[];
      stateDictShapes: number[][];
      parameterNames: string[];
      bufferNames: string[];
      moduleNames: string[];
      childNames: string[];
      repr: string;
      mlpRepr: string;
    };
  }
).model;

/** The fixture's Net with an array field for `layers`. */
class Net extends nn.Module {
  conv1 = new nn.Conv2d(1, 4, 3);
  bn = new nn.BatchNorm2d(4);
  layers = [new nn.Linear(8, 8), new nn.Linear(8, 4)];
  head = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.Linear(3, 2));
  emb = new nn.Embedding(5, 8, { paddingIdx: 0 });
  outProj = new nn.Linear(2, 2, { bias: false });
  ln = new nn.LayerNorm(8);
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** Net in PyTorch's field order, with a ModuleList. */
class NetListed extends nn.Module {
  conv1 = new nn.Conv2d(1, 4, 3);
  bn = new nn.BatchNorm2d(4);
  layers = new nn.ModuleList([new nn.Linear(8, 8), new nn.Linear(8, 4)]);
  head = new nn.Sequential(new nn.Linear(4, 3), new nn.ReLU(), new nn.Linear(3, 2));
  emb = new nn.Embedding(5, 8, { paddingIdx: 0 });
  outProj = new nn.Linear(2, 2, { bias: false });
  ln = new nn.LayerNorm(8);
  forward(x: Tensor): Tensor {
    return x;
  }
}

const values = (t: Tensor) => Array.from(t.dataSync());

describe('discovery and PyTorch key names', () => {
  it('stateDict keys and shapes equal PyTorch for the equivalent model', () => {
    for (const net of [new Net(), new NetListed()]) {
      const state = net.stateDict();
      expect(Object.keys(state)).toEqual(model.stateDictKeys);
      expect(Object.values(state).map((t) => t.shape)).toEqual(model.stateDictShapes);
      expect(net.namedParameters().map(([n]) => n)).toEqual(model.parameterNames);
      expect(net.namedBuffers().map(([n]) => n)).toEqual(model.bufferNames);
      expect(net.toString().replace(/^NetListed/, 'Net')).toBe(model.repr);
    }
  });

  it('named modules and children match PyTorch with a ModuleList; an array field names its items the same way', () => {
    const listed = new NetListed();
    expect(listed.namedModules().map(([n]) => n)).toEqual(model.moduleNames);
    expect(listed.namedChildren().map(([n]) => n)).toEqual(model.childNames);
    const net = new Net();
    expect(net.namedModules().map(([n]) => n)).toEqual(
      model.moduleNames.filter((n) => n !== 'layers'),
    );
    expect(net.children()).toContain(net.layers[1]);
    expect(net.modules()[0]).toBe(net);
  });

  it('ignores plain tensors, numbers and unregistered fields; parameters() is the namedParameters values', () => {
    class M extends nn.Module {
      scale = 3;
      cache: Tensor = zeros([2]);
      w = new nn.Parameter(ones([2]));
      forward(x: Tensor) {
        return x.mul(this.w).mul(this.scale);
      }
    }
    const m = new M();
    expect(m.namedParameters().map(([n]) => n)).toEqual(['w']);
    expect(m.parameters()[0]).toBe(m.w);
    expect(m.buffers()).toEqual([]);
    expect(Object.keys(m.stateDict())).toEqual(['w']);
  });

  it('a shared parameter is listed once but appears under each key in stateDict', () => {
    class Tied extends nn.Module {
      emb = new nn.Embedding(6, 4);
      out = new nn.Linear(4, 6, { bias: false });
      constructor() {
        super();
        this.out.weight = this.emb.weight;
      }
      forward(x: Tensor) {
        return this.out.call(this.emb.call(x));
      }
    }
    const m = new Tied();
    expect(m.parameters().length).toBe(1);
    expect(Object.keys(m.stateDict())).toEqual(['emb.weight', 'out.weight']);
  });

  it('non-persistent buffers are buffers but stay out of stateDict', () => {
    class M extends nn.Module {
      constructor() {
        super();
        this.registerBuffer('positionIds', zeros([4]), false);
        this.registerBuffer('scaleFactor', ones([1]));
      }
      forward(x: Tensor) {
        return x;
      }
    }
    const m = new M();
    expect(m.namedBuffers().map(([n]) => n)).toEqual(['position_ids', 'scale_factor']);
    expect(Object.keys(m.stateDict())).toEqual(['scale_factor']);
    expect(() => m.registerBuffer('a.b', zeros([1]))).toThrow(/without '\.'/);
  });

  it('containers name their members by position or key', () => {
    const seq = new nn.Sequential({
      conv: new nn.Conv2d(1, 2, 3),
      act: new nn.ReLU(),
      fc: new nn.Flatten(),
    });
    expect(Object.keys(seq.stateDict())).toEqual(['conv.weight', 'conv.bias']);
    expect(seq.toString()).toBe(
      'Sequential(\n  (conv): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1))\n  (act): ReLU()\n  (fc): Flatten(start_dim=1, end_dim=-1)\n)',
    );
    const dict = new nn.ModuleDict({ cls: new nn.Linear(3, 2), box: new nn.Linear(3, 4) });
    expect(Object.keys(dict.stateDict())).toEqual([
      'cls.weight',
      'cls.bias',
      'box.weight',
      'box.bias',
    ]);
    expect(dict.get('box')).toBeInstanceOf(nn.Linear);
    expect(() => dict.get('nope')).toThrow(/no module named 'nope'/);
    const list = new nn.ModuleList([new nn.ReLU()])
      .append(new nn.Linear(2, 2))
      .insert(0, new nn.Linear(1, 1));
    expect(Object.keys(list.stateDict())).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    expect(list.at(-1)).toBeInstanceOf(nn.Linear);
    expect(() => list.call()).toThrow(/ModuleList has no forward/);
    expect(() => new nn.Sequential(3 as unknown as nn.Module)).toThrow(
      /argument 0 is not a Module/,
    );
  });

  it('prints a model like PyTorch', () => {
    const mlp = new nn.Sequential(
      new nn.Linear(784, 128),
      new nn.ReLU(),
      new nn.Dropout(0.2),
      new nn.Linear(128, 10),
    );
    expect(mlp.toString()).toBe(model.mlpRepr);
    expect(String(new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU()))).toBe(
      'Sequential(\n  (0): Linear(in_features=784, out_features=128, bias=True)\n  (1): ReLU()\n)',
    );
  });

  it('getSubmodule finds modules by dotted path', () => {
    const net = new NetListed();
    expect(net.getSubmodule('head.2')).toBe(net.head.at(2));
    expect(net.getSubmodule('')).toBe(net);
    expect(() => net.getSubmodule('head.9')).toThrow(/no submodule 'head.9'/);
  });
});

describe('stateDict and loadStateDict', () => {
  it('stateDict shares storage and is detached', () => {
    const fc = new nn.Linear(3, 2);
    const w = fc.stateDict().weight;
    expect(w.storage).toBe(fc.weight.storage);
    expect(w.requiresGrad).toBe(false);
  });

  it('copies every value in place (parameters keep their identity) and round-trips between models', () => {
    const a = new Net();
    const b = new Net();
    const weight = b.layers[0].weight;
    a.bn.train().call(randn([4, 4, 2, 2]));
    b.loadStateDict(a.stateDict());
    expect(b.layers[0].weight).toBe(weight);
    const sa = a.stateDict();
    for (const [k, v] of Object.entries(b.stateDict())) expect(values(v), k).toEqual(values(sa[k]));
    expect(b.bn.numBatchesTracked!.itemSync()).toBe(1);
  });

  it('loads the ModuleList variant from the array variant (identical keys)', () => {
    const listed = new NetListed();
    listed.loadStateDict(new Net().stateDict());
    expect(Object.keys(listed.stateDict())).toEqual(model.stateDictKeys);
  });

  it('lists missing and unexpected keys and size mismatches, and copies nothing then', () => {
    const fc = new nn.Sequential(new nn.Linear(3, 2));
    const before = values(fc.at(0).stateDict().bias);
    const bad = { '0.weight': zeros([3, 2]), extra: zeros([1]), '0.bias_': zeros([2]) };
    let message = '';
    try {
      fc.loadStateDict(bad);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe(
      'Error(s) in loading state_dict for Sequential:\n' +
        '\tMissing key(s) in state_dict: "0.bias".\n' +
        '\tUnexpected key(s) in state_dict: "extra", "0.bias_".\n' +
        '\tsize mismatch for 0.weight: copying a param with shape [3, 2] from checkpoint, the shape in current model is [2, 3].',
    );
    expect(values(fc.at(0).stateDict().bias)).toEqual(before);
  });

  it('strict: false tolerates missing and unexpected keys but not shape mismatches', () => {
    const fc = new nn.Linear(3, 2);
    const result = fc.loadStateDict({ weight: ones([2, 3]), other: zeros([1]) }, { strict: false });
    expect(result).toEqual({ missingKeys: ['bias'], unexpectedKeys: ['other'] });
    expect(values(fc.weight)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(() => fc.loadStateDict({ bias: zeros([3]) }, { strict: false })).toThrow(
      /size mismatch for bias: .*\[3\].*\[2\]/,
    );
  });

  it('accepts a Map', () => {
    const fc = new nn.Linear(2, 1);
    fc.loadStateDict(
      new Map([
        ['weight', tensor([[2, 3]])],
        ['bias', tensor([4])],
      ]),
    );
    expect(values(fc.call(tensor([[1, 1]])))).toEqual([9]);
  });
});

describe('modes, gradients and conversion', () => {
  it('train / eval reach every submodule, and change what Dropout and BatchNorm do', () => {
    const net = new Net();
    const seq = new nn.Sequential(new nn.Linear(4, 4), new nn.Dropout(0.9), new nn.BatchNorm1d(4));
    expect(net.eval()).toBe(net);
    expect(net.modules().every((m) => !m.training)).toBe(true);
    net.train();
    expect(net.modules().every((m) => m.training)).toBe(true);
    seq.eval();
    const x = randn([8, 4]);
    expect(values(seq.call(x))).toEqual(values(seq.call(x)));
    seq.train();
    expect(values(seq.call(x))).not.toEqual(values(seq.call(x)));
  });

  it('zeroGrad sets gradients to null, or to zeros with setToNone: false', () => {
    const fc = new nn.Linear(3, 2);
    fc.call(randn([4, 3]))
      .sum()
      .backward();
    expect(fc.weight.grad).not.toBeNull();
    fc.zeroGrad({ setToNone: false });
    expect(values(fc.weight.grad!)).toEqual([0, 0, 0, 0, 0, 0]);
    fc.zeroGrad();
    expect(fc.weight.grad).toBeNull();
    expect(fc.bias!.grad).toBeNull();
  });

  it('gradients accumulate over backward calls until zeroGrad', () => {
    const fc = new nn.Linear(2, 1, { bias: false });
    const x = tensor([[1, 2]]);
    fc.call(x).sum().backward();
    fc.call(x).sum().backward();
    expect(values(fc.weight.grad!)).toEqual([2, 4]);
  });

  it('apply visits children before the parent', () => {
    const seq = new nn.Sequential(new nn.Linear(2, 2), new nn.Sequential(new nn.ReLU()));
    const order: string[] = [];
    seq.apply((m) => order.push(m.constructor.name));
    expect(order).toEqual(['Linear', 'ReLU', 'Sequential', 'Sequential']);
    seq.apply((m) => {
      if (m instanceof nn.Linear) nn.init.zeros_(m.weight);
    });
    expect(values((seq.at(0) as nn.Linear).weight)).toEqual([0, 0, 0, 0]);
  });

  it('double() converts parameters and floating buffers, keeping them Parameters; int buffers stay int', () => {
    const net = new Net().double();
    for (const p of net.parameters()) {
      expect(p).toBeInstanceOf(nn.Parameter);
      expect(p.dtype).toBe('float64');
      expect(p.requiresGrad).toBe(true);
    }
    expect(net.bn.runningMean!.dtype).toBe('float64');
    expect(net.bn.numBatchesTracked!.dtype).toBe('int32');
    expect(net.float().ln.weight!.dtype).toBe('float32');
  });

  it('requiresGrad_(false) freezes every parameter', () => {
    const net = new Net().requiresGrad_(false);
    expect(net.parameters().every((p) => !p.requiresGrad)).toBe(true);
  });
});

describe('Parameter', () => {
  it('shares storage with its data, is a leaf tensor and requires grad by default', () => {
    const data = randn([2, 3]);
    const p = new nn.Parameter(data);
    expect(p.storage).toBe(data.storage);
    expect(p.isLeaf).toBe(true);
    expect(p.requiresGrad).toBe(true);
    expect(new nn.Parameter(data, false).requiresGrad).toBe(false);
    expect(p.toString().startsWith('Parameter containing:\ntensor(')).toBe(true);
    expect(() => new nn.Parameter(3 as unknown as Tensor)).toThrow(/expected a Tensor/);
  });
});

describe('hooks', () => {
  it('forward pre-hooks can replace the arguments and forward hooks the output; remove() unregisters', () => {
    const fc = new nn.Linear(2, 2);
    const x = randn([1, 2]);
    const base = values(fc.call(x));
    const calls: string[] = [];
    const pre = fc.registerForwardPreHook((m, args) => {
      calls.push(`pre ${m.constructor.name}`);
      return [(args[0] as Tensor).mul(0)];
    });
    const post = fc.registerForwardHook((_m, args, out) => {
      calls.push(`post ${values(args[0] as Tensor).join(',')}`);
      return (out as Tensor).add(1);
    });
    const bias = values(fc.bias!);
    values(fc.call(x)).forEach((v, i) => expect(v).toBeCloseTo(bias[i] + 1, 6));
    expect(calls).toEqual(['pre Linear', 'post 0,0']);
    pre.remove();
    post.remove();
    expect(values(fc.call(x))).toEqual(base);
    expect(calls.length).toBe(2);
  });

  it('hooks of submodules run when the parent calls them', () => {
    const seq = new nn.Sequential(new nn.Linear(3, 3), new nn.ReLU());
    const seen: number[][] = [];
    seq
      .at(1)
      .registerForwardHook((_m, _args, out) => void seen.push((out as Tensor).shape as number[]));
    seq.call(randn([5, 3]));
    expect(seen).toEqual([[5, 3]]);
  });

  it('full backward hooks receive gradInput and gradOutput, and can replace gradInput', () => {
    const fc = new nn.Linear(3, 2, { bias: false });
    const x = randn([4, 3], { requiresGrad: true });
    const cot = randn([4, 2]);
    let gradIn: (Tensor | null)[] = [];
    let gradOut: (Tensor | null)[] = [];
    const h = fc.registerFullBackwardHook((m, gi, go) => {
      expect(m).toBe(fc);
      gradIn = gi;
      gradOut = go;
    });
    fc.call(x).mul(cot).sum().backward();
    expect(gradOut.length).toBe(1);
    expect(values(gradOut[0]!)).toEqual(values(cot));
    const expected = values(cot.matmul(fc.weight.detach()));
    values(gradIn[0]!).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    values(x.grad!).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    h.remove();

    const doubler = fc.registerFullBackwardHook((_m, gi) => [gi[0]!.mul(2)]);
    x.grad = null;
    fc.call(x).mul(cot).sum().backward();
    values(x.grad!).forEach((v, i) => expect(v).toBeCloseTo(2 * expected[i], 5));
    doubler.remove();
    x.grad = null;
    fc.call(x).mul(cot).sum().backward();
    values(x.grad!).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
  });

  it('full backward hooks see every tensor argument, with null for those that need no gradient', () => {
    const bl = new nn.Bilinear(2, 3, 2);
    const x1 = randn([4, 2], { requiresGrad: true });
    const x2 = randn([4, 3]);
    const seen: (number[] | null)[][] = [];
    bl.registerFullBackwardHook(
      (_m, gi) => void seen.push(gi.map((g) => (g ? [...g.shape] : null))),
    );
    bl.call(x1, x2).sum().backward();
    expect(seen).toEqual([[[4, 2], null]]);
    x2.requiresGrad_(true);
    bl.call(x1, x2).sum().backward();
    expect(seen[1]).toEqual([
      [4, 2],
      [4, 3],
    ]);
    expect(x2.grad!.shape).toEqual([4, 3]);
  });

  it('a first layer (input without grad) still gets its backward hook, once, with gradInput [null]', () => {
    const fc = new nn.Linear(3, 2);
    let count = 0;
    fc.registerFullBackwardHook((_m, gi, go) => {
      count++;
      expect(gi).toEqual([null]);
      expect(go[0]!.shape).toEqual([5, 2]);
    });
    F.relu(fc.call(randn([5, 3])))
      .sum()
      .backward();
    expect(count).toBe(1);
    expect(fc.weight.grad!.shape).toEqual([2, 3]);
  });
});
