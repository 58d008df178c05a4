/**
 * The same inputs and initial weights for every framework: seeded, in PyTorch's layouts
 * (Linear weight [out, in], Conv2d weight [out, in, kh, kw], images NCHW), with PyTorch's default
 * init bounds (uniform ±1/√fan_in). Peers with other layouts convert with the helpers below.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface NamedArray {
  shape: number[];
  data: Float32Array | Int32Array;
}
export type Setup = Record<string, NamedArray>;

/** mulberry32: small, fast, seeded. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

export function uniform(
  shape: number[],
  low: number,
  high: number,
  random: () => number,
): NamedArray {
  const data = new Float32Array(size(shape));
  for (let i = 0; i < data.length; i++) data[i] = low + (high - low) * random();
  return { shape, data };
}

function labels(n: number, random: () => number): NamedArray {
  return { shape: [n], data: Int32Array.from({ length: n }, () => Math.floor(random() * 10)) };
}

function layer(setup: Setup, name: string, weightShape: number[], random: () => number): void {
  const bound = 1 / Math.sqrt(size(weightShape.slice(1)));
  setup[`${name}.weight`] = uniform(weightShape, -bound, bound, random);
  setup[`${name}.bias`] = uniform([weightShape[0]], -bound, bound, random);
}

/** MLP 784-256-128-10: x [B, 784] in [0, 1), labels y [B], weights fc1, fc2, fc3. */
export function mlpSetup(batch: number, seed = 1): Setup {
  const random = rng(seed);
  const setup: Setup = { x: uniform([batch, 784], 0, 1, random), y: labels(batch, random) };
  layer(setup, 'fc1', [256, 784], random);
  layer(setup, 'fc2', [128, 256], random);
  layer(setup, 'fc3', [10, 128], random);
  return setup;
}

/** CNN conv3x3(32)-ReLU-maxpool2-conv3x3(64)-ReLU-maxpool2-linear(10): x [B, 1, 28, 28]. */
export function cnnSetup(batch: number, seed = 2): Setup {
  const random = rng(seed);
  const setup: Setup = { x: uniform([batch, 1, 28, 28], 0, 1, random), y: labels(batch, random) };
  layer(setup, 'conv1', [32, 1, 3, 3], random);
  layer(setup, 'conv2', [64, 32, 3, 3], random);
  layer(setup, 'fc', [10, 64 * 5 * 5], random);
  return setup;
}

/** The eager-overhead chain: input x in [-1, 1), multipliers a in [0.9, 1.1), offsets b in [-0.1, 0.1). */
export function chainSetup(size: number, seed = 7): Setup {
  const random = rng(seed);
  return {
    x: uniform([size], -1, 1, random),
    a: uniform([size], 0.9, 1.1, random),
    b: uniform([size], -0.1, 0.1, random),
  };
}

export const LEARNING_RATE = 0.05;

/** Permutes the axes of a dense row-major array. */
export function permute(a: NamedArray, axes: number[]): NamedArray {
  const shape = axes.map((i) => a.shape[i]);
  const inStrides = a.shape.map((_, i) => size(a.shape.slice(i + 1)));
  const out = new Float32Array(a.data.length);
  const index = new Array(shape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let offset = 0;
    for (let d = 0; d < shape.length; d++) offset += index[d] * inStrides[axes[d]];
    out[o] = a.data[offset];
    for (let d = shape.length - 1; d >= 0 && ++index[d] === shape[d]; d--) index[d] = 0;
  }
  return { shape, data: out };
}

/** Writes a setup for the PyTorch script: <name>.bin (raw little-endian) and manifest.json. */
export function writeSetup(folder: string, setup: Setup): void {
  mkdirSync(folder, { recursive: true });
  const manifest: Record<string, { shape: number[]; dtype: string }> = {};
  for (const [name, array] of Object.entries(setup)) {
    writeFileSync(
      join(folder, `${name}.bin`),
      new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength),
    );
    manifest[name] = {
      shape: array.shape,
      dtype: array.data instanceof Int32Array ? 'int32' : 'float32',
    };
  }
  writeFileSync(join(folder, 'manifest.json'), JSON.stringify(manifest));
}
