// Public surface of nn/utils/: gradient clipping and parameter penalties (torch.nn.utils).
export { clipGradNorm_, clipGradValue_, type ClipGradNormOptions } from './clip_grad.js';
export { l1Penalty, l2Penalty } from './regularization.js';
export { detachState, truncatedBptt, type RecurrentState } from './rnn.js';
