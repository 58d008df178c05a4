// Public surface of nn/utils/: gradient clipping, parameter penalties and functionalCall
// (torch.nn.utils, torch.nn.utils.stateless).
export { clipGradNorm_, clipGradValue_, type ClipGradNormOptions } from './clip_grad.js';
export { l1Penalty, l2Penalty } from './regularization.js';
export { functionalCall, type FunctionalCallOptions, type ParamsAndBuffers } from './stateless.js';
export { detachState, truncatedBptt, type RecurrentState } from './rnn.js';
