/**
 * The garbage collector, as far as a program may drive it: FinalizationRegistries whose callbacks
 * can be run on demand (`cleanupSome`), and, in Node, full collections at once. Blocks of the
 * kernels' memory (which V8 does not see as memory) and the count of host arrays come back
 * through these registries; a synchronous training loop never returns to the event loop, so
 * without `cleanupSome` their callbacks would never run in it.
 */
import { nodeBuiltin } from './wasm/platform.js';

type Gc = () => void;
type CleanupSomeRegistry<T> = FinalizationRegistry<T> & { cleanupSome?: () => void };

interface Collector {
  Registry: typeof FinalizationRegistry;
  gc: Gc | null;
  /** The callbacks of every registry made here, run on demand (cleanupSome) where possible. */
  cleanups: (() => void)[];
}

let collector: Collector | null = null;

/**
 * In Node: V8 flags set at run time (like the relaxed-SIMD one in wasm/platform.ts) expose `gc`
 * and FinalizationRegistry's `cleanupSome` in a fresh context, whose registry class is used.
 * Elsewhere: the plain class, whose callbacks the engine runs between tasks.
 */
function collectorOf(): Collector {
  if (collector) return collector;
  const v8 = nodeBuiltin<{ setFlagsFromString(flags: string): void }>('node:v8');
  const vm = nodeBuiltin<{ runInNewContext(code: string): unknown }>('node:vm');
  collector = { Registry: FinalizationRegistry, gc: null, cleanups: [] };
  if (v8 && vm) {
    try {
      v8.setFlagsFromString('--expose-gc');
      v8.setFlagsFromString('--harmony-weak-refs-with-cleanup-some');
      const [gc, Registry] = vm.runInNewContext('[globalThis.gc, FinalizationRegistry]') as [
        unknown,
        typeof FinalizationRegistry,
      ];
      if (typeof gc === 'function') collector.gc = gc as Gc;
      if (typeof Registry === 'function') collector.Registry = Registry;
    } catch {
      // Flags refused: plain registries still run their callbacks between tasks.
    }
  }
  return collector;
}

/** A registry for `callback`, and a function that runs its due callbacks now (null if it cannot). */
export function makeRegistry<T>(callback: (held: T) => void): {
  registry: FinalizationRegistry<T>;
  cleanup: (() => void) | null;
} {
  const c = collectorOf();
  const registry = new c.Registry<T>(callback) as CleanupSomeRegistry<T>;
  const cleanup = typeof registry.cleanupSome === 'function' ? () => registry.cleanupSome!() : null;
  if (cleanup) c.cleanups.push(cleanup);
  return { registry, cleanup };
}

/** Runs the due callbacks of every registry made by makeRegistry. */
export function runFinalizers(): void {
  for (const cleanup of collectorOf().cleanups) cleanup();
}

/** A full garbage collection now, then the due callbacks; false if this engine allows none. */
export function collectNow(): boolean {
  const { gc } = collectorOf();
  if (!gc) return false;
  gc();
  runFinalizers();
  return true;
}
