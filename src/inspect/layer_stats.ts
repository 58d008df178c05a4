/**
 * The numbers of a gradient report, per layer: gradient and weight norms of each parameter, the
 * update-to-weight ratio, and the activation statistics a recorder kept. Norms are computed on
 * the tensors' own device and read back in one transfer.
 */
import { noGrad } from '../autograd/grad_mode.js';
import { cat } from '../autograd/ops/shape_ops.js';
import { where } from '../autograd/ops/elementwise.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import type { ActivationRecorder, ActivationStats } from './activation_recorder.js';

/** One parameter's figures. */
export interface ParameterStats {
  /** Its dotted name in the model (`'0.weight'`). */
  name: string;
  shape: number[];
  /** L2 norm of `.grad`; null when the parameter has no gradient. */
  gradNorm: number | null;
  /** L2 norm of the parameter. */
  weightNorm: number;
  /** lr · gradNorm / weightNorm: the relative size of a plain SGD step; null without lr or grad. */
  updateRatio: number | null;
  /** NaN / ±Inf values in `.grad`. */
  gradNonFinite: number;
  /** NaN / ±Inf values in the parameter. */
  weightNonFinite: number;
}

/** One module's figures: its own parameters (not its children's) and its output's statistics. */
export interface LayerReport {
  /** The module's dotted name in the model ('' for the model itself). */
  name: string;
  /** Its class name (`'Linear'`). */
  type: string;
  parameters: ParameterStats[];
  /** L2 norm of all its parameters' gradients together; null when none has a gradient. */
  gradNorm: number | null;
  /** L2 norm of all its parameters together; null when it has none. */
  weightNorm: number | null;
  /** lr · gradNorm / weightNorm; null without lr, gradient or weights. */
  updateRatio: number | null;
  /** Statistics of its output over the recorded forward calls; null when not recorded. */
  activation: ActivationStats | null;
}

/**
 * [absmax, norm / absmax, non-finite count] of x, as float32: scaling by the largest magnitude
 * first keeps the sum of squares from overflowing or underflowing (as BLAS nrm2 does).
 */
function normParts(x: Tensor): Tensor {
  const abs = x.abs();
  const top = abs.amax();
  const scaled = abs.div(where(top.gt(0), top, 1)).norm();
  const bad = x.isnan().sum().add(x.isinf().sum());
  return cat([top, scaled, bad].map((t) => t.to('float32').reshape([1])));
}

function readNorm(top: number, scaled: number): number {
  return top > 0 && Number.isFinite(top) ? top * scaled : top;
}

const hypot = (values: number[]): number => {
  const top = Math.max(...values.map(Math.abs));
  if (!(top > 0) || !Number.isFinite(top)) return top;
  return top * Math.sqrt(values.reduce((s, v) => s + (v / top) ** 2, 0));
};

/** The per-layer figures of `model` now (after a backward pass), in module order. */
export async function layerStats(
  model: Module,
  lr: number | undefined,
  activations: ActivationRecorder | undefined,
): Promise<LayerReport[]> {
  const seen = new Set<Tensor>();
  const owned: { name: string; module: Module; params: [string, Tensor][] }[] = [];
  for (const [name, module] of model.namedModules()) {
    const params: [string, Tensor][] = [];
    for (const [pName, p] of module.namedParameters(false)) {
      if (seen.has(p)) continue; // a shared parameter belongs to its first owner
      seen.add(p);
      params.push([name ? `${name}.${pName}` : pName, p]);
    }
    owned.push({ name, module, params });
  }
  const parts: Tensor[] = [];
  noGrad(() => {
    for (const { params } of owned)
      for (const [, p] of params) {
        const grad = p.peekGrad();
        if (grad) parts.push(normParts(grad));
        parts.push(normParts(p.detach()));
      }
  });
  const values = parts.length > 0 ? await cat(parts).data() : new Float32Array(0);
  let k = 0;
  const layers: LayerReport[] = [];
  for (const { name, module, params } of owned) {
    const activation = activations ? await activations.stats(module) : null;
    if (params.length === 0 && activation === null) continue;
    const parameters = params.map(([pName, p]): ParameterStats => {
      const hasGrad = p.peekGrad() !== null;
      const [gTop, gScaled, gBad] = hasGrad ? values.subarray(k, (k += 3)) : [0, 0, 0];
      const [wTop, wScaled, wBad] = values.subarray(k, (k += 3));
      const gradNorm = hasGrad ? readNorm(gTop, gScaled) : null;
      const weightNorm = readNorm(wTop, wScaled);
      return {
        name: pName,
        shape: [...p.shape],
        gradNorm,
        weightNorm,
        updateRatio: ratio(lr, gradNorm, weightNorm),
        gradNonFinite: hasGrad ? gBad : 0,
        weightNonFinite: wBad,
      };
    });
    const grads = parameters.filter((p) => p.gradNorm !== null).map((p) => p.gradNorm as number);
    const gradNorm = grads.length > 0 ? hypot(grads) : null;
    const weightNorm = parameters.length > 0 ? hypot(parameters.map((p) => p.weightNorm)) : null;
    layers.push({
      name,
      type: module.constructor.name,
      parameters,
      gradNorm,
      weightNorm,
      updateRatio: ratio(lr, gradNorm, weightNorm),
      activation,
    });
  }
  return layers;
}

function ratio(lr: number | undefined, grad: number | null, weight: number | null): number | null {
  if (lr === undefined || grad === null || weight === null || !(weight > 0)) return null;
  return (lr * grad) / weight;
}
