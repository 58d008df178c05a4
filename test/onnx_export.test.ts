import { describe, expect, it } from 'vitest';
import { nn, noGrad, onnx, randn, Tensor, tensor } from '../src/node.js';
import { decodeModel } from '../src/io/onnx/proto.js';
import { expectAllClose } from './helpers/close.js';
import { onnxCases } from './helpers/onnx_cases.js';
import { runOnnx } from './helpers/ort.js';

function flat(value: unknown): Tensor[] {
  return value instanceof Tensor ? [value] : (value as unknown[]).flatMap(flat);
}

/** 1e-5 relative to each output's largest magnitude (values near zero get the same slack). */
function expectMatches(
  got: { data: unknown; dims: readonly number[] },
  want: Tensor,
  what: string,
) {
  expect([what, [...got.dims]]).toEqual([what, want.shape]);
  const values = want.dataSync();
  const scale = Math.max(1e-30, ...Array.from(values, Math.abs));
  expectAllClose(got.data as Float32Array, values, {
    rtol: 1e-5,
    atol: 1e-5 * scale,
    message: what,
  });
}

describe('onnx.exportBytes run in onnxruntime-node', () => {
  it.each(onnxCases().map((c) => [c.name, c] as const))('%s', async (name, c) => {
    c.model.eval();
    const want = flat(noGrad(() => (c.model.call as (...a: Tensor[]) => unknown)(...c.inputs)));
    const bytes = onnx.exportBytes(c.model, c.inputs);
    const got = await runOnnx(bytes, c.inputs);
    expect(got.length).toBe(want.length);
    got.forEach((g, i) => expectMatches(g, want[i], `${name} output ${i}`));
  });
});

describe('onnx.exportBytes options and errors', () => {
  it('names inputs/outputs, keeps dynamic axes dynamic, and names weights by state-dict key', async () => {
    const model = new nn.Sequential(new nn.Flatten(), new nn.Linear(12, 5), new nn.ReLU());
    const bytes = onnx.exportBytes(model, [randn([2, 3, 4])], {
      inputNames: ['x'],
      outputNames: ['y'],
      dynamicAxes: { x: { 0: 'batch' }, y: [0] },
      opsetVersion: 18,
    });
    const proto = decodeModel(bytes);
    expect(proto.opset_import[0].version).toBe(18);
    expect(proto.graph.input[0].type.tensor_type.shape.dim[0]).toEqual({ dim_param: 'batch' });
    expect(proto.graph.initializer.map((t: { name: string }) => t.name).sort()).toEqual([
      '1.bias',
      '1.weight',
    ]);
    const other = randn([7, 3, 4]);
    const [y] = await runOnnx(bytes, [other]);
    expectMatches(
      y,
      noGrad(() => model.call(other)),
      'batch of 7',
    );
  });

  it('averages attention weights with the ReduceMean of the opset (axes input from 18)', async () => {
    const mha = new nn.MultiheadAttention(4, 2);
    const q = randn([3, 2, 4]);
    const [, want] = noGrad(() => mha.call(q, q, q));
    for (const opsetVersion of [17, 18, 21]) {
      const got = await runOnnx(onnx.exportBytes(mha, [q, q, q], { opsetVersion }), [q, q, q]);
      expectMatches(got[1], want!, `opset ${opsetVersion}`);
    }
  });

  it('restores training mode and exports evaluation behaviour', () => {
    const model = new nn.Sequential(new nn.Linear(2, 2), new nn.Dropout(0.5));
    onnx.exportBytes(model, [randn([1, 2])]);
    expect(model.training).toBe(true);
  });

  it('refuses what it cannot export, naming the layer', () => {
    class Custom extends nn.Module {
      fc = new nn.Linear(2, 2);
      forward(x: Tensor) {
        return this.fc.call(x).cumsum(1);
      }
    }
    expect(() =>
      onnx.exportBytes(new nn.Sequential(new nn.Linear(2, 2), new Custom()), [randn([1, 2])]),
    ).toThrow(
      /cannot export '1' \(Custom\): there is no ONNX converter.*exportable layers: Sequential, Linear/,
    );
    expect(() =>
      onnx.exportBytes(new nn.Bilinear(2, 2, 3), [randn([1, 2]), randn([1, 2])]),
    ).toThrow(/'model' \(Bilinear\)/);
    expect(() => onnx.exportBytes(new nn.AdaptiveAvgPool2d(4), [randn([1, 1, 9, 9])])).toThrow(
      /does not divide/,
    );
    expect(() => onnx.exportBytes(new nn.Conv2d(1, 1, 3), [randn([1, 5, 5])])).toThrow(
      /batched input of rank 4, got shape \[1, 5, 5\]/,
    );
    expect(() =>
      onnx.exportBytes(new nn.Linear(2, 2), [randn([1, 2])], { opsetVersion: 11 }),
    ).toThrow(/opsetVersion 11/);
    expect(() =>
      onnx.exportBytes(new nn.Linear(2, 2), [randn([1, 2])], { dynamicAxes: { z: [0] } }),
    ).toThrow(/names 'z'/);
    expect(() =>
      onnx.exportBytes(new nn.Linear(2, 2), [tensor([1, 2])], { dynamicAxes: { input_0: [3] } }),
    ).toThrow(/axis 3/);
  });
});
