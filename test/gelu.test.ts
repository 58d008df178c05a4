/**
 * GELU as one fused op (src/autograd/ops/gelu.ts) and its kernels: the WebAssembly erf fit
 * against the float64 erf on a dense grid; the WebAssembly forward and backward against the
 * reference loops (backend/cpu/gelu_kernels.ts) within what a float32 erf, exp and tanh allow, on
 * data with NaN, ±Infinity, ±0 and denormals, with a SIMD tail and split over the threads; which
 * kernels F.gelu, nn.GELU and a transformer layer run; the composed path on a backend without the
 * kernels; second derivatives through the fused op. PyTorch parity is in functional.test.ts
 * (gelu:float32_wide / float32_special cases).
 */
import { describe, expect, it } from 'vitest';
import * as cr from '../src/index.js';
import type { GeluApproximate, View } from '../src/backend/backend.js';
import {
  geluBackwardKernel,
  geluKernel,
  TANH_BETA,
  TANH_KAPPA,
} from '../src/backend/cpu/gelu_kernels.js';
import { erf } from '../src/backend/cpu/scalar_math.js';
import { ARENA_MIN_ELEMENTS } from '../src/backend/wasm/arena.js';
import { ModuleBuilder } from '../src/backend/wasm/emitter.js';
import { geluBackwardWasm, geluWasm } from '../src/backend/wasm/gelu.js';
import { emitErf, erfConstants } from '../src/backend/wasm/gelu_module.js';
import { arenaData } from './helpers/arena.js';
import { checkCase, loadFixtures } from './helpers/reference.js';
import { expectAllClose, expectBitEqual, expectWithinBound } from './helpers/close.js';
import './helpers/devices.js';
import { traceKernels } from './helpers/trace.js';

const { F, nn } = cr;

function view(storage: Float32Array | Float64Array, shape = [storage.length]): View {
  const dtype = storage instanceof Float32Array ? 'float32' : 'float64';
  return { storage, dtype, shape, strides: [1], offset: 0 };
}

/** erf of float64 values by the kernels' erf (emitErf) in a module of its own. */
function wasmErf(xs: number[]): Float64Array {
  const pages = Math.ceil((xs.length * 16 + 64) / 65536);
  const memory = { module: 'env', name: 'memory', initialPages: pages, maximumPages: pages };
  const m = new ModuleBuilder({ ...memory, shared: false });
  const f = m.func('erf', ['i32', 'i32', 'i32'], []);
  const [x, out, bytes] = [0, 1, 2].map((i) => f.param(i));
  const [i, t, r] = [f.local('i32'), f.local('v128'), f.local('v128')];
  const c = erfConstants(f);
  f.for_(
    i,
    () => f.i32_const(0),
    () => f.get(bytes),
    16,
    () => {
      f.get(x).get(i).i32_add().v128_load().set(t);
      f.get(out).get(i).i32_add();
      emitErf(f, [t], c, [r]);
      f.get(r).v128_store();
    },
  );
  const mem = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(m.encode()), {
    env: { memory: mem },
  });
  const n = xs.length + (xs.length % 2);
  const heap = new Float64Array(mem.buffer);
  heap.set(xs);
  (instance.exports.erf as (x: number, out: number, bytes: number) => void)(0, n * 8, n * 8);
  return heap.slice(n, n + xs.length);
}

/** A copy of `values` in arena storage. */
function arenaCopy(values: Float32Array): Float32Array {
  const out = arenaData(values.length, 1, false);
  out.set(values);
  return out;
}

/** The size of one float32 step at |w| (denormals included). */
function ulp(w: number): number {
  const a = Math.abs(Math.fround(w));
  return a < 2 ** -126 ? 2 ** -149 : 2 ** (Math.floor(Math.log2(a)) - 23);
}

describe('the WebAssembly erf', () => {
  it('is within 1e-7 of the float64 erf on a dense grid, ±1 beyond ±4, NaN for NaN', () => {
    const xs: number[] = [];
    for (let k = -60_000; k <= 60_000; k++) xs.push(k * 1e-4);
    const edges = [-Infinity, Infinity, NaN, -0, 0, 1e-300, 4, -4, 3.9999999, -3.9999999, 1e30];
    xs.push(...edges);
    const got = wasmErf(xs);
    expectWithinBound(got, xs.map(erf), () => 1e-7, 'erf');
    expect([got[xs.indexOf(4)], got[xs.indexOf(-4)], got[xs.indexOf(1e30)]]).toEqual([1, -1, 1]);
  });
});

