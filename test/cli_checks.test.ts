/**
 * The chainrule command says what it did to an image before predicting, checks --save's folder
 * before training, and names the model a checkpoint holds when it does not know it (issue 17).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { createModel } from '../src/cli/models.js';
import { saveCheckpoint } from '../src/node.js';
import { runCli } from './helpers/cli.js';

/** What the command wrote to stderr in the last run. */
const errors: string[] = [];

/** Runs the command with stdout captured; what it wrote to stderr goes to `errors`. */
function run(args: string[]): Promise<string> {
  errors.length = 0;
  return runCli(args, errors);
}

function png(path: string, size: number, pixel: (x: number, y: number) => number[]): void {
  const image = new PNG({ width: size, height: size });
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) image.data.set(pixel(x, y), 4 * (y * size + x));
  writeFileSync(path, PNG.sync.write(image));
}

describe('chainrule predict', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chainrule-cli-checks-'));
  const checkpoint = join(dir, 'mlp.ckpt');
  saveCheckpoint(checkpoint, { model: createModel('mlp'), extra: { model: 'mlp', seed: 0 } });

  it('says what it did to an image that is not 28x28 grey, before the prediction', async () => {
    const image = join(dir, 'colour.png');
    png(image, 56, (x, y) => (x > 20 && x < 36 ? [200, 30, 30, 255] : [0, 0, 0, y < 5 ? 0 : 255]));
    const out = await run(['predict', '--checkpoint', checkpoint, '--image', image]);
    const lines = out.split('\n');
    const prediction = lines.findIndex((l) => l.startsWith('prediction:'));
    const said = lines.slice(0, prediction).join('\n');
    expect(said).toContain('resized from 56×56 to 28×28');
    expect(said).toContain('flattened transparency onto a white background');
    expect(said).toContain('converted colour to grey');
    expect(prediction).toBeGreaterThan(2);
  });

  it('says nothing of the kind for a 28x28 grey digit, light on dark', async () => {
    const image = join(dir, 'digit.png');
    png(image, 28, (x) => (x > 10 && x < 16 ? [255, 255, 255, 255] : [0, 0, 0, 255]));
    const out = await run(['predict', '--checkpoint', checkpoint, '--image', image]);
    expect(out.startsWith('prediction:')).toBe(true);
  });

  it('names the model a checkpoint holds when it does not know it', async () => {
    const other = join(dir, 'resnet.ckpt');
    saveCheckpoint(other, { model: createModel('mlp'), extra: { model: 'resnet' } });
    await expect(run(['predict', '--checkpoint', other, '--index', '0'])).rejects.toThrow(
      /holds the model 'resnet', which this chainrule does not know; expected one of mlp, cnn/,
    );
  });
});

describe('chainrule train --save', () => {
  it('fails before training when the folder does not exist', async () => {
    const missing = join(tmpdir(), 'chainrule-no-such-folder', 'run.ckpt');
    await expect(
      run(['train', 'mnist', '--limit', '64', '--epochs', '1', '--save', missing]),
    ).rejects.toThrow(/--save .*run\.ckpt: the folder .*chainrule-no-such-folder does not exist/);
    expect(errors.join('')).not.toContain('training'); // refused before the run began
  });
});
