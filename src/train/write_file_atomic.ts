/** Atomic file writes (Node-only), shared by checkpoints and safetensors.save. */
import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

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

/** Writes `contents` to `path` atomically (temp file + fsync + rename); `op` names the caller in errors. */
export function writeFileAtomic(
  path: string,
  contents: string | Uint8Array,
  op = 'saveCheckpoint',
): void {
  removeStaleTemporaries(path);
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
  fsyncDirectory(dirname(path));
}
