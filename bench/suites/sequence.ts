/**
 * Sequence-model training steps (a family of bench/run.ts; PyTorch's side is `sequence` in
 * torch_suite.py, with the same shapes and recipe):
 * - LSTM and GRU language-model step: input 64, hidden 256, batch 32, sequence 100, batch-first,
 *   a linear head over every step, MSE against a fixed target, SGD;
 * - a small pre-norm transformer step: d 128, 4 layers, 4 heads, feed-forward 512, GELU, causal
 *   mask, sequence 64, batch 16, MSE, SGD.
 * TensorFlow.js wasm runs the recurrent steps (tf.layers.lstm / gru, trained with its SGD
 * optimizer); tf.layers has no transformer layers. ms per step, loss read back.
 */
import { guarded, repeats, trainingStepCase, type Repeats } from '../lib/cases.js';
import { loadChainrule, loadTfjs } from '../lib/frameworks.js';
import type { CaseResult, FrameworkResult, RunOptions } from '../lib/protocol.js';

export const RNN = { input: 64, hidden: 256, batch: 32, steps: 100 } as const;
export const TRANSFORMER = { d: 128, layers: 4, heads: 4, ff: 512, steps: 64, batch: 16 } as const;
export const LSTM_CASE = 'LSTM step';
export const GRU_CASE = 'GRU step';
export const TRANSFORMER_CASE = 'transformer step';

/**
 * The benchmark's pre-norm encoder (TRANSFORMER's sizes, GELU, no dropout, batch first), from
 * `cr` (the built library here, the sources in the profiles).
 */
export function transformerEncoder(cr: typeof import('../../src/index.js')) {
  const { d, layers, heads, ff } = TRANSFORMER;
  const { nn } = cr;
  return new nn.TransformerEncoder(
    new nn.TransformerEncoderLayer(d, heads, {
      dimFeedforward: ff,
      dropout: 0,
      activation: 'gelu',
      batchFirst: true,
      normFirst: true,
    }),
    layers,
  );
}

const LR = 0.01;

/** The LSTM and GRU cases, `makeStep(kind)` building each one's model and its training step. */
async function recurrentCases(
  makeStep: (kind: 'lstm' | 'gru') => () => number,
  r: Repeats,
): Promise<CaseResult[]> {
  const cases: CaseResult[] = [];
  for (const [name, kind] of [
    [LSTM_CASE, 'lstm'],
    [GRU_CASE, 'gru'],
  ] as const)
    cases.push(await guarded(name, () => trainingStepCase(name, makeStep(kind), r)));
  return cases;
}

export async function chainrule(options: RunOptions): Promise<FrameworkResult> {
  const { cr, label, threads } = await loadChainrule();
  const { nn, F } = cr;
  cr.manualSeed(0);
  const x = cr.randn([RNN.batch, RNN.steps, RNN.input]);
  const target = cr.randn([RNN.batch, RNN.steps, 1]);
  const cases = await recurrentCases(
    (kind) => {
      const rnn =
        kind === 'lstm'
          ? new nn.LSTM(RNN.input, RNN.hidden, { batchFirst: true })
          : new nn.GRU(RNN.input, RNN.hidden, { batchFirst: true });
      const head = new nn.Linear(RNN.hidden, 1);
      const opt = new cr.optim.SGD([...rnn.parameters(), ...head.parameters()], { lr: LR });
      return () => {
        const [out] = rnn.call(x);
        const loss = F.mseLoss(head.call(out), target);
        opt.zeroGrad();
        loss.backward();
        opt.step();
        return Number(loss.itemSync());
      };
    },
    repeats(options, true),
  );
  const { d, steps, batch } = TRANSFORMER;
  cases.push(
    await guarded(TRANSFORMER_CASE, () => {
      const enc = transformerEncoder(cr);
      const tx = cr.randn([batch, steps, d]);
      const ty = cr.randn([batch, steps, d]);
      const opt = new cr.optim.SGD(enc.parameters(), { lr: LR });
      return trainingStepCase(
        TRANSFORMER_CASE,
        () => {
          const loss = F.mseLoss(enc.call(tx, { isCausal: true }), ty);
          opt.zeroGrad();
          loss.backward();
          opt.step();
          return Number(loss.itemSync());
        },
        repeats(options, true),
      );
    }),
  );
  return { suite: 'sequence', framework: 'chainrule', label, threads, cases };
}

export async function tfjsWasm(options: RunOptions): Promise<FrameworkResult> {
  const { tf, label } = await loadTfjs('wasm');
  const x = tf.randomNormal([RNN.batch, RNN.steps, RNN.input]);
  const target = tf.randomNormal([RNN.batch, RNN.steps, 1]);
  const cases = await recurrentCases(
    (kind) => {
      const model = tf.sequential();
      const config = {
        units: RNN.hidden,
        returnSequences: true,
        inputShape: [RNN.steps, RNN.input],
      };
      model.add(kind === 'lstm' ? tf.layers.lstm(config) : tf.layers.gru(config));
      model.add(tf.layers.dense({ units: 1 }));
      const optimizer = tf.train.sgd(LR);
      return () => {
        const loss = optimizer.minimize(
          () =>
            tf.losses.meanSquaredError(target, model.apply(x) as import('@tensorflow/tfjs').Tensor),
          true,
        )!;
        const value = loss.dataSync()[0];
        loss.dispose();
        return value;
      };
    },
    // Seconds per step: the fewest repeats.
    { ...repeats(options, true), minRepeats: 2, maxRepeats: 3, warmupMs: 0 },
  );
  cases.push({
    name: TRANSFORMER_CASE,
    status: 'unsupported',
    note: 'tf.layers has no transformer or multi-head attention layers',
  });
  return { suite: 'sequence', framework: 'tfjs-wasm', label, cases };
}
