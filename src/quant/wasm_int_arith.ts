/**
 * Integer training's per-element loops in WebAssembly, generated with the kernels' emitter:
 * - the int8 weight update (int_update.ts): per weight one xorshift32 draw of IntRandom's stream,
 *   the shift, the round-up test, the subtraction and the clamp, where JavaScript paid a method
 *   call and a typed-array round trip per weight. The stream's state goes in and comes back, so
 *   the weights and the stream are the reference's;
 * - the largest magnitude of an int32 array (maxAbs, which picks every shift).
 */
import { ModuleBuilder } from '../backend/wasm/emitter.js';
import { hasWebAssembly } from '../backend/wasm/platform.js';
import { QMAX, type IntRandom } from './int_arith.js';

const PAGE = 65536;
const MAX_PAGES = 16384; // 1 GiB
/** Bytes 0…3: the random state; from 64: the weights (int8), then the gradient (int32). */
const STATE = 0;
const DATA = 64;

/**
 * `update(w, g, n, shift)`: for i < n, w[i] = clamp(w[i] − ((g[i] >> shift) + (r < (g[i] & mask))))
 * with r the top `shift` bits of the next xorshift32 word; 0 ≤ shift ≤ 30 (0: w[i] − g[i], no draw).
 */
function buildUpdateModule(): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder({
    module: 'env',
    name: 'memory',
    initialPages: 1,
    maximumPages: MAX_PAGES,
    shared: false,
  });
  const f = m.func('update', ['i32', 'i32', 'i32', 'i32'], []);
  const [w, g, n, shift] = [f.param(0), f.param(1), f.param(2), f.param(3)];
  const [x, i, v, d, mask, drop] = Array.from({ length: 6 }, () => f.local('i32'));
  f.i32_const(STATE).i32_load().set(x);
  f.i32_const(1).get(shift).i32_shl().i32_const(1).i32_sub().set(mask);
  f.i32_const(32).get(shift).i32_sub().set(drop);
  f.for_(
    i,
    () => f.i32_const(0),
    () => f.get(n),
    1,
    () => {
      // xorshift32, as IntRandom.nextUint32; a shift of 0 rounds nothing and draws nothing.
      f.get(shift).if_(() => {
        f.get(x).get(x).i32_const(13).i32_shl().i32_xor().set(x);
        f.get(x).get(x).i32_const(17).i32_shr_u().i32_xor().set(x);
        f.get(x).get(x).i32_const(5).i32_shl().i32_xor().set(x);
      });
      f.get(i).i32_const(4).i32_mul().get(g).i32_add().i32_load().set(v);
      // d = (v >> shift) + (top bits of x < v & mask); for shift 0, mask is 0 and d = v.
      f.get(v).get(shift).i32_shr_s();
      f.get(x).get(drop).i32_shr_u().get(v).get(mask).i32_and().i32_lt_u();
      f.i32_add().set(d);
      // v = w[i] − d, clamped to ±QMAX
      f.get(i).get(w).i32_add().i32_load8_s().get(d).i32_sub().set(v);
      f.get(i).get(w).i32_add();
      f.i32_const(QMAX).get(v).get(v).i32_const(QMAX).i32_gt_s().select().set(v);
      f.i32_const(-QMAX).get(v).get(v).i32_const(-QMAX).i32_lt_s().select();
      f.i32_store8();
    },
  );
  f.i32_const(STATE).get(x).i32_store();

  // max_abs(p, n): the largest |p[i]| as an unsigned word (2^31 for −2^31, as Math.abs).
  const h = m.func('max_abs', ['i32', 'i32'], ['i32']);
  const [p, count] = [h.param(0), h.param(1)];
  const [k, a, s, best] = Array.from({ length: 4 }, () => h.local('i32'));
  h.i32_const(0).set(best);
  h.for_(
    k,
    () => h.i32_const(0),
    () => h.get(count),
    1,
    () => {
      h.get(k).i32_const(4).i32_mul().get(p).i32_add().i32_load().set(a);
      h.get(a).i32_const(31).i32_shr_s().set(s);
      h.get(a).get(s).i32_xor().get(s).i32_sub().set(a);
      // best = a < best ? best : a
      h.get(best).get(a).get(a).get(best).i32_lt_u().select().set(best);
    },
  );
  h.get(best);
  return m.encode();
}

interface UpdateRuntime {
  memory: WebAssembly.Memory;
  update: (w: number, g: number, n: number, shift: number) => void;
  maxAbs: (p: number, n: number) => number;
}

let runtime: UpdateRuntime | null | undefined;

function updateRuntime(): UpdateRuntime | null {
  if (runtime !== undefined) return runtime;
  runtime = null;
  if (!hasWebAssembly) return runtime;
  try {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES });
    const module = new WebAssembly.Module(buildUpdateModule());
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    runtime = {
      memory,
      update: instance.exports.update as UpdateRuntime['update'],
      maxAbs: instance.exports.max_abs as UpdateRuntime['maxAbs'],
    };
  } catch {
    runtime = null;
  }
  return runtime;
}

/**
 * The update in WebAssembly, advancing `rng` as the reference does; false (nothing done) where
 * there is no WebAssembly or the shift is outside [0, 30] (the reference's shortcuts).
 */
export function applyUpdateWasm(
  w: Int8Array,
  grad: Int32Array,
  shift: number,
  rng: IntRandom,
): boolean {
  if (shift < 0 || shift > 30) return false;
  const rt = updateRuntime();
  if (rt === null) return false;
  const n = w.length;
  const gPtr = (DATA + n + 3) & ~3;
  if (!fits(rt, gPtr + 4 * n)) return false;
  const buffer = rt.memory.buffer;
  new Int8Array(buffer, DATA, n).set(w);
  new Int32Array(buffer, gPtr, n).set(grad);
  new Int32Array(buffer, STATE, 1)[0] = rng.getState();
  rt.update(DATA, gPtr, n, shift);
  w.set(new Int8Array(buffer, DATA, n));
  rng.setState(new Int32Array(buffer, STATE, 1)[0]);
  return true;
}

/** Grows the memory to `end` bytes; false when that is past its maximum. */
function fits(rt: UpdateRuntime, end: number): boolean {
  const have = rt.memory.buffer.byteLength;
  if (end <= have) return true;
  const pages = Math.ceil((end - have) / PAGE);
  if (have / PAGE + pages > MAX_PAGES) return false;
  rt.memory.grow(pages);
  return true;
}

/** Below this many values the JavaScript loop is as fast as the copy into the module. */
const MAX_ABS_MIN = 4096;

/** The largest |x| of an int32 array in WebAssembly; null where the reference loop should run. */
export function maxAbsWasm(data: Int32Array): number | null {
  if (data.length < MAX_ABS_MIN) return null;
  const rt = updateRuntime();
  if (rt === null || !fits(rt, DATA + 4 * data.length)) return null;
  new Int32Array(rt.memory.buffer, DATA, data.length).set(data);
  return rt.maxAbs(DATA, data.length) >>> 0;
}
