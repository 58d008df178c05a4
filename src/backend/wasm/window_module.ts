/**
 * The kernel module's sliding-window tasks: im2col and col2im for conv2d (conv.ts) and max
 * pooling (window_kernels.ts runs them), each split over image planes for the thread pool.
 */
import type { FunctionBuilder, Local, ModuleBuilder } from './emitter.js';
import { at, CTL, CTL_BASE, loadCtl, min } from './control_block.js';

type V128 = Local;

/**
 * im2col / col2im task (channel, images chunk), the loops of window_loops.ts's im2colChannelMajor /
 * col2imChannelMajor: im2col copies x[b, c, oy·sy + ki·dy − py, ox·sx + kj·dx − px] into row
 * (c, ki, kj), column b·L + oy·outW + ox of the columns; col2im zeroes its image planes and adds
 * the columns back in the same (ki, kj, oy, ox) order as the JavaScript loop, so each element
 * gets the same float32 sums. Tasks own disjoint rows (im2col) or planes (col2im).
 */
export function emitIm2col(m: ModuleBuilder, col2im: boolean, simd: boolean): FunctionBuilder {
  const f = m.func(col2im ? 'col2im' : 'im2col', ['i32'], [], false);
  const task = f.param(0);
  const L = () => f.local('i32');
  const [N, C, H, W, KH, KW, OUTW, NB, chunks, ch, b0, b1, HW, Lw, NL, ranges] = Array.from(
    { length: 16 },
    L,
  );
  const [ki, kj, y0, y1, x0, x1, b, plane, base, oy, p, q, end, sx4, i, rowTerm] = Array.from(
    { length: 16 },
    L,
  );
  loadCtl(f, CTL.IC_N, N);
  loadCtl(f, CTL.IC_C, C);
  loadCtl(f, CTL.IC_H, H);
  loadCtl(f, CTL.IC_W, W);
  loadCtl(f, CTL.IC_KH, KH);
  loadCtl(f, CTL.IC_KW, KW);
  loadCtl(f, CTL.IC_OUTW, OUTW);
  loadCtl(f, CTL.IC_NB, NB);
  loadCtl(f, CTL.IC_RANGES, ranges);
  f.i32_load_from(CTL_BASE, at(CTL.IC_SX)).i32_const(4).i32_mul().set(sx4);
  f.get(N).get(NB).i32_add().i32_const(1).i32_sub().get(NB).i32_div_s().set(chunks);
  f.get(task).get(chunks).i32_div_s().set(ch);
  f.get(task).get(chunks).i32_rem_s().get(NB).i32_mul().set(b0);
  min(
    f,
    () => f.get(b0).get(NB).i32_add(),
    () => f.get(N),
    b1,
  );
  f.get(H).get(W).i32_mul().set(HW);
  f.i32_load_from(CTL_BASE, at(CTL.IC_OUTH)).get(OUTW).i32_mul().set(Lw);
  f.get(N).get(Lw).i32_mul().set(NL);
  const planeOf = () => {
    // plane = IMAGE + ((b·C + ch)·HW)·4
    f.i32_load_from(CTL_BASE, at(CTL.IC_IMAGE));
    f.get(b)
      .get(C)
      .i32_mul()
      .get(ch)
      .i32_add()
      .get(HW)
      .i32_mul()
      .i32_const(4)
      .i32_mul()
      .i32_add()
      .set(plane);
  };
  if (col2im) {
    f.for_(
      b,
      () => f.get(b0),
      () => f.get(b1),
      1,
      () => {
        planeOf();
        f.for_(
          i,
          () => f.i32_const(0),
          () => f.get(HW),
          1,
          () => {
            f.get(plane).get(i).i32_const(4).i32_mul().i32_add().f32_const(0).f32_store();
          },
        );
      },
    );
  }
  f.for_(
    ki,
    () => f.i32_const(0),
    () => f.get(KH),
    1,
    () => {
      f.get(ranges).get(ki).i32_const(8).i32_mul().i32_add().i32_load().set(y0);
      f.get(ranges).get(ki).i32_const(8).i32_mul().i32_add().i32_load(4).set(y1);
      f.for_(
        kj,
        () => f.i32_const(0),
        () => f.get(KW),
        1,
        () => {
          f.get(ranges)
            .get(KH)
            .get(kj)
            .i32_add()
            .i32_const(8)
            .i32_mul()
            .i32_add()
            .i32_load()
            .set(x0);
          f.get(ranges)
            .get(KH)
            .get(kj)
            .i32_add()
            .i32_const(8)
            .i32_mul()
            .i32_add()
            .i32_load(4)
            .set(x1);
          // rowTerm = kj·dx − px + x0·sx (the column offset in the image of the first valid window)
          f.get(kj)
            .i32_load_from(CTL_BASE, at(CTL.IC_DX))
            .i32_mul()
            .i32_load_from(CTL_BASE, at(CTL.IC_PX))
            .i32_sub();
          f.get(x0).i32_load_from(CTL_BASE, at(CTL.IC_SX)).i32_mul().i32_add().set(rowTerm);
          f.for_(
            b,
            () => f.get(b0),
            () => f.get(b1),
            1,
            () => {
              planeOf();
              // base = COLS + (((ch·KH + ki)·KW + kj)·NL + b·L)·4
              f.i32_load_from(CTL_BASE, at(CTL.IC_COLS));
              f.get(ch)
                .get(KH)
                .i32_mul()
                .get(ki)
                .i32_add()
                .get(KW)
                .i32_mul()
                .get(kj)
                .i32_add()
                .get(NL)
                .i32_mul();
              f.get(b).get(Lw).i32_mul().i32_add().i32_const(4).i32_mul().i32_add().set(base);
              if (!col2im) {
                f.i32_load_from(CTL_BASE, at(CTL.IC_ZERO)).if_(() => {
                  f.for_(
                    i,
                    () => f.i32_const(0),
                    () => f.get(Lw),
                    1,
                    () => {
                      f.get(base).get(i).i32_const(4).i32_mul().i32_add().f32_const(0).f32_store();
                    },
                  );
                });
              }
              f.for_(
                oy,
                () => f.get(y0),
                () => f.get(y1),
                1,
                () => {
                  // q = plane + ((oy·sy + ki·dy − py)·W + rowTerm)·4; p = base + (oy·outW + x0)·4
                  f.get(plane);
                  f.get(oy).i32_load_from(CTL_BASE, at(CTL.IC_SY)).i32_mul();
                  f.get(ki).i32_load_from(CTL_BASE, at(CTL.IC_DY)).i32_mul().i32_add();
                  f.i32_load_from(CTL_BASE, at(CTL.IC_PY))
                    .i32_sub()
                    .get(W)
                    .i32_mul()
                    .get(rowTerm)
                    .i32_add();
                  f.i32_const(4).i32_mul().i32_add().set(q);
                  f.get(base)
                    .get(oy)
                    .get(OUTW)
                    .i32_mul()
                    .get(x0)
                    .i32_add()
                    .i32_const(4)
                    .i32_mul()
                    .i32_add()
                    .set(p);
                  f.get(p).get(x1).get(x0).i32_sub().i32_const(4).i32_mul().i32_add().set(end);
                  if (simd) {
                    // Stride 1: four neighbouring windows read (or add to) four neighbouring
                    // pixels, one v128 at a time; the scalar loop below takes the rest. The
                    // additions per pixel keep their (ki, kj) order, so the sums are the same.
                    f.get(sx4)
                      .i32_const(4)
                      .i32_eq()
                      .if_(() =>
                        f.block(() =>
                          f.loop(() => {
                            f.get(p).i32_const(16).i32_add().get(end).i32_gt_s().br_if(1);
                            if (col2im) f.get(q).get(q).v128_load().get(p).v128_load().f32x4_add();
                            else f.get(p).get(q).v128_load();
                            f.v128_store();
                            f.get(p).i32_const(16).i32_add().set(p);
                            f.get(q).i32_const(16).i32_add().set(q);
                            f.br(0);
                          }),
                        ),
                      );
                  }
                  f.block(() =>
                    f.loop(() => {
                      f.get(p).get(end).i32_ge_s().br_if(1);
                      if (col2im)
                        f.get(q).get(q).f32_load().get(p).f32_load().f32_add().f32_store();
                      else f.get(p).get(q).f32_load().f32_store();
                      f.get(p).i32_const(4).i32_add().set(p);
                      f.get(q).get(sx4).i32_add().set(q);
                      f.br(0);
                    }),
                  );
                },
              );
            },
          );
        },
      );
    },
  );
  return f;
}

