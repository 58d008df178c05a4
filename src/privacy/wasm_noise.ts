/**
 * The ziggurat's fast pass (noise.ts) in WebAssembly, generated with the kernels' emitter: the
 * generator's xoshiro128** words drawn in the module, two per sample, a table lookup, a compare
 * and a multiply, where JavaScript spent ~25 ns a sample on method calls and typed-array state.
 * The generator's state goes in and comes back, and every operation is the reference's (the
 * product std·(hz·wn) in float64, rounded once to float32), so the bits are the reference's.
 */
import { ModuleBuilder } from '../backend/wasm/emitter.js';
import { hasWebAssembly } from '../backend/wasm/platform.js';
import type { Generator } from '../tensor/random.js';

const PAGE = 65536;
/** Bytes 0…15: the generator's four words; 64…: kn (128 × i32); 1024…: wn (128 × f64). */
const STATE = 0;
const KN = 64;
const WN = 1024;
const DATA = 4096;
/** Samples per call: the output (4 bytes each) and at most as many rejections (8 bytes each). */
const CHUNK = 1 << 16;
const LAYERS = 128;

/**
 * `fill(out, n, std, rejected) → count`: out[i] (f32) for i < n from the fast path; each rejected
 * i appends (i, hz with its layer in the low bits) to `rejected` as two i32.
 */
function buildNoiseModule(): Uint8Array<ArrayBuffer> {
  const pages = Math.ceil((DATA + CHUNK * 12) / PAGE);
  const m = new ModuleBuilder({
    module: 'env',
    name: 'memory',
    initialPages: pages,
    maximumPages: pages,
    shared: false,
  });
  const f = m.func('fill', ['i32', 'i32', 'f64', 'i32'], ['i32']);
  const [out, n, std, rej] = [f.param(0), f.param(1), f.param(2), f.param(3)];
  const [s0, s1, s2, s3, t, i, iz, hz, sign, count] = Array.from({ length: 10 }, () =>
    f.local('i32'),
  );
  for (const [k, s] of [s0, s1, s2, s3].entries())
    f.i32_const(STATE + 4 * k)
      .i32_load()
      .set(s);
  /** Pushes the next word of xoshiro128** (Generator.nextUint32) and advances the state. */
  const next = () => {
    f.get(s1).i32_const(5).i32_mul().i32_const(7).i32_rotl().i32_const(9).i32_mul();
    f.get(s1).i32_const(9).i32_shl().set(t);
    f.get(s2).get(s0).i32_xor().set(s2);
    f.get(s3).get(s1).i32_xor().set(s3);
    f.get(s1).get(s2).i32_xor().set(s1);
    f.get(s0).get(s3).i32_xor().set(s0);
    f.get(s2).get(t).i32_xor().set(s2);
    f.get(s3).i32_const(11).i32_rotl().set(s3);
  };
  f.i32_const(0).set(count);
  f.for_(
    i,
    () => f.i32_const(0),
    () => f.get(n),
    1,
    () => {
      next();
      f.i32_const(LAYERS - 1)
        .i32_and()
        .set(iz);
      next();
      f.set(hz);
      // |hz| as an unsigned word (2^31 for −2^31, as Math.abs gives) against kn[iz].
      f.get(hz).i32_const(31).i32_shr_s().set(sign);
      f.get(hz).get(sign).i32_xor().get(sign).i32_sub();
      f.get(iz).i32_const(4).i32_mul().i32_load(KN);
      f.i32_lt_u();
      f.if_(
        () => {
          f.get(i).i32_const(4).i32_mul().get(out).i32_add();
          f.get(std);
          f.get(hz).f64_convert_i32_s();
          f.get(iz).i32_const(8).i32_mul().f64_load(WN);
          f.f64_mul().f64_mul().f32_demote_f64().f32_store();
        },
        () => {
          f.get(count).i32_const(8).i32_mul().get(rej).i32_add().tee(t).get(i).i32_store();
          f.get(t)
            .get(hz)
            .i32_const(~(LAYERS - 1))
            .i32_and()
            .get(iz)
            .i32_or()
            .i32_store(4);
          f.get(count).i32_const(1).i32_add().set(count);
        },
      );
    },
  );
  for (const [k, s] of [s0, s1, s2, s3].entries())
    f.i32_const(STATE + 4 * k)
      .get(s)
      .i32_store();
  f.get(count);
  return m.encode();
}

interface NoiseRuntime {
  memory: WebAssembly.Memory;
  fill: (out: number, n: number, std: number, rejected: number) => number;
}

let runtime: NoiseRuntime | null | undefined;

function noiseRuntime(kn: Int32Array, wn: Float64Array): NoiseRuntime | null {
  if (runtime !== undefined) return runtime;
  runtime = null;
  if (!hasWebAssembly) return runtime;
  try {
    const bytes = buildNoiseModule();
    const pages = Math.ceil((DATA + CHUNK * 12) / PAGE);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    new Int32Array(memory.buffer, KN, LAYERS).set(kn);
    new Float64Array(memory.buffer, WN, LAYERS).set(wn);
    runtime = { memory, fill: instance.exports.fill as NoiseRuntime['fill'] };
  } catch {
    runtime = null;
  }
  return runtime;
}

/**
 * The fast pass of noise.ts over `out` from `generator` (advanced as the reference advances it),
 * returning the rejected (index, word) pairs; null where WebAssembly is missing.
 */
export function fastPassWasm(
  out: Float32Array,
  std: number,
  generator: Generator,
  kn: Int32Array,
  wn: Float64Array,
): Int32Array | null {
  const rt = noiseRuntime(kn, wn);
  if (rt === null) return null;
  const state = generator.getState();
  const words = new Uint32Array(rt.memory.buffer, STATE, 4);
  words.set(state.words);
  const rejected: Int32Array[] = [];
  const outPtr = DATA;
  const rejPtr = DATA + CHUNK * 4;
  for (let start = 0; start < out.length; start += CHUNK) {
    const n = Math.min(CHUNK, out.length - start);
    const count = rt.fill(outPtr, n, std, rejPtr);
    out.set(new Float32Array(rt.memory.buffer, outPtr, n), start);
    const pairs = new Int32Array(rt.memory.buffer, rejPtr, 2 * count).slice();
    for (let r = 0; r < pairs.length; r += 2) pairs[r] += start;
    rejected.push(pairs);
  }
  generator.setState({ seed: state.seed, words: [words[0], words[1], words[2], words[3]] });
  if (rejected.length === 1) return rejected[0];
  const all = new Int32Array(rejected.reduce((s, r) => s + r.length, 0));
  let at = 0;
  for (const r of rejected) {
    all.set(r, at);
    at += r.length;
  }
  return all;
}
