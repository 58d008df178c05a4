/**
 * The elementwise ops as functions: the op table's unary and binary ops (backend/op_table.ts
 * declares each with its derivative; here they run and record it), where, clamp and cast. Binary
 * ops broadcast; their backward sums each gradient back to its operand's shape (sumToShape).
 */
import { type BinaryOp, binaryOpDef } from '../../backend/op_table.js';
import { assertAllocatable, isFloatingDType, type DType } from '../../tensor/dtype.js';
import { broadcastShapes, formatShape, shapesEqual } from '../../tensor/shape.js';
import { Tensor, type TensorLike } from '../../tensor/tensor.js';
import {
  assertTensor,
  binaryOperands,
  broadcastView,
  castRaw,
  fromStorage,
  record,
  scalarTensor,
  wantsGrad,
} from '../define.js';
import { sumToShape } from './reduction.js';
import { applyUnary, backwardName } from './unary.js';

// ---- unary: the op table's ops as functions (Tensor methods: tensor/tensor.ts) ----

export const neg = (x: Tensor) => applyUnary('neg', x);
export const exp = (x: Tensor) => applyUnary('exp', x);
export const log = (x: Tensor) => applyUnary('log', x);
export const log1p = (x: Tensor) => applyUnary('log1p', x);
export const expm1 = (x: Tensor) => applyUnary('expm1', x);
export const sqrt = (x: Tensor) => applyUnary('sqrt', x);
export const rsqrt = (x: Tensor) => applyUnary('rsqrt', x);
export const abs = (x: Tensor) => applyUnary('abs', x);
export const sign = (x: Tensor) => applyUnary('sign', x);
export const reciprocal = (x: Tensor) => applyUnary('reciprocal', x);
export const sin = (x: Tensor) => applyUnary('sin', x);
export const cos = (x: Tensor) => applyUnary('cos', x);
export const tan = (x: Tensor) => applyUnary('tan', x);
export const asin = (x: Tensor) => applyUnary('asin', x);
export const acos = (x: Tensor) => applyUnary('acos', x);
export const atan = (x: Tensor) => applyUnary('atan', x);
export const tanh = (x: Tensor) => applyUnary('tanh', x);
export const sigmoid = (x: Tensor) => applyUnary('sigmoid', x);
export const relu = (x: Tensor) => applyUnary('relu', x);
export const erf = (x: Tensor) => applyUnary('erf', x);
export const square = (x: Tensor) => applyUnary('square', x);
export const floor = (x: Tensor) => applyUnary('floor', x);
export const ceil = (x: Tensor) => applyUnary('ceil', x);
export const round = (x: Tensor) => applyUnary('round', x);
export const logicalNot = (x: Tensor) => applyUnary('logicalNot', x);
export const isnan = (x: Tensor) => applyUnary('isnan', x);
export const isinf = (x: Tensor) => applyUnary('isinf', x);

// ---- binary ----

/** Runs a binary primitive on broadcast operands; no autograd. */
function binaryForward(
  op: BinaryOp,
  a: Tensor,
  b: Tensor,
  computeDType: DType,
  boolResult = false,
): Tensor {
  // Equal shapes (the common case) need no broadcasting: skip broadcastShapes' allocations.
  const outDType = boolResult ? 'bool' : computeDType;
  let shape = a.shape;
  if (!shapesEqual(a.shape, b.shape)) {
    shape = broadcastShapes(op, a.shape, b.shape);
    assertAllocatable(
      op,
      shape,
      outDType,
      `broadcasting ${formatShape(a.shape)} with ${formatShape(b.shape)}`,
    );
  }
  const left = broadcastView(castRaw(a, computeDType), shape);
  const right = broadcastView(castRaw(b, computeDType), shape);
  return fromStorage(a.backend.binary(op, left, right, outDType), shape, outDType, a);
}

/** The differentiable function of binary op `op`: forward primitive, then its rule recorded. */
function binary(op: BinaryOp): (left: TensorLike, right: TensorLike) => Tensor {
  const nodeName = backwardName(op);
  const { saves, grad: rule } = binaryOpDef(op).derivative;
  // The dtype rule, read once here rather than at every call.
  const floatResult = binaryOpDef(op).dtype === 'float';
  const boolResult = binaryOpDef(op).dtype === 'bool';
  return (left: TensorLike, right: TensorLike): Tensor => {
    const [a, b, dtype] = binaryOperands(op, left, right);
    const computeDType: DType = floatResult && !isFloatingDType(dtype) ? 'float32' : dtype;
    const out = binaryForward(op, a, b, computeDType, boolResult);
    // No graph to record: skip building the backward closure and saved list.
    if (rule === null || !wantsGrad(a, b)) return out;
    const saved = saves === 'inputsAndOutput' ? [a, b, out] : saves === 'inputs' ? [a, b] : [];
    const aShape = a.shape;
    const bShape = b.shape;
    return record(nodeName, out, [a, b], saved, (g, [sa, sb, so], needs) => {
      const [ga, gb] = rule(g, sa, sb, so, needs);
      return [
        ga && needs[0] ? sumToShape(ga, aShape) : null,
        gb && needs[1] ? sumToShape(gb, bShape) : null,
      ];
    });
  };
}

const addOp = binary('add');
const subOp = binary('sub');

/**
 * a + alpha·b, broadcasting.
 * @example
 * add(tensor([1, 2]), tensor([10, 20])); // tensor([11., 22.])
 */
export function add(a: TensorLike, b: TensorLike, alpha?: Alpha): Tensor {
  return addOp(a, scaled('add', b, alpha));
}

/**
 * a − alpha·b, broadcasting.
 * @example
 * sub(tensor([5, 7]), 2); // tensor([3., 5.])
 */
