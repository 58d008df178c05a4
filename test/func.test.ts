import { describe, expect, it } from 'vitest';
import { func, tensor, randn, manualSeed, zeros, noGrad, Tensor } from '../src/index.js';
import { checkCase, loadFixtures, type FixtureCase } from './helpers/reference.js';

const f64 = (data: number[] | number[][] | number, shape?: number[]) =>
  tensor(data, { dtype: 'float64', ...(shape ? { shape } : {}) });

function expectClose(actual: Tensor, expected: Tensor | number[] | number, tol = 1e-9): void {
  const want = expected instanceof Tensor ? expected : f64(expected as number[]);
  expect(actual.shape).toEqual(want.shape);
  const a = actual.dataSync();
  const b = want.dataSync();
  for (let i = 0; i < b.length; i++)
    expect(Math.abs(a[i] - b[i]), `element ${i}: ${a[i]} vs ${b[i]}`).toBeLessThanOrEqual(
      tol * (1 + Math.abs(b[i])),
    );
}

describe('func.grad and valueAndGrad', () => {
  const cube = (x: Tensor) => x.pow(3).sum();

  it('gives the analytic gradient, shaped like the input', () => {
    const x = f64([
      [1, 2],
      [-1, 0.5],
    ]);
    const g = func.grad(cube)(x);
    expectClose(
      g,
      f64([
        [3, 12],
        [3, 0.75],
      ]),
    );
    expect(g.requiresGrad).toBe(false);
    expect(x.requiresGrad).toBe(false);
    expect(x.grad).toBeNull();
  });

  it('nests: grad(grad(f)) and grad(grad(grad(f))) of x^3 at 2 are 12 and 6', () => {
    const f = (x: Tensor) => x.pow(3);
    const x = f64(2);
    expect(func.grad(func.grad(f))(x).itemSync()).toBeCloseTo(12, 12);
    expect(
      func
        .grad(func.grad(func.grad(f)))(x)
        .itemSync(),
    ).toBeCloseTo(6, 12);
    // x · f'(x) = 3x³, whose derivative is 9x².
    const g = func.grad((x0: Tensor) => x0.mul(func.grad(f)(x0)))(x); // d/dx 3x³ = 9x² = 36
    expect(g.itemSync()).toBeCloseTo(36, 12);
  });

  it('sees an outer variable through a closure (no perturbation confusion)', () => {
    // d/dx [ x · d/dy (x + y) ] = d/dx [x · 1] = 1 (JAX's classic example).
    const g = func.grad((x: Tensor) => x.mul(func.grad((y: Tensor) => x.add(y))(f64(1))))(f64(3));
    expect(g.itemSync()).toBeCloseTo(1, 12);
    // d/dx [ d/dy (x·y²) at y = 2 ] = d/dx (4x) = 4.
    const h = func.grad((x: Tensor) => func.grad((y: Tensor) => x.mul(y.square()))(f64(2)))(f64(5));
    expect(h.itemSync()).toBeCloseTo(4, 12);
  });

  it('argnums as a number and as an array; unused arguments get zeros', () => {
    const f = (a: Tensor, b: Tensor, c: Tensor) => a.mul(b).sum().add(c.sum().mul(0).detach());
    const a = f64([1, 2]);
    const b = f64([3, 4]);
    const c = f64([5]);
    expectClose(func.grad(f, { argnums: 1 })(a, b, c), [1, 2]);
    const [ga, gb, gc] = func.grad(f, { argnums: [0, 1, 2] })(a, b, c);
    expectClose(ga, [3, 4]);
    expectClose(gb, [1, 2]);
    expectClose(gc, [0]);
  });

  it('hasAux returns [grads, aux]; valueAndGrad returns [value, grads] and [[value, aux], grads]', () => {
    const f = (x: Tensor) => [x.square().sum(), { mean: x.mean(), label: 'aux' }] as const;
    const x = f64([1, 2, 3]);
    const [g, aux] = func.grad(f, { hasAux: true })(x);
    expectClose(g, [2, 4, 6]);
    expect(aux.mean.itemSync()).toBeCloseTo(2, 12);
    expect(aux.label).toBe('aux');
    expect(aux.mean.requiresGrad).toBe(false);

    const [value, dx] = func.valueAndGrad(cube)(x);
    expect(value.itemSync()).toBeCloseTo(36, 12);
    expectClose(dx, [3, 12, 27]);
    const [[v2, aux2], [da, db]] = func.valueAndGrad(
      (a: Tensor, b: Tensor) => [a.mul(b).sum(), a.add(b)],
      { argnums: [0, 1], hasAux: true },
    )(x, f64([4, 5, 6]));
    expect(v2.itemSync()).toBeCloseTo(32, 12);
    expectClose(aux2, [5, 7, 9]);
    expectClose(da, [4, 5, 6]);
    expectClose(db, [1, 2, 3]);
  });

  it('differentiates trees of parameters and returns gradients of the same structure', () => {
    const params = {
      w: f64([
        [1, 2],
        [3, 4],
      ]),
      b: [f64([0.5, -0.5])],
    };
    const x = f64([1, -1]);
    const loss = (p: typeof params, input: Tensor) => p.w.matmul(input).add(p.b[0]).square().sum();
    const g = func.grad(loss)(params, x);
    // r = Wx + b = [-1+0.5, -1-0.5] = [-0.5, -1.5]; dL/dW = 2 r xᵀ, dL/db = 2r.
    expectClose(
      g.w,
      f64([
        [-1, 1],
        [-3, 3],
      ]),
    );
    expectClose(g.b[0], [-1, -3]);
  });

  it('stays differentiable for the user when it depends on a tensor that requires grad', () => {
    const w = f64([2, 3]).requiresGrad_();
    const x = f64([1, 4]);
    // g = ∂/∂x Σ (w x)² = 2 w² x; Σ g = 2 Σ w² x, so ∂/∂w = 4 w x.
    const g = func.grad((y: Tensor) => y.mul(w).square().sum())(x);
    expectClose(g.detach(), [8, 72]);
    expect(g.requiresGrad).toBe(true);
    g.sum().backward();
    expectClose(w.grad!, [8, 48]);
    // Differentiating with respect to a tensor that requires grad keeps its dependence too.
    const z = f64([1, 2]).requiresGrad_();
    func
      .grad((y: Tensor) => y.pow(3).sum())(z)
      .sum()
      .backward();
    expectClose(z.grad!, [6, 12]); // d/dz Σ 3z² = 6z
  });

  it('works inside noGrad, returning results without a graph', () => {
    const g = noGrad(() => func.grad(cube)(f64([2])));
    expectClose(g, [12]);
    expect(g.requiresGrad).toBe(false);
  });

  it('rejects bad input with clear errors', () => {
    expect(() => func.grad((x: Tensor) => x.mul(2))(f64([1, 2, 3]))).toThrow(
      'func.grad: f must return a scalar tensor, got shape [3]',
    );
    expect(() => func.grad((x: Tensor) => x.sum().reshape(1))(f64([1]))).toThrow('got shape [1]');
    expect(() => func.grad(() => 3)(f64([1]))).toThrow(
      'func.grad: f must return a scalar tensor, got number',
    );
    expect(() => func.grad(cube, { argnums: 2 })(f64([1]))).toThrow(
      'func.grad: argnums 2 is out of range: f was called with 1 argument',
    );
    expect(() => func.grad(cube, { argnums: [0, 0] })(f64([1]))).toThrow('repeated');
    expect(() => func.grad(cube)(tensor([1, 2], { dtype: 'int32' }))).toThrow(
      'func.grad: argument 0 must be a floating-point tensor to be differentiated, got dtype int32',
    );
    expect(() => func.grad(cube)({ w: f64([1]), n: 3 })).toThrow(
      'func.grad: argument 0 must be a tensor or an array / plain object of tensors, but it has a number at n',
    );
    expect(() => func.grad(cube, { hasAux: true })(f64([1]))).toThrow(
      'func.grad: with hasAux, f must return a pair [output, aux]',
    );
    expect(() => func.valueAndGrad((x: Tensor) => x)(f64([1, 2]))).toThrow(
      'func.valueAndGrad: f must return a scalar tensor, got shape [2]',
    );
    expect(() => func.grad(42 as never)).toThrow(
      'func.grad: expected f to be a function, got number',
    );
  });
});

