/**
 * Fast paths of the reference CPU kernels. The general kernels in cpu_backend.ts call one
 * position closure per operand per element and one scalar function through a table; here the
 * operands' dims are merged into at most three nested loops over plain typed-array indices
 * (contiguous tensors become one loop, a bias [N, C] ⊕ [C] two, a transposed matrix two, a
 * scalar operand a stride of 0), and each op gets its own inner loop.
 *
 * Results are bit-identical to the general path: every element goes through the very same
 * scalar function of kernels.ts (relu alone has a branch-free equivalent, and long contiguous
 * copies use TypedArray.set), stores go into the same typed arrays (same rounding), and
 * reductions visit each output cell's inputs in the same row-major order with the same
 * float64 accumulator. Layouts that need more than three loops return false and the caller
 * runs its general strided loop. test/cpu_fast_paths.test.ts checks both paths against each other.
 *
 * How the inner loops stay monomorphic: each op has a row loop of its own (UNARY_ROWS,
 * BINARY_ROWS: one function literal per op), so each call site `f(...)` only ever sees one
 * function and V8 inlines it. (One shared loop calling `table[op](...)` is megamorphic: an
 * indirect call per element.) An op without a row of its own here runs the shared loop over its
 * op-table forward: the same bits, only slower, so a new op is right on every path at once and
 * gets a row here when it is hot. No code is generated at run time, so this works under a strict
 * Content-Security-Policy.
 */
import type { ReduceOp, View } from '../backend.js';
import {
  BINARY_OPS as B,
  BOOL_RESULT_BINARY_OPS,
  type BinaryOp,
  binaryOpDef,
  unaryOpDef,
  UNARY_OPS as U,
  type UnaryOp,
  unreachableOp,
} from '../op_table.js';
import type { DType, TypedArray } from '../../tensor/dtype.js';

let fastPathsEnabled = true;

/** Internal, for tests and debugging: turns the fast paths off, so every kernel runs its general strided loop. */
export function setCpuFastPaths(enabled: boolean): void {
  fastPathsEnabled = enabled;
}

/**
 * The loops collapse() plans: sizes [n0, n1, n2] and, for operand v, strides loopStride[v] =
 * [s0, s1, s2]. Module-level scratch instead of a fresh object per call (kernels run on small
 * tensors in the eager path too); safe because kernels never nest, and each reads them into
 * locals right after planning. Row-major element order is kept: merging only joins neighbouring
 * dims, so element k of the loops is element k of the views.
 */
const loopSize = [1, 1, 1];
const loopStride = [
  [0, 0, 0],
  [0, 0, 0],
  [0, 0, 0],
];

/**
 * Merges `shape`'s dims into at most three loops for `operands` (1 to 3) views with strides
 * sa, sb, sc (all of `shape`; unused ones are ignored), into loopSize / loopStride. Returns
 * false when the layout needs more loops. Size-1 dims are dropped; dim d joins the loop before
 * it when, for every operand, that loop's stride is stride[d]·shape[d] (so the pair walks memory
 * like one dim). Fewer than three loops are padded at the front with size 1, stride 0.
 */
function collapse(
  shape: readonly number[],
  operands: number,
  sa: readonly number[],
  sb: readonly number[],
  sc: readonly number[],
): boolean {
  const [ta, tb, tc] = loopStride;
  let k = 0;
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d];
    if (n === 1) continue;
    const last = k - 1;
    if (
      k > 0 &&
      ta[last] === sa[d] * n &&
      (operands < 2 || tb[last] === sb[d] * n) &&
      (operands < 3 || tc[last] === sc[d] * n)
    ) {
      loopSize[last] *= n;
      ta[last] = sa[d];
      tb[last] = sb[d];
      tc[last] = sc[d];
      continue;
    }
    if (k === 3) return false;
    loopSize[k] = n;
    ta[k] = sa[d];
    tb[k] = sb[d];
    tc[k] = sc[d];
    k++;
  }
  // Right-align the k loops; the outer ones left over get size 1 and stride 0.
  for (let i = 2, j = k - 1; i >= 0; i--, j--) {
    loopSize[i] = j >= 0 ? loopSize[j] : 1;
    ta[i] = j >= 0 ? ta[j] : 0;
    tb[i] = j >= 0 ? tb[j] : 0;
    tc[i] = j >= 0 ? tc[j] : 0;
  }
  return true;
}

