/** The `chainrule train autoencoder|vae|gan` action: runs the job and prints its closing lines. */
import { InvalidArgumentError } from 'commander';
import type * as nn from '../nn/index.js';
import {
  GENERATIVE_DEFAULTS,
  trainAutoencoder,
  trainGan,
  trainVae,
  type GenerativeJob,
} from './generative_jobs.js';

export interface GenerativeCommandOptions {
  epochs?: number;
  lr?: number;
  batchSize: number;
  seed: number;
  limit?: number;
  out: string;
  classifier?: string;
}

const count = (n: number) => n.toLocaleString('en-US');

export async function runGenerativeJob(
  job: GenerativeJob,
  opts: GenerativeCommandOptions,
  loadClassifier: (path: string) => nn.Module,
): Promise<void> {
  if (job === 'gan' && !opts.classifier)
    throw new InvalidArgumentError(
      "train gan judges its samples with an MNIST classifier: give --classifier <path>, a checkpoint written by 'chainrule train mnist --model cnn --save <path>'",
    );
  const options = {
    epochs: opts.epochs ?? GENERATIVE_DEFAULTS[job].epochs,
    lr: opts.lr ?? GENERATIVE_DEFAULTS[job].lr,
    batchSize: opts.batchSize,
    seed: opts.seed,
    limit: opts.limit,
    out: opts.out,
  };
  const trainImages = count(Math.min(opts.limit ?? 8000, 8000));
  process.stderr.write(
    `training ${job} on MNIST (${trainImages} train / 2,000 test), adam, batch ${options.batchSize}, ${options.epochs} epochs, seed ${options.seed}\n`,
  );
  const write = (line: string) => process.stdout.write(line + '\n');
  if (job === 'gan') {
    const classifier = loadClassifier(opts.classifier!);
    const r = await trainGan(options, classifier);
    for (const path of r.images) write(`wrote ${path}`);
    const present = r.classCounts.filter((c) => c > 0).length;
    write(`classes of the samples: ${r.classCounts.map((c, d) => `${d}:${c}`).join(' ')}`);
    write(
      `gan samples: mean top-class probability ${r.meanTopProbability.toFixed(4)} over ${count(r.samples)} samples, ${present} of 10 digit classes (${r.seconds.toFixed(1)} s of training)`,
    );
  } else if (job === 'vae') {
    const r = await trainVae(options);
    for (const path of r.images) write(`wrote ${path}`);
    write(
      `test mse: ${r.testMse.toFixed(5)} (per pixel), test elbo: ${r.testElbo.toFixed(2)} nats per image (kl ${r.testKl.toFixed(2)}), ${r.seconds.toFixed(1)} s of training`,
    );
  } else {
    const r = await trainAutoencoder(options);
    for (const path of r.images) write(`wrote ${path}`);
    write(`test mse: ${r.testMse.toFixed(5)} (per pixel, ${r.seconds.toFixed(1)} s of training)`);
  }
}
