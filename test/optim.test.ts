/**
 * Optimizers against PyTorch 1.13 (test/fixtures/optim.json, from scripts/fixtures/optim.py): the
 * same model, initial weights and batches must give the same per-step losses and final weights.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { optim, tensor, noGrad, type Tensor } from '../src/index.js';
import { expectMatches, fromFixture, type FixtureTensor } from './helpers/reference.js';

interface OptimizerCase {
  optimizer: keyof typeof constructors;
  groups: { params: ('w' | 'b' | 'frozen')[]; options: Record<string, unknown> }[];
  losses: number[];
  final: Record<'w' | 'b' | 'frozen', FixtureTensor>;
}

const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL('./fixtures/optim.json', import.meta.url)), 'utf8'),
) as {
  data: Record<'x' | 'y' | 't' | 'w' | 'b' | 'frozen', FixtureTensor>;
  steps: number;
  optimizers: OptimizerCase[];
};

const constructors = {
  SGD: optim.SGD,
  Adam: optim.Adam,
  AdamW: optim.AdamW,
  RMSprop: optim.RMSprop,
  Adagrad: optim.Adagrad,
  Adadelta: optim.Adadelta,
  Adamax: optim.Adamax,
  NAdam: optim.NAdam,
  RAdam: optim.RAdam,
} as const;

type AnyOptimizer = optim.Optimizer<any>;

function makeOptimizer(
  name: keyof typeof constructors,
  params: any,
  options: Record<string, unknown> = {},
): AnyOptimizer {
  const C = constructors[name] as unknown as new (
    params: any,
    options: Record<string, unknown>,
  ) => AnyOptimizer;
  return new C(params, options);
}

const X = fromFixture(fixture.data.x);
const Y = fromFixture(fixture.data.y);
const T = fromFixture(fixture.data.t);

/** The fixture's loss: cross-entropy written with logsumexp/gather, plus 0.1·MSE to a target. */
function lossOn(w: Tensor, b: Tensor, lo: number, n: number): Tensor {
  const x = X.narrow(0, lo, n);
  const y = Y.narrow(0, lo, n);
  const t = T.narrow(0, lo, n);
  const z = x.matmul(w.t()).add(b);
  const ce = z
    .logsumexp(1)
    .sub(z.gather(1, y.unsqueeze(1)).squeeze(1))
    .mean();
  return ce.add(z.sub(t).pow(2).mean().mul(0.1));
}
const stepLoss = (w: Tensor, b: Tensor, step: number) => lossOn(w, b, (step % 2) * 8, 8);

function freshParams() {
  return {
    w: fromFixture(fixture.data.w).requiresGrad_(),
    b: fromFixture(fixture.data.b).requiresGrad_(),
    frozen: fromFixture(fixture.data.frozen).requiresGrad_(),
  };
}

function buildFromCase(c: OptimizerCase, params: ReturnType<typeof freshParams>): AnyOptimizer {
  if (c.groups.length === 1)
    return makeOptimizer(
      c.optimizer,
      c.groups[0].params.map((n) => params[n]),
      c.groups[0].options,
    );
  return makeOptimizer(
    c.optimizer,
    c.groups.map((g) => ({ params: g.params.map((n) => params[n]), ...g.options })),
  );
}

function train(
  opt: AnyOptimizer,
  params: ReturnType<typeof freshParams>,
  from: number,
  to: number,
): number[] {
  const losses: number[] = [];
  for (let step = from; step < to; step++) {
    opt.zeroGrad();
    const loss = stepLoss(params.w, params.b, step);
    loss.backward();
    opt.step();
    losses.push(Number(loss.itemSync()));
  }
  return losses;
}

const label = (c: OptimizerCase) =>
  `${c.optimizer} ${c.groups.map((g) => JSON.stringify(g.options)).join(' + ')}`;
const TOL = { atol: 1e-6, rtol: 1e-5 };