function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (let i = 0; i < shape.length; i++) size *= shape[i];
  return size;
}

// ---- unary ----

/** relu's lookup table: slot 0 holds +0, slot 1 the current element (float64, so exact). */
const RELU_PICK = new Float64Array(2);

/**
 * relu of n contiguous float32 elements on their bits, about 1.5 times faster than the pick loop:
 * keep them, or clear them to +0, by a mask from the sign bit (NaNs, whose magnitude bits exceed
 * the infinity pattern, kept), so the result is forward's.
 */
function reluF32Row(out: Float32Array, o: number, n: number, x: Float32Array, i: number): void {
  const src = new Int32Array(x.buffer, x.byteOffset + i * 4, n);
  const bits = new Int32Array(out.buffer, out.byteOffset + o * 4, n);
  for (let k = 0; k < n; k++) {
    const b = src[k];
    bits[k] = b & (~(b >> 31) | ((0x7f800000 - (b & 0x7fffffff)) >> 31));
  }
}

/** out[o..o+n) = f(x[i], x[i+s], …) with f the op's forward. */
type UnaryRow = (
  out: TypedArray,
  o: number,
  n: number,
  x: TypedArray,
  i: number,
  s: number,
) => void;

/** Each op's own row loop (see the file comment); ops without one run sharedUnaryRow. */
const UNARY_ROWS: Partial<Record<UnaryOp, UnaryRow>> = {
  neg: (out, o, n, x, i, s) => {
    for (const f = U.neg.forward, end = o + n; o < end; o++, i += s) out[o] = f(x[i]);
  },
  exp: (out, o, n, x, i, s) => {
    for (const f = U.exp.forward, end = o + n; o < end; o++, i += s) out[o] = f(x[i]);
  },
  log: (out, o, n, x, i, s) => {
    for (const f = U.log.forward, end = o + n; o < end; o++, i += s) out[o] = f(x[i]);
  },
  log1p: (out, o, n, x, i, s) => {
    for (const f = U.log1p.forward, end = o + n; o < end; o++, i += s) out[o] = f(x[i]);
  },
  expm1: (out, o, n, x, i, s) => {
    for (const f = U.expm1.forward, end = o + n; o < end; o++, i += s) out[o] = f(x[i]);
  },
  sqrt: (out, o, n, x, i, s) => {
    for (const f = U.sqrt.forward, end = o + n; o < end; o++, i += s) out[o] = f(x[i]);
  },
  rsqrt: (out, o, n, x, i, s) => {
    for (const f = U.rsqrt.forward, end = o + n; o < end; o++, i += s) out[o] = f(x[i]);
  },
  abs: (out, o, n, x, i, s) => {
    for (const f = U.abs.forward, end = o + n; o < end; o++, i += s) out[o] = f(x[i]);
  },
  sign: (out, o, n, x, i, s) => {
    for (const f = U.sign.forward, end = o + n; o < end; o++, i += s) out[o] = f(x[i]);
  },
  reciprocal: (out, o, n, x, i, s) => {
    for (const f = U.reciprocal.forward, end = o + n; o < end; o++, i += s) out[o] = f(x[i]);
  },
  sin: (out, o, n, x, i, s) => {
    for (const f = U.sin.forward, end = o + n; o < end; o++, i += s) out[o] = f(x[i]);
  },
  cos: (out, o, n, x, i, s) => {
    for (const f = U.cos.forward, end = o + n; o < end; o++, i += s) out[o] = f(x[i]);
  },
  tan: (out, o, n, x, i, s) => {
    for (const f = U.tan.forward, end = o + n; o < end; o++, i += s) out[o] = f(x[i]);
  },
  tanh: (out, o, n, x, i, s) => {
    for (const f = U.tanh.forward, end = o + n; o < end; o++, i += s) out[o] = f(x[i]);
  },
  sigmoid: (out, o, n, x, i, s) => {
    for (const f = U.sigmoid.forward, end = o + n; o < end; o++, i += s) out[o] = f(x[i]);
  },
  relu: (out, o, n, x, i, s) => {
    if (s === 1 && n >= 64 && x instanceof Float32Array && out instanceof Float32Array)
      return reluF32Row(out, o, n, x, i);
    // relu's forward without its branch (mispredicted half the time on activations): pick x or
    // +0 from a two-slot table by an index that is 1 for x > 0 and for NaN, exactly as forward.
    const pick = RELU_PICK;
    for (const end = o + n; o < end; o++, i += s) {
      const v = x[i];
      pick[1] = v;
      out[o] = pick[+(v > 0) | +(v !== v)];
    }
  },
  erf: (out, o, n, x, i, s) => {
    for (const f = U.erf.forward, end = o + n; o < end; o++, i += s) out[o] = f(x[i]);
  },
  square: (out, o, n, x, i, s) => {
    for (const f = U.square.forward, end = o + n; o < end; o++, i += s) out[o] = f(x[i]);
  },
  floor: (out, o, n, x, i, s) => {
    for (const f = U.floor.forward, end = o + n; o < end; o++, i += s) out[o] = f(x[i]);
  },
  ceil: (out, o, n, x, i, s) => {
    for (const f = U.ceil.forward, end = o + n; o < end; o++, i += s) out[o] = f(x[i]);
  },
  round: (out, o, n, x, i, s) => {
    for (const f = U.round.forward, end = o + n; o < end; o++, i += s) out[o] = f(x[i]);
  },
  logicalNot: (out, o, n, x, i, s) => {
    for (const f = U.logicalNot.forward, end = o + n; o < end; o++, i += s) out[o] = f(x[i]);
  },
  isnan: (out, o, n, x, i, s) => {
    for (const f = U.isnan.forward, end = o + n; o < end; o++, i += s) out[o] = f(x[i]);
  },
  isinf: (out, o, n, x, i, s) => {
    for (const f = U.isinf.forward, end = o + n; o < end; o++, i += s) out[o] = f(x[i]);
  },
};

