/**
 * Packing for the matmul (gemm_module.ts): A blocks into MR-row panels, B blocks into NR-column
 * panels, zero padded at the edges, with SIMD loads and register transposes for the common
 * layouts (row-major and transposed A, a linear layer's transposed weight as B).
 */
import type { FunctionBuilder, Local, ModuleBuilder } from './emitter.js';
import { at, CTL, CTL_BASE, loadCtl, min } from './control_block.js';
import type { GemmVariant } from './gemm_module.js';

/**
 * The locals of a panel packer: pack_a copies MR rows of A per k step, pack_b NR columns of B.
 * Both walk the same loops, the panel's elements `across` bytes apart and k steps `along`.
 */
interface PanelPacker {
  /** Elements per k step of a panel (MR or NR). */
  readonly width: number;
  /** Byte stride between a panel's elements within one k step (A's row / B's column stride). */
  readonly across: Local;
  /** Byte stride between k steps. */
  readonly along: Local;
  /** Number of k steps. */
  readonly kcb: Local;
  /** Where the next packed element goes (advanced as the panel is written). */
  readonly dst: Local;
  /** The panel's first element at the current k step. */
  readonly rowp: Local;
  /** The element being copied. */
  readonly cp: Local;
  readonly k: Local;
  /** Index of the element within the step (padded copy). */
  readonly lane: Local;
  /** Elements of the panel inside the matrix (the rest is zero padding). */
  readonly valid: Local;
}

/**
 * For each panel start in [0, extent) by `width`: valid = min(width, extent − start) and
 * rowp = src + start·across, then `body`.
 */
function emitPanels(
  f: FunctionBuilder,
  p: PanelPacker,
  start: Local,
  src: Local,
  extent: () => void,
  body: () => void,
): void {
  f.for_(
    start,
    () => f.i32_const(0),
    extent,
    p.width,
    () => {
      min(
        f,
        () => f.i32_const(p.width),
        () => {
          extent();
          f.get(start).i32_sub();
        },
        p.valid,
      );
      f.get(src).get(start).get(p.across).i32_mul().i32_add().set(p.rowp);
      body();
    },
  );
}

/** The k loop of a panel: `copyStep` packs one step from rowp, then rowp moves on by `along`. */
function emitPanelSteps(f: FunctionBuilder, p: PanelPacker, copyStep: () => void): void {
  f.for_(
    p.k,
    () => f.i32_const(0),
    () => f.get(p.kcb),
    1,
    () => {
      copyStep();
      f.get(p.rowp).get(p.along).i32_add().set(p.rowp);
    },
  );
}

/** A full panel of any strides: `width` loads per k, unrolled, no per-element test. */
function emitFullPanelCopy(f: FunctionBuilder, p: PanelPacker): void {
  emitPanelSteps(f, p, () => {
    f.get(p.rowp).set(p.cp);
    for (let q = 0; q < p.width; q++) {
      f.get(p.dst)
        .get(p.cp)
        .f32_load()
        .f32_store(q * 4);
      if (q < p.width - 1) f.get(p.cp).get(p.across).i32_add().set(p.cp);
    }
    f.get(p.dst)
      .i32_const(p.width * 4)
      .i32_add()
      .set(p.dst);
  });
}

/** Float lanes `lanes` of two vectors (0–3 the first, 4–7 the second) as an i8x16 shuffle. */
const lanes = (l: readonly number[]) => l.flatMap((x) => [4 * x, 4 * x + 1, 4 * x + 2, 4 * x + 3]);

const INTERLEAVE_LOW = lanes([0, 4, 1, 5]);

const INTERLEAVE_HIGH = lanes([2, 6, 3, 7]);

const LOW_PAIRS = lanes([0, 1, 4, 5]);

const HIGH_PAIRS = lanes([2, 3, 6, 7]);

/**
 * A full panel of `width` elements (rows of A or columns of B) whose values are contiguous
 * along k, `across` bytes apart: per four k steps, one v128 load from each element's run into
 * `loaded`, then `transpose` stores the 4·width values in panel order at dst; the last kcb % 4
 * steps are copied one element at a time.
 */
