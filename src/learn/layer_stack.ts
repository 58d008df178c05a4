/**
 * What the trainers of `learn` share: checking a stack of layers (non-empty, sizes that chain),
 * the width a layer outputs, labels as one-hot rows, and option checks that name the trainer.
 */
import { Module } from '../nn/module.js';
import { Linear } from '../nn/layers/linear.js';
import { zeros } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';

/** The nn.Linear layers inside `layer` (itself included), in call order. */
function linears(layer: Module): Linear[] {
  return layer.modules().filter((m): m is Linear => m instanceof Linear);
}

/**
 * Checks that `layers` is a non-empty array of modules whose sizes chain: each layer's last
 * nn.Linear outputs as many features as the next layer's first nn.Linear takes. Layers without
 * an nn.Linear are not size-checked here (their own forward checks the shapes it gets).
 */
export function checkLayers(trainer: string, layers: readonly Module[]): void {
  if (!Array.isArray(layers) || layers.length === 0)
    throw new Error(
      `${trainer}: expected a non-empty array of layers (nn.Module), got ${describe(layers)}`,
    );
  layers.forEach((layer, i) => {
    if (!(layer instanceof Module))
      throw new TypeError(`${trainer}: layer ${i} is ${describe(layer)}, not an nn.Module`);
  });
  for (let i = 0; i + 1 < layers.length; i++) {
    const out = linears(layers[i]).at(-1);
    const next = linears(layers[i + 1])[0];
    if (out && next && out.outFeatures !== next.inFeatures)
      throw new Error(
        `${trainer}: layer sizes do not chain: layer ${i} outputs ${out.outFeatures} features but layer ${i + 1} expects ${next.inFeatures}`,
      );
  }
}

/** The number of features `layer` outputs: the outFeatures of its last nn.Linear. */
export function outputWidth(trainer: string, layer: Module, index: number): number {
  const last = linears(layer).at(-1);
  if (!last)
    throw new Error(
      `${trainer}: layer ${index} (${layer.constructor.name}) contains no nn.Linear, so its output width is unknown; the trainer needs it to size its ${trainer === 'SyntheticGradients' ? 'gradient predictors' : 'feedback matrices'}`,
    );
  return last.outFeatures;
}

/** The number of features `layer` takes: the inFeatures of its first nn.Linear. */
export function inputWidth(trainer: string, layer: Module, index: number): number {
  const first = linears(layer)[0];
  if (!first)
    throw new Error(
      `${trainer}: layer ${index} (${layer.constructor.name}) contains no nn.Linear, so its input width is unknown`,
    );
  return first.inFeatures;
}

/** float32 [N, numClasses] with a 1 at each row's label; checks the labels first. */
export function oneHot(trainer: string, labels: Tensor, numClasses: number): Tensor {
  checkLabels(trainer, labels, numClasses);
  return zeros([labels.shape[0], numClasses]).scatter(1, labels.reshape([-1, 1]), 1);
}

/** Labels must be integers [N] in [0, numClasses). */
export function checkLabels(trainer: string, labels: Tensor, numClasses: number): void {
  if (labels.ndim !== 1 || labels.isFloatingPoint())
    throw new Error(
      `${trainer}: expected integer class labels of shape [N], got ${labels.dtype} [${labels.shape.join(', ')}]`,
    );
  if (labels.shape[0] === 0) return;
  const lo = labels.amin().itemSync() as number;
  const hi = labels.amax().itemSync() as number;
  if (lo < 0 || hi >= numClasses)
    throw new RangeError(
      `${trainer}: labels must lie in [0, ${numClasses}), got values from ${lo} to ${hi}`,
    );
}

/** Checks a numeric option: finite, and above `min` (or at least `min` when `inclusive`). */
export function checkNumber(
  trainer: string,
  name: string,
  value: number,
  min: number,
  inclusive = false,
): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < min ||
    (!inclusive && value === min)
  )
    throw new RangeError(
      `${trainer}: ${name} must be a finite number ${inclusive ? '>=' : '>'} ${min}, got ${String(value)}`,
    );
  return value;
}

/** Checks an option that must be one of `choices`. */
export function checkChoice<T extends string>(
  trainer: string,
  name: string,
  value: T,
  choices: readonly T[],
): T {
  if (!choices.includes(value))
    throw new Error(
      `${trainer}: unknown ${name} '${String(value)}'; expected one of ${choices.map((c) => `'${c}'`).join(', ')}`,
    );
  return value;
}

function describe(value: unknown): string {
  if (Array.isArray(value))
    return value.length === 0 ? 'an empty array' : `an array of ${value.length}`;
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return value.constructor?.name ?? 'an object';
  return `${typeof value} ${String(value)}`;
}
