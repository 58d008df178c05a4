/** Reductions and their derivatives. Composite reductions (mean, var, logsumexp) reuse sum/amax. */
import type { ReduceOp } from '../../backend/backend.js';
import { isFloatingDType, type DType } from '../../tensor/dtype.js';
import { formatShape, normalizeDim, normalizeDims } from '../../tensor/shape.js';
import {
  boolArg,
  describeArg,
  numberArg,
  reduceArgs,
  singleDim,
  type Dims,
  type ReduceOptions,
} from '../../tensor/args.js';
import { Tensor } from '../../tensor/tensor.js';
import { isGradEnabled, noGrad } from '../grad_mode.js';
import { assertTensor, fromStorage, record, wantsGrad } from '../define.js';
import { where } from './elementwise.js';

/** `values` and `indices` of max/min along a dim; also destructures as `[values, indices]`. */
export type ValuesIndices = [Tensor, Tensor] & { values: Tensor; indices: Tensor };

export interface VarianceOptions extends ReduceOptions {
  /** Subtracted from the element count in the denominator; 1 (Bessel) by default. */
  correction?: number;
  /** Legacy spelling: unbiased=false means correction=0. */
  unbiased?: boolean;
}

/** A reduction's dim: one, several, all (undefined), or PyTorch's keywords as an options object. */
export type DimArg = Dims | ReduceOptions;
/** A reduction's keepdim, or the keyword arguments as an options object. */
export type KeepdimArg = boolean | ReduceOptions;
export type { ReduceOptions };

function keptShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function reducedShape(
  shape: readonly number[],
  axes: readonly number[],
  keepdim: boolean,
): number[] {
  return keepdim ? keptShape(shape, axes) : shape.filter((_, i) => !axes.includes(i));
}

function reduceForward(
  op: ReduceOp,
  x: Tensor,
  axes: number[],
  keepdim: boolean,
  dtype: DType,
): Tensor {
  if (op === 'max' || op === 'min') {
    for (const a of axes) {
      if (x.shape[a] === 0) {
        throw new Error(
          `${op === 'max' ? 'amax' : 'amin'}: cannot reduce over dimension ${a} of size 0 (shape ${formatShape(x.shape)}): the operation has no identity`,
        );
      }
    }
  }
  const storage = x.backend.reduce(op, x, axes, dtype);
  return fromStorage(storage, reducedShape(x.shape, axes, keepdim), dtype, x);
}

/** Sums `grad` over the dims that broadcasting expanded, giving a tensor of `shape`. */
export function sumToShape(grad: Tensor, shape: readonly number[]): Tensor {
  if (grad.shape.length === shape.length && grad.shape.every((d, i) => d === shape[i])) return grad;
  const lead = grad.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < grad.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && grad.shape[i] !== 1)) axes.push(i);
  }
  const summed = axes.length ? sum(grad, axes, true) : grad;
  return summed.reshape([...shape]);
}

/** Broadcasts a reduced gradient back over the reduced dims of `shape`. */
function expandBack(g: Tensor, shape: readonly number[], axes: readonly number[]): Tensor {
  return g.reshape(keptShape(shape, axes)).expand([...shape]);
}

/**
 * Sum over `dim` (all dims by default). Integer and bool inputs sum to int32.
 * @example
 * tensor([[1, 2], [3, 4]]).sum(0); // tensor([4., 6.])
 */
export function sum(input: Tensor, dim?: DimArg, keepdim?: KeepdimArg): Tensor {
  const x = assertTensor('sum', input);
  const args = reduceArgs('sum', dim, keepdim);
  const axes = normalizeDims('sum', args.dim, x.ndim);
  const dtype: DType = isFloatingDType(x.dtype) ? x.dtype : 'int32';
  const out = reduceForward('sum', x, axes, args.keepdim, dtype);
  if (!wantsGrad(x)) return out; // no graph: skip building the backward closure
  return record('SumBackward', out, [x], [], (g) => [expandBack(g, x.shape, axes)]);
}

export function mean(input: Tensor, dim?: DimArg, keepdim?: KeepdimArg): Tensor {
  const x = assertTensor('mean', input);
  const args = reduceArgs('mean', dim, keepdim);
  if (!isFloatingDType(x.dtype)) {
    throw new TypeError(
      `mean: input dtype must be floating point, got ${x.dtype}; convert with .float() first`,
    );
  }
  const axes = normalizeDims('mean', args.dim, x.ndim);
  const count = axes.reduce((n, a) => n * x.shape[a], 1);
  return sum(x, axes, args.keepdim).div(count);
}

