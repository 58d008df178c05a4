/**
 * One benchmark family for one framework, in a process of its own (the runner starts one per pair,
 * so frameworks never share a heap or JIT state):  tsx bench/child.ts <suite> <framework> [--quick]
 * Prints the result as one JSON line after RESULT_MARKER.
 */
import { report, type FrameworkResult, type RunOptions } from './lib/protocol.js';

const [suite, framework] = process.argv.slice(2);
const options: RunOptions = { quick: process.argv.includes('--quick') };
const exportName = framework.replace(/-(\w)/g, (_, c: string) => c.toUpperCase()); // tfjs-wasm → tfjsWasm

const module = (await import(`./suites/${suite}.ts`)) as Record<
  string,
  (o: RunOptions) => Promise<FrameworkResult>
>;
const runner = module[exportName];
if (typeof runner !== 'function')
  throw new Error(
    `bench/suites/${suite}.ts has no runner for '${framework}' (export '${exportName}')`,
  );
report(await runner(options));
process.exit(0); // worker threads and wasm thread pools must not keep the process alive
