/**
 * applyUnary, which runs a unary op's kernel and records its derivative (declared with the op in
 * backend/op_table.ts; relu's backward substituted by a fused kernel). The public functions are
 * in elementwise.ts, the Tensor methods are attached from the op table in tensor/tensor.ts.
 */
import { traceKernel } from '../../backend/kernel_trace.js';
import { type UnaryDerivative, type UnaryOp, unaryOpDef } from '../../backend/op_table.js';
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

/**
 * Derivatives the autograd layer runs instead of the op table's composition, for speed: a fused
 * backend kernel computing the same values.
 */
const FUSED_DERIVATIVES: Partial<Record<UnaryOp, TensorDerivative>> = {
  relu: { saves: 'y', grad: reluGrad },
};

/** An op table derivative as autograd runs it: on tensors. */
interface TensorDerivative {
  saves: UnaryDerivative['saves'];
  grad?: (g: Tensor, xOrY: Tensor) => Tensor;
}

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
  const rule: TensorDerivative = FUSED_DERIVATIVES[op] ?? unaryOpDef(op).derivative;
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
