/**
 * The kernel module: one WebAssembly module per SIMD variant and memory type that holds every
 * task the thread pool runs (a matmul's packing and compute tasks, im2col / col2im, max pooling,
 * the elementwise kernels, whole jobs of a KIND_EACH list) and the plain SGD step. A task is
 * `run_task(thread, index)`, its kind and parameters read from the control block
 * (control_block.ts), so the same call runs on the calling thread or on a worker.
 */
import { type FunctionBuilder, ModuleBuilder } from './emitter.js';
import {
  BINARY_KERNEL_IDS,
  emitElementwiseKernels,
  EW,
  UNARY_KERNEL_IDS,
} from './elementwise_module.js';
import {
  at,
  CTL,
  CTL_BASE,
  KIND_COL2IM,
  KIND_EACH,
  KIND_ELEMENTWISE,
  KIND_GEMM,
  KIND_IM2COL,
  loadCtl,
  min,
} from './control_block.js';
import { emitCompute, emitGemmTask, emitMicroKernel, type GemmVariant } from './gemm_module.js';
import { emitPackA, emitPackABlock, emitPackATask, emitPackB } from './gemm_pack_module.js';
import { emitIm2col, emitMaxPool } from './window_module.js';
import { emitSgd } from './sgd.js';

export interface MemoryLimits {
  readonly initialPages: number;
  readonly maximumPages: number;
  readonly shared: boolean;
}

/**
 * run_side(thread, j): job j of the EACH_JOBS list in the current control block, whole: the
 * control base pointed at its block while its tasks run in order (`runOne` runs one task).
 */
function emitRunSide(m: ModuleBuilder, runOne: FunctionBuilder): FunctionBuilder {
  const f = m.func('run_side', ['i32', 'i32'], [], false);
  const [thread, j] = [f.param(0), f.param(1)];
  const [entry, t, count, base] = Array.from({ length: 4 }, () => f.local('i32'));
  f.global_get(CTL_BASE).set(base);
  f.get(base).get(j).i32_const(8).i32_mul().i32_add().set(entry);
  f.get(entry)
    .i32_load(at(CTL.EACH_JOBS + 1))
    .set(count);
  f.get(entry).i32_load(at(CTL.EACH_JOBS)).global_set(CTL_BASE);
  f.for_(
    t,
    () => f.i32_const(0),
    () => f.get(count),
    1,
    () => f.get(thread).get(t).call(m.indexOf(runOne)),
  );
  f.get(base).global_set(CTL_BASE);
  return f;
}

/**
 * The elementwise task: units [task·CHUNK, min(UNITS, (task+1)·CHUNK)) of kernel EW_FN, the
 * parameters in EW_P0… (see elementwise.ts for what each kernel's units and parameters are).
 */
