/**
 * The `safetensors` namespace of `chainrule/node`: the bytes functions plus files. Writes are
 * atomic (temporary file, fsync, rename), like checkpoints.
 */
import { readFileSync } from 'node:fs';
import type { Tensor } from '../../tensor/tensor.js';
import { writeFileAtomic } from '../../train/write_file_atomic.js';
import { deserialize, metadata, serialize } from './codec.js';

export { serialize, deserialize, metadata } from './codec.js';

function read(path: string, op: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`safetensors.${op}: cannot read ${path}: ${(error as Error).message}`);
  }
}

/**
 * Saves tensors (e.g. `model.stateDict()`) to a .safetensors file that Python's
 * `safetensors.torch.load_file` reads.
 * @example
 * safetensors.save(model.stateDict(), 'model.safetensors', { format: 'pt' });
 */
export function save(
  tensors: Record<string, Tensor>,
  path: string,
  meta?: Record<string, string>,
): void {
  writeFileAtomic(path, serialize(tensors, meta), 'safetensors.save');
}

/**
 * Loads a .safetensors file (for example one written by PyTorch) as a state dict of CPU tensors.
 * @example
 * model.loadStateDict(safetensors.load('model.safetensors'));
 */
export function load(path: string): Record<string, Tensor> {
  return deserialize(read(path, 'load'), path);
}

/** The `__metadata__` map of a .safetensors file (undefined when it has none). */
export function loadMetadata(path: string): Record<string, string> | undefined {
  return metadata(read(path, 'loadMetadata'), path);
}