describe('optimizers follow PyTorch trajectories', () => {
  it('covers every optimizer', () => {
    expect(new Set(fixture.optimizers.map((c) => c.optimizer))).toEqual(
      new Set(Object.keys(constructors)),
    );
  });

  for (const c of fixture.optimizers) {
    it(label(c), () => {
      const params = freshParams();
      const opt = buildFromCase(c, params);
      const losses = train(opt, params, 0, fixture.steps);
      losses.forEach((loss, i) => {
        const want = c.losses[i];
        if (Math.abs(loss - want) > TOL.atol + TOL.rtol * Math.abs(want))
          expect.fail(`${label(c)}: loss at step ${i} is ${loss}, PyTorch gives ${want}`);
      });
      expectMatches(params.w, c.final.w, `${label(c)} final weight`, TOL);
      expectMatches(params.b, c.final.b, `${label(c)} final bias`, TOL);
      // The parameter without a gradient is skipped: unchanged, and no state is created for it
      // (except Adagrad, whose state PyTorch creates at construction).
      expectMatches(params.frozen, c.final.frozen, `${label(c)} frozen`, { atol: 0, rtol: 0 });
      if (c.optimizer !== 'Adagrad') expect(opt.state.has(params.frozen)).toBe(false);
      // Updates are in place and recorded no graph.
      for (const p of [params.w, params.b]) {
        expect(p.isLeaf).toBe(true);
        expect(p.gradFn).toBeNull();
        expect(p.requiresGrad).toBe(true);
      }
    });
  }
});

