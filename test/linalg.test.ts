import { describe, expect, it } from 'vitest';
import {
  gradcheck,
  gradgradcheck,
  linalg,
  manualSeed,
  randn,
  tensor,
  eye,
  type Tensor,
} from '../src/index.js';
import { expectAllClose } from './helpers/close.js';
import { checkCase, loadFixtures } from './helpers/reference.js';

type Fn = (inputs: Tensor[], args: any) => Tensor | Tensor[];

/** Each fixture case name (without its dtype suffix) and the same computation in chainrule. */
const OPS: Record<string, Fn> = {
  eigh: ([a], args) => [...linalg.eigh(a, args)],
  eigh_batched: ([a], args) => [...linalg.eigh(a, args)],
  eigh_upper: ([a], args) => [...linalg.eigh(a, args)],
  eigvalsh: ([a]) => linalg.eigvalsh(a),
  ...Object.fromEntries(
    ['svd_tall', 'svd_wide', 'svd_batched', 'svd_full', 'svd_full_wide'].map((name) => [
      name,
      ([a]: Tensor[], args: any) => {
        const { U, S, Vh } = linalg.svd(a, { fullMatrices: args.full });
        const k = S.shape[S.ndim - 1];
        return [U.narrow(-1, 0, k), S, Vh.narrow(-2, 0, k)];
      },
    ]),
  ),
  svdvals: ([a]) => linalg.svdvals(a),
  pinv_tall: ([a]) => linalg.pinv(a),
  pinv_wide: ([a]) => linalg.pinv(a),
  ...Object.fromEntries(
    ['qr_tall', 'qr_square_batched', 'qr_wide', 'qr_complete_wide', 'qr_complete_tall'].map(
      (name) => [name, ([a]: Tensor[], args: any) => [...linalg.qr(a, args)]],
    ),
  ),
  qr_r: ([a], args) => linalg.qr(a, args).R,
  cholesky: ([a]) => linalg.cholesky(a),
  cholesky_batched_upper: ([a]) => linalg.cholesky(a, { upper: true }),
  solve: ([a, b]) => linalg.solve(a, b),
  solve_vector: ([a, b]) => linalg.solve(a, b),
  solve_broadcast: ([a, b]) => linalg.solve(a, b),
  solve_batched_vector: ([a, b]) => linalg.solve(a, b),
  inv: ([a]) => linalg.inv(a),
  det: ([a]) => linalg.det(a),
  det_batched: ([a]) => linalg.det(a),
  slogdet: ([a]) => [...linalg.slogdet(a)],
  matrix_norm_dims: ([a], args) => linalg.matrixNorm(a, args.ord, args.dim, args.keepdim),
  matrix_norm_inf_dims: ([a], args) =>
    linalg.matrixNorm(a, decodeOrd(args.ord), args.dim, args.keepdim),
  vector_norm_dim: ([x], args) => linalg.vectorNorm(x, args.ord, args.dim, args.keepdim),
  ...Object.fromEntries(
    ['fro', 'nuc', '2', 'm2', '1', 'm1', 'inf', 'minf'].map((name) => [
      `matrix_norm_${name}`,
      ([a]: Tensor[], args: any) => linalg.matrixNorm(a, decodeOrd(args.ord)),
    ]),
  ),
  ...Object.fromEntries(
    ['2', '1', 'inf', 'minf', '3', 'half', 'm1', '0'].map((name) => [
      `vector_norm_${name}`,
      ([x]: Tensor[], args: any) => linalg.vectorNorm(x, decodeOrd(args.ord) as number),
    ]),
  ),
  ...Object.fromEntries(
    ['lstsq_gelsd', 'lstsq_gelsy_vector', 'lstsq_gels_batched', 'lstsq_wide'].map((name) => [
      name,
      ([a, b]: Tensor[], args: any) => {
        // torch 1.13 gives residuals no gradient (ours have one, checked by gradcheck below).
        const [x, residuals, rank, sv] = linalg.lstsq(a, b, { driver: args.driver });
        return [x, residuals.detach(), rank, sv];
      },
    ]),
  ),
};

