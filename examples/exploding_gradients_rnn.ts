/**
 * Exploding gradients in a recurrent network, and gradient clipping. Backpropagation through
 * time multiplies the gradient by the recurrent weight matrix once per step, so when that matrix
 * stretches vectors (here a ReLU RNN whose W_hh starts as 1.1·I, which is what "identity init"
 * becomes with a slightly large gain) the gradient grows like 1.1^T. Plain SGD then takes one
 * enormous step and the loss overflows; the same run with nn.utils.clipGradNorm_ trains.
 * The task: read a sequence of T numbers in [0, 1) and output their mean.
 *
 *   npx tsx examples/exploding_gradients_rnn.ts [length] [steps]
 */
import { F, inspect, manualSeed, nn, noGrad, optim, rand, type Tensor } from '../src/index.js';
import { runIfMain } from './run_main.js';

export interface ExplodingOptions {
  /** Sequence length T. */
  length?: number;
  hidden?: number;
  steps?: number;
  batch?: number;
  lr?: number;
  /** W_hh starts as gain·I. */
  gain?: number;
  /** clipGradNorm_'s maxNorm in the clipped run. */
  maxNorm?: number;
  seed?: number;
}

export interface RunResult {
  clipped: boolean;
  /** Loss at each step (non-finite once it diverged). */
  losses: number[];
  /** Total gradient norm at each step, before clipping. */
  gradNorms: number[];
  /** The step whose loss was first non-finite, or null. */
  divergedAt: number | null;
}

class MeanReader extends nn.Module {
  rnn: nn.RNN;
  head: nn.Linear;
  constructor(hidden: number, gain: number) {
    super();
    this.rnn = new nn.RNN(1, hidden, { nonlinearity: 'relu' });
    this.head = new nn.Linear(hidden, 1);
    noGrad(() => {
      const [, weightHh] = this.rnn.namedParameters().find(([name]) => name === 'weight_hh_l0')!;
      nn.init.eye_(weightHh).mul_(gain);
    });
  }
  forward(x: Tensor): Tensor {
    const [out] = this.rnn.call(x) as [Tensor, Tensor];
    return this.head.call(out.select(0, out.shape[0] - 1));
  }
}

async function run(
  clip: boolean,
  o: Required<ExplodingOptions>,
  log: (line: string) => void,
): Promise<RunResult> {
  manualSeed(o.seed);
  const model = new MeanReader(o.hidden, o.gain);
  const optimizer = new optim.SGD(model.parameters(), { lr: o.lr });
  const result: RunResult = { clipped: clip, losses: [], gradNorms: [], divergedAt: null };
  for (let step = 0; step < o.steps; step++) {
    const x = rand([o.length, o.batch, 1]);
    const loss = F.mseLoss(model.call(x), x.mean(0));
    optimizer.zeroGrad();
    loss.backward();
    if (step === 0) {
      const report = await inspect.gradientReport(model, { lr: o.lr });
      const exploding = report.problems.filter((p) => p.kind === 'exploding');
      log(
        `  step 0: gradientReport flags ${exploding.length ? exploding.map((p) => `'${p.layer}'`).join(', ') + ' as exploding' : 'nothing'}`,
      );
    }
    // clipGradNorm_ returns the total norm before clipping; with maxNorm Infinity it only measures.
    const norm = Number(
      nn.utils.clipGradNorm_(model.parameters(), clip ? o.maxNorm : Infinity).itemSync(),
    );
    optimizer.step();
    const value = Number(loss.itemSync());
    result.losses.push(value);
    result.gradNorms.push(norm);
    if (!Number.isFinite(value) || !Number.isFinite(norm)) {
      result.divergedAt = step;
      break;
    }
  }
  return result;
}

export async function main(
  options: ExplodingOptions = {},
  log: (line: string) => void = console.log,
): Promise<RunResult[]> {
  const o: Required<ExplodingOptions> = {
    length: 50,
    hidden: 16,
    steps: 100,
    batch: 32,
    lr: 0.01,
    gain: 1.1,
    maxNorm: 1,
    seed: 0,
    ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
  };
  log(`ReLU RNN, W_hh = ${o.gain}·I, sequences of ${o.length}, SGD lr ${o.lr}, ${o.steps} steps`);
  log(
    `(always answering 0.5 would score an MSE of 1/(12·T) = ${(1 / (12 * o.length)).toExponential(2)})`,
  );
  const results: RunResult[] = [];
  for (const clip of [false, true]) {
    log(`\n${clip ? `with clipGradNorm_(params, ${o.maxNorm})` : 'without clipping'}`);
    const r = await run(clip, o, log);
    results.push(r);
    const show = (i: number) =>
      `step ${i}: loss ${r.losses[i].toExponential(2)}, gradient norm ${r.gradNorms[i].toExponential(2)}`;
    log(`  ${show(0)}`);
    if (r.divergedAt !== null) log(`  diverged: ${show(r.divergedAt)}`);
    else log(`  ${show(r.losses.length - 1)}`);
  }
  return results;
}

runIfMain(import.meta.url, () => {
  const [length, steps] = process.argv.slice(2).map(Number);
  return main({ length: length || undefined, steps: steps || undefined });
});
