/**
 * DP-SGD's Gaussian noise, drawn straight into a typed array by Marsaglia and Tsang's ziggurat
 * (2000, 128 layers): two 32-bit draws and one multiply per sample about 98% of the time, where
 * `randn`'s Box–Muller costs two 53-bit uniforms, a log, a root and a cosine per sample, more
 * than the MLP's whole training step at 235,000 parameters. Exact (rejection sampling), to the
 * 2^−31 resolution of the layer positions. (Floating-point noise has known weaknesses as a DP
 * mechanism, Mironov 2012; like Opacus's default, this does not address them.)
 *
 * Two passes: the fast path over all samples first, noting the ~2% it rejects, then the slow path
 * for those, in order. The fast pass runs in WebAssembly where there is some
 * (`wasm_noise.ts`, the same generator's words, the same bits); the slow one stays here.
 */
import { tensor } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import type { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { fastPassWasm } from './wasm_noise.js';

const LAYERS = 128;
const R = 3.442619855899; // where the base layer's tail starts
const M1 = 2147483648; // 2^31
/** Layer i accepts |hz| < kn[i] at once (the fast path); its sample is then hz·wn[i]. */
export const kn = new Int32Array(LAYERS);
export const wn = new Float64Array(LAYERS);
const fn = new Float64Array(LAYERS);
{
  // The tables of Marsaglia and Tsang's zigset for the normal: layer i spans [0, x_i) with equal area.
  const vn = 9.91256303526217e-3;
  let dn = R;
  let tn = dn;
  const q = vn / Math.exp(-0.5 * dn * dn);
  kn[0] = Math.floor((dn / q) * M1);
  kn[1] = 0;
  wn[0] = q / M1;
  wn[LAYERS - 1] = dn / M1;
  fn[0] = 1;
  fn[LAYERS - 1] = Math.exp(-0.5 * dn * dn);
  for (let i = LAYERS - 2; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(vn / dn + Math.exp(-0.5 * dn * dn)));
    kn[i + 1] = Math.floor((dn / tn) * M1);
    tn = dn;
    fn[i] = Math.exp(-0.5 * dn * dn);
    wn[i] = dn / M1;
  }
}

/** A uniform in (0, 1). */
function uniform(g: Generator): number {
  let u = 0;
  while (u === 0) u = g.nextDouble();
  return u;
}

/** The slow path: the base layer's tail, or a wedge between layers (about 2% of samples). */
function rejectFrom(g: Generator, hzStart: number): number {
  let hz = hzStart;
  for (;;) {
    const iz = hz & (LAYERS - 1);
    const x = hz * wn[iz];
    if (iz === 0) {
      // The tail beyond R (Marsaglia 1964).
      let tx: number;
      let ty: number;
      do {
        tx = -Math.log(uniform(g)) / R;
        ty = -Math.log(uniform(g));
      } while (ty + ty < tx * tx);
      return hz > 0 ? R + tx : -R - tx;
    }
    if (fn[iz] + uniform(g) * (fn[iz - 1] - fn[iz]) < Math.exp(-0.5 * x * x)) return x;
    const next = g.nextUint32() & (LAYERS - 1);
    hz = g.nextUint32() | 0;
    if (Math.abs(hz) < kn[next]) return hz * wn[next];
    hz = (hz & ~(LAYERS - 1)) | next;
  }
}

/**
 * The fast path over `out`: out[i] = std·hz·wn[iz] where accepted; each rejected i is pushed to
 * `rejected` with its word (hz with the layer in its low bits). The reference of fastPassWasm.
 */
function fastPass(
  out: Float32Array | Float64Array,
  std: number,
  generator: Generator,
  rejected: number[],
): void {
  for (let i = 0; i < out.length; i++) {
    // The layer and the position in it from separate draws: taking both from one word (as the
    // original does) correlates them and biases the variance (Doornik 2005).
    const iz = generator.nextUint32() & (LAYERS - 1);
    const hz = generator.nextUint32() | 0;
    if (Math.abs(hz) < kn[iz]) out[i] = std * (hz * wn[iz]);
    else rejected.push(i, (hz & ~(LAYERS - 1)) | iz);
  }
}

/**
 * Fills `out` with N(0, std²) samples from `generator`. `reference` forces the JavaScript fast
 * pass (tests compare the two: they give the same bits).
 */
export function gaussianNoiseInto(
  out: Float32Array | Float64Array,
  std: number,
  generator: Generator,
  reference = false,
): void {
  let rejected: ArrayLike<number> | null = null;
  if (!reference && out instanceof Float32Array)
    rejected = fastPassWasm(out, std, generator, kn, wn);
  if (rejected === null) {
    const list: number[] = [];
    fastPass(out, std, generator, list);
    rejected = list;
  }
  for (let r = 0; r < rejected.length; r += 2)
    out[rejected[r]] = std * rejectFrom(generator, rejected[r + 1]);
}

/** N(0, std²) samples of `shape`, from `generator`. */
export function gaussianNoise(
  shape: readonly number[],
  std: number,
  generator: Generator,
  dtype: DType,
): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  gaussianNoiseInto(out, std, generator);
  return tensor(out, { shape: [...shape], dtype });
}
