/**
 * MLP 784-256-128-10, ReLU, softmax cross-entropy, plain SGD: milliseconds per training step
 * (forward + backward + update, loss read back), batch 128 and 1000, same batch and weights for all.
 */
import { LEARNING_RATE, mlpSetup, permute, type Setup } from '../lib/data.js';
import { guarded, repeats, trainingStepCase } from '../lib/cases.js';
import { loadChainrule, loadJax, loadTfjs } from '../lib/frameworks.js';
import type { CaseResult, FrameworkResult, RunOptions } from '../lib/protocol.js';

export const BATCHES = [128, 1000];
const LAYERS = ['fc1', 'fc2', 'fc3'];

/** One case per batch size; `makeStep(setup)` builds the model and returns a step that returns the loss. */
async function perBatch(
  options: RunOptions,
  makeStep: (
    setup: Setup,
  ) => Promise<() => number | Promise<number>> | (() => number | Promise<number>),
): Promise<CaseResult[]> {
  const cases: CaseResult[] = [];
  for (const batch of BATCHES) {
    const name = `batch ${batch}`;
    cases.push(
      await guarded(name, async () =>
        trainingStepCase(name, await makeStep(mlpSetup(batch)), repeats(options)),
      ),
    );
  }
  return cases;
}

type Chainrule = typeof import('../../src/index.js');

/** chainrule's training step on `setup` (also profiled by bench/mlp_profile.ts). */
export function chainruleStep(cr: Chainrule, setup: Setup): () => number {
  const { F } = cr;
  const x = cr.tensor(setup.x.data, { shape: setup.x.shape });
  const y = cr.tensor(setup.y.data, { shape: setup.y.shape });
  const p = (name: string) =>
    cr.tensor(setup[name].data.slice(), { shape: setup[name].shape, requiresGrad: true });
  const layers = LAYERS.map((l) => ({ weight: p(`${l}.weight`), bias: p(`${l}.bias`) }));
  const optimizer = new cr.optim.SGD(
    layers.flatMap((l) => [l.weight, l.bias]),
    { lr: LEARNING_RATE },
  );
  return () => {
    optimizer.zeroGrad();
    let h = x;
    layers.forEach((l, i) => {
      h = F.linear(h, l.weight, l.bias);
      if (i < layers.length - 1) h = F.relu(h);
    });
    const loss = F.crossEntropy(h, y);
    loss.backward();
    optimizer.step();
    return loss.itemSync() as number;
  };
}

export async function chainrule(options: RunOptions): Promise<FrameworkResult> {
  const { cr, label } = await loadChainrule();
  const cases = await perBatch(options, (setup) => chainruleStep(cr, setup));
  return { suite: 'mlp', framework: 'chainrule', label, cases };
}

async function tfjs(backend: 'cpu' | 'wasm', options: RunOptions): Promise<FrameworkResult> {
  const { tf, label } = await loadTfjs(backend);
  const cases = await perBatch(options, (setup) => {
    const x = tf.tensor2d(setup.x.data as Float32Array, setup.x.shape as [number, number]);
    const target = tf.oneHot(tf.tensor1d(setup.y.data as Int32Array, 'int32'), 10);
    // Dense kernels are [in, out] in TensorFlow.js: the shared [out, in] weights transposed.
    const layers = LAYERS.map((l) => {
      const w = permute(setup[`${l}.weight`], [1, 0]);
      return {
        kernel: tf.variable(tf.tensor2d(w.data as Float32Array, w.shape as [number, number])),
        bias: tf.variable(tf.tensor1d(setup[`${l}.bias`].data as Float32Array)),
      };
    });
    const optimizer = tf.train.sgd(LEARNING_RATE);
    const lossFn = () => {
      let h: import('@tensorflow/tfjs').Tensor = x;
      layers.forEach((l, i) => {
        h = tf.add(tf.matMul(h, l.kernel), l.bias);
        if (i < layers.length - 1) h = tf.relu(h);
      });
      return tf.losses.softmaxCrossEntropy(target, h) as import('@tensorflow/tfjs').Scalar;
    };
    return () => {
      const cost = optimizer.minimize(lossFn, true)!;
      const value = cost.dataSync()[0];
      cost.dispose();
      return value;
    };
  });
  return { suite: 'mlp', framework: `tfjs-${backend}`, label, cases };
}

export const tfjsCpu = (options: RunOptions) => tfjs('cpu', options);
export const tfjsWasm = (options: RunOptions) => tfjs('wasm', options);

async function jaxjs(mode: 'eager' | 'jit', options: RunOptions): Promise<FrameworkResult> {
  const { jax, label } = await loadJax(mode);
  const { numpy: np, nn, tree, valueAndGrad, jit } = jax;
  type A = InstanceType<typeof np.Array>;
  type Params = Record<string, A>;
  const lossFn = (p: Params, x: A, target: A) => {
    let h = x;
    LAYERS.forEach((l, i) => {
      h = np.matmul(h, p[`${l}.kernel`]).add(p[`${l}.bias`]);
      if (i < LAYERS.length - 1) h = nn.relu(h);
    });
    const batch = h.shape[0];
    return np.sum(nn.logSoftmax(h, -1).mul(target)).mul(-1 / batch);
  };
  const update = (p: Params, x: A, target: A) => {
    const [loss, grads] = valueAndGrad(lossFn)(tree.ref(p), x, target);
    return [loss, tree.map((w: A, g: A) => w.sub(g.mul(LEARNING_RATE)), p, grads) as Params];
  };
  const trainStep = mode === 'jit' ? jit(update) : update;
  const cases = await perBatch(options, (setup) => {
    const x = np.array(setup.x.data as Float32Array).reshape(setup.x.shape);
    const target = nn.oneHot(np.array(setup.y.data as Int32Array, { dtype: np.int32 }), 10);
    let params: Params = {};
    for (const l of LAYERS) {
      const w = permute(setup[`${l}.weight`], [1, 0]); // [in, out], as jax's Dense kernels
      params[`${l}.kernel`] = np.array(w.data as Float32Array).reshape(w.shape);
      params[`${l}.bias`] = np.array(setup[`${l}.bias`].data as Float32Array);
    }
    return async () => {
      const [loss, next] = trainStep(params, x.ref, target.ref) as unknown as [A, Params];
      params = next;
      await jax.blockUntilReady(params);
      return (await loss.data())[0];
    };
  });
  return { suite: 'mlp', framework: `jax-${mode}`, label, cases };
}

export const jaxEager = (options: RunOptions) => jaxjs('eager', options);
export const jaxJit = (options: RunOptions) => jaxjs('jit', options);
