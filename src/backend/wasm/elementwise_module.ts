/**
 * Generated WebAssembly SIMD kernels for the float32 elementwise work of a training step, run in
 * place on arena storage (arena.ts) as tasks of the kernel module (gemm_module.ts dispatches
 * them by id, in chunks over the threads): relu and its backward, the four arithmetic ops on
 * equal shapes or with a broadcast row (the bias), column and row sums (bias gradients), max
 * pooling's scatter-add, conv2d's reorder, the Adam step, and softmax / log-softmax with the
 * log-softmax backward along the last dim. Every kernel gives the reference kernels' bits: the
 * same float32 operations (never fused), sums accumulated in float64 (the row sums in four
 * interleaved partial sums), except exp in the softmax kernels, a vector exp within 2 ulp of
 * the reference's Math.exp. Addresses are bytes, sizes elements.
 */
import { type FunctionBuilder, type Local, ModuleBuilder } from './emitter.js';

export const ELEMENTWISE_OPS = ['add', 'sub', 'mul', 'div'] as const;
export type ElementwiseOp = (typeof ELEMENTWISE_OPS)[number];

/** `count` elements rounded down to a multiple of 4, as bytes: the end of the SIMD part of a loop. */
function simdEnd(f: FunctionBuilder, count: Local, into: Local): void {
  f.get(count).i32_const(2).i32_shl().i32_const(-16).i32_and().set(into);
}

/**
 * A loop over bytes [0, n·4) of v128 steps then f32 steps: `vector(i)` and `scalar(i)` bodies,
 * and `between()` after the vector steps.
 */
function elementLoop(
  f: FunctionBuilder,
  n: Local,
  vector: (i: Local) => void,
  scalar: (i: Local) => void,
  between?: () => void,
): void {
  const i = f.local('i32');
  const end = f.local('i32');
  const bytes = f.local('i32');
  simdEnd(f, n, end);
  f.for_(
    i,
    () => f.i32_const(0),
    () => f.get(end),
    16,
    () => vector(i),
  );
  between?.();
  f.get(n).i32_const(2).i32_shl().set(bytes);
  f.for_(
    i,
    () => f.get(end),
    () => f.get(bytes),
    4,
    () => scalar(i),
  );
}

/** relu(x, out, n): out[i] = x[i] > 0 or NaN ? x[i] : +0 (the cleared bits are +0). */
function emitRelu(m: ModuleBuilder): FunctionBuilder {
  const f = m.func('relu', ['i32', 'i32', 'i32'], []);
  const [x, out, n] = [0, 1, 2].map((i) => f.param(i));
  const v = f.local('v128');
  const s = f.local('f32');
  elementLoop(
    f,
    n,
    (i) => {
      f.get(out).get(i).i32_add();
      f.get(x).get(i).i32_add().v128_load().tee(v);
      // Keep x where x > 0 or x is NaN; the cleared bits elsewhere are +0.
      f.get(v).v128_const_zero().f32x4_gt().get(v).get(v).f32x4_ne().v128_or();
      f.v128_and().v128_store();
    },
    (i) => {
      f.get(out).get(i).i32_add();
      f.get(x).get(i).i32_add().f32_load().tee(s).f32_const(0);
      f.get(s).f32_const(0).f32_gt().get(s).get(s).f32_ne().i32_or();
      f.select().f32_store();
    },
  );
  return f;
}

/** relu_backward(g, y, out, n): out[i] = g[i] · (y[i] > 0 ? 1 : 0). */
function emitReluBackward(m: ModuleBuilder): FunctionBuilder {
  const f = m.func('relu_backward', ['i32', 'i32', 'i32', 'i32'], []);
  const [g, y, out, n] = [0, 1, 2, 3].map((i) => f.param(i));
  const one = f.local('v128');
  f.f32_const(1).f32x4_splat().set(one);
  elementLoop(
    f,
    n,
    (i) => {
      f.get(out).get(i).i32_add();
      f.get(g).get(i).i32_add().v128_load();
      // (y > 0) as 1.0 or 0.0: the comparison's all-ones mask and-ed with 1.0's bits.
      f.get(y).get(i).i32_add().v128_load().v128_const_zero().f32x4_gt().get(one).v128_and();
      f.f32x4_mul().v128_store();
    },
    (i) => {
      f.get(out).get(i).i32_add();
      f.get(g).get(i).i32_add().f32_load();
      f.f32_const(1).f32_const(0);
      f.get(y).get(i).i32_add().f32_load().f32_const(0).f32_gt();
      f.select().f32_mul().f32_store();
    },
  );
  return f;
}

