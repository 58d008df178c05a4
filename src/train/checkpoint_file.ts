/**
 * Saving and loading checkpoint files (Node-only). Writes are atomic: the checkpoint goes to a
 * temporary file in the same folder, is flushed to disk, and is renamed over the target, so a
 * crash or a failed save never destroys the previous checkpoint.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Tensor } from '../tensor/tensor.js';
import type { Generator, GeneratorState } from '../tensor/random.js';
import {
  deserializeCheckpoint,
  serializeCheckpoint,
  type CheckpointContents,
} from './checkpoint.js';
import { writeFileAtomic } from './write_file_atomic.js';
import * as safetensors from '../io/safetensors/file.js';

export { writeFileAtomic } from './write_file_atomic.js';

/**
 * A checkpoint path ending in `.safetensors` holds the model there (PyTorch reads it with
 * `safetensors.torch.load_file`) and the rest (optimizer, scheduler, generators, epoch, extra)
 * in this JSON file beside it.
 */
export function sidecarPath(path: string): string | null {
  return path.endsWith('.safetensors')
    ? path.slice(0, -'.safetensors'.length) + '.state.json'
    : null;
}

interface HasState {
  stateDict(): unknown;
  loadStateDict(state: any, options?: any): unknown;
}

/** The objects whose state a checkpoint holds. */
export interface TrainingState {
  model?: {
    stateDict(): Record<string, Tensor>;
    loadStateDict(state: Record<string, Tensor>, options?: { strict?: boolean }): unknown;
  };
  optimizer?: HasState;
  scheduler?: HasState;
  generators?: Record<string, Generator>;
  epoch?: number;
  extra?: unknown;
}

/**
 * Saves model, optimizer, scheduler and generator state in one file, atomically; or, for a path
 * ending in `.safetensors`, the model there and the rest in a JSON beside it ({@link sidecarPath}).
 * @example
 * saveCheckpoint('run/last.ckpt', { model, optimizer, scheduler, generators: { loader: generator }, epoch });
 * saveCheckpoint('run/last.safetensors', { model, optimizer, epoch }); // + run/last.state.json
 */
export function saveCheckpoint(path: string, state: TrainingState): void {
  const contents: CheckpointContents = {
    model: state.model?.stateDict(),
    optimizer: state.optimizer?.stateDict(),
    scheduler: state.scheduler?.stateDict(),
    generators:
      state.generators &&
      Object.fromEntries(Object.entries(state.generators).map(([k, g]) => [k, g.getState()])),
    epoch: state.epoch,
    extra: state.extra,
  };
  const sidecar = sidecarPath(path);
  if (sidecar === null) return writeFileAtomic(path, serializeCheckpoint(contents));
  if (!contents.model)
    throw new Error(`saveCheckpoint: ${path} is a .safetensors checkpoint but no model was given`);
  // Model first: a crash in between leaves new weights with the previous loop state, never
  // loop state that claims weights the file does not hold.
  safetensors.save(contents.model, path, { format: 'pt' });
  writeFileAtomic(sidecar, serializeCheckpoint({ ...contents, model: undefined }));
}

/** Reads and verifies a checkpoint file. */
export function readCheckpoint(path: string): CheckpointContents {
  const sidecar = sidecarPath(path);
  if (sidecar !== null) {
    const model = safetensors.load(path);
    if (!existsSync(sidecar)) return { model };
    return { ...readCheckpoint(sidecar), model };
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`loadCheckpoint: cannot read ${path}: ${(error as Error).message}`);
  }
  return deserializeCheckpoint(text, path);
}

/**
 * Loads a checkpoint into the given objects (each part that is given must be in the file) and
 * returns the file's contents, e.g. the epoch to resume from. All or nothing: the file is read
 * and checked whole, every part asked for must be there, and if loading any of them fails the
 * ones already loaded are put back as they were, so a failed load changes nothing.
 */
export function loadCheckpoint(
  path: string,
  into: Omit<TrainingState, 'epoch' | 'extra'> = {},
): CheckpointContents {
  const contents = readCheckpoint(path);
  const parts = (['model', 'optimizer', 'scheduler', 'generators'] as const).filter(
    (part) => into[part] !== undefined,
  );
  for (const part of parts)
    if (contents[part] === undefined)
      throw new Error(`loadCheckpoint: ${path} has no ${part} state`);
  const savedGenerators = (contents.generators ?? {}) as Record<string, GeneratorState>;
  for (const name of Object.keys(into.generators ?? {}))
    if (!savedGenerators[name])
      throw new Error(`loadCheckpoint: ${path} has no state for generator '${name}'`);

  // Each target as it is now, to put back if a later part fails.
  const undo: (() => void)[] = [];
  try {
    if (into.model) {
      const model = into.model;
      const before = Object.fromEntries(
        Object.entries(model.stateDict()).map(([k, t]) => [k, t.clone()]),
      );
      model.loadStateDict(contents.model as Record<string, Tensor>);
      undo.push(() => model.loadStateDict(before));
    }
    for (const part of ['optimizer', 'scheduler'] as const) {
      const target = into[part];
      if (!target) continue;
      const before = target.stateDict();
      target.loadStateDict(contents[part]);
      undo.push(() => target.loadStateDict(before));
    }
    for (const [name, generator] of Object.entries(into.generators ?? {})) {
      const before = generator.getState();
      try {
        generator.setState(savedGenerators[name]);
      } catch (error) {
        throw new Error(
          `loadCheckpoint: ${path}: generator '${name}': ${(error as Error).message}`,
        );
      }
      undo.push(() => generator.setState(before));
    }
  } catch (error) {
    for (const restore of undo.reverse()) restore();
    throw error;
  }
  return contents;
}