describe('func.vjp and func.jvp', () => {
  it('vjp returns the output and a reusable pullback', () => {
    const x = f64([0, 1, 2]);
    const [y, vjpFn] = func.vjp((t: Tensor) => t.sin().mul(t), x);
    expectClose(y, [0, Math.sin(1), 2 * Math.sin(2)]);
    const v = f64([1, 2, 3]);
    const expected = [0, 1, 2].map((t, i) => (Math.sin(t) + t * Math.cos(t)) * [1, 2, 3][i]);
    expectClose(vjpFn(v)[0], expected);
    expectClose(vjpFn(v)[0], expected); // a second call works: the graph is kept
    expect(() => vjpFn(f64([1, 2]))).toThrow(
      'func.vjp: cotangent 0 has shape [2] but output 0 of f has shape [3]',
    );
  });

  it('vjp with several primals and array outputs', () => {
    const a = f64([1, 2]);
    const b = f64([3, 4]);
    const [[s, p], vjpFn] = func.vjp((x: Tensor, y: Tensor) => [x.add(y), x.mul(y).sum()], a, b);
    expectClose(s, [4, 6]);
    expect(p.itemSync()).toBeCloseTo(11, 12);
    const [ga, gb] = vjpFn([f64([1, 10]), f64(2)]);
    expectClose(ga, [1 + 2 * 3, 10 + 2 * 4]);
    expectClose(gb, [1 + 2 * 1, 10 + 2 * 2]);
  });

  it('jvp equals the Jacobian times the tangent', () => {
    manualSeed(1);
    const A = randn([4, 3], { dtype: 'float64' });
    const f = (x: Tensor) => A.matmul(x).tanh().mul(x.square().sum());
    const x = randn([3], { dtype: 'float64' });
    const v = randn([3], { dtype: 'float64' });
    const [y, jv] = func.jvp(f, [x], [v]);
    expectClose(y, f(x));
    expectClose(jv, func.jacrev(f)(x).matmul(v));
    expect(jv.requiresGrad).toBe(false);
  });

  it('jvp with several primals, a zero-derivative output, and tree tangents', () => {
    const f = (p: { a: Tensor; b: Tensor }, c: Tensor) => [p.a.mul(p.b), c.mul(0).add(1).detach()];
    const [[y, k], [ty, tk]] = func.jvp(
      f,
      [{ a: f64([1, 2]), b: f64([3, 4]) }, f64([7])],
      [{ a: f64([1, 0]), b: f64([0, 1]) }, f64([1])],
    );
    expectClose(y, [3, 8]);
    expectClose(k, [1]);
    expectClose(ty, [3, 2]); // b·da + a·db
    expectClose(tk, [0]);
  });

  it('jvp validates its tangents', () => {
    const f = (x: Tensor) => x.exp();
    expect(() => func.jvp(f, [f64([1, 2])], [f64([1, 2, 3])])).toThrow(
      'func.jvp: tangent 0 has shape [3] but its primal has shape [2]',
    );
    expect(() => func.jvp(f, [f64([1])], [])).toThrow('func.jvp: got 1 primals but 0 tangents');
    expect(() => func.jvp(f, f64([1]) as never, [f64([1])])).toThrow(
      'func.jvp: primals and tangents must be arrays',
    );
    expect(() => func.jvp((x: Tensor) => x.gt(0), [f64([1])], [f64([1])])).toThrow(
      'func.jvp: f must return floating-point tensors, got dtype bool at output 0',
    );
  });
});

