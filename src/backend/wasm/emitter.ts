/**
 * A small WebAssembly assembler: TypeScript that writes a module's bytes at run time. The
 * kernels in this folder are generated with it, so no compiler or build step is needed (see
 * docs/architecture.md, "WebAssembly kernels"): one generator emits every variant (relaxed-SIMD
 * FMA, plain SIMD, scalar; shared or private memory; any register tile) on Node and in browsers.
 *
 * Instructions are methods named after their WebAssembly text form (`i32_add` is `i32.add`) and
 * chain, so a function body reads like WAT in stack order.
 */

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';

const VALTYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** A local variable (or parameter) of a function, by index. */
export type Local = number & { readonly __local?: never };

function uleb(value: number, out: number[]): void {
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
}

function sleb(value: number, out: number[]): void {
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return;
    }
    out.push(byte | 0x80);
  }
}

function utf8(name: string, out: number[]): void {
  const bytes = new TextEncoder().encode(name);
  uleb(bytes.length, out);
  for (const b of bytes) out.push(b);
}

/** The body of one function: its locals and its instruction bytes. */
export class FunctionBuilder {
  readonly code: number[] = [];
  private readonly localTypes: ValType[] = [];

  constructor(
    readonly name: string,
    readonly params: readonly ValType[],
    readonly results: readonly ValType[],
  ) {}

  /** The i-th parameter as a local. */
  param(i: number): Local {
    return i as Local;
  }

  local(type: ValType): Local {
    this.localTypes.push(type);
    return (this.params.length + this.localTypes.length - 1) as Local;
  }

  private op(...bytes: number[]): this {
    for (const b of bytes) this.code.push(b);
    return this;
  }

  private simd(opcode: number): this {
    this.code.push(0xfd);
    uleb(opcode, this.code);
    return this;
  }

  private memarg(align: number, offset: number): this {
    uleb(align, this.code);
    uleb(offset, this.code);
    return this;
  }

  // Variables and constants.
  get(l: Local): this {
    this.code.push(0x20);
    uleb(l, this.code);
    return this;
  }
  set(l: Local): this {
    this.code.push(0x21);
    uleb(l, this.code);
    return this;
  }
  tee(l: Local): this {
    this.code.push(0x22);
    uleb(l, this.code);
    return this;
  }
  /** A module global (see ModuleBuilder.global) by index. */
  global_get(g: number): this {
    this.code.push(0x23);
    uleb(g, this.code);
    return this;
  }
  /** i32.load at `offset` bytes past the address a global holds (a base pointer kept in a global). */
  i32_load_from(g: number, offset = 0): this {
    return this.global_get(g).i32_load(offset);
  }
  global_set(g: number): this {
    this.code.push(0x24);
    uleb(g, this.code);
    return this;
  }
  i32_const(v: number): this {
    this.code.push(0x41);
    sleb(v, this.code);
    return this;
  }
  f32_const(v: number): this {
    this.code.push(0x43);
    for (const b of new Uint8Array(new Float32Array([v]).buffer)) this.code.push(b);
    return this;
  }

  // Control.
  block(body: () => void): this {
    this.op(0x02, 0x40);
    body();
    return this.op(0x0b);
  }
  loop(body: () => void): this {
    this.op(0x03, 0x40);
    body();
    return this.op(0x0b);
  }
  /** if/else on the i32 on the stack. */
  if_(then: () => void, otherwise?: () => void): this {
    this.op(0x04, 0x40);
    then();
    if (otherwise) {
      this.op(0x05);
      otherwise();
    }
    return this.op(0x0b);
  }
  br(depth: number): this {
    this.code.push(0x0c);
    uleb(depth, this.code);
    return this;
  }
  br_if(depth: number): this {
    this.code.push(0x0d);
    uleb(depth, this.code);
    return this;
  }
  return_(): this {
    return this.op(0x0f);
  }
  call(index: number): this {
    this.code.push(0x10);
    uleb(index, this.code);
    return this;
  }
  drop(): this {
    return this.op(0x1a);
  }
  select(): this {
    return this.op(0x1b);
  }

