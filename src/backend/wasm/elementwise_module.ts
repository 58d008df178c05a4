/**
 * Generated WebAssembly SIMD kernels for the float32 elementwise work of a training step, run in
 * place on arena storage (arena.ts) as tasks of the kernel module (gemm_module.ts dispatches
 * them by id, in chunks over the threads): every unary and binary op whose op-table entry
 * (../op_table.ts) has WebAssembly code (relu; add, sub, mul, div on equal shapes or with a
 * broadcast row, the bias), relu's backward, column and row sums (bias gradients), max
 * pooling's scatter-add, conv2d's reorder, the Adam step (adam_module.ts), and softmax /
 * log-softmax with the log-softmax backward along the last dim (softmax_module.ts). Every kernel
 * gives the reference kernels' bits: the same float32 operations (never fused), sums accumulated
 * in float64 (the row sums in four interleaved partial sums), except exp in the softmax kernels,
 * a vector exp within 2 ulp of the reference's Math.exp. Addresses are bytes, sizes elements.
 */
import type { FunctionBuilder, ModuleBuilder } from './emitter.js';
import {
  BINARY_OP_NAMES,
  type BinaryOp,
  type BinaryWasm,
  binaryOpDef,
  UNARY_OP_NAMES,
  type UnaryOp,
  type UnaryWasm,
  unaryOpDef,
} from '../op_table.js';
import { emitAdam } from './adam_module.js';
import { addF64Halves, elementLoop, LOW_HALVES, whileFits } from './elementwise_loops.js';
import { emitLogSoftmaxBackwardRows, emitSoftmaxRows } from './softmax_module.js';
import { emitRnnGatesBackward, emitRnnGatesForward } from './rnn_gate_module.js';
import { emitGeluBackward, emitGeluForward } from './gelu_module.js';
import {
  emitScaledSoftmaxBackwardRows,
  emitScaledSoftmaxRows,
} from './attention_softmax_module.js';
import {
  emitLayerNormBackwardRows,
  emitLayerNormParamGrads,
  emitLayerNormRows,
} from './layer_norm_module.js';

/** unary_<op>(x, out, n): out[i] = op(x[i]), the op table's WebAssembly code four lanes at a time. */
function emitUnary(m: ModuleBuilder, op: UnaryOp, code: UnaryWasm): FunctionBuilder {
  const f = m.func(`unary_${op}`, ['i32', 'i32', 'i32'], []);
  const [x, out, n] = [0, 1, 2].map((i) => f.param(i));
  const v = f.local('v128');
  const s = f.local('f32');
  elementLoop(
    f,
    n,
    (i) => {
      f.get(out).get(i).i32_add();
      f.get(x).get(i).i32_add().v128_load().set(v);
      code.vector(f, v);
      f.v128_store();
    },
    (i) => {
      f.get(out).get(i).i32_add();
      f.get(x).get(i).i32_add().f32_load().set(s);
      code.scalar(f, s);
      f.f32_store();
    },
  );
  return f;
}

/**
 * binary_<op>(a, b, out, rows, cols, bRowStride): out[r, c] = a[r, c] op b[r·bRowStride + c]
 * (bRowStride 0: one row of b for every row), with the op table's WebAssembly code.
 */
function emitBinary(m: ModuleBuilder, op: BinaryOp, code: BinaryWasm): FunctionBuilder {
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
          code.vector(f);
          f.v128_store();
        },
        (i) => {
          f.get(out).get(i).i32_add();
          f.get(a).get(i).i32_add().f32_load();
          f.get(b).get(i).i32_add().f32_load();
          code.scalar(f);
          f.f32_store();
        },
      );
      f.get(a).get(rowBytes).i32_add().set(a);
      f.get(out).get(rowBytes).i32_add().set(out);
      f.get(b).get(bStep).i32_add().set(b);
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
    whileFits(f, c, end, 16 * vectors, () => {
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
            addF64Halves(f, low[q], high[q], v);
          }
          f.get(p).get(rowBytes).i32_add().set(p);
        },
      );
      for (let q = 0; q < vectors; q++) {
        f.get(out).get(c).i32_add();
        f.get(low[q]).f32x4_demote_f64x2_zero().get(high[q]).f32x4_demote_f64x2_zero();
        f.i8x16_shuffle(LOW_HALVES).v128_store(16 * q);
      }
    });
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
 * swap_outer(src, dst, bias, a0, a1, outer, inner, l, dstRow): [outer, inner, l] into dst [inner,
 * outer, l] for a in [a0, a1), adding bias[a] to src's row group a when `bias` is not 0 (conv2d).
 * dst's rows of l start every dstRow elements (l when dst is contiguous; more for a window of a
 * wider tensor, as split's gradient).
 */