function emitElementwiseTask(
  m: ModuleBuilder,
  kernels: Map<number, FunctionBuilder>,
): FunctionBuilder {
  const f = m.func('elementwise_task', ['i32'], [], false);
  const task = f.param(0);
  const [start, end, count, units] = [0, 1, 2, 3].map(() => f.local('i32'));
  const p = (i: number) => f.i32_load_from(CTL_BASE, at(CTL.EW_P0 + i));
  loadCtl(f, CTL.EW_UNITS, units);
  f.get(task).i32_load_from(CTL_BASE, at(CTL.EW_CHUNK)).i32_mul().set(start);
  min(
    f,
    () => f.get(start).i32_load_from(CTL_BASE, at(CTL.EW_CHUNK)).i32_add(),
    () => f.get(units),
    end,
  );
  f.get(end).get(start).i32_sub().set(count);
  // Parameter i advanced by `start` units of `unitBytes()` bytes.
  const offset = (i: number, unitBytes: () => void) => {
    p(i).get(start);
    unitBytes();
    f.i32_mul().i32_add();
  };
  const four = () => f.i32_const(4);
  const rowsOf = (i: number) => () => p(i).i32_const(4).i32_mul();
  const calls: [id: number, args: () => void][] = [
    // The op table's unary kernels: units are elements of x and out (P0, P1).
    ...Object.values(UNARY_KERNEL_IDS).map((id): [number, () => void] => [
      id,
      () => {
        offset(0, four);
        offset(1, four);
        f.get(count);
      },
    ]),
    [
      EW.RELU_BACKWARD,
      () => {
        offset(0, four);
        offset(1, four);
        offset(2, four);
        f.get(count);
      },
    ],
    // SUM_ROWS: units are columns (and the row stride); P2 = rows.
    [
      EW.SUM_ROWS,
      () => {
        offset(0, four);
        offset(1, four);
        p(2);
        f.get(count).get(units);
      },
    ],
    // SUM_EACH_ROW: units are rows of P2 columns.
    [
      EW.SUM_EACH_ROW,
      () => {
        offset(0, rowsOf(2));
        offset(1, four);
        f.get(count);
        p(2);
      },
    ],
    // ADAM: units are elements of p, g, m, v (P0–P3); P4 = the constants, P5 = the mode.
    [
      EW.ADAM,
      () => {
        offset(0, four);
        offset(1, four);
        offset(2, four);
        offset(3, four);
        p(4);
        p(5);
        f.get(count);
      },
    ],
    // SGD: units are elements of p and g (P0, P1); P2 = the float32 scale's bits.
    [
      EW.SGD,
      () => {
        offset(0, four);
        offset(1, four);
        f.get(count);
        p(2).f32_reinterpret_i32();
      },
    ],
    // SOFTMAX_ROWS: units are rows of P2 elements of x and out; P3 = 1 for log-softmax.
    [
      EW.SOFTMAX_ROWS,
      () => {
        offset(0, rowsOf(2));
        offset(1, rowsOf(2));
        f.get(count);
        p(2);
        p(3);
      },
    ],
    // LOG_SOFTMAX_BACKWARD_ROWS: units are rows of P3 elements of g, y and out.
    [
      EW.LOG_SOFTMAX_BACKWARD_ROWS,
      () => {
        offset(0, rowsOf(3));
        offset(1, rowsOf(3));
        offset(2, rowsOf(3));
        f.get(count);
        p(3);
      },
    ],
    // RNN_GATES_FORWARD / BACKWARD: units are rows; P0 = the parameter block, P1 = the mode.
    ...[EW.RNN_GATES_FORWARD, EW.RNN_GATES_BACKWARD].map((id): [number, () => void] => [
      id,
      () => {
        p(0);
        p(1);
        f.get(start).get(count);
      },
    ]),
    // GELU_FORWARD: units are elements of x and out (P0, P1); P2 = the mode.
    [
      EW.GELU_FORWARD,
      () => {
        offset(0, four);
        offset(1, four);
        f.get(count);
        p(2);
      },
    ],
    // GELU_BACKWARD: units are elements of g, x and out (P0–P2); P3 = the mode.
    [
      EW.GELU_BACKWARD,
      () => {
        offset(0, four);
        offset(1, four);
        offset(2, four);
        f.get(count);
        p(3);
      },
    ],
    // SCALED_SOFTMAX_ROWS (x, out) and SCALED_SOFTMAX_BACKWARD_ROWS (g, y, out): units are rows
    // of n elements of each view; after the views, n, the float32 scale's bits and L (0: no
    // causal mask); the causal mask needs the first row's index, `start`.
    ...(
      [
        [EW.SCALED_SOFTMAX_ROWS, 2],
        [EW.SCALED_SOFTMAX_BACKWARD_ROWS, 3],
      ] as const
    ).map(([id, views]): [number, () => void] => [
      id,
      () => {
        for (let i = 0; i < views; i++) offset(i, rowsOf(views));
        f.get(count);
        p(views);
        p(views + 1).f32_reinterpret_i32();
        p(views + 2);
        f.get(start);
      },
    ]),
    // The layer-norm kernels: units are rows (columns for LAYER_NORM_PARAM_GRADS); P0 = the
    // parameter block.
    ...[EW.LAYER_NORM_ROWS, EW.LAYER_NORM_BACKWARD_ROWS, EW.LAYER_NORM_PARAM_GRADS].map(
      (id): [number, () => void] => [
        id,
        () => {
          p(0);
          f.get(start).get(count);
        },
      ],
    ),
    // SWAP_OUTER: units are the outer dim; P3 = inner, P4 = l, P5 = dst's row stride.
    [
      EW.SWAP_OUTER,
      () => {
        p(0);
        p(1);
        p(2);
        f.get(start).get(end).get(units);
        p(3);
        p(4);
        p(5);
      },
    ],
  ];
  const when = (id: number, body: () => void) =>
    f.i32_load_from(CTL_BASE, at(CTL.EW_FN)).i32_const(id).i32_eq().if_(body);
  for (const [id, args] of calls)
    when(id, () => {
      args();
      f.call(m.indexOf(kernels.get(id)!));
    });
  // Binary ops: P3 = columns per row; P4 = 1 when the units are rows and b is one row for all,
  // 0 when the units are elements of equal shapes (b advances with a).
  for (const id of Object.values(BINARY_KERNEL_IDS)) {
    when(id, () => {
      p(4).if_(
        () => {
          offset(0, rowsOf(3));
          p(1);
          offset(2, rowsOf(3));
          f.get(count);
          p(3);
          f.i32_const(0).call(m.indexOf(kernels.get(id)!));
        },
        () => {
          offset(0, four);
          offset(1, four);
          offset(2, four);
          f.i32_const(1)
            .get(count)
            .i32_const(0)
            .call(m.indexOf(kernels.get(id)!));
        },
      );
    });
  }
  // SCATTER_ADD_ROWS: units are rows; P3 = row size, P4 = indices per row, P5 = zero first.
  when(EW.SCATTER_ADD_ROWS, () => {
    offset(0, rowsOf(3));
    offset(1, rowsOf(4));
    offset(2, rowsOf(4));
    f.get(count);
    p(3);
    p(4);
    p(5);
    f.call(m.indexOf(kernels.get(EW.SCATTER_ADD_ROWS)!));
    f.i32_const(0)
      .i32_ge_s()
      .if_(() => f.global_get(CTL_BASE).i32_const(1).i32_store(at(CTL.EW_BAD)));
  });
  return f;
}