const VECTOR_OPS: Record<ElementwiseOp, (f: FunctionBuilder) => FunctionBuilder> = {
  add: (f) => f.f32x4_add(),
  sub: (f) => f.f32x4_sub(),
  mul: (f) => f.f32x4_mul(),
  div: (f) => f.f32x4_div(),
};
const SCALAR_OPS: Record<ElementwiseOp, (f: FunctionBuilder) => FunctionBuilder> = {
  add: (f) => f.f32_add(),
  sub: (f) => f.f32_sub(),
  mul: (f) => f.f32_mul(),
  div: (f) => f.f32_div(),
};

/**
 * binary_<op>(a, b, out, rows, cols, bRowStride): out[r, c] = a[r, c] op b[r·bRowStride + c]
 * (bRowStride 0: one row of b for every row).
 */
function emitBinary(m: ModuleBuilder, op: ElementwiseOp): FunctionBuilder {
  const f = m.func(`binary_${op}`, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], []);
  const [a, b, out, rows, cols, bRowStride] = [0, 1, 2, 3, 4, 5].map((i) => f.param(i));
  const r = f.local('i32');
  const rowBytes = f.local('i32');
  const bStep = f.local('i32');
  f.get(cols).i32_const(2).i32_shl().set(rowBytes);
  f.get(bRowStride).i32_const(2).i32_shl().set(bStep);
  f.for_(
    r,
    () => f.i32_const(0),
    () => f.get(rows),
    1,
    () => {
      elementLoop(
        f,
        cols,
        (i) => {
          f.get(out).get(i).i32_add();
          f.get(a).get(i).i32_add().v128_load();
          f.get(b).get(i).i32_add().v128_load();
          VECTOR_OPS[op](f).v128_store();
        },
        (i) => {
          f.get(out).get(i).i32_add();
          f.get(a).get(i).i32_add().f32_load();
          f.get(b).get(i).i32_add().f32_load();
          SCALAR_OPS[op](f).f32_store();
        },
      );
      f.get(a).get(rowBytes).i32_add().set(a);
      f.get(out).get(rowBytes).i32_add().set(out);
      f.get(b).get(bStep).i32_add().set(b);
    },
  );
  return f;
}

/** High two f32 lanes moved to the low two (the rest don't care). */
const HIGH_TO_LOW = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
/** Low 8 bytes of the first vector, then low 8 bytes of the second. */
const LOW_HALVES = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];

/**
 * sum_rows(x, out, rows, cols, stride): out[c] = Σ_r x[r·stride + c] for c < cols, in float64,
 * rounded once. Sixteen columns at a time where they fit (eight independent f64x2 sums: four
 * columns' two would wait on the add's latency every row), then four, then one.
 */
function emitSumRows(m: ModuleBuilder): FunctionBuilder {
  const f = m.func('sum_rows', ['i32', 'i32', 'i32', 'i32', 'i32'], []);
  const [x, out, rows, cols, stride] = [0, 1, 2, 3, 4].map((i) => f.param(i));
  const c = f.local('i32');
  const r = f.local('i32');
  const p = f.local('i32');
  const end = f.local('i32');
  const bytes = f.local('i32');
  const rowBytes = f.local('i32');
  const v = f.local('v128');
  const acc = f.local('f64');
  f.get(cols).i32_const(2).i32_shl().set(bytes);
  f.get(stride).i32_const(2).i32_shl().set(rowBytes);
  f.i32_const(0).set(c);
  // Blocks of `vectors` × 4 columns from c while they fit: two f64x2 running sums per vector.
  const columnBlocks = (vectors: number) => {
    const low = Array.from({ length: vectors }, () => f.local('v128'));
    const high = Array.from({ length: vectors }, () => f.local('v128'));
    f.get(bytes)
      .i32_const(-16 * vectors)
      .i32_and()
      .set(end);
    f.block(() =>
      f.loop(() => {
        f.get(c)
          .i32_const(16 * vectors)
          .i32_add()
          .get(end)
          .i32_gt_s()
          .br_if(1);
        for (let q = 0; q < vectors; q++) {
          f.v128_const_zero().set(low[q]);
          f.v128_const_zero().set(high[q]);
        }
        f.get(x).get(c).i32_add().set(p);
        f.for_(
          r,
          () => f.i32_const(0),
          () => f.get(rows),
          1,
          () => {
            for (let q = 0; q < vectors; q++) {
              f.get(p)
                .v128_load(16 * q)
                .set(v);
              f.get(low[q]).get(v).f64x2_promote_low_f32x4().f64x2_add().set(low[q]);
              f.get(high[q]).get(v).get(v).i8x16_shuffle(HIGH_TO_LOW).f64x2_promote_low_f32x4();
              f.f64x2_add().set(high[q]);
            }
            f.get(p).get(rowBytes).i32_add().set(p);
          },
        );
        for (let q = 0; q < vectors; q++) {
          f.get(out).get(c).i32_add();
          f.get(low[q]).f32x4_demote_f64x2_zero().get(high[q]).f32x4_demote_f64x2_zero();
          f.i8x16_shuffle(LOW_HALVES).v128_store(16 * q);
        }
        f.get(c)
          .i32_const(16 * vectors)
          .i32_add()
          .set(c);
        f.br(0);
      }),
    );
  };
  columnBlocks(4);
  columnBlocks(1);
  f.for_(
    c,
    () => f.get(c),
    () => f.get(bytes),
    4,
    () => {
      f.f32_const(0).f64_promote_f32().set(acc);
      f.get(x).get(c).i32_add().set(p);
      f.for_(
        r,
        () => f.i32_const(0),
        () => f.get(rows),
        1,
        () => {
          f.get(acc).get(p).f32_load().f64_promote_f32().f64_add().set(acc);
          f.get(p).get(rowBytes).i32_add().set(p);
        },
      );
      f.get(out).get(c).i32_add().get(acc).f32_demote_f64().f32_store();
    },
  );
  return f;
}