  /**
   * for (i = start; i < end; i += step) body. `start` and `end` push an i32; `end` is evaluated
   * on every iteration, so pass a local (or a constant) there. Branches inside `body` see two
   * extra labels.
   */
  for_(i: Local, start: () => void, end: () => void, step: number, body: () => void): this {
    start();
    this.set(i);
    return this.block(() =>
      this.loop(() => {
        this.get(i);
        end();
        this.i32_ge_s().br_if(1);
        body();
        this.get(i).i32_const(step).i32_add().set(i).br(0);
      }),
    );
  }

  // Memory.
  i32_load(offset = 0): this {
    return this.op(0x28).memarg(2, offset);
  }
  f32_load(offset = 0): this {
    return this.op(0x2a).memarg(2, offset);
  }
  i32_store(offset = 0): this {
    return this.op(0x36).memarg(2, offset);
  }
  i32_load8_s(offset = 0): this {
    return this.op(0x2c).memarg(0, offset);
  }
  i32_store8(offset = 0): this {
    return this.op(0x3a).memarg(0, offset);
  }
  f32_store(offset = 0): this {
    return this.op(0x38).memarg(2, offset);
  }
  i64_load(offset = 0): this {
    return this.op(0x29).memarg(3, offset);
  }
  i64_store(offset = 0): this {
    return this.op(0x37).memarg(3, offset);
  }
  v128_load(offset = 0): this {
    return this.simd(0x00).memarg(4, offset);
  }
  v128_load32_splat(offset = 0): this {
    return this.simd(0x09).memarg(2, offset);
  }
  v128_store(offset = 0): this {
    return this.simd(0x0b).memarg(4, offset);
  }

  // i32 arithmetic and comparisons.
  i32_eqz(): this {
    return this.op(0x45);
  }
  i32_eq(): this {
    return this.op(0x46);
  }
  i32_ne(): this {
    return this.op(0x47);
  }
  i32_lt_s(): this {
    return this.op(0x48);
  }
  i32_gt_s(): this {
    return this.op(0x4a);
  }
  i32_le_s(): this {
    return this.op(0x4c);
  }
  i32_ge_s(): this {
    return this.op(0x4e);
  }
  i32_add(): this {
    return this.op(0x6a);
  }
  i32_sub(): this {
    return this.op(0x6b);
  }
  i32_mul(): this {
    return this.op(0x6c);
  }
  i32_div_s(): this {
    return this.op(0x6d);
  }
  i32_rem_s(): this {
    return this.op(0x6f);
  }
  i32_and(): this {
    return this.op(0x71);
  }
  i32_or(): this {
    return this.op(0x72);
  }
  i32_lt_u(): this {
    return this.op(0x49);
  }
  f32_ne(): this {
    return this.op(0x5c);
  }
  f32_eq(): this {
    return this.op(0x5b);
  }
  f32_abs(): this {
    return this.op(0x8b);
  }
  /** NaN if either operand is NaN. */
  f32_max(): this {
    return this.op(0x97);
  }
  f32_gt(): this {
    return this.op(0x5e);
  }
  i32_reinterpret_f32(): this {
    return this.op(0xbc);
  }
  i32_shr_u(): this {
    return this.op(0x76);
  }
  i32_shr_s(): this {
    return this.op(0x75);
  }
  i32_xor(): this {
    return this.op(0x73);
  }
  i32_rotl(): this {
    return this.op(0x77);
  }
  f32_reinterpret_i32(): this {
    return this.op(0xbe);
  }
  i32_shl(): this {
    return this.op(0x74);
  }

  // f32 arithmetic.
  f32_add(): this {
    return this.op(0x92);
  }
  f32_sub(): this {
    return this.op(0x93);
  }
  f32_mul(): this {
    return this.op(0x94);
  }
  f32_div(): this {
    return this.op(0x95);
  }
  f32_sqrt(): this {
    return this.op(0x91);
  }

