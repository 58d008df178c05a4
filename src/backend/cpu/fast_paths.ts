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
 * How the inner loops stay monomorphic: `switch (op)` sits outside the loop, and every case
 * has its own loop, so each call site `f(...)` only ever sees one function and V8 inlines it.
 * (One shared loop calling `table[op](...)` would be megamorphic: an indirect call per element.)
 * No code is generated at run time, so this works under a strict Content-Security-Policy.
 */
import {
  BOOL_RESULT_BINARY_OPS,
  type BinaryOp,
  type ReduceOp,
  type UnaryOp,
  type View,
} from '../backend.js';
import type { DType, TypedArray } from '../../tensor/dtype.js';
import { BINARY_KERNELS as B, INTEGER_BINARY_OVERRIDES, UNARY_KERNELS as U } from './kernels.js';

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

/** out[o..o+n) = f(x[i], x[i+s], …) with f the op's kernel; one loop per op (see the file comment). */
function unaryRow(
  op: UnaryOp,
  out: TypedArray,
  o: number,
  n: number,
  x: TypedArray,
  i: number,
  s: number,
): void {
  const end = o + n;
  switch (op) {
    case 'neg': {
      const f = U.neg;
      for (; o < end; o++, i += s) out[o] = f(x[i]);
      return;
    }
    case 'exp': {
      const f = U.exp;
      for (; o < end; o++, i += s) out[o] = f(x[i]);
      return;
    }
    case 'log': {
      const f = U.log;
      for (; o < end; o++, i += s) out[o] = f(x[i]);
      return;
    }
    case 'log1p': {
      const f = U.log1p;
      for (; o < end; o++, i += s) out[o] = f(x[i]);
      return;
    }
    case 'expm1': {
      const f = U.expm1;
      for (; o < end; o++, i += s) out[o] = f(x[i]);
      return;
    }
    case 'sqrt': {
      const f = U.sqrt;
      for (; o < end; o++, i += s) out[o] = f(x[i]);
      return;
    }
    case 'rsqrt': {
      const f = U.rsqrt;
      for (; o < end; o++, i += s) out[o] = f(x[i]);
      return;
    }
    case 'abs': {
      const f = U.abs;
      for (; o < end; o++, i += s) out[o] = f(x[i]);
      return;
    }
    case 'sign': {
      const f = U.sign;
      for (; o < end; o++, i += s) out[o] = f(x[i]);
      return;
    }
    case 'reciprocal': {
      const f = U.reciprocal;
      for (; o < end; o++, i += s) out[o] = f(x[i]);
      return;
    }
    case 'sin': {
      const f = U.sin;
      for (; o < end; o++, i += s) out[o] = f(x[i]);
      return;
    }
    case 'cos': {
      const f = U.cos;
      for (; o < end; o++, i += s) out[o] = f(x[i]);
      return;
    }
    case 'tan': {
      const f = U.tan;
      for (; o < end; o++, i += s) out[o] = f(x[i]);
      return;
    }
    case 'tanh': {
      const f = U.tanh;
      for (; o < end; o++, i += s) out[o] = f(x[i]);
      return;
    }
    case 'sigmoid': {
      const f = U.sigmoid;
      for (; o < end; o++, i += s) out[o] = f(x[i]);
      return;
    }
    case 'relu': {
      // U.relu without its branch (mispredicted half the time on activations): pick x or +0
      // from a two-slot table by an index that is 1 for x > 0 and for NaN, exactly as U.relu.
      const pick = RELU_PICK;
      for (; o < end; o++, i += s) {
        const v = x[i];
        pick[1] = v;
        out[o] = pick[+(v > 0) | +(v !== v)];
      }
      return;
    }
    case 'erf': {
      const f = U.erf;
      for (; o < end; o++, i += s) out[o] = f(x[i]);
      return;
    }
    case 'square': {
      const f = U.square;
      for (; o < end; o++, i += s) out[o] = f(x[i]);
      return;
    }
    case 'floor': {
      const f = U.floor;
      for (; o < end; o++, i += s) out[o] = f(x[i]);
      return;
    }
    case 'ceil': {
      const f = U.ceil;
      for (; o < end; o++, i += s) out[o] = f(x[i]);
      return;
    }
    case 'round': {
      const f = U.round;
      for (; o < end; o++, i += s) out[o] = f(x[i]);
      return;
    }
    case 'logicalNot': {
      const f = U.logicalNot;
      for (; o < end; o++, i += s) out[o] = f(x[i]);
      return;
    }
    case 'isnan': {
      const f = U.isnan;
      for (; o < end; o++, i += s) out[o] = f(x[i]);
      return;
    }
    case 'isinf': {
      const f = U.isinf;
      for (; o < end; o++, i += s) out[o] = f(x[i]);
      return;
    }
  }
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

/** out[o..o+n) = f(x[i], y[j]) stepping i by si and j by sj; one loop per op (see the file comment). */
function binaryRow(
  op: BinaryOp,
  integerMul: boolean,
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
  const end = o + n;
  switch (op) {
    case 'add': {
      const f = B.add;
      for (; o < end; o++, i += si, j += sj) out[o] = f(x[i], y[j]);
      return;
    }
    case 'sub': {
      const f = B.sub;
      for (; o < end; o++, i += si, j += sj) out[o] = f(x[i], y[j]);
      return;
    }
    case 'mul':
      if (integerMul) {
        const f = INTEGER_BINARY_OVERRIDES.mul!;
        for (; o < end; o++, i += si, j += sj) out[o] = f(x[i], y[j]);
      } else {
        const f = B.mul;
        for (; o < end; o++, i += si, j += sj) out[o] = f(x[i], y[j]);
      }
      return;
    case 'div': {
      const f = B.div;
      for (; o < end; o++, i += si, j += sj) out[o] = f(x[i], y[j]);
      return;
    }
    case 'pow': {
      const f = B.pow;
      for (; o < end; o++, i += si, j += sj) out[o] = f(x[i], y[j]);
      return;
    }
    case 'maximum': {
      const f = B.maximum;
      for (; o < end; o++, i += si, j += sj) out[o] = f(x[i], y[j]);
      return;
    }
    case 'minimum': {
      const f = B.minimum;
      for (; o < end; o++, i += si, j += sj) out[o] = f(x[i], y[j]);
      return;
    }
    case 'atan2': {
      const f = B.atan2;
      for (; o < end; o++, i += si, j += sj) out[o] = f(x[i], y[j]);
      return;
    }
    case 'eq': {
      const f = B.eq;
      for (; o < end; o++, i += si, j += sj) out[o] = f(x[i], y[j]);
      return;
    }
    case 'ne': {
      const f = B.ne;
      for (; o < end; o++, i += si, j += sj) out[o] = f(x[i], y[j]);
      return;
    }
    case 'lt': {
      const f = B.lt;
      for (; o < end; o++, i += si, j += sj) out[o] = f(x[i], y[j]);
      return;
    }
    case 'le': {
      const f = B.le;
      for (; o < end; o++, i += si, j += sj) out[o] = f(x[i], y[j]);
      return;
    }
    case 'gt': {
      const f = B.gt;
      for (; o < end; o++, i += si, j += sj) out[o] = f(x[i], y[j]);
      return;
    }
    case 'ge': {
      const f = B.ge;
      for (; o < end; o++, i += si, j += sj) out[o] = f(x[i], y[j]);
      return;
    }
    case 'logicalAnd': {
      const f = B.logicalAnd;
      for (; o < end; o++, i += si, j += sj) out[o] = f(x[i], y[j]);
      return;
    }
    case 'logicalOr': {
      const f = B.logicalOr;
      for (; o < end; o++, i += si, j += sj) out[o] = f(x[i], y[j]);
      return;
    }
  }
}

/**
 * The general binary kernel over two views of one shape into contiguous `out`; false where the
 * general loop must run (more than three loops, an integer override other than mul, or a bool
 * result of an op whose kernel can return other values than 0 and 1).
 */
export function binaryFast(
  op: BinaryOp,
  a: View,
  b: View,
  outDType: DType,
  out: TypedArray,
): boolean {
  if (!fastPathsEnabled) return false;
  const integer = outDType === 'int32' && a.dtype !== 'bool';
  if (integer && op !== 'mul' && INTEGER_BINARY_OVERRIDES[op] !== undefined) return false;
  // Other ops' kernels may return values other than 0 and 1, which a bool result must normalise.
  if (outDType === 'bool' && !BOOL_RESULT_BINARY_OPS.has(op)) return false;
  if (out.length === 0) return true;
  const integerMul = integer && op === 'mul';
  const da = a.storage as TypedArray;
  const db = b.storage as TypedArray;
  // One element (a scalar op, the commonest eager case): skip the loop planning.
  if (out.length === 1) {
    binaryRow(op, integerMul, out, 0, 1, da, a.offset, 0, db, b.offset, 0);
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
      binaryRow(op, integerMul, out, o, n2, da, i, a2, db, j, b2);
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