/** Product over one dim (or all). The gradient is exact also when elements are zero. */
export function prod(input: Tensor, dim?: number | ReduceOptions, keepdim?: KeepdimArg): Tensor {
  const x = assertTensor('prod', input);
  const args = reduceArgs('prod', dim, keepdim);
  const axes = normalizeDims('prod', singleDim('prod', args.dim), x.ndim);
  const dtype: DType = isFloatingDType(x.dtype) ? x.dtype : 'int32';
  const out = reduceForward('prod', x, axes, args.keepdim, dtype);
  return record('ProdBackward', out, [x], [x], (g, [sx]) => {
    // Recording a graph (createGraph): the where-based rule below is flat in the zero elements,
    // so it would give wrong second derivatives at zeros; use products of the others instead.
    if (isGradEnabled()) return [expandBack(g, sx.shape, axes).mul(productOfOthers(sx, axes))];
    // ∂/∂xᵢ Πx = Π_{j≠i} xⱼ: out/xᵢ without zeros; with one zero, only that element gets
    // the product of the others; with two or more, every partial derivative is zero.
    const isZero = sx.eq(0);
    const nonZero = where(isZero, 1, sx);
    const zeros = sum(isZero, axes, true);
    const othersAlong = prodKeep(nonZero, axes);
    const partial = where(
      zeros.eq(0),
      othersAlong.div(nonZero),
      where(zeros.eq(1).logicalAnd(isZero), othersAlong, 0),
    );
    return [expandBack(g, sx.shape, axes).mul(partial)];
  });
}

/**
 * Π_{j≠i} xⱼ along `axes` (one axis, or all), as a differentiable expression without division:
 * exclusive running products from the left times those from the right, each by log₂ n doubling steps.
 */
function productOfOthers(x: Tensor, axes: readonly number[]): Tensor {
  if (x.ndim === 0) return x.mul(0).add(1);
  const all = axes.length !== 1;
  const rows = all ? x.reshape([-1]) : x.transpose(axes[0], -1);
  const n = rows.shape[rows.ndim - 1];
  const before = (s: number) =>
    Tensor.fromStorage(
      x.backend.fromValues(
        'bool',
        Array.from({ length: n }, (_, i) => (i < s ? 1 : 0)),
      ),
      [n],
      'bool',
      x.backend,
    );
  const shiftIn = (t: Tensor, s: number) => where(before(s), 1, t.roll(s, -1));
  const exclusiveRunning = (t: Tensor) => {
    let running = t;
    for (let s = 1; s < n; s *= 2) running = running.mul(shiftIn(running, s));
    return shiftIn(running, 1);
  };
  const others = exclusiveRunning(rows).mul(exclusiveRunning(rows.flip(-1)).flip(-1));
  return all ? others.reshape([...x.shape]) : others.transpose(axes[0], -1);
}

/** prod over several axes with keepdim, as repeated single-axis products. */
function prodKeep(x: Tensor, axes: readonly number[]): Tensor {
  let out = x;
  for (const a of axes) out = prod(out, a, true);
  return out;
}

/** var and std's arguments, read once under the op's own name. */
function varianceArgs(op: string, input: Tensor, dim: unknown, keepdim: unknown, options: unknown) {
  const x = assertTensor(op, input);
  if (!isFloatingDType(x.dtype))
    throw new TypeError(`${op}: input dtype must be floating point, got ${x.dtype}`);
  const args = reduceArgs(op, dim, keepdim, ['correction', 'unbiased'] as const, options);
  const { correction, unbiased } = args.options;
  if (correction !== undefined && unbiased !== undefined)
    throw new TypeError(`${op}: give correction or unbiased, not both`);
  const c =
    correction !== undefined
      ? numberArg(op, 'correction', correction)
      : unbiased !== undefined && !boolArg(op, 'unbiased', unbiased)
        ? 0
        : 1;
  return { x, axes: normalizeDims(op, args.dim, x.ndim), keepdim: args.keepdim, correction: c };
}

function varianceOf(a: ReturnType<typeof varianceArgs>): Tensor {
  const count = a.axes.reduce((n, i) => n * a.x.shape[i], 1);
  const centered = a.x.sub(mean(a.x, a.axes, true));
  return sum(centered.square(), a.axes, a.keepdim).div(Math.max(0, count - a.correction));
}

/**
 * Variance over `dim` (all dims by default), with Bessel's correction unless told otherwise;
 * PyTorch's keyword arguments go in an options object.
 * @example
 * x.var(1, { correction: 0 }); // torch: x.var(1, correction=0)
 * x.var({ dim: 1, keepdim: true, unbiased: false });
 */
