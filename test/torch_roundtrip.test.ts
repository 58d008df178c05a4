// The committed half of the PyTorch round trip (scripts/torch_roundtrip.ts/.py with --small):
// chainrule's tiny MLP and CNN went to PyTorch, were trained there, and come back here.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { noGrad, safetensors } from '../src/node.js';
import { roundtripModel, type RoundtripName } from './helpers/roundtrip_models.js';
import { maxDifference } from './helpers/roundtrip_check.js';

const DIR = new URL('./fixtures/torch_roundtrip/', import.meta.url).pathname;

describe('PyTorch round trip', () => {
  it.each(['mlp', 'cnn'] as RoundtripName[])(
    '%s: weights trained in PyTorch give PyTorch outputs here (1e-5 relative)',
    (name) => {
      const model = roundtripModel(name, true);
      const trained = safetensors.load(join(DIR, `${name}.trained.safetensors`));
      const initial = safetensors.load(join(DIR, `${name}.safetensors`));
      model.loadStateDict(trained);
      model.eval();
      // Training moved the weights, so matching outputs are not a leftover of the initial ones.
      const first = Object.keys(initial).find((k) => k.endsWith('.weight'))!;
      expect(maxDifference(trained[first], initial[first]).abs).toBeGreaterThan(1e-3);
      const { input, output } = safetensors.load(join(DIR, `${name}.trained.io.safetensors`));
      const ours = noGrad(() => model.call(input));
      expect(ours.shape).toEqual(output.shape);
      expect(maxDifference(ours, output).rel).toBeLessThanOrEqual(1e-5);
    },
  );
});