/**
 * scatter_add_rows(out, idx, src, rows, size, count, zero): for each of `rows` rows of `size`
 * elements at out (zeroed first when `zero` is 1), out[row + idx[k]] += src[k] over the row's
 * `count` indices; returns -1, or the position k of the first index outside [0, size).
 */
function emitScatterAddRows(m: ModuleBuilder): FunctionBuilder {
  const f = m.func('scatter_add_rows', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], ['i32']);
  const [out, idx, src, rows, size, count, zero] = [0, 1, 2, 3, 4, 5, 6].map((i) => f.param(i));
  const r = f.local('i32');
  const k = f.local('i32');
  const j = f.local('i32');
  const at = f.local('i32');
  const position = f.local('i32');
  const rowEnd = f.local('i32');
  f.i32_const(0).set(position);
  f.for_(
    r,
    () => f.i32_const(0),
    () => f.get(rows),
    1,
    () => {
      // Zeroing the row here, just before its scatter, keeps it in cache for the adds.
      f.get(zero).if_(() => {
        f.get(out).get(size).i32_const(2).i32_shl().i32_add().set(rowEnd);
        f.get(out).set(at);
        f.block(() =>
          f.loop(() => {
            f.get(at).i32_const(16).i32_add().get(rowEnd).i32_gt_s().br_if(1);
            f.get(at).v128_const_zero().v128_store();
            f.get(at).i32_const(16).i32_add().set(at);
            f.br(0);
          }),
        );
        f.block(() =>
          f.loop(() => {
            f.get(at).get(rowEnd).i32_ge_s().br_if(1);
            f.get(at).f32_const(0).f32_store();
            f.get(at).i32_const(4).i32_add().set(at);
            f.br(0);
          }),
        );
      });
      f.for_(
        k,
        () => f.i32_const(0),
        () => f.get(count),
        1,
        () => {
          f.get(idx).i32_load().set(j);
          // Unsigned compare: a negative index is a huge one.
          f.get(j).get(size).i32_lt_u().i32_eqz();
          f.if_(() => f.get(position).return_());
          f.get(out).get(j).i32_const(2).i32_shl().i32_add().set(at);
          f.get(at).get(at).f32_load().get(src).f32_load().f32_add().f32_store();
          f.get(idx).i32_const(4).i32_add().set(idx);
          f.get(src).i32_const(4).i32_add().set(src);
          f.get(position).i32_const(1).i32_add().set(position);
        },
      );
      f.get(out).get(size).i32_const(2).i32_shl().i32_add().set(out);
    },
  );
  f.i32_const(-1);
  return f;
}

/**
 * swap_outer(src, dst, bias, a0, a1, outer, inner, l): [outer, inner, l] into dst [inner, outer,
 * l] for a in [a0, a1), adding bias[a] to src's row group a when `bias` is not 0 (conv2d).
 */