function emitFourStepPanelCopy(
  f: FunctionBuilder,
  p: PanelPacker,
  transpose: (loaded: Local[]) => void,
): void {
  const loaded = Array.from({ length: p.width }, () => f.local('v128'));
  // Steps [k, k + steps): one element at a time when `scalar`, else four at once.
  const copySteps = (steps: number, scalar: boolean) =>
    f.block(() =>
      f.loop(() => {
        f.get(p.k).i32_const(steps).i32_add().get(p.kcb).i32_gt_s().br_if(1);
        f.get(p.rowp).set(p.cp);
        for (let q = 0; q < p.width; q++) {
          if (scalar)
            f.get(p.dst)
              .get(p.cp)
              .f32_load()
              .f32_store(q * 4);
          else f.get(p.cp).v128_load().set(loaded[q]);
          if (q < p.width - 1) f.get(p.cp).get(p.across).i32_add().set(p.cp);
        }
        if (!scalar) transpose(loaded);
        f.get(p.dst)
          .i32_const(steps * p.width * 4)
          .i32_add()
          .set(p.dst);
        f.get(p.rowp)
          .i32_const(steps * 4)
          .i32_add()
          .set(p.rowp);
        f.get(p.k).i32_const(steps).i32_add().set(p.k);
        f.br(0);
      }),
    );
  f.i32_const(0).set(p.k);
  copySteps(4, false);
  copySteps(1, true);
}

/**
 * A full 8-wide panel of a transposed B (a linear layer's weight: k contiguous, columns
 * `across` apart): two 4×4 transposes in registers per four k steps, eight v128 stores.
 */
function emitTransposedPanelCopy(f: FunctionBuilder, p: PanelPacker): void {
  const [a, b, c, d] = Array.from({ length: 4 }, () => f.local('v128'));
  emitFourStepPanelCopy(f, p, (cols) => {
    for (let half = 0; half < 2; half++) {
      const [r0, r1, r2, r3] = cols.slice(4 * half, 4 * half + 4);
      f.get(r0).get(r1).i8x16_shuffle(INTERLEAVE_LOW).set(a);
      f.get(r0).get(r1).i8x16_shuffle(INTERLEAVE_HIGH).set(b);
      f.get(r2).get(r3).i8x16_shuffle(INTERLEAVE_LOW).set(c);
      f.get(r2).get(r3).i8x16_shuffle(INTERLEAVE_HIGH).set(d);
      // k step t's 8 elements: columns 0–3 at dst + 32t, columns 4–7 at dst + 32t + 16.
      const store = (t: number, x: Local, y: Local, pairs: number[]) =>
        f
          .get(p.dst)
          .get(x)
          .get(y)
          .i8x16_shuffle(pairs)
          .v128_store(32 * t + 16 * half);
      store(0, a, c, LOW_PAIRS);
      store(1, a, c, HIGH_PAIRS);
      store(2, b, d, LOW_PAIRS);
      store(3, b, d, HIGH_PAIRS);
    }
  });
}

/**
 * A full 6-row panel of a row-major A (k contiguous, rows `across` apart): a 4×4 transpose of
 * rows 0–3 and an interleave of rows 4–5 in registers per four k steps, six v128 stores.
 */
function emitRowMajorPanelCopy(f: FunctionBuilder, p: PanelPacker): void {
  const [a, b, c, d, t1, t3, u, w] = Array.from({ length: 8 }, () => f.local('v128'));
  emitFourStepPanelCopy(f, p, ([r0, r1, r2, r3, r4, r5]) => {
    f.get(r0).get(r1).i8x16_shuffle(INTERLEAVE_LOW).set(a);
    f.get(r0).get(r1).i8x16_shuffle(INTERLEAVE_HIGH).set(b);
    f.get(r2).get(r3).i8x16_shuffle(INTERLEAVE_LOW).set(c);
    f.get(r2).get(r3).i8x16_shuffle(INTERLEAVE_HIGH).set(d);
    f.get(r4).get(r5).i8x16_shuffle(INTERLEAVE_LOW).set(u); // rows 4, 5 at k, k + 1
    f.get(r4).get(r5).i8x16_shuffle(INTERLEAVE_HIGH).set(w); // rows 4, 5 at k + 2, k + 3
    f.get(a).get(c).i8x16_shuffle(HIGH_PAIRS).set(t1); // rows 0–3 at k + 1
    f.get(b).get(d).i8x16_shuffle(HIGH_PAIRS).set(t3); // rows 0–3 at k + 3
    // Step t's six elements at dst + 24t: [rows 0–3 of k][4, 5 of k, 0, 1 of k+1][2–5 of k+1]...
    const store = (offset: number, x: Local, y: Local, pairs: number[]) =>
      f.get(p.dst).get(x).get(y).i8x16_shuffle(pairs).v128_store(offset);
    store(0, a, c, LOW_PAIRS);
    store(16, u, t1, LOW_PAIRS);
    store(32, t1, u, HIGH_PAIRS);
    store(48, b, d, LOW_PAIRS);
    store(64, w, t3, LOW_PAIRS);
    store(80, t3, w, HIGH_PAIRS);
  });
}

