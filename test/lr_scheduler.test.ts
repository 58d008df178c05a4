/**
 * LR schedulers against PyTorch 1.13 (test/fixtures/optim.json): the get_last_lr() sequence after
 * construction and after each of 30 steps, and the momentum OneCycleLR cycles.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { optim, zeros, tensor } from '../src/index.js';

const { lrScheduler } = optim;
type AnyOptimizer = optim.Optimizer<any>;
type Scheduler = optim.lrScheduler.LRScheduler;

interface SchedulerCase {
  scheduler: string;
  optimizer: 'sgd' | 'adam';
  groups: number;
  options: Record<string, any>;
  lrs: number[][];
  momenta?: number[][];
  metrics?: number[];
}

const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL('./fixtures/optim.json', import.meta.url)), 'utf8'),
) as { schedulers: SchedulerCase[] };

const LAMBDAS: Record<string, (epoch: number) => number> = {
  inverse: (e) => 1 / (1 + 0.1 * e),
  power: (e) => 0.9 ** e,
  step3: (e) => 0.5 ** Math.floor(e / 3),
  mult95: () => 0.95,
};

/** The fixture's optimizers: one parameter per group, group i with lr 0.1·(i+1). */
function makeOptimizer(kind: 'sgd' | 'adam', groups: number): AnyOptimizer {
  const list = Array.from({ length: groups }, (_, i) => ({
    params: [zeros([2], { requiresGrad: true })],
    lr: 0.1 * (i + 1),
  }));
  return kind === 'sgd'
    ? new optim.SGD(list, { lr: 0.1, momentum: 0.9 })
    : new optim.Adam(list, { lr: 0.1 });
}

function build(name: string, opt: AnyOptimizer, spec: Record<string, any>): Scheduler {
  const options = { ...spec };
  if (options.lrLambda !== undefined)
    options.lrLambda = Array.isArray(options.lrLambda)
      ? options.lrLambda.map((n: string) => LAMBDAS[n])
      : LAMBDAS[options.lrLambda];
  if (options.schedulers !== undefined)
    options.schedulers = options.schedulers.map(([n, s]: [string, Record<string, unknown>]) =>
      build(n, opt, s),
    );
  if (name === 'ChainedScheduler') return new lrScheduler.ChainedScheduler(options.schedulers);
  const C = (
    lrScheduler as unknown as Record<string, new (o: AnyOptimizer, options: unknown) => Scheduler>
  )[name];
  return new C(opt, options);
}

function momenta(opt: AnyOptimizer): number[] {
  return opt.paramGroups.map((g) => (g.betas ? (g.betas as number[])[0] : (g.momentum as number)));
}

function expectClose(actual: number[], expected: number[], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  actual.forEach((a, i) => {
    if (!(Math.abs(a - expected[i]) <= 1e-12 * Math.abs(expected[i]) + 1e-15))
      expect.fail(`${what}: group ${i} is ${a}, PyTorch gives ${expected[i]}`);
  });
}

const label = (c: SchedulerCase) =>
  `${c.scheduler} ${JSON.stringify(c.options)} (${c.groups} group${c.groups > 1 ? 's' : ''}, ${c.optimizer})`;

describe('schedulers follow PyTorch lr sequences', () => {
  it('covers the schedulers', () => {
    expect(new Set(fixture.schedulers.map((c) => c.scheduler))).toEqual(
      new Set([
        'StepLR',
        'MultiStepLR',
        'ExponentialLR',
        'CosineAnnealingLR',
        'CosineAnnealingWarmRestarts',
        'LinearLR',
        'ConstantLR',
        'PolynomialLR',
        'LambdaLR',
        'MultiplicativeLR',
        'OneCycleLR',
        'SequentialLR',
        'ChainedScheduler',
        'ReduceLROnPlateau',
      ]),
    );
  });

  for (const c of fixture.schedulers.filter((s) => s.scheduler !== 'ReduceLROnPlateau')) {
    it(label(c), () => {
      const opt = makeOptimizer(c.optimizer, c.groups);
      const scheduler = build(c.scheduler, opt, c.options);
      expectClose(scheduler.getLastLr(), c.lrs[0], `${label(c)} after construction`);
      for (let step = 1; step < c.lrs.length; step++) {
        opt.step();
        scheduler.step();
        expectClose(scheduler.getLastLr(), c.lrs[step], `${label(c)} after step ${step}`);
        // The optimizer's groups carry the scheduled lr.
        expectClose(
          opt.paramGroups.map((g) => g.lr),
          c.lrs[step],
          `${label(c)} group lr after step ${step}`,
        );
        expectClose(momenta(opt), c.momenta![step], `${label(c)} momentum after step ${step}`);
      }
    });
  }

  for (const c of fixture.schedulers.filter((s) => s.scheduler === 'ReduceLROnPlateau')) {
    it(label(c), () => {
      const opt = makeOptimizer('sgd', c.groups);
      const scheduler = new lrScheduler.ReduceLROnPlateau(opt, c.options);
      c.metrics!.forEach((metric, i) => {
        scheduler.step(i % 2 === 0 ? metric : tensor(metric, { dtype: 'float64' }));
        expectClose(scheduler.getLastLr(), c.lrs[i], `${label(c)} after metric ${i}`);
      });
      // The sequence does reduce the lr (the fixture is not trivial).
      expect(c.lrs[c.lrs.length - 1][0]).toBeLessThan(0.1);
    });
  }
});

