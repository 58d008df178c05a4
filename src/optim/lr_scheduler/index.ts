// Learning-rate schedulers, exported from optim/ as `lrScheduler` (PyTorch's torch.optim.lr_scheduler).
export { LRScheduler, type AnyOptimizer } from './scheduler.js';
export {
  StepLR,
  MultiStepLR,
  ExponentialLR,
  LambdaLR,
  MultiplicativeLR,
  type StepLROptions,
  type MultiStepLROptions,
  type ExponentialLROptions,
  type LambdaLROptions,
  type LrLambda,
} from './step_lr.js';
export {
  LinearLR,
  ConstantLR,
  PolynomialLR,
  type LinearLROptions,
  type ConstantLROptions,
  type PolynomialLROptions,
} from './linear_lr.js';
export {
  CosineAnnealingLR,
  CosineAnnealingWarmRestarts,
  type CosineAnnealingLROptions,
  type CosineAnnealingWarmRestartsOptions,
} from './cosine_annealing_lr.js';
export { OneCycleLR, type OneCycleLROptions } from './one_cycle_lr.js';
export { SequentialLR, ChainedScheduler, type SequentialLROptions } from './sequential_lr.js';
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from './reduce_lr_on_plateau.js';