/** A full 6-row panel whose rows are adjacent (A's row stride 4 bytes): per k, a v128 and an i64 copy. */
function emitAdjacentRowsPanelCopy(f: FunctionBuilder, p: PanelPacker): void {
  emitPanelSteps(f, p, () => {
    f.get(p.dst).get(p.rowp).v128_load().v128_store();
    f.get(p.dst).get(p.rowp).i64_load(16).i64_store(16);
    f.get(p.dst).i32_const(24).i32_add().set(p.dst);
  });
}

/** An edge panel: the `valid` elements per k copied, the rest of the `width` zeroed. */
function emitPaddedPanelCopy(f: FunctionBuilder, p: PanelPacker): void {
  emitPanelSteps(f, p, () => {
    f.get(p.rowp).set(p.cp);
    f.for_(
      p.lane,
      () => f.i32_const(0),
      () => f.i32_const(p.width),
      1,
      () => {
        f.get(p.lane)
          .get(p.valid)
          .i32_lt_s()
          .if_(
            () => f.get(p.dst).get(p.cp).f32_load().f32_store(),
            () => f.get(p.dst).f32_const(0).f32_store(),
          );
        f.get(p.cp).get(p.across).i32_add().set(p.cp);
        f.get(p.dst).i32_const(4).i32_add().set(p.dst);
      },
    );
  });
}

/** Packs rows [0, mcb) × cols [0, kcb) of a strided A block into MR-row panels (zero padded). */
export function emitPackA(m: ModuleBuilder, v: GemmVariant): FunctionBuilder {
  const f = m.func('pack_a', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], [], false);
  const [src, sm4, sk4, mcb, kcb, dst] = [0, 1, 2, 3, 4, 5].map((i) => f.param(i));
  const i0 = f.local('i32');
  const valid = f.local('i32');
  const rowp = f.local('i32');
  const cp = f.local('i32');
  const k = f.local('i32');
  const r = f.local('i32');
  const panel: PanelPacker = {
    width: v.mr,
    across: sm4,
    along: sk4,
    kcb,
    dst,
    rowp,
    cp,
    k,
    lane: r,
    valid,
  };
  const anyStrides = () => emitFullPanelCopy(f, panel);
  // SIMD copies for the two layouts matmul meets: A row-major (k contiguous) and A transposed
  // (rows contiguous: a weight gradient's dY^T).
  const full =
    v.mr === 6 && v.level !== 'scalar'
      ? () =>
          f
            .get(sk4)
            .i32_const(4)
            .i32_eq()
            .if_(
              () => emitRowMajorPanelCopy(f, panel),
              () =>
                f
                  .get(sm4)
                  .i32_const(4)
                  .i32_eq()
                  .if_(() => emitAdjacentRowsPanelCopy(f, panel), anyStrides),
            )
      : anyStrides;
  emitPanels(
    f,
    panel,
    i0,
    src,
    () => f.get(mcb),
    () => {
      f.get(valid)
        .i32_const(v.mr)
        .i32_eq()
        .if_(full, () => emitPaddedPanelCopy(f, panel));
    },
  );
  return f;
}

/**
 * Pack-B task: columns [j0, j0 + B_CHUNK_COLS) of K block `kb` of batch `p` of B into NR-column
 * panels of Bp (task = (p·K_BLOCKS + kb)·B_CHUNKS + chunk).
 */