function unaryRow(
  op: UnaryOp,
  out: TypedArray,
  o: number,
  n: number,
  x: TypedArray,
  i: number,
  s: number,
): void {
  const row = UNARY_ROWS[op];
  if (row !== undefined) row(out, o, n, x, i, s);
  else for (let f = unaryOpDef(op).forward, end = o + n; o < end; o++, i += s) out[o] = f(x[i]);
}

/** The general kernel's `out[i] = f(x[i])` over a view, into contiguous `out`; false if the layout needs the general loop. */
export function unaryFast(op: UnaryOp, x: View, out: TypedArray): boolean {
  if (!fastPathsEnabled) return false;
  if (out.length === 0) return true;
  if (!collapse(x.shape, 1, x.strides, x.strides, x.strides)) return false;
  const [n0, n1, n2] = loopSize;
  const [x0, x1, x2] = loopStride[0];
  const src = x.storage as TypedArray;
  let o = 0;
  for (let i0 = 0; i0 < n0; i0++) {
    for (let i1 = 0, i = x.offset + i0 * x0; i1 < n1; i1++, i += x1, o += n2)
      unaryRow(op, out, o, n2, src, i, x2);
  }
  return true;
}

// ---- binary ----

/** out[o..o+n) = f(x[i], y[j]) stepping i by si and j by sj, f the op's forward. */
type BinaryRow = (
  out: TypedArray,
  o: number,
  n: number,
  x: TypedArray,
  i: number,
  si: number,
  y: TypedArray,
  j: number,
  sj: number,
) => void;

