/**
 * Forward hooks that keep summary statistics of every leaf module's output while a report is
 * being recorded: mean, variance, non-finite count and, for ReLUs, which units fired. Only these
 * are kept (a few numbers per call, one flag per unit for a ReLU), never the outputs themselves:
 * computed at once on the host for CPU tensors, on the device otherwise and read when the report
 * is made (tensor_summary.ts).
 */
import type { RemovableHandle } from '../autograd/node.js';
import { Tensor } from '../tensor/tensor.js';
import { isFloatingDType } from '../tensor/dtype.js';
import { Module } from '../nn/module.js';
import { ReLU } from '../nn/layers/activation.js';
import { readOutputSummary, summarizeOutput, type OutputSummary } from './tensor_summary.js';

/** Activation statistics of one module over the calls recorded. */
export interface ActivationStats {
  /** Mean of the outputs over every call and element. */
  mean: number;
  /** Standard deviation (population) of the outputs over every call and element. */
  std: number;
  /** Output elements that were NaN or ±Inf. */
  nonFinite: number;
  /** How many times the module ran while recording. */
  calls: number;
  /**
   * For a ReLU: the fraction of its units (each position of the output but the batch dimension)
   * that output zero for every example of every recorded call; null for other modules.
   */
  deadFraction: number | null;
  /** For a ReLU: the number of units deadFraction is over. */
  units: number | null;
}

function firstTensor(output: unknown): Tensor | null {
  if (output instanceof Tensor) return output;
  if (Array.isArray(output)) for (const o of output) if (o instanceof Tensor) return o;
  return null;
}

/**
 * Records activation statistics of a model's leaf modules through forward hooks, for
 * `gradientReport`. Run the forward pass while it is attached; `remove()` detaches it.
 * @example
 * const activations = inspect.recordActivations(model);
 * F.crossEntropy(model.call(x), y).backward();
 * const report = await inspect.gradientReport(model, { lr: 0.1, activations });
 * activations.remove();
 */
export class ActivationRecorder {
  /** While false the hooks keep nothing (the GradientMonitor turns it on for the steps it records). */
  active = true;
  private readonly calls = new Map<Module, OutputSummary[]>();
  private readonly handles: RemovableHandle[] = [];

  constructor(readonly model: Module) {
    if (!(model instanceof Module))
      throw new TypeError(
        `inspect.recordActivations: expected an nn.Module, got ${model === null ? 'null' : typeof model}`,
      );
    for (const [, module] of model.namedModules()) {
      if (module.children().length > 0) continue;
      this.handles.push(
        module.registerForwardHook((m, _args, output) => {
          if (this.active) this.keep(m, output);
        }),
      );
    }
  }

  private keep(module: Module, output: unknown): void {
    const y = firstTensor(output);
    if (y === null || !isFloatingDType(y.dtype) || y.numel() === 0) return;
    const stats = summarizeOutput(y, module instanceof ReLU);
    const list = this.calls.get(module);
    if (list) list.push(stats);
    else this.calls.set(module, [stats]);
  }

  /** The modules that ran while recording, in the order of their first call (forward order). */
  get order(): Module[] {
    return [...this.calls.keys()];
  }

  /** The statistics of `module` over the recorded calls, or null if it did not run. */
  async stats(module: Module): Promise<ActivationStats | null> {
    const calls = this.calls.get(module);
    if (!calls || calls.length === 0) return null;
    // Chan et al.'s pairwise update merges each call's mean and variance exactly.
    let count = 0;
    let mean = 0;
    let m2 = 0;
    let nonFinite = 0;
    const firedByShape = new Map<number, Uint8Array>();
    for (const call of calls) {
      const { mean: m, variance: v, nonFinite: bad, fired } = await readOutputSummary(call);
      const total = count + call.count;
      const delta = m - mean;
      mean += (delta * call.count) / total;
      m2 += v * call.count + (delta * delta * count * call.count) / total;
      count = total;
      nonFinite += bad;
      if (fired) {
        const seen = firedByShape.get(fired.length) ?? new Uint8Array(fired.length);
        for (let i = 0; i < fired.length; i++) if (fired[i]) seen[i] = 1;
        firedByShape.set(fired.length, seen);
      }
    }
    let deadFraction: number | null = null;
    let units: number | null = null;
    if (firedByShape.size > 0) {
      units = 0;
      let dead = 0;
      for (const seen of firedByShape.values()) {
        units += seen.length;
        for (const s of seen) if (!s) dead++;
      }
      deadFraction = units > 0 ? dead / units : 0;
    }
    return {
      mean,
      std: Math.sqrt(Math.max(0, m2 / count)),
      nonFinite,
      calls: calls.length,
      deadFraction,
      units,
    };
  }

  /** Forgets what was recorded (the hooks stay). */
  clear(): void {
    this.calls.clear();
  }

  /** Removes the hooks and forgets what was recorded. */
  remove(): void {
    for (const h of this.handles) h.remove();
    this.handles.length = 0;
    this.calls.clear();
  }
}

/**
 * Starts recording activation statistics of `model`'s leaf modules (see {@link ActivationRecorder}).
 * @example
 * const activations = inspect.recordActivations(model);
 */
export function recordActivations(model: Module): ActivationRecorder {
  return new ActivationRecorder(model);
}
