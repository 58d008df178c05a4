/** Atomic file writes (Node-only), shared by checkpoints and safetensors.save. */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

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
