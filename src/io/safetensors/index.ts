/**
 * The `safetensors` namespace of the main entry (browser-safe): bytes in, bytes out.
 * @example
 * import { safetensors } from 'chainrule';
 * const bytes = safetensors.serialize(model.stateDict());
 * model.loadStateDict(safetensors.deserialize(bytes));
 */
export { serialize, deserialize, metadata } from './codec.js';
