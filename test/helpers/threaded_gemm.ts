/** Test setup for matmuls on worker threads. */
import { afterAll, beforeAll } from 'vitest';
import { configureGemm, setNumThreads, setSimdLevel } from '../../src/backend/wasm/wasm_backend.js';

/**
 * In the calling describe block: the best SIMD level, and every matmul allowed on the worker
 * threads however small (parallelMinWork 0); both restored, and the thread count reset, after.
 */
export function threadEvenSmallProducts(): void {
  let restore: ReturnType<typeof configureGemm>;
  beforeAll(() => {
    setSimdLevel(null);
    restore = configureGemm({ parallelMinWork: 0 });
  });
  afterAll(async () => {
    configureGemm(restore);
    await setNumThreads(null);
  });
}