function emitSwapOuter(m: ModuleBuilder): FunctionBuilder {
  const f = m.func('swap_outer', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], []);
  const [src, dst, bias, a0, a1, outer, inner, l] = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => f.param(i));
  const a = f.local('i32');
  const b = f.local('i32');
  const from = f.local('i32');
  const to = f.local('i32');
  const rowBytes = f.local('i32');
  const add = f.local('f32');
  const addv = f.local('v128');
  f.get(l).i32_const(2).i32_shl().set(rowBytes);
  // Without a bias, add −0: x + (−0) is x for every x, −0 and NaN included.
  f.f32_const(-0).set(add);
  f.for_(
    a,
    () => f.get(a0),
    () => f.get(a1),
    1,
    () => {
      f.get(bias).if_(() =>
        f.get(bias).get(a).i32_const(2).i32_shl().i32_add().f32_load().set(add),
      );
      f.get(add).f32x4_splat().set(addv);
      f.for_(
        b,
        () => f.i32_const(0),
        () => f.get(inner),
        1,
        () => {
          // from = src + ((a·inner + b)·l)·4, to = dst + ((b·outer + a)·l)·4
          f.get(src).get(a).get(inner).i32_mul().get(b).i32_add().get(rowBytes).i32_mul();
          f.i32_add().set(from);
          f.get(dst).get(b).get(outer).i32_mul().get(a).i32_add().get(rowBytes).i32_mul();
          f.i32_add().set(to);
          elementLoop(
            f,
            l,
            (i) => {
              f.get(to).get(i).i32_add();
              f.get(from).get(i).i32_add().v128_load().get(addv).f32x4_add().v128_store();
            },
            (i) => {
              f.get(to).get(i).i32_add();
              f.get(from).get(i).i32_add().f32_load().get(add).f32_add().f32_store();
            },
          );
        },
      );
    },
  );
  return f;
}

/** sum_each_row(x, out, rows, cols): out[r] = Σ_c x[r, c], four interleaved float64 sums, rounded once. */
function emitSumEachRow(m: ModuleBuilder): FunctionBuilder {
  const f = m.func('sum_each_row', ['i32', 'i32', 'i32', 'i32'], []);
  const [x, out, rows, cols] = [0, 1, 2, 3].map((i) => f.param(i));
  const r = f.local('i32');
  const v = f.local('v128');
  const low = f.local('v128');
  const high = f.local('v128');
  const acc = f.local('f64');
  f.for_(
    r,
    () => f.i32_const(0),
    () => f.get(rows),
    1,
    () => {
      // Four running float64 sums (lanes 0–3 of each group of four), added up after the vector
      // steps, then the row's last cols % 4 elements.
      f.v128_const_zero().set(low);
      f.v128_const_zero().set(high);
      elementLoop(
        f,
        cols,
        (i) => {
          f.get(x).get(i).i32_add().v128_load().set(v);
          f.get(low).get(v).f64x2_promote_low_f32x4().f64x2_add().set(low);
          f.get(high).get(v).get(v).i8x16_shuffle(HIGH_TO_LOW).f64x2_promote_low_f32x4();
          f.f64x2_add().set(high);
        },
        (i) => {
          f.get(acc).get(x).get(i).i32_add().f32_load().f64_promote_f32().f64_add().set(acc);
        },
        () => {
          f.get(low).f64x2_extract_lane(0).get(low).f64x2_extract_lane(1).f64_add();
          f.get(high).f64x2_extract_lane(0).f64_add().get(high).f64x2_extract_lane(1).f64_add();
          f.set(acc);
        },
      );
      f.get(out).get(r).i32_const(2).i32_shl().i32_add().get(acc).f32_demote_f64().f32_store();
      f.get(x).get(cols).i32_const(2).i32_shl().i32_add().set(x);
    },
  );
  return f;
}

/** The constants of an Adam step, as float32 at `consts` (see adamWasm in elementwise.ts). */
export const ADAM_CONSTANTS = [
  'sign',
  'weightDecay',
  'decay',
  'beta1',
  'beta2',
  'oneMinusBeta1',
  'oneMinusBeta2',
  'biasCorrection2Sqrt',
  'negStepSize',
  'eps',
] as const;

/**
 * adam(p, g, m, v, consts, mode, n): one Adam/AdamW step in place on n float32 elements, the
 * reference loop's float32 operations in its order (fused_kernels.ts adamLoop, no amsgrad);
 * mode 1 adds coupled weight decay to the gradient, 2 decays the parameter (AdamW), 0 neither.
 */