/** JSON has no Infinity: the fixture writes it as a string (or a large float). */
function decodeOrd(ord: unknown): number | 'fro' | 'nuc' {
  if (ord === 'inf' || ord === Infinity) return Infinity;
  if (ord === '-inf' || ord === -Infinity) return -Infinity;
  if (typeof ord === 'number' && Math.abs(ord) > 1e308) return ord > 0 ? Infinity : -Infinity;
  return ord as number | 'fro' | 'nuc';
}

describe('linalg against PyTorch 1.13 (values and gradients with random cotangents)', () => {
  const cases = loadFixtures('linalg.json');
  it('covers every case of the fixture file', () => {
    const missing = cases.map((c) => c.name.replace(/_f(32|64)$/, '')).filter((n) => !OPS[n]);
    expect(missing).toEqual([]);
    expect(cases.length).toBeGreaterThan(90);
  });
  for (const c of cases) {
    it(c.name, () => {
      const fn = OPS[c.name.replace(/_f(32|64)$/, '')];
      const f32 = c.name.endsWith('_f32');
      // float32: PyTorch's LAPACK rounds every step in float32, ours once at the end; gradients
      // through (λⱼ − λᵢ)⁻¹ and R⁻¹ amplify that difference.
      checkCase(c, fn, f32 ? { atol: 2e-4, rtol: 2e-3 } : { atol: 1e-9, rtol: 1e-7 });
    });
  }
});

const f64 = (shape: number[]) => randn(shape, { dtype: 'float64', requiresGrad: true });
const sym = (t: Tensor) => t.add(t.mT);
/** A symmetric positive-definite matrix from any square one (gradcheck perturbs every entry). */
const spd = (t: Tensor) =>
  t.matmul(t.mT).add(eye(t.shape[t.ndim - 1], t.shape[t.ndim - 1], { dtype: 'float64' }).mul(3));

describe('linalg gradients against finite differences (float64)', () => {
  manualSeed(5);
  const square = f64([2, 3, 3]);
  const one = f64([3, 3]);
  const tall = f64([4, 2]);
  const wide = f64([2, 4]);
  const rhs = f64([3, 2]);
  const cases: [string, (...t: Tensor[]) => Tensor | Tensor[], Tensor[], boolean][] = [
    ['eigh', (a) => [...linalg.eigh(sym(a))], [square], true],
    ['eigvalsh', (a) => linalg.eigvalsh(sym(a)), [square], true],
    ['svd square', (a) => [...linalg.svd(a, { fullMatrices: false })], [square], true],
    ['svd tall', (a) => [...linalg.svd(a, { fullMatrices: false })], [tall], false],
    ['svd wide', (a) => [...linalg.svd(a, { fullMatrices: false })], [wide], false],
    ['svdvals', (a) => linalg.svdvals(a), [tall], true],
    ['pinv', (a) => linalg.pinv(a), [wide], true],
    ['qr square', (a) => [...linalg.qr(a)], [square], true],
    ['qr tall', (a) => [...linalg.qr(a)], [tall], false],
    ['qr wide', (a) => [...linalg.qr(a)], [wide], false],
    ['cholesky', (a) => linalg.cholesky(spd(a)), [square], true],
    ['cholesky upper', (a) => linalg.cholesky(spd(a), { upper: true }), [square], false],
    ['solve', (a, b) => linalg.solve(a, b), [square, rhs], true],
    ['inv', (a) => linalg.inv(a), [square], true],
    ['det', (a) => linalg.det(a), [square], true],
    ['slogdet', (a) => linalg.slogdet(a).logabsdet, [square], true],
    [
      'lstsq with residuals',
      (a, b) => {
        const r = linalg.lstsq(a, b, { driver: 'gelsd' });
        return [r.solution, r.residuals];
      },
      [f64([4, 2]), f64([4, 3])],
      false,
    ],
    [
      'matrixNorm nuc and 2',
      (a) => [linalg.matrixNorm(a, 'nuc'), linalg.matrixNorm(a, 2)],
      [tall],
      false,
    ],
    ['vectorNorm', (x) => [linalg.vectorNorm(x, 3, 1), linalg.vectorNorm(x, -1)], [tall], false],
  ];
  for (const [name, fn, inputs, second] of cases) {
    it(`${name}: gradcheck${second ? ' and gradgradcheck' : ''}`, () => {
      expect(gradcheck(fn, inputs)).toBe(true);
      // Second order on one matrix of the batch: gradgradcheck's cost grows with the square of the size.
      if (second)
        expect(
          gradgradcheck(
            fn,
            inputs.map((t) => (t === square ? one : t)),
          ),
        ).toBe(true);
    });
  }

  it("det's gradient at a singular matrix is the cofactor matrix (torch 1.13 gives zeros there)", () => {
    const a = tensor(
      [
        [1, 2, 3],
        [2, 4, 6],
        [1, 0, 1],
      ],
      { dtype: 'float64', requiresGrad: true },
    );
    expect(linalg.det(a).itemSync()).toBe(0);
    expect(gradcheck((x) => linalg.det(x), [a])).toBe(true);
  });
});