/**
 * The module's bytes for one variant and memory type. Exports `run_task(thread, index)` (the
 * task kind in CTL.KIND: a matmul's tasks, im2col, col2im, max pool, elementwise, or a whole job
 * of a KIND_EACH job) and `sgd_f32`.
 */
export function buildKernelModule(v: GemmVariant, memory: MemoryLimits): Uint8Array<ArrayBuffer> {
  if (v.level !== 'scalar' && v.nr % 4 !== 0)
    throw new Error(`gemm: NR=${v.nr} must be a multiple of 4 for SIMD`);
  const m = new ModuleBuilder({ module: 'env', name: 'memory', ...memory });
  if (m.global(0) !== CTL_BASE) throw new Error('gemm: the control base must be global 0');
  const micro = emitMicroKernel(m, v);
  const partial = Array.from({ length: v.mr - 1 }, (_, r) => emitMicroKernel(m, v, r + 1));
  const packA = emitPackA(m, v);
  const packB = emitPackB(m, v);
  const packABlock = emitPackABlock(m, packA);
  const compute = emitCompute(m, v, micro, packABlock, partial);
  // One task of the job whose control block is at CTL_BASE (its body below): side jobs call it.
  const one = m.func('run_one', ['i32', 'i32'], [], false);
  const runSide = emitRunSide(m, one);
  const gemmTask = emitGemmTask(m, packB, emitPackATask(m, packABlock), compute, runSide);
  const im2col = emitIm2col(m, false, v.level !== 'scalar');
  const col2im = emitIm2col(m, true, v.level !== 'scalar');
  const maxpool = emitMaxPool(m, v.level !== 'scalar');
  const sgd = emitSgd(m, v);
  const elementwise =
    v.level === 'scalar'
      ? null
      : emitElementwiseTask(m, emitElementwiseKernels(m).set(EW.SGD, sgd));
  // run_one: CTL.KIND tested against each kind in turn; max pool is the one left.
  const thread = one.param(0);
  const index = one.param(1);
  const tasks: [kind: number, call: () => void][] = [
    [KIND_GEMM, () => one.get(thread).get(index).call(m.indexOf(gemmTask))],
    [KIND_IM2COL, () => one.get(index).call(m.indexOf(im2col))],
    [KIND_COL2IM, () => one.get(index).call(m.indexOf(col2im))],
  ];
  if (elementwise)
    tasks.push([KIND_ELEMENTWISE, () => one.get(index).call(m.indexOf(elementwise))]);
  const dispatch = (i: number): void => {
    if (i === tasks.length) {
      one.get(index).call(m.indexOf(maxpool));
      return;
    }
    const [kind, call] = tasks[i];
    one
      .i32_load_from(CTL_BASE, at(CTL.KIND))
      .i32_const(kind)
      .i32_eq()
      .if_(call, () => dispatch(i + 1));
  };
  dispatch(0);

  const run = m.func('run_task', ['i32', 'i32'], []);
  const [runThread, runIndex] = [run.param(0), run.param(1)];
  // TASKS_BY_THREAD[thread]++, then the task; a KIND_EACH job's task i is its job i, whole.
  run.get(runThread).i32_const(4).i32_mul();
  run.get(runThread).i32_const(4).i32_mul().i32_load(at(CTL.TASKS_BY_THREAD));
  run.i32_const(1).i32_add().i32_store(at(CTL.TASKS_BY_THREAD));
  const task = (f: FunctionBuilder) => () => run.get(runThread).get(runIndex).call(m.indexOf(f));
  run
    .i32_const(0)
    .i32_load(at(CTL.KIND))
    .i32_const(KIND_EACH)
    .i32_eq()
    .if_(task(runSide), task(one));
  return m.encode();
}
