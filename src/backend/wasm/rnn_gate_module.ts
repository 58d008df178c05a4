/**
 * The generated gate math of one LSTM / GRU step, forward and backward, four hidden units at a
 * time (run by rnn_step_kernels.ts as a task of the elementwise kernels): the float32 SIMD twin
 * of the plain loops in ../cpu/rnn_kernels.ts, with the same layouts. sigmoid is 1 / (1 + exp(−x))
 * and tanh Cephes' tanhf (an odd polynomial below 0.625, 1 − 2 / (exp(2|x|) + 1) above), both on
 * the softmax kernels' vector exp, so values are within a few float32 ulp of the loops' (which
 * compute in float64 and round at each store), not their bits.
 *
 * Parameters come from a block of i32 words at `prm` (byte addresses, the step's row 0): see
 * RNN_PARAMS. The hidden size must be a multiple of 4 (the caller checks).
 */
import type { FunctionBuilder, Local, ModuleBuilder } from './emitter.js';
import { emitExp4 } from './softmax_module.js';
import { emitTanh4, tanhConstants, type TanhConstants } from './vector_tanh.js';
import { paramLocals } from './elementwise_loops.js';

/** The words of the parameter block, in order. */
export const RNN_PARAMS = [
  'proj',
  'hp',
  'prev',
  'prevRowBytes',
  'cPrev',
  'cPrevRowBytes',
  'y',
  'act',
  'hBytes',
  'dy',
  'dhNext',
  'dhCarry',
  'dcCarry',
  'dProj',
  'dHp',
] as const;
type Param = (typeof RNN_PARAMS)[number];

/** The `mode` argument of both kernels. */
export const RNN_MODE = { LSTM: 0, GRU: 1 } as const;

/** σ(x) = 1 / (1 + exp(−x)) of the local x, left on the stack (0 and 1 at the extremes). */
function sigmoid(f: FunctionBuilder, x: Local, c: TanhConstants): void {
  const negated = f.local('v128');
  f.get(c.one);
  f.v128_const_zero().get(x).f32x4_sub().set(negated);
  emitExp4(f, negated, c.exp);
  f.get(c.one).f32x4_add().f32x4_div();
}

/** The kernel's view of the parameter block and the loop over rows and units. */
class Step {
  readonly p: Record<Param, Local>;
  readonly c: TanhConstants;
  /** Byte offset of the current unit group within a row of H. */
  readonly j: Local;
  /** Byte offsets of gates 1, 2, 3 within a gate row (hBytes · k). */
  readonly gate: Local[];
  readonly gateRow: Local;
  readonly stateRow: Local;
  readonly r: Local;

  constructor(
    readonly f: FunctionBuilder,
    prm: Local,
    readonly gates: number,
  ) {
    this.p = paramLocals(f, prm, RNN_PARAMS);
    this.c = tanhConstants(f);
    this.j = f.local('i32');
    this.r = f.local('i32');
    this.gate = [1, 2, 3].map((k) => {
      const l = f.local('i32');
      f.get(this.p.hBytes).i32_const(k).i32_mul().set(l);
      return l;
    });
    this.gateRow = f.local('i32');
    f.get(this.p.hBytes).i32_const(gates).i32_mul().set(this.gateRow);
    this.stateRow = f.local('i32');
    f.get(this.p.hBytes)
      .i32_const(gates === 4 ? 2 : 1)
      .i32_mul()
      .set(this.stateRow);
  }

  /** Pushes base + r·rowBytes + j + k·hBytes (rowBytes a local or a multiple of hBytes). */
  at(base: Param, row: Local | 'hidden' | 'act', k = 0): void {
    const f = this.f;
    f.get(this.p[base]).get(this.r);
    if (row === 'hidden') f.get(this.p.hBytes);
    else if (row === 'act') f.get(this.gate[2]).get(this.p.hBytes).i32_add();
    else f.get(row);
    f.i32_mul().i32_add().get(this.j).i32_add();
    if (k > 0) f.get(this.gate[k - 1]).i32_add();
  }

  load(base: Param, row: Local | 'hidden' | 'act', k = 0): void {
    this.at(base, row, k);
    this.f.v128_load();
  }

  /** Stores the vector `value` pushes. */
  store(base: Param, row: Local | 'hidden' | 'act', k: number, value: () => void): void {
    this.at(base, row, k);
    value();
    this.f.v128_store();
  }

