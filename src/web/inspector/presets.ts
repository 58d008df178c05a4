/**
 * The inspector's models: the single neuron of the classic worked example, an MLP on 2-D points
 * and a deep sigmoid net whose early layers get vanishing gradients. Written against the public
 * API only, so the page (in the browser) and the tests (in Node) build the same model from the
 * same config and seed.
 */
import { F, manualSeed, nn, optim, rand, tensor, type Tensor } from '../../index.js';

export type PresetName = 'neuron' | 'mlp' | 'deep-sigmoid';
export type Activation = 'relu' | 'tanh' | 'sigmoid';
export type InitName = 'default' | 'xavier' | 'he';

export interface ModelConfig {
  readonly preset: PresetName;
  /** Hidden layers (the MLP presets). */
  readonly hidden: number;
  /** Units per hidden layer. */
  readonly width: number;
  readonly activation: Activation;
  /** 'default' is nn.Linear's own (PyTorch's); 'xavier' and 'he' draw normal weights, zero biases. */
  readonly init: InitName;
  /** SGD learning rate (momentum 0.9). */
  readonly lr: number;
  readonly seed: number;
  /** Points in the 2-D data set. */
  readonly points: number;
}

export const PRESETS: Record<PresetName, ModelConfig & { title: string; about: string }> = {
  neuron: {
    preset: 'neuron',
    title: 'Single neuron (the worked example)',
    about:
      'f = σ(w0·x0 + w1·x1 + w2) with w = (2, −3, −3), x = (−1, −2): f = 0.73, and backprop gives ' +
      '∂f/∂w = (−0.20, −0.39, 0.20), ∂f/∂x = (0.39, −0.59).',
    hidden: 0,
    width: 1,
    activation: 'sigmoid',
    init: 'default',
    lr: 0.1,
    seed: 0,
    points: 0,
  },
  mlp: {
    preset: 'mlp',
    title: 'MLP on 2-D points',
    about:
      'Two classes of points (a disk inside a ring), a tanh MLP with Xavier init, cross-entropy.',
    hidden: 2,
    width: 8,
    activation: 'tanh',
    init: 'xavier',
    lr: 0.1,
    seed: 1,
    points: 64,
  },
  'deep-sigmoid': {
    preset: 'deep-sigmoid',
    title: 'Deep sigmoid net (vanishing gradients)',
    about:
      'Ten sigmoid layers with the default init: the gradient norm shrinks layer by layer towards the input ' +
      '(the heat map’s top rows stay dark). Try ReLU with He init.',
    hidden: 10,
    width: 8,
    activation: 'sigmoid',
    init: 'default',
    lr: 0.5,
    seed: 1,
    points: 64,
  },
};

/** A model built from a config: what the page draws, steps through and trains. */
export interface Problem {
  readonly config: ModelConfig;
  /** The MLP (null for the neuron). */
  readonly model: nn.Sequential | null;
  /** Names of the leaves for inspect.graph. */
  readonly names: Record<string, Tensor>;
  /** The trainable tensors. */
  readonly params: Tensor[];
  /** Weight of each linear layer by name, first layer first (for the gradient-norm heat map). */
  readonly layers: [string, Tensor][];
  /** The scalar whose graph is drawn: the neuron's output, or the MLP's loss on all points. */
  forward(): Tensor;
}

/** Checks a config (it comes from form fields) and names what is wrong. */
export function checkConfig(config: ModelConfig): void {
  const intIn = (name: keyof ModelConfig, lo: number, hi: number) => {
    const v = config[name] as number;
    if (!Number.isInteger(v) || v < lo || v > hi)
      throw new Error(`inspector: ${name} must be an integer from ${lo} to ${hi}, got ${v}`);
  };
  if (!(config.preset in PRESETS)) throw new Error(`inspector: unknown preset '${config.preset}'`);
  if (config.preset === 'neuron') return;
  intIn('hidden', 1, 20);
  intIn('width', 1, 64);
  intIn('points', 2, 1024);
  intIn('seed', 0, 2 ** 31 - 1);
  if (!['relu', 'tanh', 'sigmoid'].includes(config.activation))
    throw new Error(
      `inspector: activation must be relu, tanh or sigmoid, got '${config.activation}'`,
    );
  if (!['default', 'xavier', 'he'].includes(config.init))
    throw new Error(`inspector: init must be default, xavier or he, got '${config.init}'`);
  if (!(config.lr > 0 && config.lr < 100))
    throw new Error(`inspector: lr must be in (0, 100), got ${config.lr}`);
}

