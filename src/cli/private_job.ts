/** The `--dp` part of the MNIST job: DP-SGD through privacy.makePrivate, and the ε it spent. */
import type { DataLoader } from '../data/index.js';
import type { Module } from '../nn/index.js';
import type * as optim from '../optim/index.js';
import { makePrivate, type PrivateTraining } from '../privacy/make_private.js';

export interface DpOptions {
  /** Noise std over the clipping norm; ignored when targetEpsilon is given. */
  noiseMultiplier: number;
  maxGradNorm: number;
  delta: number;
  /** Choose the noise so that the run ends at this ε. */
  targetEpsilon?: number;
}

/** What the job reports after a private run. */
export interface DpReport {
  epsilon: number;
  delta: number;
  noiseMultiplier: number;
  sampleRate: number;
  steps: number;
}

/** Wraps the job's model, optimizer and loader for DP-SGD with Poisson sampling. */
export function makeJobPrivate(
  dp: DpOptions,
  model: Module,
  optimizer: optim.Optimizer,
  loader: DataLoader<unknown, unknown>,
  epochs: number,
): PrivateTraining {
  return makePrivate({
    module: model,
    optimizer,
    dataLoader: loader,
    maxGradNorm: dp.maxGradNorm,
    ...(dp.targetEpsilon !== undefined
      ? { targetEpsilon: dp.targetEpsilon, delta: dp.delta, epochs }
      : { noiseMultiplier: dp.noiseMultiplier }),
  });
}

export function dpReport(dp: DpOptions, run: PrivateTraining): DpReport {
  return {
    epsilon: run.accountant.getEpsilon(dp.delta),
    delta: dp.delta,
    noiseMultiplier: run.noiseMultiplier,
    sampleRate: run.sampleRate,
    steps: run.accountant.steps,
  };
}