  /** body() for every row in [start, start + count) and every 4 units of it. */
  loop(start: Local, count: Local, body: () => void): void {
    const f = this.f;
    const end = f.local('i32');
    f.get(start).get(count).i32_add().set(end);
    f.for_(
      this.r,
      () => f.get(start),
      () => f.get(end),
      1,
      () =>
        f.for_(
          this.j,
          () => f.i32_const(0),
          () => f.get(this.p.hBytes),
          16,
          body,
        ),
    );
  }

  vec(): Local {
    return this.f.local('v128');
  }
}

/** `lstm` or `gru` by the mode argument, each given its own view of the parameter block. */
function byMode(
  f: FunctionBuilder,
  prm: Local,
  mode: Local,
  lstm: (s: Step) => void,
  gru: (s: Step) => void,
): void {
  f.get(mode)
    .i32_const(RNN_MODE.LSTM)
    .i32_eq()
    .if_(
      () => lstm(new Step(f, prm, 4)),
      () => gru(new Step(f, prm, 3)),
    );
}

/**
 * rnn_gates_forward(prm, mode, start, count): rows [start, start + count) of one step. LSTM:
 * act = σ(i), σ(f), tanh(g), σ(o) of proj + hp; c' = σ(f)·c + σ(i)·tanh(g); h' = σ(o)·tanh(c'),
 * y = [h', c']. GRU: r, z = σ(proj + hp), n = tanh(proj_n + r·hp_n), act = r, z, n, hp_n;
 * y = h' = n + z·(h − n).
 */
export function emitRnnGatesForward(m: ModuleBuilder): FunctionBuilder {
  const f = m.func('rnn_gates_forward', ['i32', 'i32', 'i32', 'i32'], []);
  const [prm, mode, start, count] = [0, 1, 2, 3].map((i) => f.param(i));
  byMode(
    f,
    prm,
    mode,
    (s) => {
      const pre = [0, 1, 2, 3].map(() => s.vec());
      const act = [0, 1, 2, 3].map(() => s.vec());
      const cell = s.vec();
      s.loop(start, count, () => {
        pre.forEach((v, k) => {
          s.load('proj', s.gateRow, k);
          s.load('hp', s.gateRow, k);
          f.f32x4_add().set(v);
        });
        pre.forEach((v, k) => {
          if (k === 2) emitTanh4(f, v, s.c);
          else sigmoid(f, v, s.c);
          f.set(act[k]);
          s.store('act', 'act', k, () => f.get(act[k]));
        });
        const [i, fg, g, o] = act;
        s.load('cPrev', s.p.cPrevRowBytes);
        f.get(fg).f32x4_mul().get(i).get(g).f32x4_mul().f32x4_add().set(cell);
        s.store('y', s.stateRow, 1, () => f.get(cell));
        s.store('y', s.stateRow, 0, () => {
          f.get(o);
          emitTanh4(f, cell, s.c);
          f.f32x4_mul();
        });
      });
    },
    (s) => {
      const [x, r, z, hn, n] = [0, 1, 2, 3, 4].map(() => s.vec());
      s.loop(start, count, () => {
        for (const [k, into] of [
          [0, r],
          [1, z],
        ] as const) {
          s.load('proj', s.gateRow, k);
          s.load('hp', s.gateRow, k);
          f.f32x4_add().set(x);
          sigmoid(f, x, s.c);
          f.set(into);
        }
        s.load('hp', s.gateRow, 2);
        f.set(hn);
        s.load('proj', s.gateRow, 2);
        f.get(r).get(hn).f32x4_mul().f32x4_add().set(x);
        emitTanh4(f, x, s.c);
        f.set(n);
        [r, z, n, hn].forEach((v, k) => s.store('act', 'act', k, () => f.get(v)));
        s.store('y', s.stateRow, 0, () => {
          f.get(n).get(z);
          s.load('prev', s.p.prevRowBytes);
          f.get(n).f32x4_sub().f32x4_mul().f32x4_add();
        });
      });
    },
  );
  return f;
}

/**
 * rnn_gates_backward(prm, mode, start, count): rows [start, start + count) of one step's
 * backward. dh = dy_h + dhNext (if any) + dhCarry. LSTM: dc = dy_c + dcCarry +
 * dh·σ(o)·(1 − tanh²c'); writes dProj (which is dHp: the caller passes one array) and the
 * carries dc·σ(f), 0. GRU: writes dProj, dHp and the carry dh·z. The formulas of
 * ../cpu/rnn_kernels.ts recurrentStepBackward, in float32.
 */