/** Each op's own row loop (see the file comment); ops without one run the shared loop. */
const BINARY_ROWS: Partial<Record<BinaryOp, BinaryRow>> = {
  add: (out, o, n, x, i, si, y, j, sj) => {
    for (const f = B.add.forward, end = o + n; o < end; o++, i += si, j += sj)
      out[o] = f(x[i], y[j]);
  },
  sub: (out, o, n, x, i, si, y, j, sj) => {
    for (const f = B.sub.forward, end = o + n; o < end; o++, i += si, j += sj)
      out[o] = f(x[i], y[j]);
  },
  mul: (out, o, n, x, i, si, y, j, sj) => {
    for (const f = B.mul.forward, end = o + n; o < end; o++, i += si, j += sj)
      out[o] = f(x[i], y[j]);
  },
  div: (out, o, n, x, i, si, y, j, sj) => {
    for (const f = B.div.forward, end = o + n; o < end; o++, i += si, j += sj)
      out[o] = f(x[i], y[j]);
  },
  pow: (out, o, n, x, i, si, y, j, sj) => {
    for (const f = B.pow.forward, end = o + n; o < end; o++, i += si, j += sj)
      out[o] = f(x[i], y[j]);
  },
  maximum: (out, o, n, x, i, si, y, j, sj) => {
    for (const f = B.maximum.forward, end = o + n; o < end; o++, i += si, j += sj)
      out[o] = f(x[i], y[j]);
  },
  minimum: (out, o, n, x, i, si, y, j, sj) => {
    for (const f = B.minimum.forward, end = o + n; o < end; o++, i += si, j += sj)
      out[o] = f(x[i], y[j]);
  },
  atan2: (out, o, n, x, i, si, y, j, sj) => {
    for (const f = B.atan2.forward, end = o + n; o < end; o++, i += si, j += sj)
      out[o] = f(x[i], y[j]);
  },
  eq: (out, o, n, x, i, si, y, j, sj) => {
    for (const f = B.eq.forward, end = o + n; o < end; o++, i += si, j += sj)
      out[o] = f(x[i], y[j]);
  },
  ne: (out, o, n, x, i, si, y, j, sj) => {
    for (const f = B.ne.forward, end = o + n; o < end; o++, i += si, j += sj)
      out[o] = f(x[i], y[j]);
  },
  lt: (out, o, n, x, i, si, y, j, sj) => {
    for (const f = B.lt.forward, end = o + n; o < end; o++, i += si, j += sj)
      out[o] = f(x[i], y[j]);
  },
  le: (out, o, n, x, i, si, y, j, sj) => {
    for (const f = B.le.forward, end = o + n; o < end; o++, i += si, j += sj)
      out[o] = f(x[i], y[j]);
  },
  gt: (out, o, n, x, i, si, y, j, sj) => {
    for (const f = B.gt.forward, end = o + n; o < end; o++, i += si, j += sj)
      out[o] = f(x[i], y[j]);
  },
  ge: (out, o, n, x, i, si, y, j, sj) => {
    for (const f = B.ge.forward, end = o + n; o < end; o++, i += si, j += sj)
      out[o] = f(x[i], y[j]);
  },
  logicalAnd: (out, o, n, x, i, si, y, j, sj) => {
    for (const f = B.logicalAnd.forward, end = o + n; o < end; o++, i += si, j += sj)
      out[o] = f(x[i], y[j]);
  },
  logicalOr: (out, o, n, x, i, si, y, j, sj) => {
    for (const f = B.logicalOr.forward, end = o + n; o < end; o++, i += si, j += sj)
      out[o] = f(x[i], y[j]);
  },
};