function emitAdam(m: ModuleBuilder): FunctionBuilder {
  const f = m.func('adam', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], []);
  const [p, g, mom, vel, consts, mode, n] = [0, 1, 2, 3, 4, 5, 6].map((i) => f.param(i));
  const names = ADAM_CONSTANTS;
  const scalar = Object.fromEntries(names.map((name) => [name, f.local('f32')])) as Record<
    (typeof names)[number],
    Local
  >;
  const vector = Object.fromEntries(names.map((name) => [name, f.local('v128')])) as Record<
    (typeof names)[number],
    Local
  >;
  names.forEach((name, i) => {
    f.get(consts)
      .f32_load(4 * i)
      .tee(scalar[name])
      .f32x4_splat()
      .set(vector[name]);
  });
  const [pv, gv, mv, vv] = [0, 1, 2, 3].map(() => f.local('v128'));
  const [ps, gs, ms, vs] = [0, 1, 2, 3].map(() => f.local('f32'));
  // One step on `lanes` (vectors or scalars), the same sequence either way.
  const step = (i: Local, simd: boolean) => {
    const c = simd ? vector : scalar;
    const [P, G, M, V] = simd ? [pv, gv, mv, vv] : [ps, gs, ms, vs];
    const load = () => (simd ? f.v128_load() : f.f32_load());
    const store = () => (simd ? f.v128_store() : f.f32_store());
    const mul = () => (simd ? f.f32x4_mul() : f.f32_mul());
    const add = () => (simd ? f.f32x4_add() : f.f32_add());
    const div = () => (simd ? f.f32x4_div() : f.f32_div());
    const sqrt = () => (simd ? f.f32x4_sqrt() : f.f32_sqrt());
    f.get(p).get(i).i32_add();
    load();
    f.set(P);
    f.get(g).get(i).i32_add();
    load();
    f.get(c.sign);
    mul();
    f.set(G);
    f.get(mode)
      .i32_const(1)
      .i32_eq()
      .if_(
        () => {
          f.get(G).get(P).get(c.weightDecay);
          mul();
          add();
          f.set(G);
        },
        () =>
          f
            .get(mode)
            .i32_const(2)
            .i32_eq()
            .if_(() => {
              f.get(P).get(c.decay);
              mul();
              f.set(P);
            }),
      );
    // m = m·β1 + g·(1 − β1); v = v·β2 + g²·(1 − β2)
    f.get(mom).get(i).i32_add();
    load();
    f.get(c.beta1);
    mul();
    f.get(G).get(c.oneMinusBeta1);
    mul();
    add();
    f.set(M);
    f.get(mom).get(i).i32_add().get(M);
    store();
    f.get(vel).get(i).i32_add();
    load();
    f.get(c.beta2);
    mul();
    f.get(G).get(G);
    mul();
    f.get(c.oneMinusBeta2);
    mul();
    add();
    f.set(V);
    f.get(vel).get(i).i32_add().get(V);
    store();
    // p = p + (m / (√v / √(1 − β2ᵗ) + eps))·(−lr / (1 − β1ᵗ))
    f.get(p).get(i).i32_add();
    f.get(P);
    f.get(M);
    f.get(V);
    sqrt();
    f.get(c.biasCorrection2Sqrt);
    div();
    f.get(c.eps);
    add();
    div();
    f.get(c.negStepSize);
    mul();
    add();
    store();
  };
  elementLoop(
    f,
    n,
    (i) => step(i, true),
    (i) => step(i, false),
  );
  return f;
}

/** Cephes' expf coefficients: exp(r) ≈ (((((P0·r + P1)·r + P2)·r + P3)·r + P4)·r + P5)·r² + r + 1. */
const EXP_COEFFICIENTS = [
  1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1,
  5.0000001201e-1,
];
/**
 * The other float32 constants of the vector exp: log2 e, ln 2 in two parts, 1, and +Infinity with
 * the bounds beyond which exp overflows and underflows.
 */
const EXP_CONSTANTS = [
  Math.LOG2E,
  0.693359375,
  -2.1219444e-4,
  1,
  Infinity,
  88.72283935546875,
  -87.33654022216797,
];

/** The vector exp's constants in v128 locals: the float32 ones above, then the exponent bias. */
interface ExpConstants {
  floats: Local[];
  /** 127 in four int32 lanes. */
  exponentBias: Local;
}

/**
 * The vector exp's constants splatted into v128 locals once, before a kernel's loops (splatting
 * them inside the loop doubled the exp's instructions).
 */
function expConstants(f: FunctionBuilder): ExpConstants {
  const floats = [...EXP_COEFFICIENTS, ...EXP_CONSTANTS].map((c) => {
    const local = f.local('v128');
    f.f32_const(c).f32x4_splat().set(local);
    return local;
  });
  const exponentBias = f.local('v128');
  f.i32_const(127).i32x4_splat().set(exponentBias);
  return { floats, exponentBias };
}

/**
 * exp of the four float32 lanes of `x`, left on the stack: Cephes' expf, exp(r)·2^k with
 * x = k·ln2 + r (ln2 in two parts), a degree-7 polynomial in r and 2^k made in the exponent bits.
 * Within 2 ulp of the correctly rounded value (test/elementwise_wasm.test.ts); 0 below
 * ln(2^-126) (no subnormal results), +Infinity above ln(FLT_MAX), NaN for NaN. The one kernel
 * here that does not give the reference's bits (its Math.exp): a vector exp is what makes the
 * softmax kernels below several times faster than one Math.exp call per element.
 * `constants` are expConstants' locals.
 */
