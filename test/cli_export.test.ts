import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { manualSeed, rand, safetensors, saveCheckpoint } from '../src/node.js';
import { createModel } from '../src/cli/models.js';
import { loadModel } from '../src/cli/load_model.js';
import { servePredictions } from '../examples/serve_onnx.js';
import { runCli } from './helpers/cli.js';
import { expectBitEqual } from './helpers/close.js';

const dir = mkdtempSync(join(tmpdir(), 'chainrule-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('chainrule export', () => {
  it('turns a safetensors checkpoint of the CLI into ONNX that onnxruntime serves with the same predictions, and into safetensors', async () => {
    const checkpoint = join(dir, 'mlp.safetensors');
    // A checkpoint as `chainrule train mnist --save mlp.safetensors` writes it (untrained weights).
    manualSeed(0);
    saveCheckpoint(checkpoint, { model: createModel('mlp'), extra: { model: 'mlp', seed: 0 } });
    const out = await runCli(['export', '--format', 'onnx', checkpoint, join(dir, 'mlp.onnx')]);
    await runCli([
      'export',
      '--format',
      'safetensors',
      checkpoint,
      join(dir, 'weights.safetensors'),
    ]);
    expect(out).toMatch(/wrote mlp to .*mlp\.onnx \(ONNX opset 17/);
    manualSeed(1);
    const rows = await servePredictions(join(dir, 'mlp.onnx'), checkpoint, rand([20, 1, 28, 28]));
    expect(rows.filter((r) => r.chainrule !== r.onnxRuntime)).toEqual([]);
    expect(Math.max(...rows.map((r) => r.maxDifference))).toBeLessThan(1e-4);
    const { model } = loadModel(checkpoint);
    const weights = safetensors.load(join(dir, 'weights.safetensors'));
    expectBitEqual(weights['5.weight'], model.stateDict()['5.weight']);
    expect(safetensors.loadMetadata(join(dir, 'weights.safetensors'))).toEqual({
      format: 'pt',
      model: 'mlp',
    });
  });
});