export function sub(a: TensorLike, b: TensorLike, alpha?: Alpha): Tensor {
  return subOp(a, scaled('sub', b, alpha));
}

/** add's and sub's multiplier of b: a number, or PyTorch's keyword as an options object. */
export type Alpha = number | { alpha?: number };

function scaled(op: string, b: TensorLike, alpha: Alpha | undefined): TensorLike {
  const value = typeof alpha === 'object' && alpha !== null ? alpha.alpha : alpha;
  if (value === undefined) return b;
  if (typeof value !== 'number')
    throw new Error(
      `${op}: alpha must be a number (or { alpha: number }), got ${value === null ? 'null' : typeof value}`,
    );
  return typeof b === 'number' ? b * value : mul(b, value);
}

export const mul = binary('mul');
export const div = binary('div');
/** a ** b. The exponent may be a tensor or a number; 0 ** 0 = 1 with zero gradient, as PyTorch. */
export const pow = binary('pow');
export const maximum = binary('maximum');
export const minimum = binary('minimum');
export const atan2 = binary('atan2');
export const eq = binary('eq');
export const ne = binary('ne');
export const lt = binary('lt');
export const le = binary('le');
export const gt = binary('gt');
export const ge = binary('ge');
export const logicalAnd = binary('logicalAnd');
export const logicalOr = binary('logicalOr');

// ---- where, clamp, cast ----

/**
 * Elements of `a` where `condition` is true, else of `b`; all three broadcast.
 * @example
 * where(x.gt(0), x, 0); // relu
 */
export function where(condition: TensorLike, a: TensorLike, b: TensorLike): Tensor {
  const like = [condition, a, b].find((v): v is Tensor => v instanceof Tensor);
  if (!like)
    throw new TypeError('where: expected at least one tensor among condition, input and other');
  const cond =
    condition instanceof Tensor ? condition : scalarTensor(Boolean(condition), 'bool', like);
  if (cond.dtype !== 'bool')
    throw new TypeError(`where: condition must be a bool tensor, got ${cond.dtype}`);
  const [x, y, dtype] = binaryOperands('where', a, b);
  const shape = broadcastShapes('where', cond.shape, x.shape, y.shape);
  const out = fromStorage(
    like.backend.where(
      broadcastView(cond, shape),
      broadcastView(castRaw(x, dtype), shape),
      broadcastView(castRaw(y, dtype), shape),
      dtype,
    ),
    shape,
    dtype,
    like,
  );
  // Only the condition is read by backward; x and y contribute their shapes.
  const xShape = x.shape;
  const yShape = y.shape;
  return record('WhereBackward', out, [x, y], [cond], (g, [c], needs) => [
    needs[0] ? sumToShape(where(c, g, 0), xShape) : null,
    needs[1] ? sumToShape(where(c, 0, g), yShape) : null,
  ]);
}

/**
 * Limits every element to [min, max]; either bound may be omitted (null). Gradient flows where
 * the input lies inside the bounds (bounds included), and to tensor bounds where they bind.
 */
export function clamp(input: Tensor, min?: TensorLike | null, max?: TensorLike | null): Tensor {
  const x = assertTensor('clamp', input);
  if ((min === undefined || min === null) && (max === undefined || max === null)) {
    throw new Error('clamp: at least one of min and max must be given');
  }
  for (const [name, bound] of [
    ['min', min],
    ['max', max],
  ] as const) {
    if (typeof bound === 'number' && Number.isNaN(bound))
      throw new RangeError(`clamp: ${name} must not be NaN`);
  }
  const lowBound = min ?? null;
  const highBound = max ?? null;
  // Forward through primitives only: the rule below, not maximum/minimum's tie split, is clamp's.
  const [x1, lo] = lowBound === null ? [x, null] : binaryOperands('clamp', x, lowBound);
  let out =
    lo === null
      ? x
      : binaryForward('maximum', x1, lo, isFloatingDType(x.dtype) ? x.dtype : lo.dtype);
  const [x2, hi] = highBound === null ? [out, null] : binaryOperands('clamp', out, highBound);
  out = hi === null ? out : binaryForward('minimum', x2, hi, out.dtype);
  const inputs = [x, lo, hi];
  return record(
    'ClampBackward',
    out,
    inputs,
    [x, ...(lo ? [lo] : []), ...(hi ? [hi] : [])],
    (g, saved, needs) => {
      const sx = saved[0];
      const slo = lo ? saved[1] : null;
      const shi = hi ? saved[lo ? 2 : 1] : null;
      let inside: Tensor | null = null;
      if (slo) inside = sx.ge(slo);
      if (shi) inside = inside ? inside.logicalAnd(sx.le(shi)) : sx.le(shi);
      return [
        needs[0] ? sumToShape(where(inside!, g, 0), sx.shape) : null,
        // As PyTorch: where min > max the output is max, so only max receives the gradient.
        slo && needs[1]
          ? sumToShape(
              where(shi ? sx.lt(slo).logicalAnd(slo.lt(shi)) : sx.lt(slo), g, 0),
              slo.shape,
            )
          : null,
        shi && needs[2]
          ? sumToShape(where(slo ? sx.gt(shi).logicalOr(shi.lt(slo)) : sx.gt(shi), g, 0), shi.shape)
          : null,
      ];
    },
  );
}

/** A copy of `x` converted to `dtype`; differentiable between float dtypes. */
export function cast(x: Tensor, dtype: DType): Tensor {
  const out = fromStorage(x.backend.copy(x, dtype), x.shape, dtype, x);
  return record('ToCopyBackward', out, [x], [], (g) => [cast(g, x.dtype)]);
}