describe('linalg properties', () => {
  manualSeed(11);
  const a = randn([2, 4, 3], { dtype: 'float64' });
  const close = (x: Tensor, y: Tensor | number[], tol = 1e-12) =>
    expectAllClose(x, y instanceof Array ? y : y.dataSync(), { atol: tol, rtol: tol });

  it('svd and qr reconstruct A, with orthonormal factors', () => {
    const { U, S, Vh } = linalg.svd(a, { fullMatrices: false });
    close(U.mul(S.unsqueeze(-2)).matmul(Vh), a);
    close(U.mT.matmul(U), eye(3, 3, { dtype: 'float64' }).expand([2, 3, 3]).contiguous());
    const full = linalg.svd(a);
    expect(full.U.shape).toEqual([2, 4, 4]);
    close(full.U.mT.matmul(full.U), eye(4, 4, { dtype: 'float64' }).expand([2, 4, 4]).contiguous());
    const { Q, R } = linalg.qr(a);
    close(Q.matmul(R), a);
    const both = linalg.qr(a); // the array form holds the same tensors as the named fields
    expect(both[0]).toBe(both.Q);
    const [q, r] = both;
    close(q.matmul(r), a);
    close(R, R.triu());
    const complete = linalg.qr(a, { mode: 'complete' });
    expect(complete.Q.shape).toEqual([2, 4, 4]);
    close(complete.Q.matmul(complete.R), a);
  });

  it('eigh: A V = V diag(L), ascending, each eigenvector positive at its largest entry', () => {
    const s = sym(randn([3, 5, 5], { dtype: 'float64' }));
    const { eigenvalues: L, eigenvectors: V } = linalg.eigh(s);
    close(s.matmul(V), V.mul(L.unsqueeze(-2)), 1e-11);
    const l = L.dataSync();
    for (let i = 0; i + 1 < l.length; i++)
      if ((i + 1) % 5 !== 0) expect(l[i]).toBeLessThanOrEqual(l[i + 1]);
    const v = V.dataSync();
    for (let b = 0; b < 3; b++)
      for (let j = 0; j < 5; j++) {
        const column = Array.from({ length: 5 }, (_, i) => v[b * 25 + i * 5 + j]);
        const largest = column.reduce((m, x) => (Math.abs(x) > Math.abs(m) ? x : m), 0);
        expect(largest).toBeGreaterThan(0);
      }
  });

  it('a batch gives the same results as its matrices one at a time', () => {
    const batched = linalg.svdvals(a);
    close(batched.select(0, 1), linalg.svdvals(a.select(0, 1)));
    const s = spd(randn([2, 3, 3], { dtype: 'float64' }));
    close(linalg.inv(s).select(0, 1), linalg.inv(s.select(0, 1)));
  });

  it('float32 in, float32 out', () => {
    const x = randn([3, 3]);
    for (const out of [
      linalg.inv(x),
      linalg.det(x),
      linalg.svdvals(x),
      ...linalg.qr(x),
      linalg.eigvalsh(x),
    ])
      expect(out.dtype).toBe('float32');
  });

  it('eigvalsh has a finite gradient at repeated eigenvalues; eigenvector gradients do not (as PyTorch)', () => {
    const i3 = eye(3, 3, { dtype: 'float64' }).requiresGrad_();
    linalg
      .eigvalsh(i3)
      .mul(tensor([1, 2, 3], { dtype: 'float64' }))
      .sum()
      .backward();
    expect(Array.from(i3.grad!.dataSync()).every(Number.isFinite)).toBe(true);
    const j3 = eye(3, 3, { dtype: 'float64' }).requiresGrad_();
    linalg
      .eigh(j3)
      .eigenvectors.mul(
        tensor(
          [
            [1, 2, 3],
            [4, 5, 6],
            [7, 8, 9],
          ],
          { dtype: 'float64' },
        ),
      )
      .sum()
      .backward();
    expect(Array.from(j3.grad!.dataSync()).every(Number.isFinite)).toBe(false);
  });
});

