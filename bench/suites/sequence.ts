/**
 * Sequence-model training steps, run on their own (not yet a family of bench/run.ts):
 *   npm run build && npx tsx bench/suites/sequence.ts [--quick] [--skip-tfjs] [--skip-torch]
 * - LSTM and GRU language-model step: input 64, hidden 256, batch 32, sequence 100, batch-first,
 *   a linear head over every step, MSE against a fixed target, SGD;
 * - a small pre-norm transformer step: d 128, 4 layers, 4 heads, feed-forward 512, GELU, causal
 *   mask, sequence 64, batch 16, MSE, SGD.
 * Peers in the same run: PyTorch CPU on 1 and 2 threads (bench/suites/sequence_torch.py) and
 * TensorFlow.js wasm (tf.layers.lstm / gru, trained with its SGD optimizer) for the recurrent
 * steps. Prints milliseconds per step (median and quartiles) and the ratio to PyTorch's best.
 */
import { execFileSync } from 'node:child_process';
import { loadChainrule, loadTfjs } from '../lib/frameworks.js';
import { measure, summarize, type MeasureOptions, type Summary } from '../lib/measure.js';

export const RNN = { input: 64, hidden: 256, batch: 32, steps: 100 } as const;
export const TRANSFORMER = { d: 128, layers: 4, heads: 4, ff: 512, steps: 64, batch: 16 } as const;
const LR = 0.01;

const quick = process.argv.includes('--quick');
const options: MeasureOptions = quick
  ? { warmup: 1, minRepeats: 3, maxRepeats: 5, budgetMs: 5_000 }
  : { warmup: 3, minRepeats: 10, maxRepeats: 30, budgetMs: 30_000 };

type Results = Record<string, Record<string, Summary | string>>;

async function chainrule(results: Results): Promise<void> {
  const { cr, label } = await loadChainrule();
  const { nn, F } = cr;
  const row: Record<string, Summary | string> = {};
  const x = cr.randn([RNN.batch, RNN.steps, RNN.input]);
  const target = cr.randn([RNN.batch, RNN.steps, 1]);
  for (const kind of ['lstm', 'gru'] as const) {
    const rnn =
      kind === 'lstm'
        ? new nn.LSTM(RNN.input, RNN.hidden, { batchFirst: true })
        : new nn.GRU(RNN.input, RNN.hidden, { batchFirst: true });
    const head = new nn.Linear(RNN.hidden, 1);
    const opt = new cr.optim.SGD([...rnn.parameters(), ...head.parameters()], { lr: LR });
    const step = () => {
      const [out] = rnn.call(x);
      const loss = F.mseLoss(head.call(out), target);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return loss.itemSync();
    };
    row[kind] = summarize(await measure(step, options));
  }
  const { d, layers, heads, ff, steps, batch } = TRANSFORMER;
  const enc = new nn.TransformerEncoder(
    new nn.TransformerEncoderLayer(d, heads, {
      dimFeedforward: ff,
      dropout: 0,
      activation: 'gelu',
      batchFirst: true,
      normFirst: true,
    }),
    layers,
  );
  const tx = cr.randn([batch, steps, d]);
  const ty = cr.randn([batch, steps, d]);
  const opt = new cr.optim.SGD(enc.parameters(), { lr: LR });
  row.transformer = summarize(
    await measure(() => {
      const loss = F.mseLoss(enc.call(tx, { isCausal: true }), ty);
      opt.zeroGrad();
      loss.backward();
      opt.step();
      return loss.itemSync();
    }, options),
  );
  results[label] = row;
}

async function tfjsWasm(results: Results): Promise<void> {
  const { tf, label } = await loadTfjs('wasm');
  const row: Record<string, Summary | string> = {};
  const x = tf.randomNormal([RNN.batch, RNN.steps, RNN.input]);
  const target = tf.randomNormal([RNN.batch, RNN.steps, 1]);
  for (const kind of ['lstm', 'gru'] as const) {
    try {
      const model = tf.sequential();
      const config = {
        units: RNN.hidden,
        returnSequences: true,
        inputShape: [RNN.steps, RNN.input],
      };
      model.add(kind === 'lstm' ? tf.layers.lstm(config) : tf.layers.gru(config));
      model.add(tf.layers.dense({ units: 1 }));
      const optimizer = tf.train.sgd(LR);
      const step = () => {
        const loss = optimizer.minimize(
          () =>
            tf.losses.meanSquaredError(target, model.apply(x) as import('@tensorflow/tfjs').Tensor),
          true,
        )!;
        const value = loss.dataSync()[0];
        loss.dispose();
        return value;
      };
      row[kind] = summarize(
        await measure(step, {
          ...options,
          minRepeats: Math.min(3, options.minRepeats),
          maxRepeats: 5,
        }),
      );
    } catch (error) {
      row[kind] = `failed: ${(error as Error).message.split('\n')[0]}`;
    }
  }
  row.transformer = 'not run (no transformer layers in tf.layers)';
  results[label] = row;
}

function torch(results: Results): void {
  for (const threads of [1, 2]) {
    const out = execFileSync(
      '/usr/bin/python3',
      ['bench/suites/sequence_torch.py', String(threads), ...(quick ? ['--quick'] : [])],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
    );
    const parsed = JSON.parse(out.trim().split('\n').pop()!) as {
      label: string;
      cases: Record<string, number[]>;
    };
    results[parsed.label] = Object.fromEntries(
      Object.entries(parsed.cases).map(([k, v]) => [k, summarize(v)]),
    );
  }
}

function format(results: Results): string {
  const cases = ['lstm', 'gru', 'transformer'];
  const best = (c: string) =>
    Math.min(
      ...Object.entries(results)
        .filter(([label]) => label.startsWith('PyTorch'))
        .map(([, row]) => (typeof row[c] === 'object' ? (row[c] as Summary).median : Infinity)),
    );
  const lines = [
    `| framework | ${cases.map((c) => `${c} ms/step (× PyTorch's best)`).join(' | ')} |`,
  ];
  lines.push(`|---|${cases.map(() => '---').join('|')}|`);
  for (const [label, row] of Object.entries(results)) {
    const cells = cases.map((c) => {
      const v = row[c];
      if (v === undefined) return '—';
      if (typeof v === 'string') return v;
      const ratio = v.median / best(c);
      return `${v.median.toFixed(1)} [${v.q1.toFixed(1)}–${v.q3.toFixed(1)}]${Number.isFinite(ratio) ? ` (${ratio.toFixed(2)}×)` : ''}`;
    });
    lines.push(`| ${label} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

const results: Results = {};
await chainrule(results);
if (!process.argv.includes('--skip-torch')) torch(results);
if (!process.argv.includes('--skip-tfjs')) await tfjsWasm(results);
process.stdout.write(format(results) + '\n');