function emitExp4(f: FunctionBuilder, x: Local, constants: ExpConstants): void {
  const [k, kInt, r, p, high] = Array.from({ length: 5 }, () => f.local('v128'));
  const { floats, exponentBias } = constants;
  const coefficient = floats.slice(0, EXP_COEFFICIENTS.length);
  const [log2e, ln2High, ln2Low, one, infinity, overflow, underflow] = floats.slice(
    EXP_COEFFICIENTS.length,
  );
  // k = nearest(x·log2 e)
  f.get(x).get(log2e).f32x4_mul().f32x4_nearest().set(k);
  // r = x − k·C1 − k·C2, C1 + C2 = ln 2, k·C1 exact.
  f.get(x).get(k).get(ln2High).f32x4_mul().f32x4_sub();
  f.get(k).get(ln2Low).f32x4_mul().f32x4_sub().set(r);
  f.get(coefficient[0]);
  for (const c of coefficient.slice(1)) f.get(r).f32x4_mul().get(c).f32x4_add();
  f.get(r).get(r).f32x4_mul().f32x4_mul().get(r).f32x4_add().get(one).f32x4_add();
  // · 2^k as 2^min(k, 127) · 2^(k − min(k, 127)), each made from its biased exponent (k = 128
  // just below FLT_MAX's log needs the second factor).
  const powerOfTwo = () => f.get(exponentBias).i32x4_add().i32_const(23).i32x4_shl();
  f.get(k).i32x4_trunc_sat_f32x4_s().set(kInt);
  f.get(kInt).get(exponentBias).i32x4_min_s().set(high);
  f.get(high);
  powerOfTwo();
  f.f32x4_mul();
  f.get(kInt).get(high).i32x4_sub();
  powerOfTwo();
  f.f32x4_mul().set(p);
  // Overflow to +Infinity, underflow (and −Infinity) to 0; NaN has stayed NaN throughout.
  f.get(infinity).get(p).get(x).get(overflow).f32x4_gt().v128_bitselect().set(p);
  f.v128_const_zero().get(p).get(x).get(underflow).f32x4_lt().v128_bitselect();
}

/** total = Σ of the float32 values in bytes [0, bytes) from `at`, in float64 and in order. */
function sumInOrder(f: FunctionBuilder, at: Local, bytes: Local, total: Local): void {
  const i = f.local('i32');
  f.f32_const(0).f64_promote_f32().set(total);
  f.for_(
    i,
    () => f.i32_const(0),
    () => f.get(bytes),
    4,
    () => f.get(total).get(at).get(i).i32_add().f32_load().f64_promote_f32().f64_add().set(total),
  );
}

/** out = exp(x) over bytes [0, bytes) (whole vectors, then the tail lane by lane). */
function emitExpLoop(f: FunctionBuilder, x: Local, out: Local, count: Local): void {
  const v = f.local('v128');
  const constants = expConstants(f);
  elementLoop(
    f,
    count,
    (i) => {
      f.get(x).get(i).i32_add().v128_load().set(v);
      f.get(out).get(i).i32_add();
      emitExp4(f, v, constants);
      f.v128_store();
    },
    (i) => {
      f.get(x).get(i).i32_add().f32_load().f32x4_splat().set(v);
      f.get(out).get(i).i32_add();
      emitExp4(f, v, constants);
      f.f32x4_extract_lane(0).f32_store();
    },
  );
}

/**
 * shift = the max of the n floats at `row` (NaN if any is NaN), or 0 when it is ±Infinity: the
 * reference's shift (fused_kernels.ts softmaxKernel).
 */
function emitRowShift(f: FunctionBuilder, row: Local, n: Local, shift: Local): void {
  const v = f.local('v128');
  f.f32_const(-Infinity).f32x4_splat().set(v);
  elementLoop(
    f,
    n,
    (i) => f.get(v).get(row).get(i).i32_add().v128_load().f32x4_max().set(v),
    (i) => f.get(shift).get(row).get(i).i32_add().f32_load().f32_max().set(shift),
    () => {
      f.get(v).f32x4_extract_lane(0);
      for (let lane = 1; lane < 4; lane++) f.get(v).f32x4_extract_lane(lane).f32_max();
      f.set(shift);
    },
  );
  f.f32_const(0).get(shift).get(shift).f32_abs().f32_const(Infinity).f32_eq().select().set(shift);
}

/**
 * natural log of the float64 `t` (left on the stack) for a softmax row's Σ exp, which is 0, in
 * [1, n], +Infinity or NaN: t = m·2^e with m within √½..√2 (e from t's float32 exponent), then
 * log m = 2·atanh((m − 1)/(m + 1)) by its series to s^15 (|s| ≤ 0.172: error below 1e-12).
 */
