/** `autograd.*`: the engine's entry points and custom differentiable functions, as in torch.autograd. */
export { grad, backward, type GradOptions, type BackwardOptions } from './backward.js';
export { Function, FunctionContext } from './function.js';
export { detectAnomaly, setDetectAnomaly } from './anomaly.js';
export { gradcheck, gradgradcheck } from './gradcheck.js';