describe('func.jacrev, jacfwd, hessian, hvp', () => {
  it('Jacobians have shape out.shape + in.shape and match analytic values', () => {
    const x = f64([1, 2]);
    const outer = (t: Tensor) => t.outer(t);
    // ∂(xᵢxⱼ)/∂xₖ = δᵢₖxⱼ + xᵢδⱼₖ
    const expected = f64([2, 0, 2, 1, 2, 1, 0, 4], [2, 2, 2]);
    for (const jac of [func.jacrev(outer)(x), func.jacfwd(outer)(x)]) {
      expect(jac.shape).toEqual([2, 2, 2]);
      expectClose(jac, expected);
    }
    const scalar = func.jacrev((t: Tensor) => t.square().sum())(x);
    expectClose(scalar, [2, 4]);
    const ofScalar = func.jacfwd((t: Tensor) => t.mul(f64([1, 2, 3])))(f64(2));
    expectClose(ofScalar, [1, 2, 3]);
  });

  it('argnums arrays give one Jacobian per argument', () => {
    const a = f64([
      [1, 2],
      [3, 4],
    ]);
    const b = f64([5, 6]);
    const f = (m: Tensor, v: Tensor) => m.matmul(v);
    for (const jac of [func.jacrev(f, { argnums: [0, 1] }), func.jacfwd(f, { argnums: [0, 1] })]) {
      const [ja, jb] = jac(a, b);
      expect(ja.shape).toEqual([2, 2, 2]);
      expectClose(ja, f64([5, 6, 0, 0, 0, 0, 5, 6], [2, 2, 2]));
      expectClose(jb, a);
    }
  });

  it('hessian == jacfwd(jacrev(f)) == jacrev(jacrev(f)) == jacfwd(jacfwd(f)), and hvp == H·v', () => {
    manualSeed(2);
    const B = randn([3, 3], { dtype: 'float64' });
    const f = (x: Tensor) => B.matmul(x).sigmoid().mul(x.sin()).sum().add(x.pow(4).sum().mul(0.1));
    const x = randn([3], { dtype: 'float64' });
    const v = randn([3], { dtype: 'float64' });
    const H = func.hessian(f)(x);
    expect(H.shape).toEqual([3, 3]);
    expectClose(func.jacfwd(func.jacrev(f))(x), H);
    expectClose(func.jacrev(func.jacrev(f))(x), H);
    expectClose(func.jacfwd(func.jacfwd(f))(x), H);
    expectClose(H, H.T); // symmetric
    const [value, [hv]] = func.hvp(f, [x], [v]);
    expectClose(value, f(x));
    expectClose(hv, H.matmul(v));
    // Analytic: the Hessian of 0.1·Σx⁴ is diag(1.2·x²).
    const xs = Array.from(x.dataSync());
    const diag = xs.map((xi, i) => xs.map((_, j) => (i === j ? 1.2 * xi * xi : 0)));
    expectClose(func.hessian((t: Tensor) => t.pow(4).sum().mul(0.1))(x), f64(diag));
  });

  it('hessian of a non-scalar function and bad arguments give clear errors', () => {
    expect(() => func.hessian((x: Tensor) => x.square())(f64([1, 2]))).toThrow(
      'func.hessian: f must return a scalar tensor, got shape [2]',
    );
    expect(() => func.jacrev((x: Tensor) => [x])(f64([1]))).toThrow(
      'func.jacrev: the output of f must be a Tensor, got an array',
    );
    expect(() => func.jacfwd((x: Tensor) => x)([f64([1])])).toThrow(
      'func.jacfwd: argument 0 must be a Tensor, got an array',
    );
    expect(() => func.hvp((x: Tensor) => x.sum(), [f64([1, 2])], [f64([1])])).toThrow(
      'func.hvp: tangent 0 has shape [1] but primal 0 has shape [2]',
    );
  });

  describe('against PyTorch (torch.autograd.functional, create_graph=True)', () => {
    // Each case's inputs: the primal (requires grad), then constants. checkCase also backpropagates
    // through the transform's result, so these check one more derivative order than they name.
    const fVec = (x: Tensor, a: Tensor) => a.matmul(x).tanh().mul(x.pow(2).sum());
    const fMat = (x: Tensor) => x.matmul(x.T).sigmoid();
    const hVec = (x: Tensor, a: Tensor) => a.matmul(x).logsumexp(0).add(x.pow(4).sum().mul(0.1));
    const hMat = (x: Tensor, b: Tensor) =>
      x.sigmoid().matmul(b).pow(2).sum().add(x.sin().mul(x).sum());
    const transforms: Record<string, (inputs: Tensor[]) => Tensor | Tensor[]> = {
      jacobian_vec: ([x, a]) => func.jacrev((y: Tensor) => fVec(y, a))(x),
      jacobian_mat: ([x]) => func.jacfwd(fMat)(x),
      hessian_vec: ([x, a]) => func.hessian((y: Tensor) => hVec(y, a))(x),
      hessian_mat: ([x, b]) => func.hessian((y: Tensor) => hMat(y, b))(x),
      hvp_vec: ([x, a, v]) => {
        const [value, [hv]] = func.hvp((y: Tensor) => hVec(y, a), [x], [v]);
        return [value, hv];
      },
      hvp_mat: ([x, b, v]) => {
        const [value, [hv]] = func.hvp((y: Tensor) => hMat(y, b), [x], [v]);
        return [value, hv];
      },
      jvp_vec: ([x, a, v]) => func.jvp((y: Tensor) => fVec(y, a), [x], [v]),
      vjp_vec: ([x, a, v]) => {
        const [out, vjpFn] = func.vjp((y: Tensor) => fVec(y, a), x);
        return [out, vjpFn(v)[0]];
      },
    };
    const cases: FixtureCase[] = loadFixtures('func.json');
    it('has a transform for every fixture case', () => {
      expect(cases.map((c) => c.name).sort()).toEqual(Object.keys(transforms).sort());
    });
    for (const c of cases) {
      it(c.name, () => checkCase(c, (inputs) => transforms[c.name](inputs)));
    }
    it('jacrev and jacfwd agree on the PyTorch cases', () => {
      const c = cases.find((k) => k.name === 'jacobian_mat')!;
      checkCase(c, ([x]) => func.jacrev(fMat)(x));
    });
  });
});