describe('linalg errors', () => {
  it('names the op, the shapes and what was expected', () => {
    expect(() => linalg.inv(randn([2, 3]))).toThrow(
      'linalg.inv: A must be batches of square matrices, but they are 2 by 3 matrices (shape [2, 3])',
    );
    expect(() => linalg.det(randn([3]))).toThrow(
      /linalg.det: A must have at least 2 dimensions.*\[3\]/,
    );
    expect(() =>
      linalg.eigh(
        tensor(
          [
            [1, 2],
            [3, 4],
          ],
          { dtype: 'int32' },
        ),
      ),
    ).toThrow(/float32 or float64, got int32/);
    expect(() => linalg.solve(randn([3, 3]), randn([4, 2]))).toThrow(
      /linalg.solve: incompatible shapes.*\[3, 3\] and \[4, 2\]/,
    );
    expect(() => linalg.qr(randn([3, 3]), { mode: 'full' as 'r' })).toThrow(
      "linalg.qr: mode must be one of 'reduced', 'complete', 'r', got 'full'",
    );
    expect(() => linalg.svd(randn([3, 3]), { fullMatrices: 1 as unknown as boolean })).toThrow(
      'linalg.svd: fullMatrices must be a boolean, got 1 (number)',
    );
    expect(() => linalg.matrixNorm(randn([3, 3]), 3)).toThrow(/linalg.matrixNorm: ord must be/);
  });

  it('cholesky names the batch element and the leading minor that is not positive-definite', () => {
    const a = tensor([
      [
        [1, 0],
        [0, 1],
      ],
      [
        [1, 2],
        [2, 1],
      ],
    ]);
    expect(() => linalg.cholesky(a)).toThrow(
      'linalg.cholesky: (Batch element 1): The factorization could not be completed because the input is not positive-definite (the leading minor of order 2 is not positive-definite)',
    );
  });

  it('solve and inv reject singular matrices, naming the batch element', () => {
    const a = tensor([
      [
        [2, 0],
        [0, 1],
      ],
      [
        [1, 2],
        [2, 4],
      ],
    ]);
    expect(() => linalg.inv(a)).toThrow(
      /linalg.inv: \(Batch element 1\): The diagonal element 2 is zero.*singular/,
    );
    expect(() => linalg.solve(a, randn([2, 2]))).toThrow(
      /linalg.solve: \(Batch element 1\).*singular/,
    );
    expect(linalg.det(a).dataSync()[1]).toBe(0);
    expect([...linalg.slogdet(a).sign.dataSync()]).toEqual([1, 0]);
  });

  it("qr's backward refuses mode 'r' and a complete factorization of a tall matrix, as PyTorch", () => {
    const tallA = randn([3, 2], { requiresGrad: true });
    expect(() => linalg.qr(tallA, { mode: 'complete' }).Q.sum().backward()).toThrow(
      /not differentiable when mode='complete' and nrows > ncols/,
    );
    expect(() => linalg.qr(tallA, 'r').R.sum().backward()).toThrow(/mode='r'/);
  });
});