describe('scheduler state', () => {
  for (const c of fixture.schedulers) {
    it(`resumes ${label(c)} through JSON`, () => {
      const opt = makeOptimizer(c.optimizer, c.groups);
      const plateau = c.scheduler === 'ReduceLROnPlateau';
      const scheduler = plateau
        ? new lrScheduler.ReduceLROnPlateau(opt, c.options)
        : build(c.scheduler, opt, c.options);
      const advance = (s: Scheduler | optim.lrScheduler.ReduceLROnPlateau, i: number) =>
        s instanceof lrScheduler.ReduceLROnPlateau ? s.step(c.metrics![i]) : s.step();
      for (let i = 0; i < 10; i++) advance(scheduler, i);
      const savedScheduler = JSON.parse(JSON.stringify(scheduler.stateDict()));
      const savedOptimizer = JSON.parse(JSON.stringify(opt.stateDict()));

      const opt2 = makeOptimizer(c.optimizer, c.groups);
      const scheduler2 = plateau
        ? new lrScheduler.ReduceLROnPlateau(opt2, c.options)
        : build(c.scheduler, opt2, c.options);
      opt2.loadStateDict(savedOptimizer);
      scheduler2.loadStateDict(savedScheduler);
      for (let i = 10; i < c.lrs.length - (plateau ? 0 : 1); i++) {
        advance(scheduler, i);
        advance(scheduler2, i);
        expect(scheduler2.getLastLr()).toEqual(scheduler.getLastLr());
      }
      expectClose(
        scheduler2.getLastLr(),
        c.lrs[c.lrs.length - 1],
        `${label(c)} resumed, at the end`,
      );
    });
  }

  it('stateDict is plain JSON data, with Infinity kept', () => {
    const opt = makeOptimizer('sgd', 1);
    const plateau = new lrScheduler.ReduceLROnPlateau(opt);
    const state = plateau.stateDict();
    expect(state.best).toBe('Infinity');
    expect(state).not.toHaveProperty('optimizer');
    const restored = new lrScheduler.ReduceLROnPlateau(makeOptimizer('sgd', 1), { mode: 'max' });
    restored.loadStateDict(JSON.parse(JSON.stringify(state)));
    expect(restored.best).toBe(Infinity);
    expect(restored.mode).toBe('min');
    const step = new lrScheduler.StepLR(opt, { stepSize: 3 });
    expect(step.stateDict()).toMatchObject({
      stepSize: 3,
      gamma: 0.1,
      lastEpoch: 0,
      baseLrs: [0.1],
    });
  });

  it('loadStateDict rejects unknown keys, missing keys and wrong types', () => {
    const s = new lrScheduler.StepLR(makeOptimizer('sgd', 1), { stepSize: 3 });
    const good = s.stateDict();
    expect(() => s.loadStateDict({ ...good, T_max: 3 })).toThrow(
      /StepLR.loadStateDict: unexpected key T_max/,
    );
    const missing = { ...good };
    delete missing.gamma;
    expect(() => s.loadStateDict(missing)).toThrow(/StepLR.loadStateDict: missing key gamma/);
    expect(() => s.loadStateDict({ ...good, gamma: 'big' })).toThrow(
      /StepLR.loadStateDict: gamma must be a number/,
    );
    expect(() => s.loadStateDict({ ...good, baseLrs: 0.1 })).toThrow(/baseLrs must be an array/);
    const opt = makeOptimizer('sgd', 1);
    const seq = new lrScheduler.SequentialLR(opt, {
      schedulers: [
        new lrScheduler.ConstantLR(opt, { factor: 0.5 }),
        new lrScheduler.ExponentialLR(opt, { gamma: 0.9 }),
      ],
      milestones: [3],
    });
    const seqState = seq.stateDict();
    expect((seqState.schedulers as unknown[]).length).toBe(2);
    expect(() =>
      seq.loadStateDict({ ...seqState, schedulers: [(seqState.schedulers as unknown[])[0]] }),
    ).toThrow(/SequentialLR.loadStateDict: expected the states of 2 schedulers, got 1/);
    expect(() => seq.loadStateDict({ ...seqState, schedulers: [good, good] })).toThrow(
      /ConstantLR.loadStateDict: unexpected key stepSize/,
    );
  });
});

