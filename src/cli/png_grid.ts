/** Writing images as one PNG grid (digits the generative jobs made), with pngjs. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { PNG } from 'pngjs';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Writes grayscale images [N, 28, 28] (or [N, 784], [N, 1, 28, 28]; values in [0, 1], light on
 * dark as MNIST) as a grid of `columns` per row with a 2-pixel gap, each pixel shown `scale`
 * times. Returns the path.
 */
export function writeImageGrid(path: string, images: Tensor, columns: number, scale = 2): string {
  const n = images.shape[0];
  const side = Math.round(Math.sqrt(images.numel() / Math.max(n, 1)));
  if (n === 0 || side * side * n !== images.numel())
    throw new Error(
      `writeImageGrid: expected N square images, got shape [${images.shape.join(', ')}]`,
    );
  const pixels = images.contiguous().dataSync();
  const rows = Math.ceil(n / columns);
  const gap = 2;
  const cell = side * scale + gap;
  const png = new PNG({ width: columns * cell + gap, height: rows * cell + gap });
  png.data.fill(64); // a dark grey frame between digits
  for (let k = 0; k < png.data.length; k += 4) png.data[k + 3] = 255;
  for (let i = 0; i < n; i++) {
    const x0 = gap + (i % columns) * cell;
    const y0 = gap + Math.floor(i / columns) * cell;
    for (let y = 0; y < side * scale; y++) {
      for (let x = 0; x < side * scale; x++) {
        const v = pixels[i * side * side + Math.floor(y / scale) * side + Math.floor(x / scale)];
        const byte = Math.round(Math.min(1, Math.max(0, v)) * 255);
        const at = ((y0 + y) * png.width + x0 + x) * 4;
        png.data[at] = png.data[at + 1] = png.data[at + 2] = byte;
      }
    }
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, PNG.sync.write(png));
  return path;
}