  // f64 arithmetic and conversions (float32 sums accumulate in float64, as the reference does).
  f64_load(offset = 0): this {
    return this.op(0x2b).memarg(3, offset);
  }
  f64_store(offset = 0): this {
    return this.op(0x39).memarg(3, offset);
  }
  f64_const(v: number): this {
    this.code.push(0x44);
    for (const b of new Uint8Array(new Float64Array([v]).buffer)) this.code.push(b);
    return this;
  }
  f64_add(): this {
    return this.op(0xa0);
  }
  f64_sub(): this {
    return this.op(0xa1);
  }
  f64_mul(): this {
    return this.op(0xa2);
  }
  f64_div(): this {
    return this.op(0xa3);
  }
  f64_sqrt(): this {
    return this.op(0x9f);
  }
  f64_eq(): this {
    return this.op(0x61);
  }
  f64_ne(): this {
    return this.op(0x62);
  }
  f64_gt(): this {
    return this.op(0x64);
  }
  f64_convert_i32_s(): this {
    return this.op(0xb7);
  }
  f64_promote_f32(): this {
    return this.op(0xbb);
  }
  f32_demote_f64(): this {
    return this.op(0xb6);
  }

  // f32x4 (SIMD) arithmetic.
  v128_const_zero(): this {
    this.simd(0x0c);
    for (let i = 0; i < 16; i++) this.code.push(0);
    return this;
  }
  /** A v128 constant from four i32 lanes. */
  v128_const_i32x4(lanes: readonly number[]): this {
    this.simd(0x0c);
    for (const l of lanes) for (let b = 0; b < 4; b++) this.code.push((l >>> (8 * b)) & 0xff);
    return this;
  }
  /** Bytes of two vectors (0–15 the first, 16–31 the second) picked by `lanes`. */
  i8x16_shuffle(lanes: readonly number[]): this {
    this.simd(0x0d);
    for (const l of lanes) this.code.push(l);
    return this;
  }
  i32x4_splat(): this {
    return this.simd(0x11);
  }
  i32x4_add(): this {
    return this.simd(0xae);
  }
  i32x4_sub(): this {
    return this.simd(0xb1);
  }
  i32x4_min_s(): this {
    return this.simd(0xb6);
  }
  f32x4_ne(): this {
    return this.simd(0x42);
  }
  f32x4_lt(): this {
    return this.simd(0x43);
  }
  f32x4_gt(): this {
    return this.simd(0x44);
  }
  /** Lane-wise maximum: NaN if either lane is NaN. */
  f32x4_max(): this {
    return this.simd(0xe9);
  }
  /** Round to the nearest integer, ties to even. */
  f32x4_nearest(): this {
    return this.simd(0x6a);
  }
  /** float32 lanes to int32, saturating (NaN to 0). */
  i32x4_trunc_sat_f32x4_s(): this {
    return this.simd(0xf8);
  }
  /** Shift every int32 lane left by an i32 count. */
  i32x4_shl(): this {
    return this.simd(0xab);
  }
  v128_and(): this {
    return this.simd(0x4e);
  }
  v128_or(): this {
    return this.simd(0x50);
  }
  /** (a & c) | (b & ~c), operands pushed a, b, c. */
  v128_bitselect(): this {
    return this.simd(0x52);
  }
  f32x4_splat(): this {
    return this.simd(0x13);
  }
  f32x4_extract_lane(lane: number): this {
    this.simd(0x1f);
    this.code.push(lane);
    return this;
  }
  f32x4_add(): this {
    return this.simd(0xe4);
  }
  f32x4_sub(): this {
    return this.simd(0xe5);
  }
  f32x4_mul(): this {
    return this.simd(0xe6);
  }
  f32x4_div(): this {
    return this.simd(0xe7);
  }
  f32x4_sqrt(): this {
    return this.simd(0xe3);
  }
  /** The low two f32 lanes widened to f64x2. */
  f64x2_promote_low_f32x4(): this {
    return this.simd(0x5f);
  }
  /** f64x2 narrowed to the low two f32 lanes, the high two zero. */
  f32x4_demote_f64x2_zero(): this {
    return this.simd(0x5e);
  }
  f64x2_splat(): this {
    return this.simd(0x14);
  }
  f64x2_add(): this {
    return this.simd(0xf0);
  }
  f64x2_sub(): this {
    return this.simd(0xf1);
  }
  f64x2_mul(): this {
    return this.simd(0xf2);
  }
  f64x2_div(): this {
    return this.simd(0xf3);
  }
  /** Pseudo-maximum a < b ? b : a (one maxpd: a NaN in a stays; f64x2.max is several instructions). */
  f64x2_pmax(): this {
    return this.simd(0xf7);
  }
  f64x2_abs(): this {
    return this.simd(0xec);
  }
  f64x2_ge(): this {
    return this.simd(0x4c);
  }
  f64x2_extract_lane(lane: number): this {
    this.simd(0x21);
    this.code.push(lane);
    return this;
  }
  /** Relaxed SIMD: a·b + c, fused where the hardware has FMA. Operands pushed a, b, c. */
  f32x4_relaxed_madd(): this {
    return this.simd(0x105);
  }

