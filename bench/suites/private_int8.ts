/**
 * DP-SGD and int8 training (issue 20), chainrule only, one process:
 * - the MLP 784-256-128-10 step at batch 256 with plain SGD, and with DP-SGD (per-sample clipping
 *   to norm 1 over all parameters, noise 1.1) on the same model and batch: ms per step;
 * - n = 1024 matmul: int8 (int32 accumulation) in GOPS on the relaxed-SIMD and the plain-SIMD
 *   kernels, and the float32 kernel in GFLOP/s, in the same run;
 * - the integer (NITI) MLP and CNN training steps at batch 64 against the float32 steps of the
 *   same architectures (SGD): ms per step.
 */
import { mlpSetup, cnnSetup } from '../lib/data.js';
import { guarded, repeats, timedCase } from '../lib/cases.js';
import { importBuilt, loadChainrule } from '../lib/frameworks.js';
import type { CaseResult, FrameworkResult, RunOptions } from '../lib/protocol.js';

type Chainrule = typeof import('../../src/index.js');
type Models = typeof import('../../src/cli/models.js');
type Tensor = InstanceType<Chainrule['Tensor']>;

/** A plain SGD training step of `model` on (x, y) (also timed by bench/dp_profile.ts). */
export function floatStep(
  cr: Chainrule,
  model: InstanceType<Chainrule['nn']['Module']>,
  x: Tensor,
  y: Tensor,
) {
  const optimizer = new cr.optim.SGD(model.parameters(), { lr: 0.05 });
  return () => {
    optimizer.zeroGrad();
    const loss = cr.F.crossEntropy(model.call(x) as Tensor, y);
    loss.backward();
    optimizer.step();
    return loss.itemSync() as number;
  };
}

/** The MLP 784-256-128-10 of the DP-SGD cases. */
export function mlp(cr: Chainrule) {
  const { nn } = cr;
  return new nn.Sequential(
    new nn.Linear(784, 256),
    new nn.ReLU(),
    new nn.Linear(256, 128),
    new nn.ReLU(),
    new nn.Linear(128, 10),
  );
}

/**
 * A DP-SGD step of the MLP on (x, y): per-sample clipping to 1, noise 1.1, plain SGD underneath
 * (also timed by bench/dp_profile.ts).
 */
export function dpStep(cr: Chainrule, x: Tensor, y: Tensor, expectedBatchSize: number) {
  const model = new cr.privacy.GradSampleModule(mlp(cr));
  const optimizer = new cr.privacy.DPOptimizer(new cr.optim.SGD(model.parameters(), { lr: 0.05 }), {
    module: model,
    noiseMultiplier: 1.1,
    maxGradNorm: 1,
    expectedBatchSize,
  });
  return () => {
    optimizer.zeroGrad();
    const loss = cr.F.crossEntropy(model.call(x) as Tensor, y);
    loss.backward();
    optimizer.step();
    return loss.itemSync() as number;
  };
}

async function dpCases(cr: Chainrule, options: RunOptions): Promise<CaseResult[]> {
  const setup = mlpSetup(256);
  const x = cr.tensor(setup.x.data, { shape: setup.x.shape });
  const y = cr.tensor(setup.y.data, { shape: setup.y.shape });
  const plain = await guarded('MLP batch 256: SGD step', () =>
    timedCase('MLP batch 256: SGD step', 'ms', floatStep(cr, mlp(cr), x, y), repeats(options)),
  );
  const dp = await guarded('MLP batch 256: DP-SGD step', () =>
    timedCase('MLP batch 256: DP-SGD step', 'ms', dpStep(cr, x, y, 256), repeats(options)),
  );
  return [plain, dp];
}

async function matmulCases(cr: Chainrule, options: RunOptions): Promise<CaseResult[]> {
  const n = 1024;
  const ops = (ms: number) => (2 * n ** 3) / (ms * 1e6);
  const slow = { ...repeats(options, true), budgetMs: options.quick ? 1000 : 3000 };
  const cases: CaseResult[] = [];
  const a = cr.randn([n, n]);
  const b = cr.randn([n, n]);
  cases.push(
    await guarded(`float32 matmul n=${n}`, () =>
      timedCase(`float32 matmul n=${n}`, 'GFLOP/s', () => cr.matmul(a, b).dataSync(), slow, ops),
    ),
  );
  const rng = new cr.quant.IntRandom(1);
  const ai = Int8Array.from({ length: n * n }, () => rng.nextInt(128)); // ≥ 0, as after ReLU
  const bi = Int8Array.from({ length: n * n }, () => rng.nextInt(255) - 127);
  for (const kind of ['relaxed', 'simd'] as const) {
    const name = `int8 matmul n=${n} (${kind === 'relaxed' ? 'relaxed i8x16·i7x16 dot' : 'i32x4.dot_i16x8_s'})`;
    cr.quant.setInt8Kernel(kind);
    if (cr.quant.int8KernelFor(true) !== kind) {
      cases.push({ name, status: 'unsupported', note: `the engine has no ${kind} kernel` });
      continue;
    }
    cases.push(
      await guarded(name, () =>
        timedCase(name, 'GOPS', () => cr.quant.matmulNT(ai, bi, n, n, n), slow, ops),
      ),
    );
  }
  cr.quant.setInt8Kernel(null);
  return cases;
}

async function int8StepCases(cr: Chainrule, options: RunOptions): Promise<CaseResult[]> {
  const { createModel } = await importBuilt<Models>('cli/models.js');
  const cases: CaseResult[] = [];
  for (const name of ['mlp', 'cnn'] as const) {
    const setup = name === 'mlp' ? mlpSetup(64) : cnnSetup(64);
    const shape = [64, 1, 28, 28];
    const x = cr.tensor(setup.x.data, { shape });
    const y = cr.tensor(setup.y.data, { shape: setup.y.shape });
    const opts = repeats(options, name === 'cnn');
    cases.push(
      await guarded(`${name} batch 64: float32 SGD step`, () =>
        timedCase(
          `${name} batch 64: float32 SGD step`,
          'ms',
          floatStep(cr, createModel(name), x, y),
          opts,
        ),
      ),
    );
    const rng = new cr.quant.IntRandom(2);
    const net = cr.quant.createIntModel(name, rng);
    const xq = cr.quant.quantizeImages(setup.x.data as Float32Array, shape);
    const labels = setup.y.data as Int32Array;
    cases.push(
      await guarded(`${name} batch 64: int8 (NITI) step`, () =>
        timedCase(
          `${name} batch 64: int8 (NITI) step`,
          'ms',
          () => net.trainStep(xq, labels, 4, rng),
          opts,
        ),
      ),
    );
  }
  return cases;
}

export async function chainrule(options: RunOptions): Promise<FrameworkResult> {
  const { cr, label } = await loadChainrule();
  const cases = [
    ...(await dpCases(cr, options)),
    ...(await matmulCases(cr, options)),
    ...(await int8StepCases(cr, options)),
  ];
  return { suite: 'private_int8', framework: 'chainrule', label, cases };
}
