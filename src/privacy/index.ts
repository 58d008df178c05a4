/** The `privacy` namespace: DP-SGD (per-sample clipping and noise) and its RDP accountant. */
export { computeEpsilon, noiseForEpsilon, RDPAccountant } from './accountant.js';
export type {
  ComputeEpsilonOptions,
  NoiseForEpsilonOptions,
  EpsilonConversion,
} from './accountant.js';
export { GradSampleModule, validateModule, type LossReduction } from './grad_sample_module.js';
export { DPOptimizer, type DPOptimizerOptions } from './dp_optimizer.js';
export { DPDataLoader, type DPDataLoaderOptions } from './dp_data_loader.js';
export {
  makePrivate,
  type MakePrivateOptions,
  type PrivateTraining,
  type LoaderLike,
  type PrivateBatches,
} from './make_private.js';
