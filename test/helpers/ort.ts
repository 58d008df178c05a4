/** Runs ONNX bytes in onnxruntime-node (CPU) on chainrule tensors; returns the outputs by order. */
import * as ort from 'onnxruntime-node';
import type { Tensor } from '../../src/index.js';

const ORT_TYPE = { float32: 'float32', float64: 'float64', int32: 'int32', bool: 'bool' } as const;

export async function runOnnx(bytes: Uint8Array, inputs: Tensor[]): Promise<ort.Tensor[]> {
  const session = await ort.InferenceSession.create(bytes);
  const feeds: Record<string, ort.Tensor> = {};
  session.inputNames.forEach((name, i) => {
    const t = inputs[i];
    feeds[name] = new ort.Tensor(ORT_TYPE[t.dtype], t.contiguous().dataSync() as never, [
      ...t.shape,
    ]);
  });
  const results = await session.run(feeds);
  const outputs = session.outputNames.map((name) => results[name]);
  await session.release();
  return outputs;
}
