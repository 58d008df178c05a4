/**
 * The derivatives of the unary elementwise ops (UNARY_RULES, a Record over UnaryOp, so an op
 * declared in the op table, backend/op_table.ts, does not compile without its derivative) and
 * applyUnary, which runs an op's kernel and records its rule. The public functions are in
 * elementwise.ts, the Tensor methods are attached from the op table in tensor/tensor.ts.
 */
import { traceKernel } from '../../backend/kernel_trace.js';
import { type UnaryOp, unaryOpDef } from '../../backend/op_table.js';
import { isFloatingDType, type DType } from '../../tensor/dtype.js';
import { shapesEqual } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { assertTensor, castRaw, fromStorage, record, wantsGrad } from '../define.js';
import { isGradEnabled } from '../grad_mode.js';

/**
 * relu's backward g·(y > 0): one fused backend kernel where the backend has one and no graph is
 * being built (createGraph keeps the differentiable composition).
 */
function reluGrad(g: Tensor, y: Tensor): Tensor {
  if (
    !isGradEnabled() &&
    g.backend.reluBackward &&
    g.backend === y.backend &&
    g.dtype === y.dtype &&
    shapesEqual(g.shape, y.shape)
  ) {
    const out = g.backend.reluBackward(g, y);
    if (out) {
      traceKernel('reluBackward', 'fused');
      return fromStorage(out, g.shape, g.dtype, g);
    }
  }
  traceKernel('reluBackward', 'composed');
  return g.mul(y.gt(0));
}

interface UnaryRule {
  /** What the derivative reads: the input x, the output y, or nothing. */
  saves: 'x' | 'y' | 'none';
  /** dL/dx from dL/dy; absent for ops whose derivative is zero almost everywhere. */
  grad?: (g: Tensor, xOrY: Tensor) => Tensor;
}

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

const UNARY_RULES: Record<UnaryOp, UnaryRule> = {
  neg: { saves: 'none', grad: (g) => g.neg() },
  exp: { saves: 'y', grad: (g, y) => g.mul(y) },
  log: { saves: 'x', grad: (g, x) => g.div(x) },
  log1p: { saves: 'x', grad: (g, x) => g.div(x.add(1)) },
  expm1: { saves: 'y', grad: (g, y) => g.mul(y.add(1)) },
  sqrt: { saves: 'y', grad: (g, y) => g.div(y.mul(2)) },
  rsqrt: { saves: 'y', grad: (g, y) => g.mul(y.pow(3)).mul(-0.5) },
  abs: { saves: 'x', grad: (g, x) => g.mul(x.sign()) },
  sign: { saves: 'none' },
  reciprocal: { saves: 'y', grad: (g, y) => g.mul(y.square()).neg() },
  sin: { saves: 'x', grad: (g, x) => g.mul(x.cos()) },
  cos: { saves: 'x', grad: (g, x) => g.mul(x.sin()).neg() },
  tan: { saves: 'y', grad: (g, y) => g.mul(y.square().add(1)) },
  asin: { saves: 'x', grad: (g, x) => g.mul(x.square().neg().add(1).rsqrt()) },
  acos: { saves: 'x', grad: (g, x) => g.mul(x.square().neg().add(1).rsqrt()).neg() },
  atan: { saves: 'x', grad: (g, x) => g.div(x.square().add(1)) },
  tanh: { saves: 'y', grad: (g, y) => g.mul(y.square().neg().add(1)) },
  sigmoid: { saves: 'y', grad: (g, y) => g.mul(y.mul(y.neg().add(1))) },
  relu: { saves: 'y', grad: (g, y) => reluGrad(g, y) },
  erf: {
    saves: 'x',
    grad: (g, x) => g.mul(x.square().neg().exp().mul(TWO_OVER_SQRT_PI)),
  },
  square: { saves: 'x', grad: (g, x) => g.mul(x.mul(2)) },
  floor: { saves: 'none' },
  ceil: { saves: 'none' },
  round: { saves: 'none' },
  logicalNot: { saves: 'none' },
  isnan: { saves: 'none' },
  isinf: { saves: 'none' },
};

const backwardNames = new Map<string, string>();

/** `add` → `AddBackward`; cached, as every recorded op asks for its name. */
export function backwardName(op: string): string {
  let name = backwardNames.get(op);
  if (name === undefined) {
    name = `${op[0].toUpperCase()}${op.slice(1)}Backward`;
    backwardNames.set(op, name);
  }
  return name;
}

/** Internal: runs unary op `op` on x and records its derivative (the public functions wrap it). */
export function applyUnary(op: UnaryOp, input: Tensor): Tensor {
  const x = assertTensor(op, input);
  const rule = UNARY_RULES[op];
  const dtypeRule = unaryOpDef(op).dtype;
  const dtype: DType =
    dtypeRule === 'bool'
      ? 'bool'
      : dtypeRule === 'float' && !isFloatingDType(x.dtype)
        ? 'float32'
        : x.dtype;
  const source = castRaw(x, dtypeRule === 'bool' ? x.dtype : dtype);
  const y = fromStorage(x.backend.unary(op, source, dtype), x.shape, dtype, x);
  // No graph to record: skip building the backward closure and saved list.
  if (!wantsGrad(x)) return y;
  const grad = rule.grad;
  if (!grad) return record(backwardName(op), y, [x], [], (g) => [g.mul(0)]);
  const saved = rule.saves === 'x' ? [x] : rule.saves === 'y' ? [y] : [];
  return record(backwardName(op), y, [x], saved, (g, [s]) => [grad(g, s)]);
}
