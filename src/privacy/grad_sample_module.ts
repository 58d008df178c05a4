/**
 * `GradSampleModule`: wraps a model so that every backward also yields per-sample gradients, as
 * Opacus's GradSampleModule does: a forward hook on each layer with parameters keeps the layer's
 * input and puts a hook on its output that keeps the gradient reaching it; the per-layer rules
 * of `grad_sample.ts` turn the pair into per-sample gradients, their norms or their clipped sum
 * when DP-SGD asks. The ordinary `.grad` is still accumulated by the backward pass, unless
 * `accumulateGrads` is off (DPOptimizer turns it off: it replaces `.grad` anyway), in which case
 * linear layers skip their weight-gradient products.
 */
import { isGradEnabled, noGrad } from '../autograd/grad_mode.js';
import type { RemovableHandle } from '../autograd/node.js';
import { Module } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';
import { Linear } from '../nn/layers/linear.js';
import { BatchNorm1d, BatchNorm2d } from '../nn/layers/normalization.js';
import { Tensor } from '../tensor/tensor.js';
import {
  checkCall,
  normsFromPerSample,
  perSampleOf,
  ruleFor,
  SUPPORTED_LAYERS,
  trainableParams,
  weightedSumFromPerSample,
  type GradSampleRule,
  type LayerCall,
} from './grad_sample.js';
import { linearInputGradOnly } from './input_grad_only.js';

/** How the loss combines the examples of a batch: per-sample gradients are taken of each example's own loss. */
export type LossReduction = 'mean' | 'sum';

interface PendingCall {
  activations: Tensor;
  backprops: Tensor | null;
}

interface HookedLayer {
  name: string;
  module: Module;
  rule: GradSampleRule;
  params: Parameter[];
  calls: PendingCall[];
}

/**
 * Throws when a model has a layer whose per-sample gradients are not defined or not known: batch
 * norm (its output for one example depends on the others), or a layer with trainable parameters
 * and no rule. Names the layer and the fix.
 * @example
 * privacy.validateModule(model); // throws on nn.BatchNorm2d, suggesting nn.GroupNorm
 */