describe('optimizer API', () => {
  it('updates the parameter tensors in place', () => {
    const p = freshParams();
    const opt = new optim.SGD([p.w], { lr: 0.1 });
    const version = p.w.version;
    const before = Array.from(p.w.dataSync());
    stepLoss(p.w, p.b, 0).backward();
    const grad = Array.from(p.w.grad!.dataSync());
    opt.step();
    expect(p.w.version).toBeGreaterThan(version);
    Array.from(p.w.dataSync()).forEach((v, i) =>
      expect(v).toBeCloseTo(before[i] - 0.1 * grad[i], 6),
    );
  });

  it('validates options with errors that name the optimizer and the option', () => {
    const w = tensor([1, 2], { requiresGrad: true });
    for (const name of Object.keys(constructors) as (keyof typeof constructors)[]) {
      expect(() => makeOptimizer(name, [w], { lr: -0.1 }), name).toThrow(
        new RegExp(`^${name}: invalid lr -0.1`),
      );
      expect(() => makeOptimizer(name, [w], { weight_decay: 0.1 }), name).toThrow(
        new RegExp(`^${name}: unknown option weight_decay`),
      );
      expect(() => makeOptimizer(name, [w], { lr: 0.1, weightDecay: -1 }), name).toThrow(
        new RegExp(`^${name}: invalid weightDecay -1`),
      );
      expect(() => makeOptimizer(name, [w], { lr: 'fast' }), name).toThrow(
        new RegExp(`^${name}: option lr must be a number`),
      );
    }
    for (const name of ['Adam', 'AdamW', 'Adamax', 'NAdam', 'RAdam'] as const) {
      expect(() => makeOptimizer(name, [w], { betas: [1.0, 0.999] })).toThrow(
        new RegExp(`^${name}: invalid betas\\[0\\] 1: expected 0 <= betas\\[0\\] < 1`),
      );
      expect(() => makeOptimizer(name, [w], { betas: [0.9, -0.1] })).toThrow(
        new RegExp(`^${name}: invalid betas\\[1\\] -0.1`),
      );
      expect(() => makeOptimizer(name, [w], { betas: [0.9] })).toThrow(/betas must be a pair/);
      expect(() => makeOptimizer(name, [w], { eps: -1 })).toThrow(
        new RegExp(`^${name}: invalid eps -1`),
      );
    }
    expect(() => new optim.SGD([w], {})).toThrow(
      /SGD: parameter group 0 didn't specify a value of required option lr/,
    );
    expect(() => new optim.SGD([w], { lr: 0.1, nesterov: true })).toThrow(
      /SGD: Nesterov momentum requires a momentum > 0 and zero dampening/,
    );
    expect(() => new optim.SGD([w], { lr: 0.1, momentum: -0.5 })).toThrow(
      /SGD: invalid momentum -0.5/,
    );
    expect(() => new optim.RMSprop([w], { alpha: -0.5 })).toThrow(/RMSprop: invalid alpha -0.5/);
    expect(() => new optim.RMSprop([w], { centered: 1 as unknown as boolean })).toThrow(
      /RMSprop: option centered must be a boolean/,
    );
    expect(() => new optim.Adagrad([w], { lrDecay: -1 })).toThrow(/Adagrad: invalid lrDecay -1/);
    expect(() => new optim.Adagrad([w], { initialAccumulatorValue: -1 })).toThrow(
      /Adagrad: invalid initialAccumulatorValue -1/,
    );
    expect(() => new optim.Adadelta([w], { rho: 1.5 })).toThrow(/Adadelta: invalid rho 1.5/);
    expect(() => new optim.NAdam([w], { momentumDecay: -1 })).toThrow(
      /NAdam: invalid momentumDecay -1/,
    );
    // Group options are validated too.
    expect(() => new optim.Adam([{ params: [w], lr: -1 }])).toThrow(/Adam: invalid lr -1/);
  });

  it('validates the parameters', () => {
    const w = tensor([1, 2], { requiresGrad: true });
    expect(() => new optim.SGD([], { lr: 0.1 })).toThrow(
      /SGD: optimizer got an empty parameter list/,
    );
    expect(() => new optim.SGD(w as unknown as Tensor[], { lr: 0.1 })).toThrow(
      /should be an iterable of Tensors or of parameter groups, but got a Tensor/,
    );
    expect(() => new optim.SGD([w.mul(2)], { lr: 0.1 })).toThrow(
      /SGD: can't optimize a non-leaf tensor/,
    );
    expect(() => new optim.Adam([tensor([1, 2], { dtype: 'int32' })])).toThrow(
      /Adam: can only optimize floating point tensors/,
    );
    expect(() => new optim.Adam([w, w])).toThrow(
      /Adam: a parameter group contains the same parameter more than once/,
    );
    expect(() => new optim.Adam([{ params: [w] }, { params: [w] }])).toThrow(
      /Adam: some parameters appear in more than one parameter group/,
    );
    expect(() => new optim.Adam([1 as unknown as Tensor])).toThrow(
      /Adam: parameter 0 of a group is not a Tensor/,
    );
  });

  it('param groups take defaults, keep their own options, and accept any iterable', () => {
    const a = tensor([1], { requiresGrad: true });
    const b = tensor([2], { requiresGrad: true });
    const c = tensor([3], { requiresGrad: true });
    const opt = new optim.Adam(
      [{ params: new Set([a]) }, { params: [b], lr: 0.5, betas: [0.5, 0.9] }],
      { lr: 0.01, amsgrad: true },
    );
    expect(opt.paramGroups[0]).toMatchObject({
      lr: 0.01,
      betas: [0.9, 0.999],
      amsgrad: true,
      eps: 1e-8,
    });
    expect(opt.paramGroups[1]).toMatchObject({ lr: 0.5, betas: [0.5, 0.9], amsgrad: true });
    opt.addParamGroup({ params: c, weightDecay: 0.1 });
    expect(opt.paramGroups[2]).toMatchObject({ lr: 0.01, weightDecay: 0.1 });
    expect(opt.paramGroups[2].params).toEqual([c]);
    expect(() => opt.addParamGroup({ params: [a] })).toThrow(/more than one parameter group/);
    // Defaults are copied: changing one group's betas does not change another's.
    (opt.paramGroups[0].betas as number[])[0] = 0.1;
    expect(opt.paramGroups[2].betas).toEqual([0.9, 0.999]);
  });

  it('uses the live lr of each group (what schedulers change)', () => {
    const w = tensor([1, 2], { requiresGrad: true });
    const opt = new optim.SGD([w], { lr: 0.1 });
    w.mul(w).sum().backward();
    opt.paramGroups[0].lr = 0;
    opt.step();
    expect(Array.from(w.dataSync())).toEqual([1, 2]);
    opt.paramGroups[0].lr = 0.5;
    opt.step();
    expect(Array.from(w.dataSync())).toEqual([0, 0]);
  });

  it('zeroGrad sets gradients to null, or to zeros in place', () => {
    const w = tensor([1, 2], { requiresGrad: true });
    const opt = new optim.SGD([w], { lr: 0.1 });
    w.mul(3).sum().backward();
    const grad = w.grad!;
    opt.zeroGrad({ setToNone: false });
    expect(w.grad).toBe(grad);
    expect(Array.from(w.grad!.dataSync())).toEqual([0, 0]);
    w.mul(3).sum().backward();
    expect(Array.from(w.grad!.dataSync())).toEqual([3, 3]);
    opt.zeroGrad();
    expect(w.grad).toBeNull();
    opt.step(); // no gradients: nothing happens
    expect(Array.from(w.dataSync())).toEqual([1, 2]);
  });

  it('step(closure) evaluates the closure with grad enabled and returns its loss', () => {
    const w = tensor([1, 2], { requiresGrad: true });
    const opt = new optim.SGD([w], { lr: 0.25 });
    const loss = noGrad(() =>
      opt.step(() => {
        opt.zeroGrad();
        const l = w.mul(w).sum();
        l.backward();
        return l;
      }),
    ) as Tensor;
    expect(loss.itemSync()).toBe(5);
    expect(Array.from(w.dataSync())).toEqual([0.5, 1]);
  });

  it('accumulates gradients: two half-batch backwards of loss/2 equal one full-batch step', () => {
    for (const name of ['SGD', 'Adam'] as const) {
      const full = freshParams();
      const optFull = makeOptimizer(name, [full.w, full.b], {
        lr: 0.1,
        ...(name === 'SGD' ? { momentum: 0.9 } : {}),
      });
      const half = freshParams();
      const optHalf = makeOptimizer(name, [half.w, half.b], {
        lr: 0.1,
        ...(name === 'SGD' ? { momentum: 0.9 } : {}),
      });
      for (let step = 0; step < 3; step++) {
        optFull.zeroGrad();
        lossOn(full.w, full.b, 0, 16).backward();
        optFull.step();
        optHalf.zeroGrad();
        lossOn(half.w, half.b, 0, 8).div(2).backward();
        lossOn(half.w, half.b, 8, 8).div(2).backward();
        optHalf.step();
      }
      for (const k of ['w', 'b'] as const) {
        const a = full[k].dataSync();
        const b = half[k].dataSync();
        a.forEach((v, i) => expect(Math.abs(v - b[i]), `${name} ${k}[${i}]`).toBeLessThan(1e-6));
      }
      // And it really moved: the weights differ from the initial ones.
      expect(
        Math.abs(full.w.dataSync()[0] - fromFixture(fixture.data.w).dataSync()[0]),
      ).toBeGreaterThan(1e-3);
    }
  });
});