/**
 * Max-pool task (a chunk of IC_NB planes out of IC_N, each contiguous H×W at IC_IMAGE): the loop
 * of window_loops.ts's maxPool2dFast, window elements in (ki, kj) order, out-of-image ones
 * skipped, a later element taken when the window has none yet, it is larger, or it is NaN; so the
 * first maximum's index y·W + x wins ties and the last NaN wins over numbers. The take is a
 * select, not a branch (on activations `v > best` is close to random and mispredicts).
 */
export function emitMaxPool(m: ModuleBuilder, simd: boolean): FunctionBuilder {
  const f = m.func('maxpool', ['i32'], [], false);
  const task = f.param(0);
  const L = () => f.local('i32');
  const [P, H, W, KH, KW, OUTH, OUTW, NB, pl, p1, plane, o, oy, ox, ki, kj] = Array.from(
    { length: 16 },
    L,
  );
  const [y, xx, first, idx, vals, inds, SY, SX, PY, PX, DY, DX, take, yw, takeIt] = Array.from(
    { length: 15 },
    L,
  );
  const best = f.local('i32');
  const fast = f.local('i32');
  const rp = f.local('i32');
  const ox0 = f.local('i32');
  const outW4 = f.local('i32');
  const V = () => f.local('v128');
  const [lo, hi, va, vb, vc, vd, ia, ib, ic, id, t] = Array.from({ length: 11 }, V);
  const bits = f.local('i32');
  const v = f.local('f32');
  loadCtl(f, CTL.IC_N, P);
  loadCtl(f, CTL.IC_H, H);
  loadCtl(f, CTL.IC_W, W);
  loadCtl(f, CTL.IC_KH, KH);
  loadCtl(f, CTL.IC_KW, KW);
  loadCtl(f, CTL.IC_OUTH, OUTH);
  loadCtl(f, CTL.IC_OUTW, OUTW);
  loadCtl(f, CTL.IC_NB, NB);
  loadCtl(f, CTL.IC_SY, SY);
  loadCtl(f, CTL.IC_SX, SX);
  loadCtl(f, CTL.IC_PY, PY);
  loadCtl(f, CTL.IC_PX, PX);
  loadCtl(f, CTL.IC_DY, DY);
  loadCtl(f, CTL.IC_DX, DX);
  loadCtl(f, CTL.IC_COLS, vals);
  loadCtl(f, CTL.MP_INDICES, inds);
  loadCtl(f, CTL.MP_2X2, fast);
  /**
   * One window element into best/first (first: the index so far, -1 for none): its bits on the
   * stack, `index` pushes its index; taken (`take` = first < 0 | v > best | v ≠ v) by selects.
   */
  const takeElement = (index: () => void, take: Local) => {
    f.set(bits).get(bits).f32_reinterpret_i32().set(v);
    f.get(first).i32_const(0).i32_lt_s();
    f.get(v).get(best).f32_reinterpret_i32().f32_gt().i32_or();
    f.get(v).get(v).f32_ne().i32_or().set(take);
    f.get(bits).get(best).get(take).select().set(best);
    index();
    f.get(first).get(take).select().set(first);
  };
  // planes [task·NB, min(task·NB + NB, P)); o = the first output of the chunk
  f.get(task).get(NB).i32_mul().set(pl);
  min(
    f,
    () => f.get(pl).get(NB).i32_add(),
    () => f.get(P),
    p1,
  );
  f.get(pl).get(OUTH).i32_mul().get(OUTW).i32_mul().set(o);
  f.for_(
    pl,
    () => f.get(pl),
    () => f.get(p1),
    1,
    () => {
      // plane = IMAGE + pl·H·W·4
      f.i32_load_from(CTL_BASE, at(CTL.IC_IMAGE));
      f.get(pl).get(H).i32_mul().get(W).i32_mul().i32_const(4).i32_mul().i32_add().set(plane);
      f.for_(
        oy,
        () => f.i32_const(0),
        () => f.get(OUTH),
        1,
        () => {
          f.i32_const(0).set(ox0);
          if (simd) {
            // 2×2 stride 2: four windows at once. Even and odd columns of two image rows, then
            // the window's max as a tree: (a, b), (c, d), then the two winners, each step
            // taking the later operand when larger or NaN. That gives the sequential rule's
            // result (the last NaN if any, else the first maximum) on each window.
            f.get(OUTW).i32_const(-4).i32_and().set(outW4);
            f.get(fast).if_(() => {
              f.for_(
                ox,
                () => f.i32_const(0),
                () => f.get(outW4),
                4,
                () => {
                  f.get(oy).i32_const(2).i32_mul().get(W).i32_mul();
                  f.get(ox).i32_const(2).i32_mul().i32_add().set(idx);
                  f.get(plane).get(idx).i32_const(4).i32_mul().i32_add().set(rp);
                  const even = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
                  const odd = even.map((b) => b + 4);
                  const row = (even_: V128, odd_: V128) => {
                    f.get(rp).v128_load(0).set(lo);
                    f.get(rp).v128_load(16).set(hi);
                    f.get(lo).get(hi).i8x16_shuffle(even).set(even_);
                    f.get(lo).get(hi).i8x16_shuffle(odd).set(odd_);
                  };
                  row(va, vb);
                  f.get(rp).get(W).i32_const(4).i32_mul().i32_add().set(rp);
                  row(vc, vd);
                  f.get(idx).i32x4_splat().v128_const_i32x4([0, 2, 4, 6]).i32x4_add().set(ia);
                  f.get(ia).v128_const_i32x4([1, 1, 1, 1]).i32x4_add().set(ib);
                  f.get(ia).get(W).i32x4_splat().i32x4_add().set(ic);
                  f.get(ic).v128_const_i32x4([1, 1, 1, 1]).i32x4_add().set(id);
                  // (x, ix) ← (y, iy) where y > x or y is NaN
                  const pick = (x: V128, ix: V128, y: V128, iy: V128) => {
                    f.get(y).get(x).f32x4_gt().get(y).get(y).f32x4_ne().v128_or().set(t);
                    f.get(y).get(x).get(t).v128_bitselect().set(x);
                    f.get(iy).get(ix).get(t).v128_bitselect().set(ix);
                  };
                  pick(va, ia, vb, ib);
                  pick(vc, ic, vd, id);
                  pick(va, ia, vc, ic);
                  f.get(vals).get(o).i32_const(4).i32_mul().i32_add().get(va).v128_store();
                  f.get(inds).get(o).i32_const(4).i32_mul().i32_add().get(ia).v128_store();
                  f.get(o).i32_const(4).i32_add().set(o);
                },
              );
              f.get(outW4).set(ox0);
            });
          }
          f.for_(
            ox,
            () => f.get(ox0),
            () => f.get(OUTW),
            1,
            () => {
              // One window element (byte offset `off` from rp, index idx + di) into best/first.
              const takeAt = (off: number, di: number) => {
                f.get(rp).i32_load(off);
                takeElement(() => f.get(idx).i32_const(di).i32_add(), takeIt);
              };
              f.get(fast).if_(
                () => {
                  // The common 2×2 stride-2 window: four loads at fixed offsets.
                  f.i32_const(-1).set(first);
                  f.get(oy)
                    .i32_const(2)
                    .i32_mul()
                    .get(W)
                    .i32_mul()
                    .get(ox)
                    .i32_const(2)
                    .i32_mul()
                    .i32_add()
                    .set(idx);
                  f.get(plane).get(idx).i32_const(4).i32_mul().i32_add().set(rp);
                  takeAt(0, 0);
                  takeAt(4, 1);
                  f.get(rp).get(W).i32_const(4).i32_mul().i32_add().set(rp);
                  f.get(idx).get(W).i32_add().set(idx);
                  takeAt(0, 0);
                  takeAt(4, 1);
                },
                () => {
                  f.i32_const(0).set(best);
                  f.i32_const(-1).set(first);
                  f.for_(
                    ki,
                    () => f.i32_const(0),
                    () => f.get(KH),
                    1,
                    () => {
                      // y = oy·sy − py + ki·dy, skipped outside [0, H) (one unsigned compare)
                      f.get(oy)
                        .get(SY)
                        .i32_mul()
                        .get(PY)
                        .i32_sub()
                        .get(ki)
                        .get(DY)
                        .i32_mul()
                        .i32_add();
                      f.set(y);
                      f.get(y)
                        .get(H)
                        .i32_lt_u()
                        .if_(() => {
                          f.get(y).get(W).i32_mul().set(yw);
                          f.for_(
                            kj,
                            () => f.i32_const(0),
                            () => f.get(KW),
                            1,
                            () => {
                              f.get(ox).get(SX).i32_mul().get(PX).i32_sub();
                              f.get(kj).get(DX).i32_mul().i32_add().set(xx);
                              f.get(xx)
                                .get(W)
                                .i32_lt_u()
                                .if_(() => {
                                  f.get(yw).get(xx).i32_add().set(idx);
                                  f.get(plane).get(idx).i32_const(4).i32_mul().i32_add().i32_load();
                                  takeElement(() => f.get(idx), take);
                                });
                            },
                          );
                        });
                    },
                  );
                },
              );
              f.get(vals).get(o).i32_const(4).i32_mul().i32_add().get(best).i32_store();
              f.get(inds).get(o).i32_const(4).i32_mul().i32_add().get(first).i32_store();
              f.get(o).i32_const(1).i32_add().set(o);
            },
          );
        },
      );
    },
  );
  return f;
}
