/** matmul float32, square n × n: GFLOP/s (2n³ flops per product). */
import { rng, uniform } from '../lib/data.js';
import { guarded, repeats, timedCase } from '../lib/cases.js';
import { loadChainrule, loadJax, loadTfjs } from '../lib/frameworks.js';
import type { CaseResult, FrameworkResult, RunOptions } from '../lib/protocol.js';

export const SIZES = [256, 512, 1024, 2048];
/** A size whose product is expected to take longer than this per call is skipped (and says so). */
const MAX_CALL_MS = { quick: 1500, full: 15000 };

const operands = (n: number) => {
  const random = rng(n);
  return [
    uniform([n, n], -1, 1, random).data as Float32Array,
    uniform([n, n], -1, 1, random).data as Float32Array,
  ];
};

/** Runs the sizes in increasing order; `product(n)` prepares operands and returns one timed call. */
async function sweep(
  options: RunOptions,
  product: (n: number) => Promise<() => unknown> | (() => unknown),
): Promise<CaseResult[]> {
  const cases: CaseResult[] = [];
  let expectedMs = 0;
  let previous = 0;
  for (const n of SIZES) {
    const name = `n=${n}`;
    const limit = options.quick ? MAX_CALL_MS.quick : MAX_CALL_MS.full;
    if (expectedMs > limit) {
      cases.push({
        name,
        status: 'skipped',
        note: `about ${(expectedMs / 1000).toFixed(1)} s per call expected from n=${previous}, over the ${limit / 1000} s limit${options.quick ? ' of --quick' : ''}`,
      });
      continue;
    }
    const flops = 2 * n ** 3;
    const result = await guarded(name, async () =>
      timedCase(
        name,
        'GFLOP/s',
        await product(n),
        repeats(options, expectedMs > 1000),
        (ms) => flops / ms / 1e6,
      ),
    );
    cases.push(result);
    if (result.summary) expectedMs = (flops / result.summary.median / 1e6) * 8;
    previous = n;
  }
  return cases;
}

async function chainruleWith(options: RunOptions, threads?: number): Promise<FrameworkResult> {
  const { cr, label, threads: used } = await loadChainrule(threads);
  const cases = await sweep(options, (n) => {
    const [a, b] = operands(n).map((data) => cr.tensor(data, { shape: [n, n] }));
    return () => cr.matmul(a, b).dataSync();
  });
  return {
    suite: 'matmul',
    framework: threads ? `chainrule-${threads}` : 'chainrule',
    label,
    threads: used,
    cases,
  };
}

/** chainrule as it comes (its default thread count), and pinned to one thread. */
export const chainrule = (options: RunOptions) => chainruleWith(options);
export const chainrule1 = (options: RunOptions) => chainruleWith(options, 1);

async function tfjs(backend: 'cpu' | 'wasm', options: RunOptions): Promise<FrameworkResult> {
  const { tf, label } = await loadTfjs(backend);
  const cases = await sweep(options, (n) => {
    const [a, b] = operands(n).map((data) => tf.tensor2d(data, [n, n]));
    return () => {
      const c = tf.matMul(a, b);
      c.dataSync();
      c.dispose();
    };
  });
  return { suite: 'matmul', framework: `tfjs-${backend}`, label, cases };
}

export const tfjsCpu = (options: RunOptions) => tfjs('cpu', options);
export const tfjsWasm = (options: RunOptions) => tfjs('wasm', options);

export async function jaxEager(options: RunOptions): Promise<FrameworkResult> {
  const { jax, label } = await loadJax('eager');
  const np = jax.numpy;
  const cases = await sweep(options, (n) => {
    const [a, b] = operands(n).map((data) => np.array(data).reshape([n, n]));
    return async () => {
      const c = np.matmul(a.ref, b.ref);
      await c.blockUntilReady();
      c.dispose();
    };
  });
  return { suite: 'matmul', framework: 'jax-eager', label, cases };
}
