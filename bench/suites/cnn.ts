/**
 * CNN conv3x3(32)-ReLU-maxpool2-conv3x3(64)-ReLU-maxpool2-linear(10) on 28×28×1 images, batch 64:
 * milliseconds per SGD training step (forward + backward + update, loss read back).
 */
import { LEARNING_RATE, cnnSetup, permute, type Setup } from '../lib/data.js';
import { guarded, repeats, trainingStepCase } from '../lib/cases.js';
import { loadChainrule, loadJax, loadTfjs } from '../lib/frameworks.js';
import type { CaseResult, FrameworkResult, RunOptions } from '../lib/protocol.js';

export const BATCH = 64;
const NAME = `batch ${BATCH}`;

async function oneCase(
  options: RunOptions,
  makeStep: (
    setup: Setup,
  ) => Promise<() => number | Promise<number>> | (() => number | Promise<number>),
  unsupported?: (message: string) => boolean,
): Promise<CaseResult[]> {
  return [
    await guarded(
      NAME,
      async () => trainingStepCase(NAME, await makeStep(cnnSetup(BATCH)), repeats(options, true)),
      unsupported,
    ),
  ];
}

export async function chainrule(options: RunOptions): Promise<FrameworkResult> {
  const { cr, label } = await loadChainrule();
  const { F } = cr;
  const cases = await oneCase(options, (setup) => {
    const x = cr.tensor(setup.x.data, { shape: setup.x.shape });
    const y = cr.tensor(setup.y.data, { shape: setup.y.shape });
    const p = (name: string) =>
      cr.tensor(setup[name].data.slice(), { shape: setup[name].shape, requiresGrad: true });
    const [c1w, c1b, c2w, c2b, fw, fb] = ['conv1', 'conv2', 'fc'].flatMap((l) => [
      p(`${l}.weight`),
      p(`${l}.bias`),
    ]);
    const optimizer = new cr.optim.SGD([c1w, c1b, c2w, c2b, fw, fb], { lr: LEARNING_RATE });
    return () => {
      optimizer.zeroGrad();
      let h = F.maxPool2d(F.relu(F.conv2d(x, c1w, c1b)), 2);
      h = F.maxPool2d(F.relu(F.conv2d(h, c2w, c2b)), 2);
      const loss = F.crossEntropy(F.linear(h.flatten(1), fw, fb), y);
      loss.backward();
      optimizer.step();
      return loss.itemSync() as number;
    };
  });
  return { suite: 'cnn', framework: 'chainrule', label, cases };
}

async function tfjs(backend: 'cpu' | 'wasm', options: RunOptions): Promise<FrameworkResult> {
  const { tf, label } = await loadTfjs(backend);
  type T4 = import('@tensorflow/tfjs').Tensor4D;
  const cases = await oneCase(
    options,
    (setup) => {
      // TensorFlow.js is NHWC with HWIO filters; one input channel makes NCHW and NHWC the same bytes.
      const x = tf.tensor4d(setup.x.data as Float32Array, [BATCH, 28, 28, 1]);
      const target = tf.oneHot(tf.tensor1d(setup.y.data as Int32Array, 'int32'), 10);
      const variable = (a: { shape: number[]; data: Float32Array | Int32Array }) =>
        tf.variable(tf.tensor(a.data as Float32Array, a.shape));
      const c1w = variable(permute(setup['conv1.weight'], [2, 3, 1, 0]));
      const c2w = variable(permute(setup['conv2.weight'], [2, 3, 1, 0]));
      // The flattened features are (h, w, c) here and (c, h, w) in PyTorch's layout: permute the rows.
      const fcw = permute({ shape: [10, 64, 5, 5], data: setup['fc.weight'].data }, [2, 3, 1, 0]);
      const fw = variable({ shape: [1600, 10], data: fcw.data });
      const [c1b, c2b, fb] = ['conv1', 'conv2', 'fc'].map((l) => variable(setup[`${l}.bias`]));
      const optimizer = tf.train.sgd(LEARNING_RATE);
      const lossFn = () => {
        let h = tf.maxPool(
          tf.relu(tf.add(tf.conv2d(x, c1w as unknown as T4, 1, 'valid'), c1b)) as T4,
          2,
          2,
          'valid',
        );
        h = tf.maxPool(
          tf.relu(tf.add(tf.conv2d(h, c2w as unknown as T4, 1, 'valid'), c2b)) as T4,
          2,
          2,
          'valid',
        );
        const logits = tf.add(tf.matMul(tf.reshape(h, [BATCH, 1600]), fw), fb);
        return tf.losses.softmaxCrossEntropy(target, logits) as import('@tensorflow/tfjs').Scalar;
      };
      return () => {
        const cost = optimizer.minimize(lossFn, true)!;
        const value = cost.dataSync()[0];
        cost.dispose();
        return value;
      };
    },
    (message) => /not registered for backend/.test(message),
  );
  return { suite: 'cnn', framework: `tfjs-${backend}`, label, cases };
}

