/** The `privacy` namespace: DP-SGD (per-sample clipping and noise) and its RDP accountant. */
export { computeEpsilon, noiseForEpsilon, RDPAccountant } from './accountant.js';
export type {
  ComputeEpsilonOptions,
  NoiseForEpsilonOptions,
  EpsilonConversion,
} from './accountant.js';
