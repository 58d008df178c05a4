/**
 * Serving a chainrule model with ONNX Runtime: the README's MNIST model, exported to ONNX, run by
 * onnxruntime-node next to chainrule on the first test digits; both print the same predictions.
 *
 *   npm run build
 *   npx chainrule train mnist --save mlp.safetensors     # or --model cnn
 *   npx chainrule export --format onnx mlp.safetensors mlp.onnx
 *   npx tsx examples/serve_onnx.ts mlp.onnx mlp.safetensors [count]
 */
import * as ort from 'onnxruntime-node';
import { fileURLToPath } from 'node:url';
import { datasets, noGrad, type Tensor } from '../src/node.js';
import { loadModel } from '../src/cli/load_model.js';

export interface Served {
  index: number;
  label: number;
  chainrule: number;
  onnxRuntime: number;
  /** The largest |logit difference| between the two on this image. */
  maxDifference: number;
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/**
 * Predicts images [N, 1, 28, 28] with the checkpoint's model and with the ONNX file (`labels`
 * are reported along, when known).
 */
export async function servePredictions(
  onnxPath: string,
  checkpoint: string,
  images: Tensor,
  labels: ArrayLike<number> = [],
): Promise<Served[]> {
  const { model } = loadModel(checkpoint);
  const count = images.shape[0];
  const ours = noGrad(() => model.call(images)).dataSync() as Float32Array;
  const session = await ort.InferenceSession.create(onnxPath);
  const feeds = {
    image: new ort.Tensor('float32', images.contiguous().dataSync() as Float32Array, [
      ...images.shape,
    ]),
  };
  const theirs = (await session.run(feeds)).logits.data as Float32Array;
  await session.release();
  return Array.from({ length: count }, (_, i) => {
    const a = ours.subarray(i * 10, i * 10 + 10);
    const b = theirs.subarray(i * 10, i * 10 + 10);
    return {
      index: i,
      label: labels[i] ?? -1,
      chainrule: argmax(a),
      onnxRuntime: argmax(b),
      maxDifference: Math.max(...Array.from(a, (v, k) => Math.abs(v - b[k]))),
    };
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [onnxPath, checkpoint, count] = process.argv.slice(2);
  if (!onnxPath || !checkpoint) {
    console.error('usage: tsx examples/serve_onnx.ts <model.onnx> <checkpoint> [count]');
    process.exit(2);
  }
  const n = count ? Number(count) : 10;
  const { test } = datasets.mnist({ seed: loadModel(checkpoint).seed });
  const rows = await servePredictions(
    onnxPath,
    checkpoint,
    test.images.narrow(0, 0, n),
    test.labels.narrow(0, 0, n).dataSync(),
  );
  for (const r of rows)
    console.log(
      `test image ${r.index} (label ${r.label}): chainrule ${r.chainrule}, onnxruntime ${r.onnxRuntime}, max |logit diff| ${r.maxDifference.toExponential(1)}`,
    );
  const same = rows.every((r) => r.chainrule === r.onnxRuntime);
  console.log(same ? 'same predictions' : 'PREDICTIONS DIFFER');
  process.exit(same ? 0 : 1);
}
