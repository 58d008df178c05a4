import { describe, expect, it } from 'vitest';
import { privacy } from '../src/index.js';
import { runCli as run } from './helpers/cli.js';

describe('chainrule train mnist --dp / --int8', () => {
  it('--dp ends with the test accuracy and the ε the accountant spent', async () => {
    const out = await run(
      ['train', 'mnist', '--dp', '--limit', '512', '--epochs', '1', '--batch-size', '64'].concat([
        '--optimizer',
        'sgd',
        '--lr',
        '0.1',
        '--noise-multiplier',
        '1.1',
        '--delta',
        '1e-5',
      ]),
    );
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/^test accuracy: \d+\.\d\d%/);
    // 512 images, batch 64: q = 1/8, 8 steps per epoch.
    const eps = privacy.computeEpsilon({
      sampleRate: 64 / 512,
      noiseMultiplier: 1.1,
      steps: 8,
      delta: 1e-5,
    }).epsilon;
    expect(lines[1]).toBe(`privacy: epsilon ${eps.toFixed(2)} at delta 1e-5`);
  });

  it('--int8 trains the integer network and prints the same closing line', async () => {
    const out = await run(['train', 'mnist', '--int8', '--limit', '512', '--epochs', '1']);
    const accuracy = Number(out.match(/^test accuracy: (\d+\.\d\d)% \(int8/)![1]);
    expect(accuracy).toBeGreaterThan(40); // 8 integer steps on 512 digits; chance is 10%
  });

  it('refuses DP options without --dp and --int8 with --dp', async () => {
    await expect(run(['train', 'mnist', '--noise-multiplier', '1'])).rejects.toThrow(
      /--noise-multiplier needs --dp/,
    );
    await expect(run(['train', 'mnist', '--dp', '--int8'])).rejects.toThrow(/cannot be combined/);
  });
});
