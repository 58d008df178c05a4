/**
 * Saving and loading checkpoint files (Node-only). Writes are atomic: the checkpoint goes to a
 * temporary file in the same folder, is flushed to disk, and is renamed over the target, so a
 * crash or a failed save never destroys the previous checkpoint.
 */
import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Tensor } from '../tensor/tensor.js';
import type { Generator, GeneratorState } from '../tensor/random.js';
import {
  deserializeCheckpoint,
  serializeCheckpoint,
  type CheckpointContents,
} from './checkpoint.js';

/** A temporary file of writeFileAtomic for `path`: `.<name>.<pid>.<time>.tmp` (pid and time captured). */
function temporaryPattern(name: string): RegExp {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^\\.${escaped}\\.(\\d+)\\.(\\d+)\\.tmp$`);
}

/** Whether the process `pid` is running (signal 0 tests it without sending anything). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files that writes of `path` killed mid-way left behind (up to a whole
 * checkpoint each): those of processes no longer running, and this process's own earlier ones.
 * Another running process's write of the same path is left alone.
 */
function removeStaleTemporaries(path: string): void {
  const pattern = temporaryPattern(basename(path));
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return; // the write itself reports a folder it cannot use
  }
  for (const name of names) {
    const match = pattern.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    if (pid === process.pid || !processAlive(pid))
      rmSync(join(dirname(path), name), { force: true });
  }
}

/**
 * Flushes the folder's entry of a file just renamed into it, so that the rename itself survives
 * a power cut. Some systems cannot open or flush a folder (Windows): the file's own data is
 * flushed already, so that is not an error.
 */
function fsyncDirectory(folder: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(folder, 'r');
    fsyncSync(fd);
  } catch {
    // not supported here
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/**
 * Writes `text` to `path` atomically: a temporary file in the same folder, flushed, renamed over
 * the target, and the folder flushed. Temporary files that earlier writes of `path` left when
 * killed are removed first.
 */
export function writeFileAtomic(path: string, text: string): void {
  removeStaleTemporaries(path);
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number | null = null;
  try {
    fd = openSync(temporary, 'w');
    writeSync(fd, text);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(temporary, path);
  } catch (error) {
    if (fd !== null) closeSync(fd);
    rmSync(temporary, { force: true });
    throw new Error(
      `saveCheckpoint: could not write ${path}: ${(error as Error).message}; any previous file there is unchanged`,
    );
  }
  fsyncDirectory(dirname(path));
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
