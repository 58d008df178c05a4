/**
 * `DPOptimizer`: turns any optimizer into DP-SGD's (Abadi et al. 2016), as Opacus's DPOptimizer:
 * before each step the gradient becomes the sum of the per-sample gradients each clipped to norm
 * `maxGradNorm`, plus Gaussian noise N(0, (noiseMultiplier·maxGradNorm)²), divided by the
 * expected batch size (for a mean loss), and the step is counted by the accountant.
 */
import { noGrad } from '../autograd/grad_mode.js';
import { defaultGenerator, type Generator } from '../tensor/random.js';
import { tensor, zeros } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Parameter } from '../nn/parameter.js';
import type { Optimizer, OptimizerStateDict } from '../optim/optimizer.js';
import type { RDPAccountant } from './accountant.js';
import type { GradSampleModule } from './grad_sample_module.js';
import { gaussianNoiseInto } from './noise.js';

export interface DPOptimizerOptions {
  /** The model whose per-sample gradients are clipped (its parameters must be the optimizer's). */
  module: GradSampleModule;
  /** Noise standard deviation over maxGradNorm. 0 clips without noise (no privacy). */
  noiseMultiplier: number;
  /** Each example's gradient over all parameters is scaled to at most this L2 norm. */
  maxGradNorm: number;
  /** The batch size sampling gives on average (sampleRate × dataset size); the mean loss's divisor. */
  expectedBatchSize: number;
  /** Where the noise is drawn from; the default generator when omitted. */
  generator?: Generator;
  /** Counts each step; with it, `sampleRate` is required. */
  accountant?: RDPAccountant;
  sampleRate?: number;
}

/**
 * An optimizer wrapper that makes each `step()` a DP-SGD step. `zeroGrad()` also forgets the
 * recorded activations. Learning-rate schedulers take `originalOptimizer`.
 * @example
 * const gsm = new privacy.GradSampleModule(model);
 * const opt = new privacy.DPOptimizer(new optim.SGD(gsm.parameters(), { lr: 0.1 }), {
 *   module: gsm, noiseMultiplier: 1.1, maxGradNorm: 1, expectedBatchSize: 256,
 * });
 */
export class DPOptimizer {
  readonly originalOptimizer: Optimizer;
  readonly module: GradSampleModule;
  readonly noiseMultiplier: number;
  readonly maxGradNorm: number;
  readonly expectedBatchSize: number;
  readonly generator: Generator;
  readonly accountant: RDPAccountant | null;
  readonly sampleRate: number | null;
  /** The per-sample gradient norms (before clipping) of the last step, for diagnostics. */
  lastNorms: Tensor | null = null;

  constructor(optimizer: Optimizer, options: DPOptimizerOptions) {
    const op = 'DPOptimizer';
    const { noiseMultiplier, maxGradNorm, expectedBatchSize } = options;
    if (!(noiseMultiplier >= 0) || !Number.isFinite(noiseMultiplier))
      throw new RangeError(
        `${op}: noiseMultiplier must be a non-negative number, got ${noiseMultiplier}`,
      );
    if (!(maxGradNorm > 0) || !Number.isFinite(maxGradNorm))
      throw new RangeError(`${op}: maxGradNorm must be a positive number, got ${maxGradNorm}`);
    if (!(expectedBatchSize > 0))
      throw new RangeError(`${op}: expectedBatchSize must be positive, got ${expectedBatchSize}`);
    if (options.accountant && !(options.sampleRate! > 0 && options.sampleRate! <= 1))
      throw new RangeError(`${op}: an accountant needs the sampleRate in (0, 1]`);
    if (options.accountant && noiseMultiplier === 0)
      throw new RangeError(`${op}: without noise (noiseMultiplier 0) there is no ε to account`);
    const owned = new Set<Tensor>(optimizer.paramGroups.flatMap((g) => g.params));
    const missing = options.module.trainableParameters().filter((p) => !owned.has(p));
    if (missing.length > 0)
      throw new Error(
        `${op}: ${missing.length} trainable parameter(s) of the model are not in the optimizer; give the optimizer module.parameters()`,
      );
    this.originalOptimizer = optimizer;
    this.module = options.module;
    // step() replaces every .grad with the clipped noisy sum: backward need not compute it.
    this.module.accumulateGrads = false;
    this.noiseMultiplier = noiseMultiplier;
    this.maxGradNorm = maxGradNorm;
    this.expectedBatchSize = expectedBatchSize;
    this.generator = options.generator ?? defaultGenerator;
    this.accountant = options.accountant ?? null;
    this.sampleRate = options.sampleRate ?? null;
  }

