import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  loadCheckpoint,
  manualSeed,
  nn,
  optim,
  readCheckpoint,
  safetensors,
  saveCheckpoint,
} from '../src/node.js';
import { loadIntoFresh, steppedState } from './helpers/checkpoint_round_trip.js';
import { expectBitEqual } from './helpers/close.js';

const dir = mkdtempSync(join(tmpdir(), 'chainrule-ckpt-st-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function makeModel(seed: number) {
  manualSeed(seed);
  return new nn.Sequential(new nn.Linear(2, 4), new nn.ReLU(), new nn.Linear(4, 1));
}

describe('checkpoints as safetensors + JSON', () => {
  it('write the model as safetensors and the loop state beside it, and load both back', () => {
    const model = makeModel(0);
    const { optimizer, generator } = steppedState(model);
    const path = join(dir, 'run.safetensors');
    saveCheckpoint(path, { model, optimizer, generators: { loader: generator }, epoch: 3 });
    expect(existsSync(join(dir, 'run.state.json'))).toBe(true);

    // The model file alone is a plain safetensors state dict with PyTorch's names.
    const weights = safetensors.load(path);
    expect(Object.keys(weights).sort()).toEqual(['0.bias', '0.weight', '2.bias', '2.weight']);
    expect(safetensors.loadMetadata(path)).toEqual({ format: 'pt' });
    expect(readCheckpoint(path).optimizer).toBeDefined();

    const other = makeModel(1);
    const loaded = loadIntoFresh(path, other);
    const { contents, optimizer: otherOptimizer, generator: otherGenerator } = loaded;
    expect(contents.epoch).toBe(3);
    for (const [name, value] of Object.entries(model.stateDict()))
      expectBitEqual(other.stateDict()[name], value, name);
    expect(otherOptimizer.paramGroups[0].lr).toBe(0.01);
    expect(otherGenerator.nextUint32()).toBe(generator.nextUint32());
  });

  it('a safetensors file without its JSON still loads the model, and says what is missing', () => {
    const model = makeModel(2);
    const path = join(dir, 'weights-only.safetensors');
    safetensors.save(model.stateDict(), path);
    const other = makeModel(3);
    loadCheckpoint(path, { model: other });
    expectBitEqual(other.stateDict()['0.weight'], model.stateDict()['0.weight']);
    expect(() =>
      loadCheckpoint(path, { optimizer: new optim.SGD(other.parameters(), { lr: 1 }) }),
    ).toThrow(/weights-only\.safetensors has no optimizer state/);
    expect(() => saveCheckpoint(join(dir, 'x.safetensors'), { epoch: 1 })).toThrow(
      /no model was given/,
    );
  });
});
