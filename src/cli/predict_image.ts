/** Reading a digit image from a PNG file into an MNIST-shaped tensor [1, 1, 28, 28]. */
import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import { tensor } from '../tensor/creation.js';
import type { Tensor } from '../tensor/tensor.js';

/** A digit image as the model takes it, and what was done to the file to get there. */
export interface DigitImage {
  input: Tensor;
  /** One line per change (resized, colour or alpha flattened, inverted); empty for a 28×28 grey MNIST-like image. */
  changes: string[];
}

/**
 * Loads a PNG as grayscale in [0, 1], resized to 28×28 by area averaging. MNIST digits are light
 * on dark: an image with a light background (mean above 0.5) is inverted. Says what it changed.
 */
export function readDigitPng(path: string): DigitImage {
  let png: PNG;
  try {
    png = PNG.sync.read(readFileSync(path));
  } catch (error) {
    throw new Error(`predict: cannot read ${path} as a PNG image: ${(error as Error).message}`);
  }
  const { width, height, data } = png;
  const changes: string[] = [];
  const gray = new Float64Array(width * height);
  let transparent = false;
  let coloured = false;
  for (let i = 0; i < width * height; i++) {
    transparent ||= data[4 * i + 3] !== 255;
    coloured ||= data[4 * i] !== data[4 * i + 1] || data[4 * i + 1] !== data[4 * i + 2];
    const alpha = data[4 * i + 3] / 255;
    const luminance =
      (0.299 * data[4 * i] + 0.587 * data[4 * i + 1] + 0.114 * data[4 * i + 2]) / 255;
    // Transparent pixels count as background (white).
    gray[i] = luminance * alpha + (1 - alpha);
  }
  if (coloured) changes.push('converted colour to grey (luminance)');
  if (transparent) changes.push('flattened transparency onto a white background');
  const side = 28;
  if (width !== side || height !== side)
    changes.push(`resized from ${width}×${height} to ${side}×${side} (area averaging)`);
  const pixels = new Float64Array(side * side);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const y0 = Math.floor((y * height) / side);
      const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * height) / side));
      const x0 = Math.floor((x * width) / side);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * width) / side));
      let total = 0;
      for (let yy = y0; yy < y1; yy++)
        for (let xx = x0; xx < x1; xx++) total += gray[yy * width + xx];
      pixels[y * side + x] = total / ((y1 - y0) * (x1 - x0));
    }
  }
  const mean = pixels.reduce((a, b) => a + b, 0) / pixels.length;
  if (mean > 0.5) changes.push('inverted it to light on dark, as MNIST digits are');
  const values = mean > 0.5 ? pixels.map((v) => 1 - v) : pixels;
  return { input: tensor(Float32Array.from(values), { shape: [1, 1, side, side] }), changes };
}