/**
 * How far the kernels may be from the float32 reference loops: a few ulp of the result, plus
 * what the erf fit's 7e-8 (through Φ) or the vector tanh's 2 ulp of 1 (through 1 + tanh and
 * 1 − tanh²) can move it.
 */
const BOUNDS: Record<
  GeluApproximate,
  { forward: (x: number) => number; backward: (x: number, g: number) => number }
> = {
  none: {
    forward: (x) => 5e-8 * Math.abs(x),
    backward: (_x, g) => 5e-8 * Math.abs(g),
  },
  tanh: {
    forward: (x) => 1.2e-7 * 0.5 * Math.abs(x),
    backward: (x, g) =>
      1.2e-7 * Math.abs(g) * (0.5 + Math.abs(x) * TANH_BETA * (1 + 3 * TANH_KAPPA * x * x)),
  },
};

describe('GELU WebAssembly kernels', () => {
  // A tail of 3 past the vectors; the largest is split over the threads.
  for (const size of [ARENA_MIN_ELEMENTS + 3, 100_003])
    for (const approximate of ['none', 'tanh'] as const)
      it(`${approximate}, ${size} elements: forward and backward near the reference loops`, () => {
        const x = arenaData(size, 11, true, 12);
        const g = arenaData(size, 12, true, 2);
        const bound = BOUNDS[approximate];
        const y = geluWasm(view(x), approximate);
        const yRef = geluKernel(view(x), approximate) as Float32Array;
        expectWithinBound(y, yRef, (i) => 4 * ulp(yRef[i]) + bound.forward(x[i]), 'forward');
        const dx = geluBackwardWasm(view(g), view(x), approximate);
        const dxRef = geluBackwardKernel(view(g), view(x), approximate) as Float32Array;
        expectWithinBound(
          dx,
          dxRef,
          (i) => 4 * ulp(dxRef[i]) + bound.backward(x[i], g[i]),
          'backward',
        );
      });

  it('gives PyTorch’s NaN and ±Infinity at the ends', () => {
    const x = arenaData(ARENA_MIN_ELEMENTS, 1, false);
    const big = Math.fround(1e30);
    x.set([-Infinity, Infinity, NaN, -big, big]);
    const g = arenaData(ARENA_MIN_ELEMENTS, 2, false).fill(1);
    const head = (a: Float32Array | null) => Array.from(a!.subarray(0, 5));
    expect(head(geluWasm(view(x), 'none'))).toEqual([NaN, Infinity, NaN, -0, big]);
    expect(head(geluBackwardWasm(view(g), view(x), 'none'))).toEqual([NaN, NaN, NaN, 0, 1]);
    expect(head(geluWasm(view(x), 'tanh'))).toEqual([NaN, Infinity, NaN, -0, big]);
    // x² overflows float32 at ±1e30: (1 − tanh²)·∞ is NaN, as PyTorch's float32 kernel.
    expect(head(geluBackwardWasm(view(g), view(x), 'tanh'))).toEqual([NaN, NaN, NaN, NaN, NaN]);
  });

  it('gathers strided and non-arena float32 views in (same bits as contiguous), declines float64', () => {
    const x = arenaData(2 * ARENA_MIN_ELEMENTS, 3);
    const g = arenaData(ARENA_MIN_ELEMENTS, 4);
    const evens = Float32Array.from({ length: ARENA_MIN_ELEMENTS }, (_, i) => x[2 * i]);
    const strided = { ...view(x, [ARENA_MIN_ELEMENTS]), strides: [2] };
    const gBroadcast = { ...view(g, [ARENA_MIN_ELEMENTS]), strides: [0] };
    const gFirst = new Float32Array(ARENA_MIN_ELEMENTS).fill(g[0]);
    for (const approximate of ['none', 'tanh'] as const) {
      const want = geluWasm(view(arenaCopy(evens)), approximate);
      expectBitEqual(geluWasm(strided, approximate)!, want!, 'strided');
      expectBitEqual(geluWasm(view(evens.slice(0, 10)), approximate)!, want!.slice(0, 10), 'small');
      const wantGrad = geluBackwardWasm(
        view(arenaCopy(gFirst)),
        view(arenaCopy(evens)),
        approximate,
      );
      expectBitEqual(geluBackwardWasm(gBroadcast, strided, approximate)!, wantGrad!, 'backward');
    }
    expect(geluWasm(view(Float64Array.from(evens)), 'none')).toBeNull();
  });

  it('gives each element the same bits whatever its lane, chunk or thread', () => {
    const x = arenaData(100_003, 6, true, 8);
    const g = arenaData(100_003, 7, true, 2);
    for (const approximate of ['none', 'tanh'] as const) {
      // One element further on: every element in another lane, the SIMD tail elsewhere.
      const shifted = (a: Float32Array) => view(a.subarray(1));
      expectBitEqual(
        geluWasm(shifted(x), approximate)!,
        geluWasm(view(x), approximate)!.subarray(1),
      );
      expectBitEqual(
        geluBackwardWasm(shifted(g), shifted(x), approximate)!,
        geluBackwardWasm(view(g), view(x), approximate)!.subarray(1),
      );
    }
  });
});