  /** The code-section entry of this function. */
  encode(): number[] {
    const body: number[] = [];
    // Locals, grouped in runs of one type.
    const groups: [number, ValType][] = [];
    for (const t of this.localTypes) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    uleb(groups.length, body);
    for (const [count, t] of groups) {
      uleb(count, body);
      body.push(VALTYPE[t]);
    }
    body.push(...this.code, 0x0b);
    const out: number[] = [];
    uleb(body.length, out);
    return out.concat(body);
  }
}

export interface MemoryImport {
  readonly module: string;
  readonly name: string;
  readonly initialPages: number;
  readonly maximumPages: number;
  readonly shared: boolean;
}

/** A module: an imported memory and functions, the exported ones by name. */
export class ModuleBuilder {
  private readonly functions: FunctionBuilder[] = [];
  private readonly exported = new Set<FunctionBuilder>();
  private readonly globals: number[] = [];

  constructor(private readonly memory: MemoryImport) {}

  /** Declares a function; its index (for `call`) is the order of declaration. */
  func(
    name: string,
    params: readonly ValType[],
    results: readonly ValType[],
    exported = true,
  ): FunctionBuilder {
    const f = new FunctionBuilder(name, params, results);
    this.functions.push(f);
    if (exported) this.exported.add(f);
    return f;
  }

  indexOf(f: FunctionBuilder): number {
    return this.functions.indexOf(f);
  }

  /**
   * Declares a mutable i32 global starting at `initial`; returns its index. Globals belong to an
   * instance, so on a shared memory each thread's instance has its own.
   */
  global(initial: number): number {
    this.globals.push(initial);
    return this.globals.length - 1;
  }

  encode(): Uint8Array<ArrayBuffer> {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const section = (id: number, content: number[]) => {
      out.push(id);
      uleb(content.length, out);
      for (const b of content) out.push(b);
    };
    // Types: one per function (duplicates are allowed and keep this simple).
    const types: number[] = [];
    uleb(this.functions.length, types);
    for (const f of this.functions) {
      types.push(0x60);
      uleb(f.params.length, types);
      for (const p of f.params) types.push(VALTYPE[p]);
      uleb(f.results.length, types);
      for (const r of f.results) types.push(VALTYPE[r]);
    }
    section(1, types);
    // Imports: the memory.
    const imports: number[] = [];
    uleb(1, imports);
    utf8(this.memory.module, imports);
    utf8(this.memory.name, imports);
    imports.push(0x02, this.memory.shared ? 0x03 : 0x01);
    uleb(this.memory.initialPages, imports);
    uleb(this.memory.maximumPages, imports);
    section(2, imports);
    // Functions: function i has type i.
    const funcs: number[] = [];
    uleb(this.functions.length, funcs);
    this.functions.forEach((_, i) => uleb(i, funcs));
    section(3, funcs);
    if (this.globals.length > 0) {
      const globals: number[] = [];
      uleb(this.globals.length, globals);
      for (const initial of this.globals) {
        globals.push(VALTYPE.i32, 0x01, 0x41); // mutable i32, init expr i32.const
        sleb(initial, globals);
        globals.push(0x0b);
      }
      section(6, globals);
    }
    // Exports.
    const exports: number[] = [];
    const list = this.functions.filter((f) => this.exported.has(f));
    uleb(list.length, exports);
    for (const f of list) {
      utf8(f.name, exports);
      exports.push(0x00);
      uleb(this.indexOf(f), exports);
    }
    section(7, exports);
    // Code.
    const code: number[] = [];
    uleb(this.functions.length, code);
    for (const f of this.functions) for (const b of f.encode()) code.push(b);
    section(10, code);
    return new Uint8Array(out);
  }
}