  get paramGroups() {
    return this.originalOptimizer.paramGroups;
  }

  /**
   * Replaces each parameter's .grad by its clipped, noised and averaged gradient, without stepping
   * (Opacus's pre_step). Parameters that the last backward did not reach get noise alone.
   */
  privatizeGrads(): void {
    const divisor = this.module.lossReduction === 'mean' ? this.expectedBatchSize : 1;
    // The divisor scales the clip factors, so the sums come out averaged with no pass of their own.
    const { sums, norms } = this.module.clipAndSum(this.maxGradNorm, { scale: 1 / divisor });
    this.lastNorms = norms;
    const std = (this.noiseMultiplier * this.maxGradNorm) / divisor;
    const params = this.module.trainableParameters();
    noGrad(() => {
      const noise = std > 0 ? noiseFor(params, std, this.generator) : null;
      for (const p of params) {
        // Fresh storage of our own, changed in place and handed to .grad as autograd's own, so
        // that zeroGrad gives it back to the kernels' memory at once (with new tensors per step
        // the arena kept growing until a collection, a third of the DP step's time).
        const g = sums.get(p) ?? zeros(p.shape, { dtype: p.dtype });
        if (noise) g.add_(noise.views.get(p)!);
        p.releaseGrad();
        p.setOwnGrad(g);
      }
      // The noise is spent and only its views (now dropped) held it: its memory goes back too.
      for (const flat of noise?.flats ?? []) flat.backend.release?.(flat.storage);
    });
  }

  /** One DP-SGD step: privatize the gradients, step the wrapped optimizer, count the step. */
  step(): void {
    this.privatizeGrads();
    this.originalOptimizer.step();
    if (this.accountant)
      this.accountant.step({ noiseMultiplier: this.noiseMultiplier, sampleRate: this.sampleRate! });
  }

  zeroGrad(options?: { setToNone?: boolean }): void {
    this.originalOptimizer.zeroGrad(options);
    this.module.clearCaptures();
  }

  stateDict(): OptimizerStateDict {
    return this.originalOptimizer.stateDict();
  }

  loadStateDict(state: OptimizerStateDict): void {
    this.originalOptimizer.loadStateDict(state);
  }
}

/**
 * N(0, std²) noise for each parameter (a view of `flats`), drawn for all parameters of a dtype
 * into one array in their order: one fast pass and one tensor instead of one per parameter.
 */
function noiseFor(
  params: readonly Parameter[],
  std: number,
  generator: Generator,
): { views: Map<Parameter, Tensor>; flats: Tensor[] } {
  const views = new Map<Parameter, Tensor>();
  const flats: Tensor[] = [];
  for (const dtype of new Set(params.map((p) => p.dtype))) {
    const group = params.filter((p) => p.dtype === dtype);
    const total = group.reduce((s, p) => s + p.numel(), 0);
    const values = dtype === 'float64' ? new Float64Array(total) : new Float32Array(total);
    gaussianNoiseInto(values, std, generator);
    const flat = tensor(values, { shape: [total], dtype });
    flats.push(flat);
    let at = 0;
    for (const p of group) {
      views.set(p, flat.narrow(0, at, p.numel()).reshape([...p.shape]));
      at += p.numel();
    }
  }
  return { views, flats };
}
