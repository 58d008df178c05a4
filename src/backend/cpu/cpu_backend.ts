/**
 * The reference CPU backend: plain TypeScript over TypedArrays. It is the oracle that faster
 * backends are tested against, so it favours clarity over speed. The elementwise, reduction, copy
 * and fill kernels first try a bit-identical fast path (fast_paths.ts: plain loops for
 * contiguous, scalar, broadcast-row and transposed layouts); the strided loops below stay as the
 * general case and the oracle (setCpuFastPaths(false) forces them; test/cpu_fast_paths.test.ts).
 */
import type {
  ArgReduceOp,
  BackendPrimitives,
  BinaryOp,
  FusedKernels,
  Conv2dGeometry,
  MaxPool2dResult,
  ReduceOp,
  Storage,
  UnaryOp,
  View,
} from '../backend.js';
import { allocateTypedArray, type DType, type TypedArray } from '../../tensor/dtype.js';
import {
  allocateStorage,
  cpuDeviceMemory,
  resetCpuPeakMemory,
  setCpuMemoryLimit,
} from './storage.js';
import { traceKernel } from '../kernel_trace.js';
import { contiguousStrides, convOutputSize, shapeSize } from '../../tensor/shape.js';
import { binaryOpDef, unaryOpDef, unreachableOp } from '../op_table.js';
import { positionsOf } from './strided.js';
import {
  binaryFast,
  copyFast,
  copyIntoFast,
  fillFast,
  reduceFast,
  unaryFast,
  whereFast,
} from './fast_paths.js';
import {
  adamUpdateKernel,
  batchNormApplyKernel,
  batchNormStatsKernel,
  layerNormKernel,
  nllLossBackwardKernel,
  nllLossKernel,
  sgdUpdateKernel,
  softmaxBackwardKernel,
  softmaxKernel,
} from './fused_kernels.js';
import { geluBackwardKernel, geluKernel } from './gelu_kernels.js';
import { scaledSoftmaxBackwardKernel, scaledSoftmaxKernel } from './attention_kernels.js';
import { layerNormBackwardKernel, rmsNormBackwardKernel, rmsNormKernel } from './norm_kernels.js';

function dataOf(view: { storage: Storage }): TypedArray {
  return view.storage as TypedArray;
}

/** Shape and strides of `x` with `axis` moved last: lets 1-axis kernels walk rows. */
function splitAxis(x: View, axis: number) {
  const outerShape = x.shape.filter((_, i) => i !== axis);
  const outerStrides = x.strides.filter((_, i) => i !== axis);
  return { outerShape, outerStrides, length: x.shape[axis], step: x.strides[axis] };
}

function rowStarts(x: View, axis: number) {
  const { outerShape, outerStrides, length, step } = splitAxis(x, axis);
  const starts = positionsOf({ shape: outerShape, strides: outerStrides, offset: x.offset });
  return { rows: shapeSize(outerShape), starts, length, step };
}

const REDUCE_INIT: Record<ReduceOp, number> = { sum: 0, prod: 1, max: -Infinity, min: Infinity };

/** Writes view x, converted to `dtype`, into `out` in row-major order. */
function copyView(x: View, dtype: DType, out: TypedArray): TypedArray {
  if (copyFast(x, dtype, out)) return out;
  const size = out.length;
  const src = dataOf(x);
  const at = positionsOf(x);
  if (dtype === 'bool') for (let i = 0; i < size; i++) out[i] = src[at(i)] !== 0 ? 1 : 0;
  else if (dtype === 'int32') for (let i = 0; i < size; i++) out[i] = Math.trunc(src[at(i)]);
  else for (let i = 0; i < size; i++) out[i] = src[at(i)];
  return out;
}

/** The reference backend: every primitive, and the fused kernels it has loops for. */
export type CpuBackend = BackendPrimitives &
  Pick<
    FusedKernels,
    | 'softmax'
    | 'softmaxBackward'
    | 'layerNorm'
    | 'layerNormBackward'
    | 'rmsNorm'
    | 'rmsNormBackward'
    | 'batchNormStats'
    | 'batchNormApply'
    | 'nllLoss'
    | 'nllLossBackward'
    | 'sgdUpdate'
    | 'adamUpdate'
    | 'gelu'
    | 'geluBackward'
    | 'scaledSoftmax'
    | 'scaledSoftmaxBackward'
  >;