export function variance(
  input: Tensor,
  dim?: Dims | VarianceOptions,
  keepdim?: boolean | VarianceOptions,
  options?: VarianceOptions,
): Tensor {
  return varianceOf(varianceArgs('var', input, dim, keepdim, options));
}

/** Standard deviation: the square root of var, with the same arguments. */
export function std(
  input: Tensor,
  dim?: Dims | VarianceOptions,
  keepdim?: boolean | VarianceOptions,
  options?: VarianceOptions,
): Tensor {
  return varianceOf(varianceArgs('std', input, dim, keepdim, options)).sqrt();
}

/** Max over dims; ties share the gradient evenly, as PyTorch's amax. */
function extremum(op: 'max' | 'min', input: Tensor, dim: unknown, keepdim: unknown): Tensor {
  const name = op === 'max' ? 'amax' : 'amin';
  const x = assertTensor(name, input);
  const args = reduceArgs(name, dim, keepdim);
  const axes = normalizeDims(name, args.dim, x.ndim);
  const out = reduceForward(op, x, axes, args.keepdim, x.dtype);
  return record(
    op === 'max' ? 'AmaxBackward' : 'AminBackward',
    out,
    [x],
    [x, out],
    (g, [sx, so]) => {
      const hits = sx.eq(expandBack(so, sx.shape, axes));
      const count = sum(hits, axes, true);
      return [where(hits, expandBack(g, sx.shape, axes).div(count.expand([...sx.shape])), 0)];
    },
  );
}

export function amax(x: Tensor, dim?: DimArg, keepdim?: KeepdimArg): Tensor {
  return extremum('max', x, dim, keepdim);
}

export function amin(x: Tensor, dim?: DimArg, keepdim?: KeepdimArg): Tensor {
  return extremum('min', x, dim, keepdim);
}

function argReduce(
  op: 'argmax' | 'argmin',
  input: Tensor,
  dim: number | undefined,
  keepdim: boolean,
): Tensor {
  const x = assertTensor(op, input);
  if (dim === undefined) {
    if (x.numel() === 0) throw new Error(`${op}: expected a non-empty tensor`);
    const flat = argReduce(op, x.reshape([-1]), 0, false);
    return keepdim ? flat.reshape(x.shape.map(() => 1)) : flat;
  }
  const axis = normalizeDim(op, dim, x.ndim);
  if (x.ndim === 0) return fromStorage(x.backend.fromValues('int32', [0]), [], 'int32', x);
  if (x.shape[axis] === 0) throw new Error(`${op}: cannot reduce over dimension ${axis} of size 0`);
  const storage = x.backend.argReduce(op, x, axis);
  return fromStorage(storage, reducedShape(x.shape, [axis], keepdim), 'int32', x);
}

export function argmax(x: Tensor, dim?: number | ReduceOptions, keepdim?: KeepdimArg): Tensor {
  const args = reduceArgs('argmax', dim, keepdim);
  return argReduce('argmax', x, singleDim('argmax', args.dim), args.keepdim);
}

export function argmin(x: Tensor, dim?: number | ReduceOptions, keepdim?: KeepdimArg): Tensor {
  const args = reduceArgs('argmin', dim, keepdim);
  return argReduce('argmin', x, singleDim('argmin', args.dim), args.keepdim);
}

/** max along `dim` with the index of the first maximum; the gradient goes to that index. */
function selectAlong(
  op: 'argmax' | 'argmin',
  x: Tensor,
  dim: number,
  keepdim: boolean,
): ValuesIndices {
  const axis = normalizeDim(op === 'argmax' ? 'max' : 'min', dim, x.ndim);
  const indices = argReduce(op, x, axis, true);
  let values = x.ndim === 0 ? x.mul(1) : x.gather(axis, indices);
  let idx = indices;
  if (!keepdim && x.ndim > 0) {
    values = values.squeeze(axis);
    idx = idx.squeeze(axis);
  }
  return Object.assign([values, idx] as [Tensor, Tensor], { values, indices: idx });
}

export function maxAlong(
  x: Tensor,
  dim: number | ReduceOptions,
  keepdim?: KeepdimArg,
): ValuesIndices {
  return along('max', x, dim, keepdim);
}

export function minAlong(
  x: Tensor,
  dim: number | ReduceOptions,
  keepdim?: KeepdimArg,
): ValuesIndices {
  return along('min', x, dim, keepdim);
}

