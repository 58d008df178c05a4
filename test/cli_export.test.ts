import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { manualSeed, rand, safetensors, saveCheckpoint } from '../src/node.js';
import { createModel } from '../src/cli/models.js';
import { loadModel } from '../src/cli/load_model.js';
import { servePredictions } from '../examples/serve_onnx.js';
import { expectBitEqual } from './helpers/close.js';

const dir = mkdtempSync(join(tmpdir(), 'chainrule-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('chainrule export', () => {
  it('turns a safetensors checkpoint of the CLI into ONNX that onnxruntime serves with the same predictions, and into safetensors', async () => {
    const { createProgram } = await import('../src/cli/main.js');
    const out: string[] = [];
    const stdout = vi
      .spyOn(process.stdout, 'write')
      .mockImplementation((s) => (out.push(String(s)), true));
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const checkpoint = join(dir, 'mlp.safetensors');
    try {
      const run = (...args: string[]) => createProgram().parseAsync(['node', 'chainrule', ...args]);
      // A checkpoint as `chainrule train mnist --save mlp.safetensors` writes it (untrained weights).
      manualSeed(0);
      saveCheckpoint(checkpoint, { model: createModel('mlp'), extra: { model: 'mlp', seed: 0 } });
      await run('export', '--format', 'onnx', checkpoint, join(dir, 'mlp.onnx'));
      await run('export', '--format', 'safetensors', checkpoint, join(dir, 'weights.safetensors'));
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
    expect(out.join('')).toMatch(/wrote mlp to .*mlp\.onnx \(ONNX opset 17/);
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
