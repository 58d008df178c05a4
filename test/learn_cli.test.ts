import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli as run } from './helpers/cli.js';

describe('chainrule train with the learn trainers and generative jobs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chainrule-learn-'));

  it('train mnist --method dfa ends with the test accuracy line; eval reads its checkpoint', async () => {
    const path = join(dir, 'dfa.ckpt');
    const args = ['train', 'mnist', '--method', 'dfa', '--limit', '512', '--epochs', '2'];
    const out = await run([...args, '--lr', '0.003', '--save', path]);
    const line = out.match(/test accuracy: (\d+\.\d\d)% \(test loss/);
    expect(line).not.toBeNull();
    expect(Number(line![1])).toBeGreaterThan(25); // 16 steps on 512 digits; chance is 10%
    expect(await run(['eval', '--checkpoint', path])).toContain(`test accuracy ${line![1]}%`);
  }, 180_000); // a few seconds on an idle machine; the default 60 s is too tight on a shared one

  it('rejects an unknown method and a gan without its classifier', async () => {
    await expect(run(['train', 'mnist', '--method', 'bogus'])).rejects.toThrow(
      "argument 'bogus' is invalid. Allowed choices are backprop, ff, dfa, dni.",
    );
    await expect(run(['train', 'gan'])).rejects.toThrow(
      'train gan judges its samples with an MNIST classifier: give --classifier <path>',
    );
  });

  it('train autoencoder writes its PNG grid and ends with the test mse line', async () => {
    const out = await run(['train', 'autoencoder', '--limit', '64', '--epochs', '1', '--out', dir]);
    const png = join(dir, 'autoencoder-reconstructions.png');
    expect(out).toContain(`wrote ${png}`);
    expect(existsSync(png)).toBe(true);
    expect(out).toMatch(/test mse: 0\.\d{5} \(per pixel/);
  });
});
