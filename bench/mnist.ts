/**
 * MNIST end to end: trains the main job's models (MLP 20 epochs, CNN 10 epochs; Adam 1e-3,
 * batch 64) with chainrule and, when a local PyTorch is present, the same recipe on the same
 * split with PyTorch. Writes bench/results/mnist.json and the MNIST section of BENCHMARKS.md.
 *
 *   npm run bench:mnist [-- --models mlp,cnn --seeds 0]
 *
 * Like the suites, it runs chainrule's build (dist/), which npm run bench:mnist makes first.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/train/checkpoint_file.js';
import { importBuilt } from './lib/frameworks.js';

// chainrule as the README's `npm start` runs it: the build in dist/.
const { datasets } = await importBuilt<typeof import('../src/node.js')>('node.js');
const { trainMnist } =
  await importBuilt<typeof import('../src/cli/mnist_job.js')>('cli/mnist_job.js');

const EPOCHS: Record<string, number> = { mlp: 20, cnn: 10 };
const PYTHON = '/usr/bin/python3';

function argument(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

function exportSplit(seed: number): string {
  const folder = mkdtempSync(join(tmpdir(), 'chainrule-mnist-'));
  const { train, test } = datasets.mnist({ seed });
  for (const [name, split] of [
    ['train', train],
    ['test', test],
  ] as const) {
    writeFileSync(join(folder, `${name}-images.f32`), split.images.dataSync() as Float32Array);
    writeFileSync(join(folder, `${name}-labels.i32`), split.labels.dataSync() as Int32Array);
  }
  return folder;
}

function torchAvailable(): boolean {
  if (!existsSync(PYTHON)) return false;
  try {
    execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface Row {
  framework: string;
  model: string;
  epochs: number;
  seed: number;
  testAccuracy: number;
  seconds: number;
}

async function main() {
  const models = argument('models', 'mlp,cnn').split(',');
  const seeds = argument('seeds', '0').split(',').map(Number);
  const rows: Row[] = [];
  const withTorch = torchAvailable();
  for (const seed of seeds) {
    const folder = withTorch ? exportSplit(seed) : '';
    for (const model of models) {
      const epochs = EPOCHS[model];
      process.stderr.write(`chainrule ${model}, seed ${seed}, ${epochs} epochs\n`);
      const result = await trainMnist({
        model: model as 'mlp' | 'cnn',
        optimizer: 'adam',
        batchSize: 64,
        epochs,
        seed,
        progress: process.stderr,
      });
      rows.push({
        framework: 'chainrule (cpu backend)',
        model,
        epochs,
        seed,
        testAccuracy: result.testAccuracy,
        seconds: result.seconds,
      });
      if (withTorch) {
        process.stderr.write(`PyTorch ${model}, seed ${seed}\n`);
        const line = execFileSync(
          PYTHON,
          ['bench/mnist_torch.py', folder, model, String(epochs), String(seed), '1'],
          { encoding: 'utf8' },
        );
        const torchResult = JSON.parse(line.trim().split('\n').pop()!);
        rows.push({
          framework: `PyTorch ${torchResult.torch} CPU (1 thread)`,
          model,
          epochs,
          seed,
          testAccuracy: torchResult.testAccuracy,
          seconds: torchResult.seconds,
        });
      }
    }
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`;
  mkdirSync('bench/results', { recursive: true });
  writeFileAtomic(
    'bench/results/mnist.json',
    JSON.stringify({ date: new Date().toISOString(), machine, rows }, null, 2) + '\n',
  );
  const table = [
    '| framework | model | epochs | seed | test accuracy | training time |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.framework} | ${r.model} | ${r.epochs} | ${r.seed} | ${(r.testAccuracy * 100).toFixed(2)}% | ${r.seconds.toFixed(1)} s |`,
    ),
  ].join('\n');
  const section = `## MNIST end to end\n\n8,000 train / 2,000 test real digits (seeded stratified split), Adam lr 1e-3, batch 64;\nPyTorch runs the same recipe on the same split. Machine: ${machine}. Command: \`npm run bench:mnist\`.\n\n${table}\n`;
  const file = 'BENCHMARKS.md';
  const current = existsSync(file)
    ? readFileSync(file, 'utf8')
    : '# Benchmarks\n\nMeasured side by side in one run on one machine; see each section for its command.\n';
  const updated = current.includes('## MNIST end to end')
    ? current.replace(/## MNIST end to end[\s\S]*?(?=\n## |$)/, section)
    : `${current.trimEnd()}\n\n${section}`;
  writeFileAtomic(file, updated);
  process.stdout.write(table + '\n');
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