describe('scheduler validation and behaviour', () => {
  it('validates options', () => {
    const opt = makeOptimizer('sgd', 2);
    expect(() => new lrScheduler.StepLR(opt, { stepSize: 0 })).toThrow(
      /StepLR: stepSize must be an integer >= 1/,
    );
    expect(() => new lrScheduler.LinearLR(opt, { startFactor: 1.5 })).toThrow(
      /LinearLR: startFactor must be between 0 and 1/,
    );
    expect(() => new lrScheduler.LinearLR(opt, { totalIters: 0 })).toThrow(
      /LinearLR: totalIters must be a positive integer/,
    );
    expect(() => new lrScheduler.CosineAnnealingWarmRestarts(opt, { t0: 0 })).toThrow(
      /expected a positive integer t0/,
    );
    expect(() => new lrScheduler.CosineAnnealingWarmRestarts(opt, { t0: 3, tMult: 1.5 })).toThrow(
      /expected an integer tMult >= 1/,
    );
    expect(() => new lrScheduler.OneCycleLR(opt, { maxLr: 0.1 })).toThrow(
      /OneCycleLR: you must define either totalSteps OR \(epochs AND stepsPerEpoch\)/,
    );
    expect(
      () => new lrScheduler.OneCycleLR(opt, { maxLr: [0.1, 0.2, 0.3], totalSteps: 10 }),
    ).toThrow(/OneCycleLR: expected 2 values for maxLr/);
    expect(
      () =>
        new lrScheduler.OneCycleLR(opt, {
          maxLr: 0.1,
          totalSteps: 10,
          annealStrategy: 'exp' as never,
        }),
    ).toThrow(/annealStrategy must be one of/);
    expect(
      () =>
        new lrScheduler.OneCycleLR(new optim.Adagrad([zeros([1], { requiresGrad: true })]), {
          maxLr: 0.1,
          totalSteps: 10,
        }),
    ).toThrow(/must support momentum/);
    expect(() => new lrScheduler.LambdaLR(opt, { lrLambda: [() => 1] })).toThrow(
      /LambdaLR: expected 2 lrLambdas/,
    );
    expect(() => new lrScheduler.ReduceLROnPlateau(opt, { factor: 1 })).toThrow(
      /ReduceLROnPlateau: factor should be in \[0, 1\)/,
    );
    expect(() => new lrScheduler.ReduceLROnPlateau(opt, { mode: 'up' as never })).toThrow(
      /mode up is unknown/,
    );
    expect(() => new lrScheduler.ReduceLROnPlateau(opt, { minLr: [0.1] })).toThrow(
      /expected 2 values for minLr/,
    );
    expect(() => new lrScheduler.ReduceLROnPlateau(opt).step()).toThrow(
      /ReduceLROnPlateau.step: metric must be a number or a one-element tensor/,
    );
    const a = new lrScheduler.ExponentialLR(opt, { gamma: 0.9 });
    const other = makeOptimizer('sgd', 2);
    const b = new lrScheduler.ExponentialLR(other, { gamma: 0.9 });
    expect(
      () => new lrScheduler.SequentialLR(opt, { schedulers: [a, b], milestones: [3] }),
    ).toThrow(/same optimizer/);
    expect(() => new lrScheduler.SequentialLR(opt, { schedulers: [a], milestones: [3] })).toThrow(
      /one more than the number of milestones/,
    );
    expect(() => new lrScheduler.StepLR({} as AnyOptimizer, { stepSize: 2 })).toThrow(
      /StepLR: expected an optimizer/,
    );
    expect(
      () => new lrScheduler.StepLR(makeOptimizer('sgd', 1), { stepSize: 2, lastEpoch: 4 }),
    ).toThrow(/has no initialLr/);
  });

  it('OneCycleLR throws when stepped past totalSteps', () => {
    const opt = makeOptimizer('sgd', 1);
    const s = new lrScheduler.OneCycleLR(opt, { maxLr: 1, totalSteps: 3 });
    s.step();
    s.step();
    s.step();
    expect(() => s.step()).toThrow(
      /OneCycleLR: tried to step 5 times; the specified number of total steps is 3/,
    );
  });

  it('step(epoch) uses the closed form', () => {
    const opt = makeOptimizer('sgd', 1);
    const s = new lrScheduler.CosineAnnealingLR(opt, { tMax: 10 });
    s.step(5);
    expect(s.getLastLr()[0]).toBeCloseTo(0.05, 12);
    const warm = new lrScheduler.CosineAnnealingWarmRestarts(makeOptimizer('sgd', 1), {
      t0: 4,
      tMult: 2,
    });
    warm.step(4 + 8 + 2); // third period (length 16), 2 epochs in
    expect(warm.getLastLr()[0]).toBeCloseTo(0.05 * (1 + Math.cos((Math.PI * 2) / 16)), 12);
    const multi = new lrScheduler.MultiStepLR(makeOptimizer('sgd', 1), {
      milestones: [2, 4],
      gamma: 0.5,
    });
    multi.step(3);
    expect(multi.getLastLr()[0]).toBeCloseTo(0.05, 12);
  });

  it('drives the optimizer: steps use the scheduled lr', () => {
    const w = tensor([1], { requiresGrad: true });
    const opt = new optim.SGD([w], { lr: 1 });
    const s = new lrScheduler.StepLR(opt, { stepSize: 1, gamma: 0.5 });
    const values: number[] = [];
    for (let i = 0; i < 3; i++) {
      opt.zeroGrad();
      w.mul(1).sum().backward(); // gradient 1
      opt.step();
      s.step();
      values.push(Number(w.dataSync()[0]));
    }
    expect(values).toEqual([0, -0.5, -0.75]);
  });
});
