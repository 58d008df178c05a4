/**
 * Vanishing gradients, the classic lesson: in a deep sigmoid network with the default init, each
 * layer multiplies the gradient by σ'(z) ≤ 1/4 times a weight matrix on its way back, so the
 * first layers learn orders of magnitude slower than the last. Three fixes, measured the same way:
 * ReLU with He init, batch norm, residual connections. Prints the gradient norm of every linear
 * layer (log10, first layer on the left) and what inspect.gradientReport flags.
 *
 *   npx tsx examples/vanishing_gradients.ts [depth] [width]
 */
import { F, inspect, manualSeed, nn, noGrad, randint, randn } from '../src/index.js';
import { runIfMain } from './run_main.js';

export interface VanishingOptions {
  depth?: number;
  width?: number;
  batch?: number;
  seed?: number;
}

export interface NetResult {
  name: string;
  /** Gradient norm of each linear layer, input side first (the output layer last). */
  norms: number[];
  /** First linear layer's gradient norm over the last hidden one's (the output layer's input grows in a residual net). */
  ratio: number;
  /** The problems gradientReport found, as kind@layer. */
  problems: string[];
}

type Block = (width: number) => nn.Module;

/** depth hidden blocks of width, then a linear layer to 10 classes. */
function net(depth: number, width: number, block: Block): nn.Module {
  return new nn.Sequential(
    ...Array.from({ length: depth }, () => block(width)),
    new nn.Linear(width, 10),
  );
}

function heInit(model: nn.Module): nn.Module {
  noGrad(() => {
    for (const m of model.modules())
      if (m instanceof nn.Linear) {
        nn.init.kaimingNormal_(m.weight, { nonlinearity: 'relu' });
        if (m.bias) nn.init.zeros_(m.bias);
      }
  });
  return model;
}

export const NETS: Record<string, (depth: number, width: number) => nn.Module> = {
  'sigmoid, default init': (d, w) =>
    net(d, w, (n) => new nn.Sequential(new nn.Linear(n, n), new nn.Sigmoid())),
  'ReLU + He init': (d, w) =>
    heInit(net(d, w, (n) => new nn.Sequential(new nn.Linear(n, n), new nn.ReLU()))),
  'sigmoid + batch norm': (d, w) =>
    net(
      d,
      w,
      (n) => new nn.Sequential(new nn.Linear(n, n), new nn.BatchNorm1d(n), new nn.Sigmoid()),
    ),
  'sigmoid + residual': (d, w) =>
    net(d, w, (n) => new nn.Residual(new nn.Sequential(new nn.Linear(n, n), new nn.Sigmoid()))),
};

/** One forward and backward of a cross-entropy loss on random data; the report's figures. */
async function measure(
  name: string,
  model: nn.Module,
  batch: number,
  width: number,
): Promise<NetResult> {
  const x = randn([batch, width]);
  const y = randint(0, 10, [batch]);
  const activations = inspect.recordActivations(model);
  F.crossEntropy(model.call(x), y).backward();
  const report = await inspect.gradientReport(model, { activations });
  activations.remove();
  const norms = report.layers.filter((l) => l.type === 'Linear').map((l) => l.gradNorm ?? 0);
  return {
    name,
    norms,
    ratio: norms[0] / norms[norms.length - 2],
    problems: report.problems.map((p) => `${p.kind}@${p.layer}`),
  };
}

export async function main(
  options: VanishingOptions = {},
  log: (line: string) => void = console.log,
): Promise<NetResult[]> {
  const { depth = 20, width = 64, batch = 128, seed = 0 } = options;
  log(
    `${depth} hidden layers of width ${width}, batch ${batch}: log10 of each linear layer's gradient norm, input side first`,
  );
  const results: NetResult[] = [];
  for (const [name, make] of Object.entries(NETS)) {
    manualSeed(seed);
    const result = await measure(name, make(depth, width), batch, width);
    results.push(result);
    log(`\n${name}`);
    log(`  ${result.norms.map((g) => Math.log10(g).toFixed(1)).join(' ')}`);
    log(
      `  first / last hidden layer: ${result.ratio.toExponential(2)}; gradientReport: ${result.problems.length === 0 ? 'no problems' : `${result.problems.length} problems (${result.problems.slice(0, 3).join(', ')}${result.problems.length > 3 ? ', …' : ''})`}`,
    );
  }
  return results;
}

runIfMain(import.meta.url, () => {
  const [depth, width] = process.argv.slice(2).map(Number);
  return main({ depth: depth || undefined, width: width || undefined });
});