/** The row loop for `op`, or with `integer` (the op's int32 kernel) the shared loop over that. */
function binaryRow(
  op: BinaryOp,
  integer: ((a: number, b: number) => number) | undefined,
  out: TypedArray,
  o: number,
  n: number,
  x: TypedArray,
  i: number,
  si: number,
  y: TypedArray,
  j: number,
  sj: number,
): void {
  const row = integer === undefined ? BINARY_ROWS[op] : undefined;
  if (row !== undefined) return row(out, o, n, x, i, si, y, j, sj);
  const f = integer ?? binaryOpDef(op).forward;
  for (const end = o + n; o < end; o++, i += si, j += sj) out[o] = f(x[i], y[j]);
}

/**
 * The general binary kernel over two views of one shape into contiguous `out`; false where the
 * general loop must run (more than three loops, or a bool result of an op whose kernel can return
 * other values than 0 and 1).
 */
export function binaryFast(
  op: BinaryOp,
  a: View,
  b: View,
  outDType: DType,
  out: TypedArray,
): boolean {
  if (!fastPathsEnabled) return false;
  const integer = outDType === 'int32' && a.dtype !== 'bool' ? binaryOpDef(op).integer : undefined;
  // Other ops' kernels may return values other than 0 and 1, which a bool result must normalise.
  if (outDType === 'bool' && !BOOL_RESULT_BINARY_OPS.has(op)) return false;
  if (out.length === 0) return true;
  const da = a.storage as TypedArray;
  const db = b.storage as TypedArray;
  // One element (a scalar op, the commonest eager case): skip the loop planning.
  if (out.length === 1) {
    binaryRow(op, integer, out, 0, 1, da, a.offset, 0, db, b.offset, 0);
    return true;
  }
  if (!collapse(a.shape, 2, a.strides, b.strides, b.strides)) return false;
  const [n0, n1, n2] = loopSize;
  const [a0, a1, a2] = loopStride[0];
  const [b0, b1, b2] = loopStride[1];
  let o = 0;
  for (let i0 = 0; i0 < n0; i0++) {
    let i = a.offset + i0 * a0;
    let j = b.offset + i0 * b0;
    for (let i1 = 0; i1 < n1; i1++, i += a1, j += b1, o += n2)
      binaryRow(op, integer, out, o, n2, da, i, a2, db, j, b2);
  }
  return true;
}

// ---- where ----

/** out = condition ? a : b over three views of one shape; false if the layout needs the general loop. */
export function whereFast(condition: View, a: View, b: View, out: TypedArray): boolean {
  if (!fastPathsEnabled) return false;
  if (out.length === 0) return true;
  if (!collapse(condition.shape, 3, condition.strides, a.strides, b.strides)) return false;
  const [n0, n1, n2] = loopSize;
  const [c0, c1, c2] = loopStride[0];
  const [a0, a1, a2] = loopStride[1];
  const [b0, b1, b2] = loopStride[2];
  const dc = condition.storage as TypedArray;
  const da = a.storage as TypedArray;
  const db = b.storage as TypedArray;
  let o = 0;
  for (let i0 = 0; i0 < n0; i0++) {
    let ic = condition.offset + i0 * c0;
    let ia = a.offset + i0 * a0;
    let ib = b.offset + i0 * b0;
    for (let i1 = 0; i1 < n1; i1++, ic += c1, ia += a1, ib += b1) {
      for (let k = 0, c = ic, p = ia, q = ib; k < n2; k++, o++, c += c2, p += a2, q += b2)
        out[o] = dc[c] ? da[p] : db[q];
    }
  }
  return true;
}

// ---- copies and fills ----

/** How a copy converts each value, as the general copy does: bool → 0/1, int32 → truncated. */
type Conversion = 'bool' | 'int32' | 'plain';

/** From this many contiguous elements on, copies use TypedArray.set (its subarray view costs more than a short loop). */
const BULK_COPY_MIN = 256;

