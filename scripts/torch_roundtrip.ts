/**
 * chainrule's half of the PyTorch round trip (the other half is scripts/torch_roundtrip.py):
 *
 *   npx tsx scripts/torch_roundtrip.ts export <dir> [--small]   # chainrule MLP + CNN → <dir>
 *   /usr/bin/python3 scripts/torch_roundtrip.py <dir>            # PyTorch: load, compare, train on, save back
 *   npx tsx scripts/torch_roundtrip.ts check <dir> [--small]    # chainrule: load the trained weights, compare
 *
 * `export` writes <name>.safetensors (seeded initial weights) and <name>.io.safetensors (an
 * input and chainrule's output on it). `check` loads <name>.trained.safetensors, runs the input
 * of <name>.trained.io.safetensors and compares with PyTorch's output there, printing the largest
 * differences; it exits 1 when they exceed 1e-5 relative.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { manualSeed, noGrad, safetensors } from '../src/node.js';
import {
  roundtripInput,
  roundtripModel,
  type RoundtripName,
} from '../test/helpers/roundtrip_models.js';
import { maxDifference } from '../test/helpers/roundtrip_check.js';

const [mode, dir, flag] = process.argv.slice(2);
const small = flag === '--small';
if ((mode !== 'export' && mode !== 'check') || !dir) {
  console.error('usage: tsx scripts/torch_roundtrip.ts export|check <dir> [--small]');
  process.exit(2);
}
let ok = true;
for (const name of ['mlp', 'cnn'] as RoundtripName[]) {
  if (mode === 'export') {
    mkdirSync(dir, { recursive: true });
    manualSeed(0);
    const model = roundtripModel(name, small);
    model.eval();
    const input = roundtripInput(name, small);
    const output = noGrad(() => model.call(input));
    safetensors.save(model.stateDict(), join(dir, `${name}.safetensors`), { format: 'pt' });
    safetensors.save({ input, output }, join(dir, `${name}.io.safetensors`));
    console.log(`${name}: wrote ${join(dir, `${name}.safetensors`)}`);
  } else {
    const model = roundtripModel(name, small);
    model.loadStateDict(safetensors.load(join(dir, `${name}.trained.safetensors`)));
    model.eval();
    const { input, output } = safetensors.load(join(dir, `${name}.trained.io.safetensors`));
    const ours = noGrad(() => model.call(input));
    const { abs, rel } = maxDifference(ours, output);
    const pass = rel <= 1e-5;
    ok &&= pass;
    console.log(
      `${name}: PyTorch-trained weights in chainrule: max |diff| ${abs.toExponential(2)}, max relative ${rel.toExponential(2)} vs PyTorch's output (${pass ? 'ok' : 'FAIL'})`,
    );
  }
}
process.exit(ok ? 0 : 1);