describe('func.vmap', () => {
  const A = f64([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  const B = f64([
    [1, 0, 1],
    [2, 1, 0],
  ]);

  it('maps over dim 0 by default', () => {
    const dots = func.vmap((a: Tensor, b: Tensor) => a.dot(b))(A, B);
    expectClose(dots, [4, 13]);
  });

  it('inDims per argument, with null for unmapped arguments and negative dims', () => {
    const w = f64([1, -1]);
    // Columns of A (dim 1) against rows of B (dim 0)? Sizes 3 and 2 differ: map columns of A with w unmapped.
    const colDots = func.vmap((col: Tensor, v: Tensor) => col.dot(v), { inDims: [1, null] })(A, w);
    expectClose(colDots, [-3, -3, -3]);
    const lastDim = func.vmap((col: Tensor) => col.sum(), { inDims: -1 })(A);
    expectClose(lastDim, [5, 7, 9]);
    const withScalar = func.vmap((row: Tensor, k: number) => row.mul(k), { inDims: [0, null] })(
      A,
      2,
    );
    expectClose(withScalar, A.mul(2));
  });

  it('outDims places the batch dim; tree inputs and outputs', () => {
    const t = func.vmap((row: Tensor) => row.mul(2), { outDims: 1 })(A);
    expectClose(t, A.T.mul(2));
    const both = func.vmap((p: { a: Tensor; b: Tensor }) => [p.a.add(p.b), p.a.sum()], {
      outDims: [1, 0],
    })({ a: A, b: B });
    expectClose(both[0], A.add(B).T);
    expectClose(both[1], [6, 15]);
  });

  it('nests: vmap(vmap(f)) is an outer operation', () => {
    const x = f64([1, 2, 3]);
    const y = f64([10, 20]);
    const table = func.vmap(
      func.vmap((a: Tensor, b: Tensor) => a.mul(b), { inDims: [null, 0] }),
      { inDims: [0, null] },
    )(x, y);
    expectClose(table, x.outer(y));
    const rowSums = func.vmap(func.vmap((e: Tensor) => e.square()))(A);
    expectClose(rowSums, A.square());
  });

  it('per-sample gradients: vmap(grad(loss)) equals a per-example loop', () => {
    manualSeed(3);
    const params = { w: randn([3, 2], { dtype: 'float64' }), b: randn([2], { dtype: 'float64' }) };
    const xs = randn([5, 3], { dtype: 'float64' });
    const ys = randn([5, 2], { dtype: 'float64' });
    const loss = (p: typeof params, x: Tensor, y: Tensor) =>
      x.matmul(p.w).add(p.b).tanh().sub(y).square().sum();
    const perSample = func.vmap(func.grad(loss), { inDims: [null, 0, 0] })(params, xs, ys);
    expect(perSample.w.shape).toEqual([5, 3, 2]);
    expect(perSample.b.shape).toEqual([5, 2]);
    for (let i = 0; i < 5; i++) {
      const w = params.w.detach().requiresGrad_();
      const b = params.b.detach().requiresGrad_();
      loss({ w, b }, xs.select(0, i), ys.select(0, i)).backward();
      expectClose(perSample.w.select(0, i), w.grad!);
      expectClose(perSample.b.select(0, i), b.grad!);
    }
    // Parameters that require grad (a model's) under noGrad: the same values, with no graph kept.
    const tracked = { w: params.w.detach().requiresGrad_(), b: params.b.detach().requiresGrad_() };
    const plain = noGrad(() =>
      func.vmap(func.grad(loss), { inDims: [null, 0, 0] })(tracked, xs, ys),
    );
    expectClose(plain.w, perSample.w);
    expect(plain.w.requiresGrad).toBe(false);
    expect(tracked.w.grad).toBeNull();
    // The mean of per-sample gradients is the gradient of the mean loss.
    const batchGrad = func.grad((p: typeof params) =>
      func
        .vmap(loss, { inDims: [null, 0, 0] })(p, xs, ys)
        .mean(),
    )(params);
    expectClose(perSample.w.mean(0), batchGrad.w);
  });

  it('composes the other way: grad of a vmapped function, and jacrev of vmap is block diagonal', () => {
    const x = f64([
      [1, 2],
      [3, 4],
    ]);
    const g = func.grad((t: Tensor) =>
      func
        .vmap((row: Tensor) => row.prod())(t)
        .sum(),
    )(x);
    expectClose(
      g,
      f64([
        [2, 1],
        [4, 3],
      ]),
    );
    const J = func.jacrev(func.vmap((row: Tensor) => row.sin()))(f64([[0, 1]]));
    expect(J.shape).toEqual([1, 2, 1, 2]);
    expectClose(
      J.reshape(2, 2),
      f64([
        [1, 0],
        [0, Math.cos(1)],
      ]),
    );
  });

  it('rejects bad input with errors naming vmap and the sizes', () => {
    const f = (a: Tensor, b: Tensor) => a.add(b);
    expect(() => func.vmap(f)(A, f64([1, 2, 3]))).toThrow(
      'vmap: mapped arguments have different batch sizes: argument 0 has size 2 along dim 0, but argument 1 has size 3 along dim 0',
    );
    expect(() => func.vmap(f, { inDims: [0] })(A, B)).toThrow(
      'vmap: inDims has 1 entries but f was called with 2 arguments',
    );
    expect(() => func.vmap(f, { inDims: null })(A, B)).toThrow(
      'vmap: at least one argument must be mapped',
    );
    expect(() => func.vmap(f)(A, 3)).toThrow(
      'vmap: argument 1 (mapped: inDims 0; pass null to leave it unmapped) must be a tensor or an array / plain object of tensors, but it has a number',
    );
    expect(() => func.vmap((a: Tensor) => a, { inDims: 2 })(A)).toThrow(
      'vmap: inDims for argument 0 of shape [2, 3]: dimension 2 is out of range',
    );
    expect(() => func.vmap((a: Tensor) => a)(f64(1))).toThrow('vmap: argument 0 is a 0-d tensor');
    expect(() => func.vmap((a: Tensor) => a)(zeros([0, 2]))).toThrow(
      'vmap: cannot map over a batch of size 0',
    );
    expect(() =>
      func.vmap((a: Tensor) => a.slice(0, 0, (a.sum().itemSync() as number) > 7 ? 2 : 1))(A),
    ).toThrow(
      'vmap: f returned outputs of different shapes: output 0 has shape [1] for batch element 0 but [2] for batch element 1',
    );
    expect(() => func.vmap((a: Tensor) => a.sum().itemSync())(A)).toThrow(
      'vmap: the output of f (batch element 0) must be a tensor',
    );
    expect(() => func.vmap((a: Tensor) => a, { outDims: 3 })(A)).toThrow(
      'vmap: outDims for output 0 of shape [3]',
    );
    expect(() => func.vmap((a: Tensor) => a, { inDims: 0.5 })(A)).toThrow(
      'vmap: inDims must be an integer or null, got 0.5',
    );
  });
});