export function emitPackB(m: ModuleBuilder, v: GemmVariant): FunctionBuilder {
  const f = m.func('pack_b', ['i32'], [], false);
  const task = f.param(0);
  const [kBlocks, p, kb, n, kc, k0, kcb, src, dst, sk4, sn4, j0, valid, rowp, cp, k, jj, tmp] =
    Array.from({ length: 18 }, () => f.local('i32'));
  const [chunks, chunk, cols] = Array.from({ length: 3 }, () => f.local('i32'));
  const { nr } = v;
  const panel: PanelPacker = {
    width: nr,
    across: sn4,
    along: sk4,
    kcb,
    dst,
    rowp,
    cp,
    k,
    lane: jj,
    valid,
  };
  loadCtl(f, CTL.K_BLOCKS, kBlocks);
  loadCtl(f, CTL.B_CHUNKS, chunks);
  f.get(task).get(chunks).i32_rem_s().set(chunk);
  f.get(task).get(chunks).i32_div_s().set(task);
  f.get(task).get(kBlocks).i32_div_s().set(p);
  f.get(task).get(kBlocks).i32_rem_s().set(kb);
  loadCtl(f, CTL.KC, kc);
  f.get(kb).get(kc).i32_mul().set(k0);
  loadCtl(f, CTL.K, tmp);
  min(
    f,
    () => f.get(kc),
    () => f.get(tmp).get(k0).i32_sub(),
    kcb,
  );
  loadCtl(f, CTL.B_CHUNK_COLS, cols);
  f.get(chunk).get(cols).i32_mul().set(j0);
  loadCtl(f, CTL.N, tmp);
  min(
    f,
    () => f.get(cols),
    () => f.get(tmp).get(j0).i32_sub(),
    n,
  );
  loadCtl(f, CTL.B_SK, tmp);
  f.get(tmp).i32_const(4).i32_mul().set(sk4);
  loadCtl(f, CTL.B_SN, tmp);
  f.get(tmp).i32_const(4).i32_mul().set(sn4);
  // src = B_PTR + p·B_SB·4 + k0·sk4 + j0·sn4
  f.i32_load_from(CTL_BASE, at(CTL.B_PTR));
  f.get(p).i32_load_from(CTL_BASE, at(CTL.B_SB)).i32_mul().i32_const(4).i32_mul().i32_add();
  f.get(k0).get(sk4).i32_mul().i32_add();
  f.get(j0).get(sn4).i32_mul().i32_add().set(src);
  // dst = BP_PTR + p·BP_SB + (k0·NPAD + j0·kcb)·4: panels of a K block follow each other.
  f.i32_load_from(CTL_BASE, at(CTL.BP_PTR));
  f.get(p).i32_load_from(CTL_BASE, at(CTL.BP_SB)).i32_mul().i32_add();
  f.get(k0).i32_load_from(CTL_BASE, at(CTL.NPAD)).i32_mul();
  f.get(j0).get(kcb).i32_mul().i32_add().i32_const(4).i32_mul().i32_add().set(dst);

  emitPanels(
    f,
    panel,
    j0,
    src,
    () => f.get(n),
    () => {
      // A full panel of any strides; a transposed B (a linear layer's weight, k contiguous) four
      // k steps at a time through 4×4 register transposes.
      const anyStrides = () => emitFullPanelCopy(f, panel);
      const strided =
        nr === 8 && v.level !== 'scalar'
          ? () =>
              f
                .get(sk4)
                .i32_const(4)
                .i32_eq()
                .if_(() => emitTransposedPanelCopy(f, panel), anyStrides)
          : anyStrides;
      const full = () => {
        if (v.level === 'scalar') {
          strided();
          return;
        }
        // Rows of B contiguous: copy NR/4 vectors per k.
        f.get(sn4)
          .i32_const(4)
          .i32_eq()
          .if_(() => {
            emitPanelSteps(f, panel, () => {
              for (let q = 0; q < nr / 4; q++)
                f.get(dst)
                  .get(rowp)
                  .v128_load(q * 16)
                  .v128_store(q * 16);
              f.get(dst)
                .i32_const(nr * 4)
                .i32_add()
                .set(dst);
            });
          }, strided);
      };
      f.get(valid)
        .i32_const(nr)
        .i32_eq()
        .if_(full, () => emitPaddedPanelCopy(f, panel));
    },
  );
  return f;
}

/**
 * For each packed panel of a block (index over [0, extent) by `width`): the panel's address
 * base + index·kcb·4 and its `valid` rows or columns min(width, extent − index), then `body`.
 */