describe('optimizer stateDict / loadStateDict', () => {
  for (const c of fixture.optimizers) {
    it(`resumes ${label(c)} exactly through JSON`, () => {
      const straight = freshParams();
      const optStraight = buildFromCase(c, straight);
      const straightLosses = train(optStraight, straight, 0, fixture.steps);

      const first = freshParams();
      const optFirst = buildFromCase(c, first);
      train(optFirst, first, 0, 8);
      const saved = JSON.parse(JSON.stringify(optFirst.stateDict()));

      // A new optimizer with different options: loading restores the saved ones.
      const resumed = {
        w: first.w.detach().clone().requiresGrad_(),
        b: first.b.detach().clone().requiresGrad_(),
        frozen: first.frozen.detach().clone().requiresGrad_(),
      };
      const optResumed = buildFromCase(c, resumed);
      for (const g of optResumed.paramGroups) g.lr = 123;
      optResumed.loadStateDict(saved);
      expect(optResumed.paramGroups.map((g) => g.lr)).toEqual(
        optFirst.paramGroups.map((g) => g.lr),
      );
      const losses = train(optResumed, resumed, 8, fixture.steps);
      expect(losses).toEqual(straightLosses.slice(8));
      expect(Array.from(resumed.w.dataSync())).toEqual(Array.from(straight.w.dataSync()));
      expect(Array.from(resumed.b.dataSync())).toEqual(Array.from(straight.b.dataSync()));
    });
  }

  it('has a documented structure', () => {
    const p = freshParams();
    const opt = new optim.Adam([{ params: [p.w] }, { params: [p.b, p.frozen], lr: 0.1 }], {
      amsgrad: true,
    });
    stepLoss(p.w, p.b, 0).backward();
    opt.step();
    const sd = opt.stateDict();
    expect(sd.paramGroups.map((g) => g.params)).toEqual([[0], [1, 2]]);
    expect(sd.paramGroups[1]).toMatchObject({ lr: 0.1, betas: [0.9, 0.999], amsgrad: true });
    expect(Object.keys(sd.state)).toEqual(['0', '1']);
    expect(Object.keys(sd.state['0']).sort()).toEqual([
      'expAvg',
      'expAvgSq',
      'maxExpAvgSq',
      'step',
    ]);
    expect(sd.state['0'].step).toBe(1);
    expect(sd.state['0'].expAvg).toMatchObject({ shape: [3, 4], dtype: 'float32' });
  });

  it('throws clear errors on mismatched state dicts, leaving the optimizer unchanged', () => {
    const p = freshParams();
    const opt = new optim.SGD([{ params: [p.w] }, { params: [p.b] }], { lr: 0.1, momentum: 0.9 });
    stepLoss(p.w, p.b, 0).backward();
    opt.step();
    const good = opt.stateDict();
    const other = new optim.SGD([p.w, p.b], { lr: 0.1, momentum: 0.9 });
    expect(() => other.loadStateDict(good)).toThrow(
      /SGD.loadStateDict: loaded state dict has 2 parameter groups, but the optimizer has 1/,
    );
    const threeParams = new optim.SGD([{ params: [p.w, p.frozen] }, { params: [p.b] }], {
      lr: 0.1,
    });
    expect(() => threeParams.loadStateDict(good)).toThrow(
      /loaded parameter group 0 has 1 parameters, but the optimizer's group has 2/,
    );
    const swapped = new optim.SGD([{ params: [p.b] }, { params: [p.w] }], {
      lr: 0.1,
      momentum: 0.9,
    });
    expect(() => swapped.loadStateDict(good)).toThrow(
      /state momentumBuffer of parameter 0 has shape \[3, 4\], but the parameter has shape \[3\]/,
    );
    expect(() => opt.loadStateDict({} as never)).toThrow(
      /expected an object with state and paramGroups/,
    );
    const badOption = JSON.parse(JSON.stringify(good));
    badOption.paramGroups[0].lr = -1;
    const before = opt.stateDict();
    expect(() => opt.loadStateDict(badOption)).toThrow(/SGD.loadStateDict: SGD: invalid lr -1/);
    expect(opt.stateDict()).toEqual(before);
    const badState = JSON.parse(JSON.stringify(good));
    badState.state['7'] = { step: 1 };
    expect(() => opt.loadStateDict(badState)).toThrow(
      /state for parameter 7, which is in no parameter group/,
    );
  });
});
