/**
 * In-place ops. Each computes its result out of place, writes it into the tensor's storage and
 * bumps the version counter, so that a saved tensor modified afterwards makes backward throw
 * instead of returning a wrong gradient. Under autograd the tensor then takes the result's history.
 */
import { numberArg } from '../../tensor/args.js';
import { isFloatingDType } from '../../tensor/dtype.js';
import { formatShape } from '../../tensor/shape.js';
import { defaultGenerator, type Generator } from '../../tensor/random.js';
import type { Tensor } from '../../tensor/tensor.js';
import { assertTensor, broadcastView, fromStorage } from '../define.js';
import { isGradEnabled, noGrad } from '../grad_mode.js';
import { where } from './elementwise.js';

function assertInPlaceAllowed(op: string, t: Tensor, recording: boolean): void {
  if (!recording) return;
  if (t.isLeaf && t.requiresGrad) {
    throw new Error(
      `${op}: a leaf tensor that requires grad is being used in an in-place operation; wrap it in noGrad(() => …) (as optimizers do) or use the out-of-place op`,
    );
  }
  if (t.base !== null && (t.base.requiresGrad || t.requiresGrad)) {
    throw new Error(
      `${op}: in-place ops on a view of a tensor that requires grad are not supported; use the out-of-place op, or clone() first`,
    );
  }
}

/** Writes `value` into `t` and bumps its version; no autograd. */
function writeInto(op: string, t: Tensor, value: Tensor): void {
  if (value.ndim !== t.ndim || value.shape.some((s, i) => s !== t.shape[i])) {
    throw new Error(
      `${op}: the result of shape ${formatShape(value.shape)} does not fit the tensor of shape ${formatShape(t.shape)}`,
    );
  }
  if (isFloatingDType(value.dtype) && !isFloatingDType(t.dtype)) {
    throw new TypeError(
      `${op}: result type ${value.dtype} can't be cast to the tensor's dtype ${t.dtype}`,
    );
  }
  t.backend.copyInto(t, value);
  t.buffer.version++;
}

/**
 * Runs `compute` (an out-of-place op on `t`) and stores its result in `t`.
 * Under autograd, `compute` sees a clone, so the values it saves for backward stay valid.
 */
export function applyInPlace<T extends Tensor>(
  t: T,
  op: string,
  compute: (x: Tensor) => Tensor,
): T {
  assertTensor(op, t);
  const recording = isGradEnabled();
  assertInPlaceAllowed(op, t, recording && t.requiresGrad);
  if (!recording) {
    writeInto(op, t, compute(t));
    return t;
  }
  let result = compute(t.requiresGrad ? t.clone() : t);
  // An operand that requires grad may have saved t itself (mul_, div_), which the write below
  // would modify: recompute on a copy so that backward reads the old values.
  if (result.requiresGrad && !t.requiresGrad) result = compute(t.clone());
  if (result.requiresGrad) assertInPlaceAllowed(op, t, true);
  writeInto(op, t, result);
  if (result.requiresGrad) t.setGradFn(result.gradFn);
  return t;
}

/** copy_: src broadcast to t's shape and converted to its dtype; gradient flows to src. */
export function copyInPlace<T extends Tensor>(t: T, src: Tensor): T {
  assertTensor('copy_', src, 'src');
  const lead = t.ndim - src.ndim;
  if (lead < 0 || src.shape.some((s, i) => s !== 1 && s !== t.shape[lead + i])) {
    throw new Error(
      `copy_: src of shape ${formatShape(src.shape)} does not broadcast to the tensor's shape ${formatShape(t.shape)}`,
    );
  }
  if (!(isGradEnabled() && (src.requiresGrad || t.requiresGrad))) {
    // src may overlap t (t.copy_(t.t())): read it into storage of its own first.
    const from =
      src.storage === t.storage
        ? fromStorage(src.backend.copy(src, src.dtype), src.shape, src.dtype, src)
        : src;
    t.backend.copyInto(t, broadcastView(from, t.shape));
    t.buffer.version++;
    return t;
  }
  return applyInPlace(t, 'copy_', (x) => where(true, src.expand([...t.shape]), x).to(t.dtype));
}

export function fillInPlace<T extends Tensor>(t: T, op: string, value: number): T {
  if (typeof value !== 'number' && typeof value !== 'boolean')
    throw new TypeError(`${op}: value must be a number, got ${typeof value}`);
  if (isGradEnabled() && t.requiresGrad) return applyInPlace(t, op, (x) => where(true, value, x));
  t.backend.fill(t, Number(value));
  t.buffer.version++;
  return t;
}

function randomFill<T extends Tensor>(t: T, op: string, draw: () => number): T {
  assertInPlaceAllowed(op, t, isGradEnabled() && t.requiresGrad);
  const values = Array.from({ length: t.numel() }, draw);
  const source = fromStorage(t.backend.fromValues(t.dtype, values), t.shape, t.dtype, t);
  noGrad(() => writeInto(op, t, source));
  return t;
}

/** Fills with uniform samples in [low, high). */
export function uniformInPlace<T extends Tensor>(
  t: T,
  low: number,
  high: number,
  generator: Generator = defaultGenerator,
): T {
  numberArg('uniform_', 'low', low);
  numberArg('uniform_', 'high', high);
  if (!Number.isFinite(low) || !Number.isFinite(high) || low > high) {
    throw new RangeError(`uniform_: expects finite low <= high, got low=${low}, high=${high}`);
  }
  const draw = t.dtype === 'float64' ? () => generator.nextDouble() : () => generator.nextFloat();
  return randomFill(t, 'uniform_', () => low + (high - low) * draw());
}

/** Fills with normal samples of the given mean and standard deviation. */
export function normalInPlace<T extends Tensor>(
  t: T,
  mean: number,
  std: number,
  generator: Generator = defaultGenerator,
): T {
  numberArg('normal_', 'mean', mean);
  numberArg('normal_', 'std', std);
  if (!Number.isFinite(mean) || !Number.isFinite(std) || std < 0) {
    throw new RangeError(
      `normal_: expects a finite mean and a finite std >= 0, got mean=${mean}, std=${std}`,
    );
  }
  return randomFill(t, 'normal_', () => mean + std * generator.nextNormal());
}
