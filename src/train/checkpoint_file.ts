/**
 * Saving and loading checkpoint files (Node-only). Writes are atomic: the checkpoint goes to a
 * temporary file in the same folder, is flushed to disk, and is renamed over the target, so a
 * crash or a failed save never destroys the previous checkpoint.
 */
import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Tensor } from '../tensor/tensor.js';
import type { Generator } from '../tensor/random.js';
import {
  deserializeCheckpoint,
  serializeCheckpoint,
  type CheckpointContents,
} from './checkpoint.js';

/** Writes `contents` to `path` atomically (temp file + fsync + rename); `op` names the caller in errors. */
export function writeFileAtomic(
  path: string,
  contents: string | Uint8Array,
  op = 'saveCheckpoint',
): void {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number | null = null;
  try {
    fd = openSync(temporary, 'w');
    if (typeof contents === 'string') writeSync(fd, contents);
    else {
      // writeSync may write less than asked; loop until every byte is out.
      for (let done = 0; done < contents.length;)
        done += writeSync(fd, contents, done, contents.length - done);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(temporary, path);
  } catch (error) {
    if (fd !== null) closeSync(fd);
    rmSync(temporary, { force: true });
    throw new Error(
      `${op}: could not write ${path}: ${(error as Error).message}; any previous file there is unchanged`,
    );
  }
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
 * Saves model, optimizer, scheduler and generator state in one file, atomically.
 * @example
 * saveCheckpoint('run/last.ckpt', { model, optimizer, scheduler, generators: { loader: generator }, epoch });
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
  writeFileAtomic(path, serializeCheckpoint(contents));
}

/** Reads and verifies a checkpoint file. */
export function readCheckpoint(path: string): CheckpointContents {
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
 * returns the file's contents, e.g. the epoch to resume from.
 */
export function loadCheckpoint(
  path: string,
  into: Omit<TrainingState, 'epoch' | 'extra'> = {},
): CheckpointContents {
  const contents = readCheckpoint(path);
  const require = (part: keyof CheckpointContents) => {
    if (contents[part] === undefined)
      throw new Error(`loadCheckpoint: ${path} has no ${part} state`);
    return contents[part];
  };
  if (into.model) into.model.loadStateDict(require('model') as Record<string, Tensor>);
  if (into.optimizer) into.optimizer.loadStateDict(require('optimizer'));
  if (into.scheduler) into.scheduler.loadStateDict(require('scheduler'));
  if (into.generators) {
    const saved = require('generators') as Record<string, ReturnType<Generator['getState']>>;
    for (const [name, generator] of Object.entries(into.generators)) {
      if (!saved[name])
        throw new Error(`loadCheckpoint: ${path} has no state for generator '${name}'`);
      generator.setState(saved[name]);
    }
  }
  return contents;
}