/** Builds the problem; the same config and seed give the same numbers everywhere. */
export function buildProblem(config: ModelConfig): Problem {
  checkConfig(config);
  return config.preset === 'neuron' ? neuron(config) : mlp(config);
}

function neuron(config: ModelConfig): Problem {
  const leaf = (v: number) => tensor(v, { dtype: 'float64', requiresGrad: true });
  const names = { w0: leaf(2), x0: leaf(-1), w1: leaf(-3), x1: leaf(-2), w2: leaf(-3) };
  const { w0, x0, w1, x1, w2 } = names;
  return {
    config,
    model: null,
    names,
    params: [w0, w1, w2],
    layers: [],
    forward: () => w0.mul(x0).add(w1.mul(x1)).add(w2).sigmoid(),
  };
}

/** A disk (class 0) inside a ring (class 1), drawn from the default generator. */
export function diskAndRing(points: number): { x: Tensor; y: Tensor } {
  const u = rand([points, 3]).dataSync();
  const xs: number[][] = [];
  const ys: number[] = [];
  for (let i = 0; i < points; i++) {
    const label = i % 2;
    const angle = 2 * Math.PI * u[3 * i];
    const radius = label === 0 ? 0.5 * Math.sqrt(u[3 * i + 1]) : 0.8 + 0.4 * u[3 * i + 2];
    xs.push([radius * Math.cos(angle), radius * Math.sin(angle)]);
    ys.push(label);
  }
  return { x: tensor(xs), y: tensor(ys, { dtype: 'int32' }) };
}

function activationModule(name: Activation): nn.Module {
  return name === 'relu' ? new nn.ReLU() : name === 'tanh' ? new nn.Tanh() : new nn.Sigmoid();
}

function mlp(config: ModelConfig): Problem {
  manualSeed(config.seed);
  const { x, y } = diskAndRing(config.points);
  const modules: nn.Module[] = [];
  let inFeatures = 2;
  for (let i = 0; i < config.hidden; i++) {
    modules.push(new nn.Linear(inFeatures, config.width), activationModule(config.activation));
    inFeatures = config.width;
  }
  modules.push(new nn.Linear(inFeatures, 2));
  const model = new nn.Sequential(...modules);
  const linears = model.namedModules().filter(([, m]) => m instanceof nn.Linear) as [
    string,
    nn.Linear,
  ][];
  for (const [, layer] of linears) {
    if (config.init === 'default') continue;
    if (config.init === 'xavier')
      nn.init.xavierNormal_(layer.weight, nn.init.calculateGain(config.activation));
    else nn.init.kaimingNormal_(layer.weight, { nonlinearity: 'relu' });
    if (layer.bias) nn.init.zeros_(layer.bias);
  }
  const names: Record<string, Tensor> = Object.fromEntries(model.namedParameters());
  return {
    config,
    model,
    names,
    params: model.parameters(),
    layers: linears.map(([name, layer]) => [`${name}.weight`, layer.weight]),
    forward: () => F.crossEntropy(model.call(x), y),
  };
}

/** SGD with momentum over the problem's parameters (null for the neuron: it has no data to fit). */
export function makeOptimizer(problem: Problem): optim.SGD | null {
  return problem.model === null
    ? null
    : new optim.SGD(problem.params, { lr: problem.config.lr, momentum: 0.9 });
}

export interface TrainRecord {
  readonly step: number;
  readonly loss: number;
  /** ‖∂loss/∂W‖ of each linear layer, first layer first. */
  readonly gradNorms: number[];
}

/** One step: forward, backward, the layers' gradient norms, the update. */
export function trainStep(problem: Problem, optimizer: optim.SGD, step: number): TrainRecord {
  optimizer.zeroGrad();
  const loss = problem.forward();
  loss.backward();
  const gradNorms = problem.layers.map(([, w]) => Number(w.grad!.norm().itemSync()));
  optimizer.step();
  return { step, loss: Number(loss.itemSync()), gradNorms };
}