function along(op: 'max' | 'min', x: Tensor, dim: unknown, keepdim: unknown): ValuesIndices {
  const args = reduceArgs(op, dim, keepdim);
  const d = singleDim(op, args.dim);
  if (d === undefined) throw new TypeError(`${op}: the options object must give dim`);
  return selectAlong(op === 'max' ? 'argmax' : 'argmin', assertTensor(op, x), d, args.keepdim);
}

/** log Σ exp(x), computed stably by shifting by the max; the gradient is softmax. */
export function logsumexp(input: Tensor, dim?: DimArg, keepdim?: KeepdimArg): Tensor {
  const x = assertTensor('logsumexp', input);
  const args = reduceArgs('logsumexp', dim, keepdim);
  const axes = normalizeDims('logsumexp', args.dim, x.ndim);
  return logsumexpOver(x, axes, args.keepdim);
}

function logsumexpOver(x: Tensor, axes: number[], keepdim: boolean): Tensor {
  if (axes.some((a) => x.shape[a] === 0)) return sum(x, axes, keepdim).add(-Infinity);
  const shift = noGrad(() => {
    const m = amax(x, axes, true);
    return where(m.isinf(), 0, m);
  });
  const out = sum(x.sub(shift).exp(), axes, true).log().add(shift);
  return keepdim ? out : out.reshape(reducedShape(x.shape, axes, false));
}

export interface NormOptions extends ReduceOptions {
  p?: number | 'fro';
}

/**
 * Vector p-norm over `dim` (all elements by default): p = 2 / 'fro' is Euclidean, also 1, Infinity,
 * -Infinity, 0 (count of non-zeros) and any other positive p. The gradient at 0 is 0, as PyTorch.
 */
export function norm(
  input: Tensor,
  p: number | 'fro' | NormOptions = 2,
  dim?: DimArg,
  keepdim?: KeepdimArg,
): Tensor {
  const x = assertTensor('norm', input);
  if (!isFloatingDType(x.dtype))
    throw new TypeError(`norm: input dtype must be floating point, got ${x.dtype}`);
  // norm({ p, dim, keepdim }): every argument by keyword.
  const byKeyword = typeof p === 'object' && p !== null && !Array.isArray(p);
  if (byKeyword && (dim !== undefined || keepdim !== undefined))
    throw new TypeError('norm: an options object given as p must be the only argument');
  const args = byKeyword
    ? reduceArgs('norm', p, undefined, ['p'] as const)
    : reduceArgs('norm', dim, keepdim);
  const rawP = byKeyword ? ((args.options as { p?: unknown }).p ?? 2) : p;
  const order = rawP === 'fro' ? 2 : (rawP as number);
  if (typeof order !== 'number' || Number.isNaN(order))
    throw new RangeError(`norm: invalid order p=${describeArg(rawP)}`);
  dim = args.dim;
  keepdim = args.keepdim;
  const axes = normalizeDims('norm', dim, x.ndim);
  if (order === Infinity) return amax(x.abs(), axes, keepdim);
  if (order === -Infinity) return amin(x.abs(), axes, keepdim);
  if (order === 0) return sum(x.ne(0), axes, keepdim).to(x.dtype);
  if (order === 1) return sum(x.abs(), axes, keepdim);
  if (order < 0)
    throw new RangeError(
      `norm: order p=${order} is not supported; use p > 0, 0, Infinity or -Infinity`,
    );
  const out = noGrad(() => sum(x.abs().pow(order), axes, true).pow(1 / order));
  const result = record('NormBackward', out, [x], [x, out], (g, [sx, so]) => {
    // ∂‖x‖ₚ/∂x = x·|x|^(p−2) / ‖x‖ₚ^(p−1), and 0 where the norm is 0.
    const scale = order === 2 ? sx : sx.mul(sx.abs().pow(order - 2));
    const gradient = g.mul(scale).div(so.pow(order - 1));
    return [where(so.eq(0), 0, gradient)];
  });
  return keepdim ? result : result.reshape(reducedShape(x.shape, axes, false));
}

/** Running sum along `dim`. */
export function cumsum(input: Tensor, dim: number): Tensor {
  const x = assertTensor('cumsum', input);
  const axis = normalizeDim('cumsum', dim, x.ndim);
  const dtype: DType = isFloatingDType(x.dtype) ? x.dtype : 'int32';
  if (x.ndim === 0) return x.to(dtype).mul(1);
  const out = fromStorage(x.backend.cumsum(x, axis, dtype), x.shape, dtype, x);
  // The adjoint of a running sum is the reversed running sum: total − cumsum + g.
  return record('CumsumBackward', out, [x], [], (g) => [
    sum(g, axis, true).sub(cumsum(g, axis)).add(g),
  ]);
}
