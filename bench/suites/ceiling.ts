/** The machine's WebAssembly ceilings (see lib/ceiling.ts): GFLOP/s on 1 and 2 threads. */
import { measureCeiling, relaxedSimdAvailable, type CeilingKind } from '../lib/ceiling.js';
import { summarize } from '../lib/measure.js';
import type { CaseResult, FrameworkResult, RunOptions } from '../lib/protocol.js';

export const CEILINGS: { kind: CeilingKind; title: string }[] = [
  { kind: 'relaxed', title: 'relaxed-SIMD FMA (f32x4.relaxed_madd)' },
  { kind: 'simd', title: 'SIMD mul+add (f32x4.mul, f32x4.add)' },
];

export async function wasm(options: RunOptions): Promise<FrameworkResult> {
  const relaxed = relaxedSimdAvailable();
  const cases: CaseResult[] = [];
  for (const { kind, title } of CEILINGS) {
    for (const threads of [1, 2]) {
      const name = `${title}, ${threads} thread${threads > 1 ? 's' : ''}`;
      if (kind === 'relaxed' && !relaxed) {
        cases.push({
          name,
          status: 'unsupported',
          note: `this engine (Node ${process.version}) does not compile relaxed SIMD`,
        });
        continue;
      }
      const samples = await measureCeiling(kind, threads, options.quick ? 3 : 9);
      cases.push({ name, status: 'ok', unit: 'GFLOP/s', samples, summary: summarize(samples) });
    }
  }
  return {
    suite: 'ceiling',
    framework: 'wasm',
    label: `WebAssembly in Node ${process.version}`,
    cases,
  };
}