function conversionTo(dtype: DType): Conversion {
  return dtype === 'bool' ? 'bool' : dtype === 'int32' ? 'int32' : 'plain';
}

/** dst[o], dst[o+so], … = convert(src[i], src[i+si], …) for n elements. */
function copyRow(
  conversion: Conversion,
  dst: TypedArray,
  o: number,
  so: number,
  n: number,
  src: TypedArray,
  i: number,
  si: number,
): void {
  switch (conversion) {
    case 'plain':
      for (let k = 0; k < n; k++, o += so, i += si) dst[o] = src[i];
      return;
    case 'bool':
      for (let k = 0; k < n; k++, o += so, i += si) dst[o] = src[i] !== 0 ? 1 : 0;
      return;
    case 'int32':
      for (let k = 0; k < n; k++, o += so, i += si) dst[o] = Math.trunc(src[i]);
      return;
    default:
      unreachableOp(conversion, 'copy');
  }
}

/**
 * A contiguous copy of view `x` into `out`, converted to `dtype`; false if the layout needs the
 * general loop. A transposed matrix is two loops with a strided inner read. (Blocking it in
 * square tiles measured no faster for the MLP's 784×256 weight gradients, so it is not done.)
 */
export function copyFast(x: View, dtype: DType, out: TypedArray): boolean {
  if (!fastPathsEnabled) return false;
  if (out.length === 0) return true;
  if (!collapse(x.shape, 1, x.strides, x.strides, x.strides)) return false;
  const [n0, n1, n2] = loopSize;
  const [x0, x1, x2] = loopStride[0];
  const src = x.storage as TypedArray;
  const conversion = conversionTo(dtype);
  if (conversion === 'plain' && n0 === 1 && n1 === 1 && x2 === 1 && n2 >= BULK_COPY_MIN) {
    // One contiguous run: TypedArray.set converts element by element exactly as `out[o] = src[i]`, but natively.
    out.set(src.subarray(x.offset, x.offset + n2));
    return true;
  }
  let o = 0;
  for (let i0 = 0; i0 < n0; i0++) {
    for (let i1 = 0, i = x.offset + i0 * x0; i1 < n1; i1++, i += x1, o += n2)
      copyRow(conversion, out, o, 1, n2, src, i, x2);
  }
  return true;
}

/** Writes view `src` into view `dst` (same shape) in row-major order, as the general copyInto; false if the layout needs the general loop. */
export function copyIntoFast(dst: View, src: View): boolean {
  if (!fastPathsEnabled) return false;
  if (sizeOf(dst.shape) === 0) return true;
  // Row-major order is kept (no tiling here): dst and src may share storage, and the general
  // loop's result for overlapping views depends on its order.
  if (!collapse(dst.shape, 2, dst.strides, src.strides, src.strides)) return false;
  const [n0, n1, n2] = loopSize;
  const [d0, d1, d2] = loopStride[0];
  const [s0, s1, s2] = loopStride[1];
  const out = dst.storage as TypedArray;
  const values = src.storage as TypedArray;
  const conversion = conversionTo(dst.dtype);
  if (
    conversion === 'plain' &&
    n0 === 1 &&
    n1 === 1 &&
    d2 === 1 &&
    s2 === 1 &&
    n2 >= BULK_COPY_MIN &&
    out !== values
  ) {
    // As in copyFast; not for shared storage, where set() copies as if through a temporary and the
    // row-major loop does not.
    out.set(values.subarray(src.offset, src.offset + n2), dst.offset);
    return true;
  }
  for (let i0 = 0; i0 < n0; i0++) {
    let o = dst.offset + i0 * d0;
    let i = src.offset + i0 * s0;
    for (let i1 = 0; i1 < n1; i1++, o += d1, i += s1)
      copyRow(conversion, out, o, d2, n2, values, i, s2);
  }
  return true;
}

