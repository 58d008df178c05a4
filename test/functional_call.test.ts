/**
 * func.functionalCall (torch.func.functional_call): a module run with other tensors in place of
 * its parameters and buffers, so that grad, vmap, jacrev and hessian apply to real models.
 */
import { describe, expect, it } from 'vitest';
import { F, func, manualSeed, nn, randn, tensor, type Tensor } from '../src/index.js';
import { expectAllClose } from './helpers/close.js';

const f64 = { dtype: 'float64' } as const;

function detachedParams(model: nn.Module): Record<string, Tensor> {
  return Object.fromEntries(model.namedParameters().map(([k, p]) => [k, p.detach()]));
}

describe('func.functionalCall', () => {
  it('runs the module with the given tensors and puts its own back', () => {
    const model = new nn.Linear(3, 2).double();
    const own = model.parameters();
    const weight = randn([2, 3], f64);
    const bias = randn([2], f64);
    const x = randn([4, 3], f64);
    const out = func.functionalCall(model, { weight, bias }, x) as Tensor;
    expectAllClose(out, x.matmul(weight.t()).add(bias), { rtol: 1e-12 });
    // Partial replacement: the bias not given stays the module's own.
    const partial = func.functionalCall(model, new Map([['weight', weight]]), [x]) as Tensor;
    expectAllClose(partial, x.matmul(weight.t()).add(model.bias!), { rtol: 1e-12 });
    expect(model.parameters()).toEqual(own);
    expect(model.parameters().every((p, i) => p === own[i])).toBe(true);
  });

  it('vmap of grad over it gives the per-sample gradients of an nn.Sequential', () => {
    manualSeed(3);
    const model = new nn.Sequential(
      new nn.Linear(3, 5),
      new nn.Tanh(),
      new nn.Linear(5, 4),
    ).double();
    const xs = randn([6, 3], f64);
    const ys = tensor([0, 3, 1, 1, 2, 0], { dtype: 'int32' });
    const params = detachedParams(model);
    const loss = (p: Record<string, Tensor>, x: Tensor, y: Tensor) =>
      F.crossEntropy(func.functionalCall(model, p, x.unsqueeze(0)) as Tensor, y.unsqueeze(0));
    const perSample = func.vmap(func.grad(loss), { inDims: [null, 0, 0] })(
      params,
      xs,
      ys,
    ) as Record<string, Tensor>;
    expect(Object.keys(perSample)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    for (let i = 0; i < 6; i++) {
      model.zeroGrad();
      F.crossEntropy(model.call(xs.narrow(0, i, 1)), ys.narrow(0, i, 1)).backward();
      for (const [name, p] of model.namedParameters())
        expectAllClose(perSample[name].select(0, i), p.grad!, {
          rtol: 1e-12,
          atol: 1e-14,
          message: `${name}, sample ${i}`,
        });
    }
    // The module's own parameters got no gradient from the transforms.
    model.zeroGrad();
    func.grad(loss)(params, xs.select(0, 0), ys.select(0, 0));
    expect(model.parameters().every((p) => p.grad === null)).toBe(true);
  });

  it('jacrev and hessian apply through it', () => {
    const model = new nn.Linear(3, 2).double();
    const x = randn([3], f64);
    const target = randn([2], f64);
    const withWeight = (w: Tensor) => func.functionalCall(model, { weight: w }, x) as Tensor;
    // d(Wx + b)/dW[k, l] = δ(i, k)·x[l]: shape [2, 2, 3].
    const jacobian = func.jacrev(withWeight)(model.weight.detach()) as Tensor;
    const xs = Array.from(x.dataSync());
    const expectedJ = [0, 1].flatMap((i) =>
      [0, 1].flatMap((k) => xs.map((v) => (i === k ? v : 0))),
    );
    expect(jacobian.shape).toEqual([2, 2, 3]);
    expectAllClose(jacobian, expectedJ, { rtol: 1e-12 });
    // Σ (Wx + b − t)²: the Hessian in W is 2·δ(i, k)·x[j]·x[l], shape [2, 3, 2, 3].
    const loss = (w: Tensor) => withWeight(w).sub(target).square().sum();
    const h = func.hessian(loss)(model.weight.detach());
    const expectedH: number[] = [];
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 3; j++)
        for (let k = 0; k < 2; k++)
          for (let l = 0; l < 3; l++) expectedH.push(i === k ? 2 * xs[j] * xs[l] : 0);
    expectAllClose(h, expectedH, { rtol: 1e-12, atol: 1e-14 });
  });

  it('replaces buffers, and tied weights under every name', () => {
    const bn = new nn.BatchNorm1d(2).double();
    bn.eval();
    const mean = tensor([1, -1], f64);
    const out = func.functionalCall(bn, { running_mean: mean }, tensor([[1, -1]], f64)) as Tensor;
    expectAllClose(out, [0, 0], { atol: 1e-12 });
    // Tied: the same Linear twice in a Sequential; its weight given under one name serves both.
    const shared = new nn.Linear(2, 2, { bias: false }).double();
    const tied = new nn.Sequential(shared, shared);
    const eye = tensor(
      [
        [1, 0],
        [0, 1],
      ],
      f64,
    );
    const x = randn([1, 2], f64);
    expectAllClose(func.functionalCall(tied, { '0.weight': eye }, x) as Tensor, x, { rtol: 1e-15 });
    expect(() => func.functionalCall(tied, { '0.weight': eye, '1.weight': eye.mul(2) }, x)).toThrow(
      "functionalCall: '0.weight' and '1.weight' are the same (tied) tensor of the module but were given different tensors",
    );
  });

  it('names unknown and missing names', () => {
    const model = new nn.Sequential(new nn.Linear(2, 2), new nn.ReLU());
    const x = randn([1, 2]);
    expect(() => func.functionalCall(model, { '1.weight': randn([2, 2]) }, x)).toThrow(
      "functionalCall: Sequential has no parameter or buffer named '1.weight'; its names are '0.weight', '0.bias'",
    );
    expect(() =>
      func.functionalCall(model, { '0.weight': randn([2, 2]) }, x, { strict: true }),
    ).toThrow(
      "functionalCall: with strict, every parameter and buffer must be given; missing '0.bias'",
    );
    expect(() => func.functionalCall(model, { '0.weight': [1, 2] as never }, x)).toThrow(
      "functionalCall: '0.weight' in paramsAndBuffers must be a Tensor, got object",
    );
    expect(() => func.functionalCall({} as never, {}, x)).toThrow(
      /expected module to be an nn.Module/,
    );
  });
});
