/** The kernel trace around one call, for tests that check which kernels ran. */
import * as cr from '../../src/index.js';

/** The kernels that ran `fn`, as "op:kernel" strings (the trace is off again after). */
export function traceKernels(fn: () => unknown): string[] {
  cr.setKernelTrace(true);
  try {
    fn();
    return cr.kernelTrace().map((c) => `${c.op}:${c.kernel}`);
  } finally {
    cr.setKernelTrace(false);
  }
}
