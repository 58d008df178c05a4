/**
 * Per-kernel profiling for the step profiles (bench/cnn_profile.ts, bench/mlp_profile.ts): wraps
 * every method of the WebAssembly backend so that, while on, each call's wall and process CPU
 * time (all threads) is added up per kernel and operand shapes.
 */
import * as os from 'node:os';
import * as kernels from '../../src/backend/wasm/wasm_backend.js';

interface KernelStats {
  wall: number;
  cpu: number;
  calls: number;
  walls: number[];
}

/** The profiler over `kernels.wasmBackend`; `on`/`off` bracket the steps to attribute. */
export function profileKernels() {
  const stats = new Map<string, KernelStats>();
  let profiling = false;
  const backend = kernels.wasmBackend as unknown as Record<string, unknown>;
  for (const key of Object.keys(backend)) {
    const f = backend[key];
    if (typeof f !== 'function') continue;
    backend[key] = function (this: unknown, ...args: unknown[]) {
      if (!profiling) return (f as (...a: unknown[]) => unknown).apply(this, args);
      const shapes = args
        .filter(
          (a): a is { shape: number[] } =>
            !!a && typeof a === 'object' && Array.isArray((a as { shape?: unknown }).shape),
        )
        .map((a) => `[${a.shape.join(',')}]`)
        .join('x');
      const label = `${typeof args[0] === 'string' ? `${key}:${args[0]}` : key} ${shapes}`;
      profiling = false; // a kernel that calls another is counted once
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const result = (f as (...a: unknown[]) => unknown).apply(this, args);
      const wall = performance.now() - t0;
      const c = process.cpuUsage(c0);
      profiling = true;
      const s = stats.get(label) ?? { wall: 0, cpu: 0, calls: 0, walls: [] };
      s.walls.push(wall);
      s.wall += wall;
      s.cpu += (c.user + c.system) / 1000;
      s.calls++;
      stats.set(label, s);
      return result;
    };
  }
  const profiler = {
    on: () => void (profiling = true),
    off: () => void (profiling = false),
    /** Runs `step` `steps` times with the profiler on, then reports the top kernels per step. */
    run(step: () => unknown, steps: number, top?: number): void {
      profiler.on();
      for (let i = 0; i < steps; i++) step();
      profiler.off();
      profiler.report(steps, top);
    },
    /**
     * The top kernels by wall time, per step over `steps` profiled steps: mean wall and CPU time
     * (collections and other pauses included), and the median call's wall time.
     */
    report(steps: number, top = 30): void {
      const rows = [...stats.entries()].sort((a, b) => b[1].wall - a[1].wall);
      const total = rows.reduce((sum, [, v]) => sum + v.wall, 0);
      console.log(
        `kernels (per step; sum ${(total / steps).toFixed(2)} ms wall; mean wall, mean cpu, median call):`,
      );
      for (const [k, v] of rows.slice(0, top)) {
        console.log(
          `  ${(v.wall / steps).toFixed(3).padStart(7)} ${(v.cpu / steps).toFixed(3).padStart(7)} ${median(v.walls).toFixed(3).padStart(7)}  ${(v.calls / steps).toFixed(0).padStart(3)}x  ${k}`,
        );
      }
    },
  };
  return profiler;
}

export const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];

/** Wall and process CPU time (all threads) of one call of `step`, in ms. */
function timeCall(step: () => unknown): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  step();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

/** Median wall and CPU ms of `step` called for `ms` milliseconds (and at least `minCalls` times). */
export function timeFor(
  step: () => unknown,
  ms: number,
  minCalls = 1,
): { wall: number; cpu: number } {
  const walls: number[] = [];
  const cpus: number[] = [];
  const end = performance.now() + ms;
  while (walls.length < minCalls || performance.now() < end) {
    const { wall, cpu } = timeCall(step);
    walls.push(wall);
    cpus.push(cpu);
  }
  return { wall: median(walls), cpu: median(cpus) };
}

/** Times `steps` calls of `step`: median and minimum wall time, median process CPU time. */
export function timeSteps(step: () => unknown, steps: number): void {
  const walls: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < steps; i++) {
    const { wall, cpu } = timeCall(step);
    walls.push(wall);
    cpus.push(cpu);
  }
  console.log(
    `threads ${kernels.numThreads()}, simd ${kernels.simdLevel()}, load ${os
      .loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `step: median wall ${median(walls).toFixed(2)} ms (min ${Math.min(...walls).toFixed(2)}, mean ${(walls.reduce((a, b) => a + b, 0) / steps).toFixed(2)}), median cpu ${median(cpus).toFixed(2)} ms`,
  );
}
