/**
 * What the JavaScript engine offers: WebAssembly at all, 128-bit SIMD, relaxed SIMD, shared
 * memory and threads. Probed once, at start-up, by validating tiny modules. Node 20's V8 ships
 * relaxed SIMD behind a flag, so in Node (never in a browser) the flag is set before the first
 * kernel module compiles; `node:v8` and `node:worker_threads` are reached through
 * `process.getBuiltinModule`, which is synchronous and invisible to browser bundlers.
 */
import { ModuleBuilder } from './emitter.js';

export type SimdLevel = 'relaxed' | 'simd' | 'scalar';

interface NodeProcess {
  versions?: { node?: string };
  getBuiltinModule?: (name: string) => unknown;
}

const nodeProcess = (globalThis as { process?: NodeProcess }).process;

/** True under Node.js (not in a browser or a Web Worker). */
export const isNode = typeof nodeProcess?.versions?.node === 'string';

/** A Node built-in module, or null outside Node (or on a Node without getBuiltinModule). */
export function nodeBuiltin<T>(name: string): T | null {
  if (!isNode || typeof nodeProcess?.getBuiltinModule !== 'function') return null;
  try {
    return nodeProcess.getBuiltinModule(name) as T;
  } catch {
    return null;
  }
}

export const hasWebAssembly =
  typeof WebAssembly === 'object' && typeof WebAssembly.validate === 'function';

/**
 * A module builder importing one unshared page of memory (`env.memory`): room for small probes
 * and register-only loops (bench/lib/ceiling_module.ts) that barely touch memory.
 */
export function onePageModule(): ModuleBuilder {
  return new ModuleBuilder({
    module: 'env',
    name: 'memory',
    initialPages: 1,
    maximumPages: 1,
    shared: false,
  });
}

function probe(build: (m: ModuleBuilder) => void): boolean {
  if (!hasWebAssembly) return false;
  const m = onePageModule();
  build(m);
  try {
    return WebAssembly.validate(m.encode());
  } catch {
    return false;
  }
}

function probeSimd(): boolean {
  return probe((m) => {
    const f = m.func('f', ['v128'], ['v128']);
    f.get(f.param(0)).get(f.param(0)).f32x4_mul();
  });
}

function probeRelaxed(): boolean {
  return probe((m) => {
    const f = m.func('f', ['v128', 'v128', 'v128'], ['v128']);
    f.get(f.param(0)).get(f.param(1)).get(f.param(2)).f32x4_relaxed_madd();
  });
}

function detect(): { simd: boolean; relaxed: boolean } {
  const simd = probeSimd();
  let relaxed = simd && probeRelaxed();
  if (simd && !relaxed && isNode) {
    // Node 20 (V8 11.3) has relaxed SIMD behind a flag; later versions ship it.
    const v8 = nodeBuiltin<{ setFlagsFromString(flags: string): void }>('node:v8');
    try {
      v8?.setFlagsFromString('--experimental-wasm-relaxed-simd');
      relaxed = probeRelaxed();
    } catch {
      relaxed = false;
    }
  }
  return { simd, relaxed };
}

const detected = detect();

/** The best SIMD level this engine validates. */
export const bestSimdLevel: SimdLevel = detected.relaxed
  ? 'relaxed'
  : detected.simd
    ? 'simd'
    : 'scalar';

/** Whether a level can run here ('scalar' always can when WebAssembly exists). */
export function simdLevelSupported(level: SimdLevel): boolean {
  return level === 'scalar' ? hasWebAssembly : level === 'simd' ? detected.simd : detected.relaxed;
}

/** Shared memory is possible (SharedArrayBuffer exposed: Node, or a cross-origin isolated page). */
export const hasSharedMemory = ((): boolean => {
  if (!hasWebAssembly || typeof SharedArrayBuffer !== 'function') return false;
  try {
    const m = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return m.buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
})();

/** Inside a browser Web Worker (where Atomics.wait is allowed). */
const inWebWorker =
  !isNode && typeof (globalThis as { importScripts?: unknown }).importScripts === 'function';

/**
 * Whether this thread may block in Atomics.wait, which synchronous multi-threaded kernels need:
 * Node's main thread and workers yes, a browser's main thread no.
 */
export const canBlock = isNode || inWebWorker;

/** Logical cores, or 1 where unknown. */
export function hardwareThreads(): number {
  // Asked once: every parallel kernel decides with it, and os.availableParallelism() is a
  // call into libuv (~1-2% of a small training step when asked per kernel).
  hardwareThreadCount ??= countHardwareThreads();
  return hardwareThreadCount;
}

let hardwareThreadCount: number | undefined;

function countHardwareThreads(): number {
  const os = nodeBuiltin<{ availableParallelism?: () => number; cpus(): unknown[] }>('node:os');
  if (os)
    return Math.max(1, os.availableParallelism ? os.availableParallelism() : os.cpus().length);
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return Math.max(1, nav?.hardwareConcurrency ?? 1);
}