function emitRowLog(f: FunctionBuilder, t: Local): void {
  const [e, m, s, s2, result] = [f.local('i32'), ...[0, 1, 2, 3].map(() => f.local('f64'))];
  // e = t's exponent as a float32 (t ≤ n fits), m = t·2^−e.
  f.get(t).f32_demote_f64().i32_reinterpret_f32().i32_const(23).i32_shr_u().i32_const(127);
  f.i32_sub().set(e);
  f.get(t).i32_const(127).get(e).i32_sub().i32_const(23).i32_shl().f32_reinterpret_i32();
  f.f64_promote_f32().f64_mul().set(m);
  f.get(m)
    .f64_const(Math.SQRT2)
    .f64_gt()
    .if_(() => {
      f.get(m).f64_const(0.5).f64_mul().set(m);
      f.get(e).i32_const(1).i32_add().set(e);
    });
  f.get(m).f64_const(1).f64_sub().get(m).f64_const(1).f64_add().f64_div().set(s);
  f.get(s).get(s).f64_mul().set(s2);
  // 2s·(1 + s²/3 + s⁴/5 + … + s¹⁴/15)
  f.f64_const(1 / 15).set(result);
  for (const d of [13, 11, 9, 7, 5, 3, 1])
    f.get(result)
      .get(s2)
      .f64_mul()
      .f64_const(1 / d)
      .f64_add()
      .set(result);
  f.get(result).get(s).f64_mul().f64_const(2).f64_mul();
  f.get(e).f64_convert_i32_s().f64_const(Math.LN2).f64_mul().f64_add().set(result);
  // 0 → −Infinity, +Infinity → +Infinity, NaN → NaN.
  f.f64_const(-Infinity).get(result).get(t).f64_const(0).f64_eq().select().set(result);
  f.get(t).get(result).get(t).f64_const(Infinity).f64_eq().get(t).get(t).f64_ne().i32_or();
  f.select();
}

/**
 * softmax_rows(x, out, rows, n, log), rows of n contiguous elements: out = x − (log Σ + shift)
 * for log-softmax, e / Σ for softmax, e = exp(x − shift) and Σ = Σ e in float64 in order, the
 * final step in float64 rounded once as the reference rounds it. exp runs over all the rows' elements
 * at once (a row of 10 would leave the vector exp's long dependency chains idle).
 */
function emitSoftmaxRows(m: ModuleBuilder): FunctionBuilder {
  const f = m.func('softmax_rows', ['i32', 'i32', 'i32', 'i32', 'i32'], []);
  const [x, out, rows, n, log] = [0, 1, 2, 3, 4].map((i) => f.param(i));
  const [r, rowBytes, xRow, outRow, total] = [
    f.local('i32'),
    f.local('i32'),
    f.local('i32'),
    f.local('i32'),
    f.local('i32'),
  ];
  const [shift, sum, lse, v] = [f.local('f32'), f.local('f64'), f.local('f64'), f.local('v128')];
  f.get(n).i32_const(2).i32_shl().set(rowBytes);
  f.get(rows).get(n).i32_mul().set(total);
  // Each row minus its shift, then exp of everything.
  const forEachRow = (body: () => void) => {
    f.get(x).set(xRow);
    f.get(out).set(outRow);
    f.for_(
      r,
      () => f.i32_const(0),
      () => f.get(rows),
      1,
      () => {
        body();
        f.get(xRow).get(rowBytes).i32_add().set(xRow);
        f.get(outRow).get(rowBytes).i32_add().set(outRow);
      },
    );
  };
  forEachRow(() => {
    emitRowShift(f, xRow, n, shift);
    elementLoop(
      f,
      n,
      (i) => {
        f.get(outRow).get(i).i32_add();
        f.get(xRow).get(i).i32_add().v128_load().get(shift).f32x4_splat().f32x4_sub().v128_store();
      },
      (i) => {
        f.get(outRow).get(i).i32_add();
        f.get(xRow).get(i).i32_add().f32_load().get(shift).f32_sub().f32_store();
      },
    );
  });
  emitExpLoop(f, out, out, total);
  // The row's out = f32(op(f64(a))), a the row at `a`: per vector two f64x2 halves, joined.
  const finishRow = (a: Local, vectorOp: () => void, scalarOp: () => void) =>
    elementLoop(
      f,
      n,
      (i) => {
        f.get(a).get(i).i32_add().v128_load().set(v);
        f.get(outRow).get(i).i32_add();
        f.get(v).f64x2_promote_low_f32x4();
        vectorOp();
        f.f32x4_demote_f64x2_zero();
        f.get(v).get(v).i8x16_shuffle(HIGH_TO_LOW).f64x2_promote_low_f32x4();
        vectorOp();
        f.f32x4_demote_f64x2_zero().i8x16_shuffle(LOW_HALVES).v128_store();
      },
      (i) => {
        f.get(outRow).get(i).i32_add();
        f.get(a).get(i).i32_add().f32_load().f64_promote_f32();
        scalarOp();
        f.f32_demote_f64().f32_store();
      },
    );
  forEachRow(() => {
    sumInOrder(f, outRow, rowBytes, sum);
    f.get(log).if_(
      () => {
        emitRowShift(f, xRow, n, shift);
        emitRowLog(f, sum);
        f.get(shift).f64_promote_f32().f64_add().set(lse);
        finishRow(
          xRow,
          () => f.get(lse).f64x2_splat().f64x2_sub(),
          () => f.get(lse).f64_sub(),
        );
      },
      () =>
        finishRow(
          outRow,
          () => f.get(sum).f64x2_splat().f64x2_div(),
          () => f.get(sum).f64_div(),
        ),
    );
  });
  return f;
}