export function emitRnnGatesBackward(m: ModuleBuilder): FunctionBuilder {
  const f = m.func('rnn_gates_backward', ['i32', 'i32', 'i32', 'i32'], []);
  const [prm, mode, start, count] = [0, 1, 2, 3].map((i) => f.param(i));
  // dh = dy_h + dhNext (when there is one) + dhCarry, into `into` (a block takes no operands).
  const stateGrad = (s: Step, into: Local) => {
    s.load('dy', s.stateRow);
    f.set(into);
    f.get(s.p.dhNext).if_(() => {
      f.get(into);
      s.load('dhNext', 'hidden');
      f.f32x4_add().set(into);
    });
    f.get(into);
    s.load('dhCarry', 'hidden');
    f.f32x4_add().set(into);
  };
  byMode(
    f,
    prm,
    mode,
    (s) => {
      const [i, fg, g, o] = [0, 1, 2, 3].map(() => s.vec());
      const [dh, cell, tc, dc] = [0, 1, 2, 3].map(() => s.vec());
      s.loop(start, count, () => {
        stateGrad(s, dh);
        [i, fg, g, o].forEach((v, k) => {
          s.load('act', 'act', k);
          f.set(v);
        });
        s.load('y', s.stateRow, 1);
        f.set(cell);
        emitTanh4(f, cell, s.c);
        f.set(tc);
        // dc = dy_c + dcCarry + dh·o·(1 − tc²)
        s.load('dy', s.stateRow, 1);
        s.load('dcCarry', 'hidden');
        f.f32x4_add();
        f.get(dh).get(o).f32x4_mul().get(s.c.one).get(tc).get(tc).f32x4_mul().f32x4_sub();
        f.f32x4_mul().f32x4_add().set(dc);
        s.store('dProj', s.gateRow, 0, () => {
          f.get(dc).get(g).f32x4_mul().get(i).f32x4_mul();
          f.get(s.c.one).get(i).f32x4_sub().f32x4_mul();
        });
        s.store('dProj', s.gateRow, 1, () => {
          f.get(dc);
          s.load('cPrev', s.p.cPrevRowBytes);
          f.f32x4_mul().get(fg).f32x4_mul();
          f.get(s.c.one).get(fg).f32x4_sub().f32x4_mul();
        });
        s.store('dProj', s.gateRow, 2, () => {
          f.get(dc).get(i).f32x4_mul();
          f.get(s.c.one).get(g).get(g).f32x4_mul().f32x4_sub().f32x4_mul();
        });
        s.store('dProj', s.gateRow, 3, () => {
          f.get(dh).get(tc).f32x4_mul().get(o).f32x4_mul();
          f.get(s.c.one).get(o).f32x4_sub().f32x4_mul();
        });
        s.store('dcCarry', 'hidden', 0, () => f.get(dc).get(fg).f32x4_mul());
        s.store('dhCarry', 'hidden', 0, () => f.v128_const_zero());
      });
    },
    (s) => {
      const [r, z, n, hn, dh, dpn, dpr, dpz] = [0, 1, 2, 3, 4, 5, 6, 7].map(() => s.vec());
      s.loop(start, count, () => {
        stateGrad(s, dh);
        [r, z, n, hn].forEach((v, k) => {
          s.load('act', 'act', k);
          f.set(v);
        });
        // dpn = dh·(1 − z)·(1 − n²); dpr = dpn·hn·r(1 − r); dpz = dh·(h − n)·z(1 − z)
        f.get(dh).get(s.c.one).get(z).f32x4_sub().f32x4_mul();
        f.get(s.c.one).get(n).get(n).f32x4_mul().f32x4_sub().f32x4_mul().set(dpn);
        f.get(dpn).get(hn).f32x4_mul().get(r).f32x4_mul();
        f.get(s.c.one).get(r).f32x4_sub().f32x4_mul().set(dpr);
        f.get(dh);
        s.load('prev', s.p.prevRowBytes);
        f.get(n).f32x4_sub().f32x4_mul().get(z).f32x4_mul();
        f.get(s.c.one).get(z).f32x4_sub().f32x4_mul().set(dpz);
        for (const base of ['dProj', 'dHp'] as const) {
          s.store(base, s.gateRow, 0, () => f.get(dpr));
          s.store(base, s.gateRow, 1, () => f.get(dpz));
        }
        s.store('dProj', s.gateRow, 2, () => f.get(dpn));
        s.store('dHp', s.gateRow, 2, () => f.get(dpn).get(r).f32x4_mul());
        s.store('dhCarry', 'hidden', 0, () => f.get(dh).get(z).f32x4_mul());
      });
    },
  );
  return f;
}