export const cpuBackend: CpuBackend = {
  name: 'cpu',
  memory: cpuDeviceMemory,
  setMemoryLimit: setCpuMemoryLimit,
  resetPeakMemory: resetCpuPeakMemory,

  allocate(dtype: DType, size: number): Storage {
    return allocateStorage(dtype, size);
  },

  fromValues(dtype: DType, data: ArrayLike<number>): Storage {
    const out = allocateStorage(dtype, data.length, false);
    if (dtype === 'bool')
      for (let i = 0; i < data.length; i++) out[i] = Number(data[i]) !== 0 ? 1 : 0;
    else out.set(data as ArrayLike<number>);
    return out;
  },

  async read(view: View): Promise<TypedArray> {
    return this.readSync(view);
  },

  canReadSync: true,

  readSync(view: View): TypedArray {
    // An array of the caller's own, never kernel storage (which may be a view of shared memory).
    return copyView(view, view.dtype, allocateTypedArray(view.dtype, shapeSize(view.shape)));
  },

  copy(x: View, dtype: DType): Storage {
    return copyView(x, dtype, allocateStorage(dtype, shapeSize(x.shape), false));
  },

  unary(op: UnaryOp, x: View, outDType: DType): Storage {
    const size = shapeSize(x.shape);
    const src = dataOf(x);
    const out = allocateStorage(outDType, size, false);
    if (unaryFast(op, x, out)) {
      traceKernel(op, 'fast-path');
      return out;
    }
    traceKernel(op, 'strided');
    const f = unaryOpDef(op).forward;
    const at = positionsOf(x);
    for (let i = 0; i < size; i++) out[i] = f(src[at(i)]);
    return out;
  },

  binary(op: BinaryOp, a: View, b: View, outDType: DType): Storage {
    const size = shapeSize(a.shape);
    const da = dataOf(a);
    const db = dataOf(b);
    const out = allocateStorage(outDType, size, false);
    if (binaryFast(op, a, b, outDType, out)) {
      traceKernel(op, 'fast-path');
      return out;
    }
    traceKernel(op, 'strided');
    const def = binaryOpDef(op);
    const f = (outDType === 'int32' && a.dtype !== 'bool' && def.integer) || def.forward;
    const atA = positionsOf(a);
    const atB = positionsOf(b);
    if (outDType === 'bool')
      for (let i = 0; i < size; i++) out[i] = f(da[atA(i)], db[atB(i)]) !== 0 ? 1 : 0;
    else for (let i = 0; i < size; i++) out[i] = f(da[atA(i)], db[atB(i)]);
    return out;
  },

  where(condition: View, a: View, b: View, outDType: DType): Storage {
    const size = shapeSize(condition.shape);
    const dc = dataOf(condition);
    const da = dataOf(a);
    const db = dataOf(b);
    const out = allocateStorage(outDType, size, false);
    if (whereFast(condition, a, b, out)) return out;
    const atC = positionsOf(condition);
    const atA = positionsOf(a);
    const atB = positionsOf(b);
    for (let i = 0; i < size; i++) out[i] = dc[atC(i)] ? da[atA(i)] : db[atB(i)];
    return out;
  },

  reduce(op: ReduceOp, x: View, axes: readonly number[], outDType: DType): Storage {
    const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const out = allocateStorage(outDType, shapeSize(outShape));
    // Walk the input; each element lands in the output cell whose reduced coordinates are 0.
    const outStrides = contiguousStrides(outShape).map((s, i) => (axes.includes(i) ? 0 : s));
    const accumulator = new Float64Array(out.length).fill(REDUCE_INIT[op]);
    if (reduceFast(op, x, outStrides, accumulator)) {
      traceKernel(op, 'fast-path');
      out.set(accumulator);
      return out;
    }
    traceKernel(op, 'strided');
    const src = dataOf(x);
    const at = positionsOf(x);
    const target = positionsOf({ shape: x.shape, strides: outStrides, offset: 0 });
    const size = shapeSize(x.shape);
    switch (op) {
      case 'sum':
        for (let i = 0; i < size; i++) accumulator[target(i)] += src[at(i)];
        break;
      case 'prod':
        for (let i = 0; i < size; i++) accumulator[target(i)] *= src[at(i)];
        break;
      case 'max':
        for (let i = 0; i < size; i++) {
          const v = src[at(i)];
          const j = target(i);
          if (v > accumulator[j] || v !== v) accumulator[j] = v;
        }
        break;
      case 'min':
        for (let i = 0; i < size; i++) {
          const v = src[at(i)];
          const j = target(i);
          if (v < accumulator[j] || v !== v) accumulator[j] = v;
        }
        break;
      default:
        unreachableOp(op, 'reduce');
    }
    out.set(accumulator);
    return out;
  },

  argReduce(op: ArgReduceOp, x: View, axis: number): Storage {
    const { rows, starts, length, step } = rowStarts(x, axis);
    const src = dataOf(x);
    const out = new Int32Array(rows);
    const better =
      op === 'argmax' ? (a: number, b: number) => a > b : (a: number, b: number) => a < b;
    for (let r = 0; r < rows; r++) {
      const start = starts(r);
      let best = 0;
      let bestValue = src[start];
      for (let k = 1; k < length && bestValue === bestValue; k++) {
        const v = src[start + k * step];
        if (better(v, bestValue) || v !== v) {
          best = k;
          bestValue = v;
        }
      }
      out[r] = best;
    }
    return out;
  },

  cumsum(x: View, axis: number, outDType: DType): Storage {
    const { rows, starts, length, step } = rowStarts(x, axis);
    const src = dataOf(x);
    const out = allocateStorage(outDType, shapeSize(x.shape));
    // Output is contiguous in x's shape; the rows of axis `axis` have stride outStep in it.
    const outStrides = contiguousStrides(x.shape);
    const outRows = rowStarts({ ...x, strides: outStrides, offset: 0 }, axis);
    for (let r = 0; r < rows; r++) {
      const start = starts(r);
      const outStart = outRows.starts(r);
      let total = 0;
      for (let k = 0; k < length; k++) {
        total += src[start + k * step];
        out[outStart + k * outRows.step] = total;
      }
    }
    return out;
  },

  matmul(a: View, b: View, outDType: DType): Storage {
    traceKernel('matmul', 'typescript');
    const [batch, m, k] = a.shape;
    const n = b.shape[2];
    const da = dataOf(a);
    const db = dataOf(b);
    const out = allocateStorage(outDType, batch * m * n);
    const [sab, sam, sak] = a.strides;
    const [sbb, sbk, sbn] = b.strides;
    const row = new Float64Array(n);
    for (let p = 0; p < batch; p++) {
      for (let i = 0; i < m; i++) {
        row.fill(0);
        const aRow = a.offset + p * sab + i * sam;
        for (let q = 0; q < k; q++) {
          const av = da[aRow + q * sak];
          if (av === 0) continue;
          const bRow = b.offset + p * sbb + q * sbk;
          for (let j = 0; j < n; j++) row[j] += av * db[bRow + j * sbn];
        }
        out.set(row, (p * m + i) * n);
      }
    }
    // The zero skip above must not hide NaN/Inf in b: redo rows where b is non-finite.
    if (!Number.isFinite(sumAbsView(b))) return matmulExact(a, b, outDType);
    return out;
  },

  gather(x: View, dim: number, index: View): Storage {
    const size = shapeSize(index.shape);
    const src = dataOf(x);
    const idx = dataOf(index);
    const out = allocateStorage(x.dtype, size);
    const atIndex = positionsOf(index);
    // Position in x of the element with index's coordinates, before the gathered dim is applied.
    const base = positionsOf({
      shape: index.shape,
      strides: x.strides.map((s, i) => (i === dim ? 0 : s)),
      offset: x.offset,
    });
    const size_dim = x.shape[dim];
    for (let i = 0; i < size; i++) {
      const j = idx[atIndex(i)];
      if (j < 0 || j >= size_dim) {
        throw new RangeError(
          `gather: index ${j} is out of bounds for dimension ${dim} with size ${size_dim}`,
        );
      }
      out[i] = src[base(i) + j * x.strides[dim]];
    }
    return out;
  },

  scatter(base: View, dim: number, index: View, src: View, mode: 'add' | 'assign'): Storage {
    const out = this.copy(base, base.dtype) as TypedArray;
    const outStrides = contiguousStrides(base.shape);
    const size = shapeSize(index.shape);
    const idx = dataOf(index);
    const values = dataOf(src);
    const atIndex = positionsOf(index);
    const atSrc = positionsOf({ shape: index.shape, strides: src.strides, offset: src.offset });
    const target = positionsOf({
      shape: index.shape,
      strides: outStrides.map((s, i) => (i === dim ? 0 : s)),
      offset: 0,
    });
    const sizeDim = base.shape[dim];
    for (let i = 0; i < size; i++) {
      const j = idx[atIndex(i)];
      if (j < 0 || j >= sizeDim) {
        throw new RangeError(
          `${mode === 'add' ? 'scatterAdd' : 'scatter'}: index ${j} is out of bounds for dimension ${dim} with size ${sizeDim}`,
        );
      }
      const position = target(i) + j * outStrides[dim];
      out[position] = mode === 'add' ? out[position] + values[atSrc(i)] : values[atSrc(i)];
    }
    return out;
  },

  unfold2d(x: View, g: Conv2dGeometry, padValue: number): Storage {
    const [n, c, h, w] = x.shape;
    const [kh, kw] = g.kernel;
    const { outH, outW } = convOutputSize(h, w, g);
    const src = dataOf(x);
    const [sn, sc, sh, sw] = x.strides;
    const out = allocateStorage(x.dtype, n * c * kh * kw * outH * outW);
    forEachWindowElement([n, c, h, w], g, (o, b, ch, y, xx) => {
      out[o] = y < 0 ? padValue : src[x.offset + b * sn + ch * sc + y * sh + xx * sw];
    });
    return out;
  },

  fold2d(
    columns: View,
    outputShape: readonly [number, number, number, number],
    g: Conv2dGeometry,
  ): Storage {
    const [n, c, h, w] = outputShape;
    const cols = this.copy(columns, columns.dtype) as TypedArray;
    const out = allocateStorage(columns.dtype, n * c * h * w);
    forEachWindowElement(outputShape, g, (o, b, ch, y, xx) => {
      if (y >= 0) out[((b * c + ch) * h + y) * w + xx] += cols[o];
    });
    return out;
  },

  maxPool2d(x: View, g: Conv2dGeometry, [outH, outW]: readonly [number, number]): MaxPool2dResult {
    const [n, c, h, w] = x.shape;
    const src = dataOf(x);
    const [sn, sc, sh, sw] = x.strides;
    const values = allocateStorage(x.dtype, n * c * outH * outW);
    const indices = new Int32Array(n * c * outH * outW);
    let o = 0;
    for (let b = 0; b < n; b++)
      for (let ch = 0; ch < c; ch++)
        for (let oy = 0; oy < outH; oy++)
          for (let ox = 0; ox < outW; ox++, o++) {
            // PyTorch's rule: start at the first element inside the image; a later one wins if larger or NaN.
            let best = -Infinity;
            let at = -1;
            for (let ki = 0; ki < g.kernel[0]; ki++)
              for (let kj = 0; kj < g.kernel[1]; kj++) {
                const y = oy * g.stride[0] - g.padding[0] + ki * g.dilation[0];
                const xx = ox * g.stride[1] - g.padding[1] + kj * g.dilation[1];
                if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
                const v = src[x.offset + b * sn + ch * sc + y * sh + xx * sw];
                if (at === -1 || v > best || Number.isNaN(v)) {
                  best = v;
                  at = y * w + xx;
                }
              }
            values[o] = best;
            indices[o] = at;
          }
    return { values, indices };
  },

  copyInto(dst: View, src: View): void {
    const size = shapeSize(dst.shape);
    const out = dataOf(dst);
    const values = dataOf(src);
    if (copyIntoFast(dst, src)) return;
    const atDst = positionsOf(dst);
    const atSrc = positionsOf(src);
    const convert =
      dst.dtype === 'bool'
        ? (v: number) => (v !== 0 ? 1 : 0)
        : dst.dtype === 'int32'
          ? Math.trunc
          : (v: number) => v;
    for (let i = 0; i < size; i++) out[atDst(i)] = convert(values[atSrc(i)]);
  },

  fill(dst: View, value: number): void {
    const size = shapeSize(dst.shape);
    if (fillFast(dst, value)) return;
    const out = dataOf(dst);
    const at = positionsOf(dst);
    for (let i = 0; i < size; i++) out[at(i)] = value;
  },

  // Fused kernels (softmax, layer/batch norm, NLL, optimizer updates) live in fused_kernels.ts.
  softmax: softmaxKernel,
  softmaxBackward: softmaxBackwardKernel,
  layerNorm: layerNormKernel,
  layerNormBackward: layerNormBackwardKernel,
  rmsNorm: rmsNormKernel,
  rmsNormBackward: rmsNormBackwardKernel,
  batchNormStats: batchNormStatsKernel,
  batchNormApply: batchNormApplyKernel,
  nllLoss: nllLossKernel,
  nllLossBackward: nllLossBackwardKernel,
  sgdUpdate: sgdUpdateKernel,
  adamUpdate: adamUpdateKernel,
  gelu: geluKernel,
  geluBackward: geluBackwardKernel,
  // The attention softmax (attention_kernels.ts).
  scaledSoftmax: scaledSoftmaxKernel,
  scaledSoftmaxBackward: scaledSoftmaxBackwardKernel,
};

