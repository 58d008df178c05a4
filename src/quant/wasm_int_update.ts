/**
 * The int8 weight update (int_update.ts) in WebAssembly, generated with the kernels' emitter: per
 * weight one xorshift32 draw of IntRandom's stream, the shift, the round-up test, the subtraction
 * and the clamp, where JavaScript paid a method call and a typed-array round trip per weight. The
 * stream's state goes in and comes back, so the weights and the stream are the reference's.
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
 * with r the top `shift` bits of the next xorshift32 word; 1 ≤ shift ≤ 30.
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
      // xorshift32, as IntRandom.nextUint32
      f.get(x).get(x).i32_const(13).i32_shl().i32_xor().set(x);
      f.get(x).get(x).i32_const(17).i32_shr_u().i32_xor().set(x);
      f.get(x).get(x).i32_const(5).i32_shl().i32_xor().set(x);
      f.get(i).i32_const(4).i32_mul().get(g).i32_add().i32_load().set(v);
      // d = (v >> shift) + (top bits of x < v & mask)
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
  return m.encode();
}

interface UpdateRuntime {
  memory: WebAssembly.Memory;
  update: (w: number, g: number, n: number, shift: number) => void;
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
    runtime = { memory, update: instance.exports.update as UpdateRuntime['update'] };
  } catch {
    runtime = null;
  }
  return runtime;
}

/**
 * The update in WebAssembly, advancing `rng` as the reference does; false (nothing done) where
 * there is no WebAssembly or the shift is one the reference handles without draws (≤ 0 or > 30).
 */
export function applyUpdateWasm(
  w: Int8Array,
  grad: Int32Array,
  shift: number,
  rng: IntRandom,
): boolean {
  if (shift <= 0 || shift > 30) return false;
  const rt = updateRuntime();
  if (rt === null) return false;
  const n = w.length;
  const gPtr = (DATA + n + 3) & ~3;
  const end = gPtr + 4 * n;
  const have = rt.memory.buffer.byteLength;
  if (end > have) {
    const pages = Math.ceil((end - have) / PAGE);
    if (have / PAGE + pages > MAX_PAGES) return false;
    rt.memory.grow(pages);
  }
  const buffer = rt.memory.buffer;
  new Int8Array(buffer, DATA, n).set(w);
  new Int32Array(buffer, gPtr, n).set(grad);
  new Int32Array(buffer, STATE, 1)[0] = rng.getState();
  rt.update(DATA, gPtr, n, shift);
  w.set(new Int8Array(buffer, DATA, n));
  rng.setState(new Int32Array(buffer, STATE, 1)[0]);
  return true;
}