export function validateModule(model: Module): void {
  for (const [name, m] of model.namedModules()) {
    const where = `layer '${name || '(root)'}' (${m.constructor.name})`;
    if (m instanceof BatchNorm1d || m instanceof BatchNorm2d) {
      const c = m.numFeatures;
      throw new Error(
        `privacy: ${where} is batch norm, which mixes the examples of a batch, so per-sample gradients (and DP-SGD's guarantee) are not defined for it; ` +
          `replace it with group norm, e.g. new nn.GroupNorm(${gcd(32, c)}, ${c}), or layer norm`,
      );
    }
    if (trainableParams(m).length > 0 && ruleFor(m) === null)
      throw new Error(
        `privacy: ${where} has trainable parameters but no per-sample gradient rule; supported layers with parameters: ${SUPPORTED_LAYERS}. ` +
          `Freeze its parameters (requiresGrad = false) or replace the layer`,
      );
  }
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * A model whose backward also records what per-sample gradients need. Calls, parameters and
 * state dicts are the wrapped model's own (its state dict has no prefix).
 * @example
 * const gsm = new privacy.GradSampleModule(model);
 * F.crossEntropy(gsm.call(x), y).backward();
 * gsm.perSampleGrads().get(model.fc1.weight); // [N, 256, 784]
 */
export class GradSampleModule extends Module {
  readonly _module: Module;
  readonly lossReduction: LossReduction;
  /**
   * Whether backward also accumulates the hooked layers' ordinary `.grad` (default true). Off,
   * the linear layers on [N, in] inputs compute only their input's gradient and their parameters
   * get no `.grad`: what DP-SGD wants, whose step builds the gradient from the per-sample ones.
   */
  accumulateGrads = true;
  private readonly layers: HookedLayer[] = [];
  private readonly handles: RemovableHandle[] = [];

  constructor(module: Module, { lossReduction = 'mean' }: { lossReduction?: LossReduction } = {}) {
    super();
    if (!(module instanceof Module))
      throw new TypeError('GradSampleModule: expected an nn.Module to wrap');
    if (lossReduction !== 'mean' && lossReduction !== 'sum')
      throw new RangeError(
        `GradSampleModule: lossReduction must be 'mean' or 'sum', got ${String(lossReduction)}`,
      );
    validateModule(module);
    this._module = module;
    this.lossReduction = lossReduction;
    for (const [name, m] of module.namedModules()) {
      const params = trainableParams(m);
      const rule = ruleFor(m);
      if (params.length === 0 || rule === null) continue;
      const layer: HookedLayer = { name: name || '(root)', module: m, rule, params, calls: [] };
      this.layers.push(layer);
      this.handles.push(
        m.registerForwardHook((_m, args, output) => this.capture(layer, args, output)),
      );
    }
  }

  /** The forward hook: keeps the input, and hooks the output (a replacement when it skips the parameters' grads). */
  private capture(layer: HookedLayer, args: unknown[], output: unknown): Tensor | undefined {
    if (!isGradEnabled() || !(output instanceof Tensor) || !output.requiresGrad) return;
    const input = args[0];
    if (!(input instanceof Tensor)) return;
    const call: PendingCall = { activations: input.detach(), backprops: null };
    layer.calls.push(call);
    const m = layer.module;
    const tapped =
      !this.accumulateGrads && m instanceof Linear && input.ndim === 2
        ? linearInputGradOnly(input, m.weight, m.bias, output)
        : output;
    tapped.registerHook((g) => {
      call.backprops = call.backprops ? call.backprops.add(g.detach()) : g.detach();
    });
    return tapped === output ? undefined : tapped;
  }

  // The wrapped model's forward is untyped here, as Module's own is.
  forward(...args: any[]): any {
    // Through call, so that the wrapped model's own hooks run too.
    return (this._module.call as (...a: unknown[]) => unknown).apply(this._module, args);
  }

  override stateDict(): Record<string, Tensor> {
    return this._module.stateDict();
  }

  override loadStateDict(
    ...args: Parameters<Module['loadStateDict']>
  ): ReturnType<Module['loadStateDict']> {
    return this._module.loadStateDict(...args);
  }

  /** Forgets what the hooks recorded (DPOptimizer.zeroGrad calls it). */
  clearCaptures(): void {
    for (const layer of this.layers) layer.calls.length = 0;
  }

  /** Removes the hooks; the wrapped model is then as it was. */
  removeHooks(): void {
    for (const h of this.handles) h.remove();
    this.handles.length = 0;
    this.clearCaptures();
  }

  /** The calls of each layer that got a gradient, checked, with their gradient scaled to per-example losses. */
  private completedCalls(): { layer: HookedLayer; calls: LayerCall[] }[] {
    const out: { layer: HookedLayer; calls: LayerCall[] }[] = [];
    let batch: number | null = null;
    for (const layer of this.layers) {
      const calls: LayerCall[] = [];
      for (const c of layer.calls) {
        if (c.backprops === null) continue;
        const call = { activations: c.activations, backprops: c.backprops };
        checkCall(layer.name, layer.module, call);
        if (batch !== null && call.activations.shape[0] !== batch)
          throw new Error(
            `privacy: layer '${layer.name}' saw a batch of ${call.activations.shape[0]} examples but an earlier layer saw ${batch}; per-sample gradients need one batch per step`,
          );
        batch = call.activations.shape[0];
        calls.push(call);
      }
      if (calls.length > 0) out.push({ layer, calls });
    }
    return out;
  }

  /** The scale from the gradient of the batch's loss to the gradient of each example's own loss. */
  private lossScale(batch: number): number {
    return this.lossReduction === 'mean' ? batch : 1;
  }

  /**
   * Each trainable parameter's per-sample gradients [N, ...shape] from the last backward (a
   * parameter used by several calls gets their sum per example).
   */
  perSampleGrads(): Map<Parameter, Tensor> {
    const all = new Map<Parameter, Tensor>();
    for (const { layer, calls } of this.completedCalls()) {
      const scale = this.lossScale(calls[0].activations.shape[0]);
      for (const [p, ps] of perSampleOf(layer.module, layer.rule, calls))
        all.set(
          p,
          noGrad(() => ps.mul(scale)),
        );
    }
    return all;
  }

  /** The trainable parameters of the hooked layers. */
  trainableParameters(): Parameter[] {
    return this.layers.flatMap((l) => l.params);
  }

  /**
   * DP-SGD's clipping: each example's gradient over all parameters scaled to norm at most
   * `maxGradNorm`, summed over the batch (and times `scale`, folded into the clip factors).
   * Returns the sums per parameter, the per-sample norms before clipping and the batch size (0
   * when the last backward saw no layer).
   */
  clipAndSum(
    maxGradNorm: number,
    { scale: sumScale = 1 }: { scale?: number } = {},
  ): {
    sums: Map<Parameter, Tensor>;
    norms: Tensor | null;
    batchSize: number;
  } {
    return noGrad(() => {
      const layers = this.completedCalls();
      if (layers.length === 0) return { sums: new Map(), norms: null, batchSize: 0 };
      const batch = layers[0].calls[0].activations.shape[0];
      const scale = this.lossScale(batch);
      // A layer with one call and shortcuts never builds its per-sample gradients.
      const prepared = layers.map(({ layer, calls }) => {
        const fast = calls.length === 1 && layer.rule.normSquared && layer.rule.weightedSum;
        const perSample = fast ? null : perSampleOf(layer.module, layer.rule, calls);
        const normSq = perSample
          ? normsFromPerSample(perSample)
          : layer.rule.normSquared!(layer.module, calls[0]);
        return { layer, calls, perSample, normSq };
      });
      let sq = prepared[0].normSq;
      for (const p of prepared.slice(1)) sq = sq.add(p.normSq);
      const norms = sq.sqrt().mul(scale);
      // Opacus's factor: min(1, C / (‖g‖ + 1e-6)), times the scale to each example's own loss.
      const factor = norms
        .add(1e-6)
        .reciprocal()
        .mul(maxGradNorm)
        .clamp(null, 1)
        .mul(scale * sumScale);
      const sums = new Map<Parameter, Tensor>();
      for (const { layer, calls, perSample } of prepared) {
        const part = perSample
          ? weightedSumFromPerSample(perSample, factor)
          : layer.rule.weightedSum!(layer.module, calls[0], factor);
        for (const [p, s] of part) sums.set(p, s);
      }
      return { sums, norms, batchSize: batch };
    });
  }
}