export function emitPackedPanels(
  f: FunctionBuilder,
  p: {
    index: Local;
    extent: Local;
    width: number;
    base: Local;
    kcb: Local;
    panel: Local;
    valid: Local;
  },
  body: () => void,
): void {
  f.for_(
    p.index,
    () => f.i32_const(0),
    () => f.get(p.extent),
    p.width,
    () => {
      f.get(p.base).get(p.index).get(p.kcb).i32_mul().i32_const(4).i32_mul().i32_add().set(p.panel);
      min(
        f,
        () => f.i32_const(p.width),
        () => f.get(p.extent).get(p.index).i32_sub(),
        p.valid,
      );
      body();
    },
  );
}

/**
 * pack_a_block(p, m0, k0, mcb, kcb, dst): rows [m0, m0 + mcb) × cols [k0, k0 + kcb) of batch p
 * of A (its address and strides from the control block) into MR-row panels at dst; for the
 * pack-A tasks and for compute tasks that pack their own block.
 */
export function emitPackABlock(m: ModuleBuilder, packA: FunctionBuilder): FunctionBuilder {
  const f = m.func('pack_a_block', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], [], false);
  const [p, m0, k0, mcb, kcb, dst] = [0, 1, 2, 3, 4, 5].map((i) => f.param(i));
  // pack_a(A_PTR + (p·A_SB + m0·A_SM + k0·A_SK)·4, A_SM·4, A_SK·4, mcb, kcb, dst)
  f.i32_load_from(CTL_BASE, at(CTL.A_PTR));
  f.get(p).i32_load_from(CTL_BASE, at(CTL.A_SB)).i32_mul();
  f.get(m0).i32_load_from(CTL_BASE, at(CTL.A_SM)).i32_mul().i32_add();
  f.get(k0).i32_load_from(CTL_BASE, at(CTL.A_SK)).i32_mul().i32_add();
  f.i32_const(4).i32_mul().i32_add();
  f.i32_load_from(CTL_BASE, at(CTL.A_SM)).i32_const(4).i32_mul();
  f.i32_load_from(CTL_BASE, at(CTL.A_SK)).i32_const(4).i32_mul();
  f.get(mcb).get(kcb).get(dst).call(m.indexOf(packA));
  return f;
}

/**
 * Pack-A task t = (p·M_BLOCKS + mb)·K_BLOCKS + kb: block (mb, kb) of batch p of A into MR-row
 * panels at AP_PTR + t·AP_BLOCK, where the compute tasks read it.
 */
export function emitPackATask(m: ModuleBuilder, packABlock: FunctionBuilder): FunctionBuilder {
  const f = m.func('pack_a_task', ['i32'], [], false);
  const task = f.param(0);
  const [kBlocks, p, rest, mb, kb, m0, mcb, k0, kcb, tmp] = Array.from({ length: 10 }, () =>
    f.local('i32'),
  );
  loadCtl(f, CTL.K_BLOCKS, kBlocks);
  f.get(task).get(kBlocks).i32_rem_s().set(kb);
  f.get(task).get(kBlocks).i32_div_s().set(rest);
  loadCtl(f, CTL.M_BLOCKS, tmp);
  f.get(rest).get(tmp).i32_div_s().set(p);
  f.get(rest).get(tmp).i32_rem_s().set(mb);
  loadCtl(f, CTL.MC, tmp);
  f.get(mb).get(tmp).i32_mul().set(m0);
  min(
    f,
    () => f.get(tmp),
    () => f.i32_load_from(CTL_BASE, at(CTL.M)).get(m0).i32_sub(),
    mcb,
  );
  loadCtl(f, CTL.KC, tmp);
  f.get(kb).get(tmp).i32_mul().set(k0);
  min(
    f,
    () => f.get(tmp),
    () => f.i32_load_from(CTL_BASE, at(CTL.K)).get(k0).i32_sub(),
    kcb,
  );
  // pack_a_block(p, m0, k0, mcb, kcb, AP_PTR + t·AP_BLOCK)
  f.get(p).get(m0).get(k0).get(mcb).get(kcb);
  f.i32_load_from(CTL_BASE, at(CTL.AP_PTR));
  f.get(task).i32_load_from(CTL_BASE, at(CTL.AP_BLOCK)).i32_mul().i32_add();
  f.call(m.indexOf(packABlock));
  return f;
}
