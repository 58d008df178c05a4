/**
 * The kernel trace: which kernel actually ran for each op call, so a user (and the benchmarks)
 * can see which path executed: a WebAssembly kernel, a TypeScript fast path, the general strided
 * loop, a backend's fused kernel or the composed fallback built from primitives. Off by default;
 * when off, recording costs one test of a flag.
 * @example
 * setKernelTrace(true);
 * tensor([-1, 2]).relu();
 * kernelTrace(); // [{ op: 'relu', kernel: 'fast-path' }]
 * setKernelTrace(false);
 */

/** One op call and the kernel that ran it. */
export interface KernelCall {
  /** The op: an op-table name ('relu', 'add'), a primitive ('matmul') or a fused op ('linear'). */
  readonly op: string;
  /**
   * What ran it: 'wasm' (a WebAssembly kernel), 'fast-path' (the CPU fast paths' typed-array
   * loops), 'strided' (the CPU backend's general loop), 'typescript' (another TypeScript
   * kernel), 'fused' (a backend's fused kernel, named by its op) or 'composed' (the fallback
   * from primitives, whose own kernels are traced too).
   */
  readonly kernel: string;
}

let tracing = false;
let calls: KernelCall[] = [];

/** Turns the trace on (emptying it) or off. */
export function setKernelTrace(enabled: boolean): void {
  tracing = enabled;
  if (enabled) calls = [];
}

/** Whether the trace is on. */
export function isKernelTraceEnabled(): boolean {
  return tracing;
}

/** The calls recorded since the trace was turned on (or last cleared), oldest first. */
export function kernelTrace(): readonly KernelCall[] {
  return calls;
}

/** Empties the trace. */
export function clearKernelTrace(): void {
  calls = [];
}

/** Records that `kernel` ran op `op` (a no-op while the trace is off). */
export function traceKernel(op: string, kernel: string): void {
  if (tracing) calls.push({ op, kernel });
}