export const tfjsCpu = (options: RunOptions) => tfjs('cpu', options);
export const tfjsWasm = (options: RunOptions) => tfjs('wasm', options);

async function jaxjs(mode: 'eager' | 'jit', options: RunOptions): Promise<FrameworkResult> {
  const { jax, label } = await loadJax(mode);
  const { numpy: np, nn, lax, tree, valueAndGrad, jit } = jax;
  type A = InstanceType<typeof np.Array>;
  type Params = Record<string, A>;
  const pool = (h: A) => lax.reduceWindow(h, (window: A) => np.max(window), [2, 2], [2, 2]);
  const convBlock = (h: A, w: A, b: A) =>
    pool(nn.relu(lax.conv(h, w, [1, 1], 'VALID').add(b.reshape([1, -1, 1, 1]))));
  const lossFn = (p: Params, x: A, target: A) => {
    let h = convBlock(x, p['conv1.weight'], p['conv1.bias']);
    h = convBlock(h, p['conv2.weight'], p['conv2.bias']);
    const logits = np.matmul(h.reshape([BATCH, 1600]), p['fc.kernel']).add(p['fc.bias']);
    return np.sum(nn.logSoftmax(logits, -1).mul(target)).mul(-1 / BATCH);
  };
  const update = (p: Params, x: A, target: A) => {
    const [loss, grads] = valueAndGrad(lossFn)(tree.ref(p), x, target);
    return [loss, tree.map((w: A, g: A) => w.sub(g.mul(LEARNING_RATE)), p, grads) as Params];
  };
  const trainStep = mode === 'jit' ? jit(update) : update;
  const cases = await oneCase(options, (setup) => {
    const x = np.array(setup.x.data as Float32Array).reshape(setup.x.shape);
    const target = nn.oneHot(np.array(setup.y.data as Int32Array, { dtype: np.int32 }), 10);
    const array = (a: { shape: number[]; data: Float32Array | Int32Array }) =>
      np.array(a.data as Float32Array).reshape(a.shape);
    let params: Params = {
      'conv1.weight': array(setup['conv1.weight']), // lax.conv takes [out, in, kh, kw], as PyTorch
      'conv1.bias': array(setup['conv1.bias']),
      'conv2.weight': array(setup['conv2.weight']),
      'conv2.bias': array(setup['conv2.bias']),
      'fc.kernel': array(permute(setup['fc.weight'], [1, 0])),
      'fc.bias': array(setup['fc.bias']),
    };
    return async () => {
      const [loss, next] = trainStep(params, x.ref, target.ref) as unknown as [A, Params];
      params = next;
      await jax.blockUntilReady(params);
      return (await loss.data())[0];
    };
  });
  return { suite: 'cnn', framework: `jax-${mode}`, label, cases };
}

export const jaxEager = (options: RunOptions) => jaxjs('eager', options);
export const jaxJit = (options: RunOptions) => jaxjs('jit', options);