describe('the reference loops against PyTorch', () => {
  // On the kernels' device the fixtures run the WebAssembly kernels (functional.test.ts).
  for (const c of loadFixtures('functional.json').filter((c) => c.name.startsWith('gelu:float32')))
    it(c.name, () => checkCase(c, ([x], args) => F.gelu(x, args ?? {}), {}, 'cpu-reference'));
});

describe('F.gelu as one fused op', () => {
  it('runs the WebAssembly kernels forward and backward for float32, and no erf', () => {
    for (const approximate of ['none', 'tanh'] as const) {
      const x = cr.randn([4, 512], { requiresGrad: true });
      const calls = traceKernels(() => F.gelu(x, { approximate }).backward(cr.randn([4, 512])));
      expect(calls).toEqual(
        expect.arrayContaining(['gelu:fused', 'gelu:wasm', 'geluBackward:wasm']),
      );
      expect(calls.filter((c) => /erf|tanh|exp|mul/.test(c))).toEqual([]);
    }
  });

  it('nn.GELU and the transformer layers use it', () => {
    const x = cr.randn([2, 8, 16]);
    expect(
      traceKernels(() => new nn.GELU({ approximate: 'tanh' }).call(cr.randn([2, 512]))),
    ).toContain('gelu:wasm');
    const layer = new nn.TransformerEncoderLayer(16, 2, {
      dimFeedforward: 64,
      dropout: 0,
      activation: 'gelu',
      batchFirst: true,
    });
    const calls = traceKernels(() => layer.call(x).sum().backward());
    expect(calls).toEqual(expect.arrayContaining(['gelu:wasm', 'geluBackward:wasm']));
    expect(calls.filter((c) => c.startsWith('erf'))).toEqual([]);
  });

  it('matches float64 on small tensors, and so does the composed op without the kernels', () => {
    for (const approximate of ['none', 'tanh'] as const) {
      const values = [-6, -3.2, -1, -0.25, 0, 0.3, 1.7, 4, 9];
      const x32 = cr.tensor(values, { requiresGrad: true });
      const x64 = cr.tensor(values, { dtype: 'float64', requiresGrad: true });
      const xComposed = cr.tensor(values, { device: 'cpu-primitives', requiresGrad: true });
      const calls = traceKernels(() => F.gelu(xComposed, { approximate }).sum().backward());
      expect(calls).toContain('gelu:composed');
      F.gelu(x32, { approximate }).sum().backward();
      F.gelu(x64, { approximate }).sum().backward();
      const y64 = F.gelu(x64, { approximate }).dataSync();
      const options = { rtol: 1e-6, atol: 1e-7 };
      expectAllClose(F.gelu(x32, { approximate }).dataSync(), y64, options);
      expectAllClose(x32.grad!.dataSync(), x64.grad!.dataSync(), options);
      expectAllClose(F.gelu(xComposed, { approximate }).dataSync(), y64, options);
      expectAllClose(xComposed.grad!.dataSync(), x64.grad!.dataSync(), options);
    }
  });

  it('is twice differentiable through createGraph: gelu″ = φ(x)·(2 − x²)', () => {
    const x = cr.randn([4, 512], { requiresGrad: true });
    const [first] = cr.autograd.grad(F.gelu(x).sum(), [x], { createGraph: true });
    const [second] = cr.autograd.grad(first!.sum(), [x]);
    const xs = x.dataSync();
    const want = Array.from(
      xs,
      (v) => (Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI)) * (2 - v * v),
    );
    expectAllClose(second!.dataSync(), want, { rtol: 1e-4, atol: 1e-6 });
  });
});
