/**
 * The numbers of a gradient report, per layer: gradient and weight norms of each parameter, the
 * update-to-weight ratio, and the activation statistics a recorder kept.
 */
import type { Tensor } from '../tensor/tensor.js';
import type { Module } from '../nn/module.js';
import type { ActivationRecorder, ActivationStats } from './activation_recorder.js';
import { normSummaries } from './tensor_summary.js';

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
  const tensors: Tensor[] = [];
  for (const { params } of owned)
    for (const [, p] of params) {
      const grad = p.peekGrad();
      if (grad) tensors.push(grad);
      tensors.push(p);
    }
  const summaries = await normSummaries(tensors);
  let k = 0;
  const layers: LayerReport[] = [];
  for (const { name, module, params } of owned) {
    const activation = activations ? await activations.stats(module) : null;
    if (params.length === 0 && activation === null) continue;
    const parameters = params.map(([pName, p]): ParameterStats => {
      const grad = p.peekGrad() !== null ? summaries[k++] : null;
      const weight = summaries[k++];
      const gradNorm = grad ? grad.norm : null;
      const weightNorm = weight.norm;
      return {
        name: pName,
        shape: [...p.shape],
        gradNorm,
        weightNorm,
        updateRatio: ratio(lr, gradNorm, weightNorm),
        gradNonFinite: grad ? grad.nonFinite : 0,
        weightNonFinite: weight.nonFinite,
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
