/** `chainrule plot` and `chainrule train mnist --plot`. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspect } from '../src/index.js';
import { runCli } from './helpers/cli.js';

describe('chainrule plot / train --plot', () => {
  it('train mnist --plot writes the history and the plots; the accuracy line stays last and unchanged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chainrule-plot-'));
    const svgPath = join(dir, 'run.svg');
    const args = ['train', 'mnist', '--limit', '640', '--epochs', '2'];
    const stderr: string[] = [];
    const plain = await runCli(args);
    const plotted = await runCli([...args, '--plot', svgPath], stderr);
    // recording reads gradients only: the same training, the same closing line
    const untimed = (out: string) => out.replace(/, [\d.]+ s of training/, '');
    expect(untimed(plotted)).toBe(untimed(plain));
    expect(plotted.trim().split('\n').at(-1)).toMatch(/^test accuracy: \d+\.\d\d% \(test loss/);
    expect(stderr.join('')).toContain(
      `wrote plots to ${svgPath} and the gradient history to ${join(dir, 'run.json')} (2 records`,
    );
    const history = inspect.parseHistory(readFileSync(join(dir, 'run.json'), 'utf8'));
    expect(history.records.map((r) => r.step)).toEqual([0, 10]); // 10 batches of 64 per epoch, a record every 10
    expect(inspect.historyLayers(history)).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(history.epochs.length).toBe(2);
    const svg = readFileSync(svgPath, 'utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain('gradient norm per layer');
    // chainrule plot draws the same from the history file
    const again = join(dir, 'again.svg');
    expect(await runCli(['plot', join(dir, 'run.json'), '--out', again])).toBe(
      `wrote plots of ${join(dir, 'run.json')} (2 gradient records, 2 epochs) to ${again}\n`,
    );
    expect(readFileSync(again, 'utf8')).toBe(svg);
  });

  it('plots one kind, from a fit History too, and explains what is missing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chainrule-plot-'));
    const fitHistory = join(dir, 'fit.json');
    writeFileSync(
      fitHistory,
      JSON.stringify({
        epochs: [
          { loss: 2, accuracy: 0.3 },
          { loss: 1, accuracy: 0.6 },
        ],
      }),
    );
    const out = join(dir, 'acc.svg');
    await runCli(['plot', fitHistory, '--out', out, '--kind', 'accuracy']);
    expect(readFileSync(out, 'utf8')).toContain('<polyline class="series"');
    await expect(runCli(['plot', fitHistory, '--out', out, '--kind', 'gradients'])).rejects.toThrow(
      /fit.json has no gradient records: write it with inspect.GradientMonitor/,
    );
    await expect(runCli(['plot', join(dir, 'none.json'), '--out', out])).rejects.toThrow(
      /plot: cannot read .*none.json/,
    );
    await expect(runCli(['plot', fitHistory, '--out', join(dir, 'no', 'x.svg')])).rejects.toThrow(
      /--out .*x.svg: the folder .* does not exist/,
    );
    await expect(runCli(['train', 'adding', '--plot', out])).rejects.toThrow(
      /--plot records the fit loop of 'train mnist'/,
    );
  });
});
