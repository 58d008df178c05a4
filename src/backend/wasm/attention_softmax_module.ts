/**
 * The generated kernels of the attention softmax along the last dim of float32 scores
 * [..., L, S] (run by attention_softmax.ts): softmax(x·scale) with an optional causal mask
 * (query i = row mod L sees keys j ≤ i), and its gradient scale·y·(g − Σ g·y), which with scale
 * 1 and no mask is the plain softmax backward. They round as the reference kernels
 * (cpu/attention_kernels.ts); the forward's exp is softmax_module.ts's vector exp.
 */
import type { FunctionBuilder, Local, ModuleBuilder } from './emitter.js';
import { elementLoop } from './elementwise_loops.js';
import { divideRow, emitExpLoop, emitRowShift, sumInOrder } from './softmax_module.js';

/**
 * The loop over a task's rows of n floats shared by both kernels: `kept` is set to the row's
 * unmasked count (n, or min(i + 1, n) with i = (start + r) mod l when l > 0), then `body` runs
 * with each row pointer at the row; every pointer advances by a row after.
 */
function forEachRow(
  f: FunctionBuilder,
  rows: Local,
  n: Local,
  l: Local,
  start: Local,
  pointers: readonly Local[],
  kept: Local,
  body: () => void,
): void {
  const r = f.local('i32');
  f.for_(
    r,
    () => f.i32_const(0),
    () => f.get(rows),
    1,
    () => {
      f.get(n).set(kept);
      f.get(l).if_(() => {
        f.get(start).get(r).i32_add().get(l).i32_rem_s().i32_const(1).i32_add().set(kept);
        f.get(kept)
          .get(n)
          .i32_gt_s()
          .if_(() => f.get(n).set(kept));
      });
      body();
      for (const p of pointers) f.get(p).get(n).i32_const(2).i32_shl().i32_add().set(p);
    },
  );
}

/** Stores the f32 `value` (pushed by `value()`) at bytes [kept·4, n·4) of the row at `row`. */
function fillMasked(f: FunctionBuilder, row: Local, kept: Local, n: Local, value: () => void) {
  const i = f.local('i32');
  f.for_(
    i,
    () => f.get(kept).i32_const(2).i32_shl(),
    () => f.get(n).i32_const(2).i32_shl(),
    4,
    () => {
      f.get(row).get(i).i32_add();
      value();
      f.f32_store();
    },
  );
}

/**
 * scaled_softmax_rows(x, out, rows, n, scale, l, start): per row, out = f32(x·scale) over the
 * kept elements, minus the row's shift (their max, 0 when ±∞), exp (softmax_module.ts's vector
 * exp), then e / Σ e with Σ in float64 in order; the masked elements are 0 (exp(−∞) in the
 * composition). Row by row, so that the masked half of a causal row costs nothing but its zeros.
 */
export function emitScaledSoftmaxRows(m: ModuleBuilder): FunctionBuilder {
  const f = m.func('scaled_softmax_rows', ['i32', 'i32', 'i32', 'i32', 'f32', 'i32', 'i32'], []);
  const [x, out, rows, n, scale, l, start] = [0, 1, 2, 3, 4, 5, 6].map((i) => f.param(i));
  const kept = f.local('i32');
  const shift = f.local('f32');
  const sum = f.local('f64');
  forEachRow(f, rows, n, l, start, [x, out], kept, () => {
    emitRowShift(f, x, kept, shift, { scale, out });
    f.f64_const(0).set(sum);
    emitExpLoop(f, out, out, kept, { shift, total: sum });
    divideRow(f, out, kept, sum);
    fillMasked(f, out, kept, n, () => f.f32_const(0));
  });
  return f;
}

/**
 * scaled_softmax_backward_rows(g, y, out, rows, n, scale, l, start): per row, s = f32(Σ f32(g·y))
 * (float64 in order), then out = f32(f32(y·f32(g − s))·scale) over the kept elements and 0·scale
 * past them.
 */
export function emitScaledSoftmaxBackwardRows(m: ModuleBuilder): FunctionBuilder {
  const f = m.func(
    'scaled_softmax_backward_rows',
    ['i32', 'i32', 'i32', 'i32', 'i32', 'f32', 'i32', 'i32'],
    [],
  );
  const [g, y, out, rows, n, scale, l, start] = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => f.param(i));
  const [kept, rowBytes] = [f.local('i32'), f.local('i32')];
  const sum = f.local('f32');
  const total = f.local('f64');
  f.get(n).i32_const(2).i32_shl().set(rowBytes);
  const at = (p: Local, i: Local) => f.get(p).get(i).i32_add();
  forEachRow(f, rows, n, l, start, [g, y, out], kept, () => {
    // The products into out first, summed in order from there.
    elementLoop(
      f,
      n,
      (i) => {
        at(out, i);
        at(g, i).v128_load();
        at(y, i).v128_load().f32x4_mul().v128_store();
      },
      (i) => {
        at(out, i);
        at(g, i).f32_load();
        at(y, i).f32_load().f32_mul().f32_store();
      },
    );
    sumInOrder(f, out, rowBytes, total);
    f.get(total).f32_demote_f64().set(sum);
    elementLoop(
      f,
      kept,
      (i) => {
        at(out, i);
        at(g, i).v128_load().get(sum).f32x4_splat().f32x4_sub();
        at(y, i).v128_load().f32x4_mul().get(scale).f32x4_splat().f32x4_mul().v128_store();
      },
      (i) => {
        at(out, i);
        at(g, i).f32_load().get(sum).f32_sub();
        at(y, i).f32_load().f32_mul().get(scale).f32_mul().f32_store();
      },
    );
    fillMasked(f, out, kept, n, () => f.f32_const(0).get(scale).f32_mul());
  });
  return f;
}
