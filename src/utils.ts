/**
 * The `utils` namespace (torch.utils): activation checkpointing.
 * @example
 * import { utils } from 'chainrule';
 * const h = utils.checkpoint((x) => block.call(x), input);
 */
export { checkpoint } from './autograd/checkpoint.js';