/** Writes `value` into every element of view `dst`; false if the layout needs the general loop. */
export function fillFast(dst: View, value: number): boolean {
  if (!fastPathsEnabled) return false;
  if (sizeOf(dst.shape) === 0) return true;
  if (!collapse(dst.shape, 1, dst.strides, dst.strides, dst.strides)) return false;
  const [n0, n1, n2] = loopSize;
  const [d0, d1, d2] = loopStride[0];
  const out = dst.storage as TypedArray;
  for (let i0 = 0; i0 < n0; i0++) {
    for (let i1 = 0, o = dst.offset + i0 * d0; i1 < n1; i1++, o += d1) {
      if (d2 === 1) out.fill(value, o, o + n2);
      else for (let k = 0, p = o; k < n2; k++, p += d2) out[p] = value;
    }
  }
  return true;
}

// ---- reductions ----

/**
 * Folds n elements of x (from i, step s) into the accumulator. With step `sa` = 0 they all go
 * into acc[j] (a reduced inner dim: kept in a local, same additions in the same order); else
 * element k goes into acc[j + k·sa] (a kept inner dim, a reduced outer one).
 */
function reduceRow(
  op: ReduceOp,
  acc: Float64Array,
  j: number,
  sa: number,
  n: number,
  x: TypedArray,
  i: number,
  s: number,
): void {
  if (sa === 0) {
    let total = acc[j];
    switch (op) {
      case 'sum':
        for (let k = 0; k < n; k++, i += s) total += x[i];
        break;
      case 'prod':
        for (let k = 0; k < n; k++, i += s) total *= x[i];
        break;
      case 'max':
        for (let k = 0; k < n; k++, i += s) {
          const v = x[i];
          if (v > total || v !== v) total = v;
        }
        break;
      case 'min':
        for (let k = 0; k < n; k++, i += s) {
          const v = x[i];
          if (v < total || v !== v) total = v;
        }
        break;
      default:
        unreachableOp(op, 'reduce');
    }
    acc[j] = total;
    return;
  }
  switch (op) {
    case 'sum':
      for (let k = 0; k < n; k++, i += s, j += sa) acc[j] += x[i];
      return;
    case 'prod':
      for (let k = 0; k < n; k++, i += s, j += sa) acc[j] *= x[i];
      return;
    case 'max':
      for (let k = 0; k < n; k++, i += s, j += sa) {
        const v = x[i];
        if (v > acc[j] || v !== v) acc[j] = v;
      }
      return;
    case 'min':
      for (let k = 0; k < n; k++, i += s, j += sa) {
        const v = x[i];
        if (v < acc[j] || v !== v) acc[j] = v;
      }
      return;
    default:
      unreachableOp(op, 'reduce');
  }
}

/**
 * The general reduce's accumulation: every element of x, in row-major order, folded into
 * acc[outIndex] where `accStrides` (x's rank; 0 on reduced axes) maps x's index to its output
 * cell. `acc` comes filled with the op's initial value. False if the layout needs the general loop.
 */
export function reduceFast(
  op: ReduceOp,
  x: View,
  accStrides: readonly number[],
  acc: Float64Array,
): boolean {
  if (!fastPathsEnabled) return false;
  if (sizeOf(x.shape) === 0) return true;
  // A reduced and a kept dim never merge: the kept one has a non-zero accumulator stride, the
  // reduced one 0, and merging needs (outer stride) = (inner stride)·(inner size).
  if (!collapse(x.shape, 2, x.strides, accStrides, accStrides)) return false;
  const [n0, n1, n2] = loopSize;
  const [x0, x1, x2] = loopStride[0];
  const [o0, o1, o2] = loopStride[1];
  const src = x.storage as TypedArray;
  for (let i0 = 0; i0 < n0; i0++) {
    let i = x.offset + i0 * x0;
    let j = i0 * o0;
    for (let i1 = 0; i1 < n1; i1++, i += x1, j += o1) reduceRow(op, acc, j, o2, n2, src, i, x2);
  }
  return true;
}
