/**
 * Eager overhead.
 * - add: a 1-element add with gradient tracking, in a loop of OPS adds; µs per op, timed around the
 *   loop only. chainrule and PyTorch track gradients per tensor (requiresGrad); TensorFlow.js and
 *   jax-js track them inside their gradient function (tf.variableGrads, jax grad), so the loop runs there.
 * - chain: CHAIN_OPS elementwise ops (×a, +b, tanh, repeated) on 1,000 elements, then sum and
 *   backward to the input; ms per forward + backward.
 */
import { chainSetup } from '../lib/data.js';
import { guarded, repeats, timedCase } from '../lib/cases.js';
import { loadChainrule, loadJax, loadTfjs } from '../lib/frameworks.js';
import { measureSelfTimed, summarize, type MeasureOptions } from '../lib/measure.js';
import type { CaseResult, FrameworkResult, RunOptions } from '../lib/protocol.js';

export const OPS = 1000;
export const CHAIN_OPS = 100;
export const CHAIN_SIZE = 1000;
export const ADD = 'add, 1 element';
export const CHAIN = `${CHAIN_OPS}-op chain, ${CHAIN_SIZE.toLocaleString('en-US')} elements, + backward`;

const setup = chainSetup(CHAIN_SIZE);
const chainData = {
  x: setup.x.data as Float32Array,
  a: setup.a.data as Float32Array,
  b: setup.b.data as Float32Array,
};

function chain<T>(x: T, mul: (y: T) => T, add: (y: T) => T, tanh: (y: T) => T): T {
  let y = x;
  for (let i = 0; i < CHAIN_OPS; i++) y = i % 3 === 0 ? mul(y) : i % 3 === 1 ? add(y) : tanh(y);
  return y;
}

/** A sample is one loop of OPS adds (about a millisecond), so take many of them. */
async function addCase(
  loopMs: () => number | Promise<number>,
  options: MeasureOptions,
): Promise<CaseResult> {
  return guarded(ADD, async () => {
    const samples = (
      await measureSelfTimed(loopMs, { ...options, minRepeats: 20, maxRepeats: 200 })
    ).map((ms) => (ms * 1000) / OPS);
    return { name: ADD, status: 'ok', unit: 'µs', samples, summary: summarize(samples) };
  });
}

export async function chainrule(options: RunOptions): Promise<FrameworkResult> {
  const { cr, label } = await loadChainrule();
  const a1 = cr.tensor([1], { requiresGrad: true });
  const b1 = cr.tensor([1e-3]);
  const add = await addCase(() => {
    const start = performance.now();
    let y = a1;
    for (let i = 0; i < OPS; i++) y = y.add(b1);
    return performance.now() - start;
  }, repeats(options));
  const x = cr.tensor(chainData.x, { requiresGrad: true });
  const a = cr.tensor(chainData.a);
  const b = cr.tensor(chainData.b);
  const chained = await guarded(CHAIN, () =>
    timedCase(
      CHAIN,
      'ms',
      () => {
        x.grad = null;
        chain(
          x,
          (y) => y.mul(a),
          (y) => y.add(b),
          (y) => y.tanh(),
        )
          .sum()
          .backward();
        return x.grad!.dataSync();
      },
      repeats(options),
    ),
  );
  return { suite: 'overhead', framework: 'chainrule', label, cases: [add, chained] };
}

async function tfjs(backend: 'cpu' | 'wasm', options: RunOptions): Promise<FrameworkResult> {
  const { tf, label } = await loadTfjs(backend);
  const a1 = tf.variable(tf.tensor1d([1]));
  const b1 = tf.tensor1d([1e-3]);
  const add = await addCase(() => {
    let ms = 0;
    const { value, grads } = tf.variableGrads(() => {
      const start = performance.now();
      let y: import('@tensorflow/tfjs').Tensor = a1;
      for (let i = 0; i < OPS; i++) y = tf.add(y, b1);
      ms = performance.now() - start;
      return tf.sum(y);
    }, [a1]);
    value.dispose();
    tf.dispose(grads);
    return ms;
  }, repeats(options));
  const x = tf.tensor1d(chainData.x);
  const a = tf.tensor1d(chainData.a);
  const b = tf.tensor1d(chainData.b);
  const gradient = tf.grad((input: import('@tensorflow/tfjs').Tensor) =>
    tf.sum(
      chain(
        input,
        (y) => tf.mul(y, a),
        (y) => tf.add(y, b),
        (y) => tf.tanh(y),
      ),
    ),
  );
  const chained = await guarded(CHAIN, () =>
    timedCase(
      CHAIN,
      'ms',
      () => {
        const g = gradient(x);
        g.dataSync();
        g.dispose();
      },
      repeats(options),
    ),
  );
  return { suite: 'overhead', framework: `tfjs-${backend}`, label, cases: [add, chained] };
}

export const tfjsCpu = (options: RunOptions) => tfjs('cpu', options);
export const tfjsWasm = (options: RunOptions) => tfjs('wasm', options);

async function jaxjs(mode: 'eager' | 'jit', options: RunOptions): Promise<FrameworkResult> {
  const { jax, label } = await loadJax(mode);
  const { numpy: np, grad, jit } = jax;
  type A = InstanceType<typeof np.Array>;
  const cases: CaseResult[] = [];
  if (mode === 'eager') {
    // A single add has nothing to fuse: only the eager path is measured.
    const a1 = np.array([1]);
    const b1 = np.array([1e-3]);
    let ms = 0;
    const f = (a: A) => {
      const start = performance.now();
      let y = a;
      for (let i = 0; i < OPS; i++) y = y.add(b1.ref);
      ms = performance.now() - start;
      return np.sum(y);
    };
    cases.push(
      await addCase(async () => {
        await grad(f)(a1.ref).data();
        return ms;
      }, repeats(options)),
    );
  }
  const x = np.array(chainData.x);
  const a = np.array(chainData.a);
  const b = np.array(chainData.b);
  const f = (input: A) =>
    np.sum(
      chain(
        input,
        (y) => y.mul(a.ref),
        (y) => y.add(b.ref),
        (y) => np.tanh(y),
      ),
    );
  const gradient = mode === 'jit' ? jit(grad(f)) : grad(f);
  cases.push(
    await guarded(CHAIN, () =>
      timedCase(CHAIN, 'ms', async () => (gradient(x.ref) as A).data(), repeats(options)),
    ),
  );
  return { suite: 'overhead', framework: `jax-${mode}`, label, cases };
}

export const jaxEager = (options: RunOptions) => jaxjs('eager', options);
export const jaxJit = (options: RunOptions) => jaxjs('jit', options);