function emitSwapOuter(m: ModuleBuilder): FunctionBuilder {
  const f = m.func(
    'swap_outer',
    ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'],
    [],
  );
  const [src, dst, bias, a0, a1, outer, inner, l, dstRow] = [0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) =>
    f.param(i),
  );
  const a = f.local('i32');
  const b = f.local('i32');
  const from = f.local('i32');
  const to = f.local('i32');
  const rowBytes = f.local('i32');
  const dstRowBytes = f.local('i32');
  const add = f.local('f32');
  const addv = f.local('v128');
  f.get(l).i32_const(2).i32_shl().set(rowBytes);
  f.get(dstRow).i32_const(2).i32_shl().set(dstRowBytes);
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
          // from = src + ((a·inner + b)·l)·4, to = dst + ((b·outer + a)·dstRow)·4
          f.get(src).get(a).get(inner).i32_mul().get(b).i32_add().get(rowBytes).i32_mul();
          f.i32_add().set(from);
          f.get(dst).get(b).get(outer).i32_mul().get(a).i32_add().get(dstRowBytes).i32_mul();
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
          addF64Halves(f, low, high, v);
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

/** The kernels other than the op table's, by the ids the task dispatcher (gemm_module.ts) knows them by. */
export const EW = {
  RELU_BACKWARD: 1,
  SUM_ROWS: 6,
  SUM_EACH_ROW: 7,
  SCATTER_ADD_ROWS: 8,
  SWAP_OUTER: 9,
  ADAM: 10,
  /** gemm_module.ts's sgd_f32(p, g, n, scale). */
  SGD: 11,
  SOFTMAX_ROWS: 12,
  LOG_SOFTMAX_BACKWARD_ROWS: 13,
  /** rnn_gate_module.ts's kernels: units are rows of one step; P0 = the parameter block, P1 = the mode. */
  RNN_GATES_FORWARD: 14,
  RNN_GATES_BACKWARD: 15,
  /** gelu_module.ts's kernels: units are elements; the last parameter is a GELU_MODE. */
  GELU_FORWARD: 26,
  GELU_BACKWARD: 27,
  /** attention_softmax_module.ts's kernels: units are rows; the causal row index needs `start`. */
  SCALED_SOFTMAX_ROWS: 24,
  SCALED_SOFTMAX_BACKWARD_ROWS: 25,
  /** layer_norm_module.ts's kernels: units are rows (columns for the parameter gradients); P0 = the parameter block. */
  LAYER_NORM_ROWS: 20,
  LAYER_NORM_BACKWARD_ROWS: 21,
  LAYER_NORM_PARAM_GRADS: 22,
} as const;

/** Ids of the op table's unary kernels (ops with WebAssembly code), from 32 in table order. */
export const UNARY_KERNEL_IDS: Partial<Record<UnaryOp, number>> = Object.fromEntries(
  UNARY_OP_NAMES.filter((op) => unaryOpDef(op).wasm !== null).map((op, i) => [op, 32 + i]),
);
/** Ids of the op table's binary kernels (ops with WebAssembly code), from 64 in table order. */
export const BINARY_KERNEL_IDS: Partial<Record<BinaryOp, number>> = Object.fromEntries(
  BINARY_OP_NAMES.filter((op) => binaryOpDef(op).wasm !== null).map((op, i) => [op, 64 + i]),
);

/** Emits every elementwise kernel into `m` (a SIMD module), by id. */
export function emitElementwiseKernels(m: ModuleBuilder): Map<number, FunctionBuilder> {
  const kernels = new Map<number, FunctionBuilder>();
  for (const op of UNARY_OP_NAMES) {
    const code = unaryOpDef(op).wasm;
    if (code) kernels.set(UNARY_KERNEL_IDS[op]!, emitUnary(m, op, code));
  }
  for (const op of BINARY_OP_NAMES) {
    const code = binaryOpDef(op).wasm;
    if (code) kernels.set(BINARY_KERNEL_IDS[op]!, emitBinary(m, op, code));
  }
  kernels.set(EW.RELU_BACKWARD, emitReluBackward(m));
  kernels.set(EW.SUM_ROWS, emitSumRows(m));
  kernels.set(EW.SUM_EACH_ROW, emitSumEachRow(m));
  kernels.set(EW.SCATTER_ADD_ROWS, emitScatterAddRows(m));
  kernels.set(EW.SWAP_OUTER, emitSwapOuter(m));
  kernels.set(EW.ADAM, emitAdam(m));
  kernels.set(EW.SOFTMAX_ROWS, emitSoftmaxRows(m));
  kernels.set(EW.LOG_SOFTMAX_BACKWARD_ROWS, emitLogSoftmaxBackwardRows(m));
  kernels.set(EW.RNN_GATES_FORWARD, emitRnnGatesForward(m));
  kernels.set(EW.RNN_GATES_BACKWARD, emitRnnGatesBackward(m));
  kernels.set(EW.GELU_FORWARD, emitGeluForward(m));
  kernels.set(EW.GELU_BACKWARD, emitGeluBackward(m));
  kernels.set(EW.SCALED_SOFTMAX_ROWS, emitScaledSoftmaxRows(m));
  kernels.set(EW.SCALED_SOFTMAX_BACKWARD_ROWS, emitScaledSoftmaxBackwardRows(m));
  kernels.set(EW.LAYER_NORM_ROWS, emitLayerNormRows(m));
  kernels.set(EW.LAYER_NORM_BACKWARD_ROWS, emitLayerNormBackwardRows(m));
  kernels.set(EW.LAYER_NORM_PARAM_GRADS, emitLayerNormParamGrads(m));
  return kernels;
}
