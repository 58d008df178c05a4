/** Runs an example's main when its file is the one node (or tsx) was started with, not when a test imports it. */
import { fileURLToPath } from 'node:url';

export function runIfMain(moduleUrl: string, main: () => Promise<unknown> | unknown): void {
  if (process.argv[1] && fileURLToPath(moduleUrl) === process.argv[1]) {
    Promise.resolve(main()).catch((error: Error) => {
      console.error(error);
      process.exit(1);
    });
  }
}