/**
 * log_softmax_backward_rows(g, y, out, rows, n): per row of n contiguous elements,
 * out = g − exp(y)·s with s = Σ g (float64 in order, rounded once), every step rounded to float32
 * as the reference kernel rounds it; exp over all the rows at once first.
 */
function emitLogSoftmaxBackwardRows(m: ModuleBuilder): FunctionBuilder {
  const f = m.func('log_softmax_backward_rows', ['i32', 'i32', 'i32', 'i32', 'i32'], []);
  const [g, y, out, rows, n] = [0, 1, 2, 3, 4].map((i) => f.param(i));
  const [r, rowBytes, total] = [f.local('i32'), f.local('i32'), f.local('i32')];
  const sum = f.local('f32');
  const gTotal = f.local('f64');
  f.get(n).i32_const(2).i32_shl().set(rowBytes);
  f.get(rows).get(n).i32_mul().set(total);
  emitExpLoop(f, y, out, total);
  f.for_(
    r,
    () => f.i32_const(0),
    () => f.get(rows),
    1,
    () => {
      sumInOrder(f, g, rowBytes, gTotal);
      f.get(gTotal).f32_demote_f64().set(sum);
      elementLoop(
        f,
        n,
        (i) => {
          f.get(out).get(i).i32_add();
          f.get(g).get(i).i32_add().v128_load();
          f.get(out).get(i).i32_add().v128_load().get(sum).f32x4_splat().f32x4_mul();
          f.f32x4_sub().v128_store();
        },
        (i) => {
          f.get(out).get(i).i32_add();
          f.get(g).get(i).i32_add().f32_load();
          f.get(out).get(i).i32_add().f32_load().get(sum).f32_mul();
          f.f32_sub().f32_store();
        },
      );
      f.get(g).get(rowBytes).i32_add().set(g);
      f.get(out).get(rowBytes).i32_add().set(out);
    },
  );
  return f;
}

/** The elementwise kernels, by the ids the task dispatcher (gemm_module.ts) knows them by. */
export const EW = {
  RELU: 0,
  RELU_BACKWARD: 1,
  ADD: 2,
  SUB: 3,
  MUL: 4,
  DIV: 5,
  SUM_ROWS: 6,
  SUM_EACH_ROW: 7,
  SCATTER_ADD_ROWS: 8,
  SWAP_OUTER: 9,
  ADAM: 10,
  /** gemm_module.ts's sgd_f32(p, g, n, scale). */
  SGD: 11,
  SOFTMAX_ROWS: 12,
  LOG_SOFTMAX_BACKWARD_ROWS: 13,
} as const;

/** Emits every elementwise kernel into `m` (a SIMD module), by id. */
export function emitElementwiseKernels(m: ModuleBuilder): Map<number, FunctionBuilder> {
  return new Map<number, FunctionBuilder>([
    [EW.RELU, emitRelu(m)],
    [EW.RELU_BACKWARD, emitReluBackward(m)],
    [EW.ADD, emitBinary(m, 'add')],
    [EW.SUB, emitBinary(m, 'sub')],
    [EW.MUL, emitBinary(m, 'mul')],
    [EW.DIV, emitBinary(m, 'div')],
    [EW.SUM_ROWS, emitSumRows(m)],
    [EW.SUM_EACH_ROW, emitSumEachRow(m)],
    [EW.SCATTER_ADD_ROWS, emitScatterAddRows(m)],
    [EW.SWAP_OUTER, emitSwapOuter(m)],
    [EW.ADAM, emitAdam(m)],
    [EW.SOFTMAX_ROWS, emitSoftmaxRows(m)],
    [EW.LOG_SOFTMAX_BACKWARD_ROWS, emitLogSoftmaxBackwardRows(m)],
  ]);
}