/**
 * Visits the column layout of unfold2d ([N, C·kh·kw, outH·outW], row-major): for column element
 * `o`, the image element it reads (batch b, channel ch, row y, column x), or y = x = -1 where the
 * window lies in the padding. unfold2d and fold2d (its adjoint) share this walk.
 */
function forEachWindowElement(
  [n, c, h, w]: readonly [number, number, number, number] | readonly number[],
  g: Conv2dGeometry,
  visit: (o: number, b: number, ch: number, y: number, x: number) => void,
): void {
  const { outH, outW } = convOutputSize(h, w, g);
  const [kh, kw] = g.kernel;
  let o = 0;
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let ki = 0; ki < kh; ki++)
        for (let kj = 0; kj < kw; kj++)
          for (let oy = 0; oy < outH; oy++) {
            const y = oy * g.stride[0] - g.padding[0] + ki * g.dilation[0];
            for (let ox = 0; ox < outW; ox++, o++) {
              const x = ox * g.stride[1] - g.padding[1] + kj * g.dilation[1];
              if (y < 0 || y >= h || x < 0 || x >= w) visit(o, b, ch, -1, -1);
              else visit(o, b, ch, y, x);
            }
          }
}

function sumAbsView(x: View): number {
  const src = dataOf(x);
  const at = positionsOf(x);
  let total = 0;
  const size = shapeSize(x.shape);
  for (let i = 0; i < size; i++) total += Math.abs(src[at(i)]);
  return total;
}

/** matmul without the zero-skip, so 0·Inf gives NaN as IEEE arithmetic requires. */
function matmulExact(a: View, b: View, outDType: DType): Storage {
  const [batch, m, k] = a.shape;
  const n = b.shape[2];
  const da = dataOf(a);
  const db = dataOf(b);
  const out = allocateStorage(outDType, batch * m * n);
  for (let p = 0; p < batch; p++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let total = 0;
        for (let q = 0; q < k; q++) {
          total +=
            da[a.offset + p * a.strides[0] + i * a.strides[1] + q * a.strides[2]] *
            db[b.offset + p * b.strides[0] + q * b.strides[1] + j * b.strides[2]];
        }
        out[(p * m + i) * n + j] = total;
      }
  return out;
}
