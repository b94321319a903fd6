/**
 * The table's two hot loops as WebAssembly with f64x2 lanes (SIMD): pooling (weightedRowSum over a batch)
 * and the row-wise RMSprop update (updateSlots without a first moment). Each lane does the JS code's
 * float64 multiply and add, in the same order per element (rows in order), and rounds to float32 where the
 * JS code does, so the bits are the same (test/models/table-wasm.test.ts); wasm has no fused multiply-add
 * here. The module is a few hundred bytes, assembled below from its instructions: no toolchain.
 *
 * Everything the loops read or write lives in one WebAssembly.Memory: the table, its second moment, the
 * training matrix and the batch's scratch arrays (`TableMemory` hands out the views).
 */

// The few WebAssembly globals used (the project's lib settings do not declare them).
interface WasmMemory { readonly buffer: ArrayBuffer }
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: new (d: { initial: number }) => WasmMemory;
}
const WebAssembly = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

// Value types and the instructions used (WebAssembly core spec 2.0, with the fixed-width SIMD proposal).
const I32 = 0x7f, F64 = 0x7c, V128 = 0x7b;
const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
};
const str = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, 'utf8')];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const tee = (i: number) => [0x22, ...uleb(i)];
const i32c = (n: number) => [0x41, ...sleb(n)];
const i32 = { add: [0x6a], sub: [0x6b], mul: [0x6c], shl: [0x74], geu: [0x4f], load: (off = 0) => [0x28, 2, ...uleb(off)] };
const f32load = [0x2a, 2, 0];
const f64 = { add: [0xa0], mul: [0xa2], div: [0xa3], sqrt: [0x9f], promote: [0xbb], demote: [0xb6] };
const f32store = [0x38, 2, 0];
const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
const v = {
  load64zero: (off: number) => simd(0x5d, 3, ...uleb(off)),
  store64lane0: (off: number) => simd(0x5b, 3, ...uleb(off), 0),
  const0: simd(0x0c, ...new Array<number>(16).fill(0)),
  splat: simd(0x14),
  extract: (lane: number) => simd(0x21, lane),
  add: simd(0xf0),
  sub: simd(0xf1),
  mul: simd(0xf2),
  promoteLow: simd(0x5f),
  demoteZero: simd(0x5e),
};
const block = (body: number[]) => [0x02, 0x40, ...body, 0x0b];
const loop = (body: number[]) => [0x03, 0x40, ...body, 0x0b];
const brIf = (depth: number) => [0x0d, ...uleb(depth)];
const br = (depth: number) => [0x0c, ...uleb(depth)];
const call = (f: number) => [0x10, ...uleb(f)];

/** Columns summed per pass over an example's rows: 4 f64x2 accumulators, as the JS code's 8 registers. */
const BLOCK = 8;
const LANES = BLOCK / 2;

/**
 * A block of BLOCK columns of Σ w[p]·src[rows[p]·dim + d + k]: leaves the LANES accumulators in locals
 * acc..acc+LANES-1. Locals used: rows, w, p0, p1, src, dim (params 0–5), d (col), p, base, wp.
 */
function blockSum(L: { rows: number; w: number; p0: number; p1: number; src: number; dim: number; d: number; p: number; base: number; wp: number; acc: number }): number[] {
  const body: number[] = [];
  for (let k = 0; k < LANES; k++) body.push(...v.const0, ...set(L.acc + k));
  const inner = [
    ...get(L.p), ...get(L.p1), ...i32.geu, ...brIf(1),
    // wp = splat(w[p]); base = src + (rows[p]·dim + d)·4
    ...get(L.w), ...get(L.p), ...i32c(2), ...i32.shl, ...i32.add, ...f32load, ...f64.promote, ...v.splat, ...set(L.wp),
    ...get(L.src), ...get(L.rows), ...get(L.p), ...i32c(2), ...i32.shl, ...i32.add, ...i32.load(), ...get(L.dim), ...i32.mul, ...get(L.d), ...i32.add, ...i32c(2), ...i32.shl, ...i32.add, ...set(L.base),
  ];
  for (let k = 0; k < LANES; k++) {
    inner.push(...get(L.acc + k), ...get(L.wp), ...get(L.base), ...v.load64zero(8 * k), ...v.promoteLow, ...v.mul, ...v.add, ...set(L.acc + k));
  }
  inner.push(...get(L.p), ...i32c(1), ...i32.add, ...set(L.p), ...br(0));
  body.push(...get(L.p0), ...set(L.p), ...block(loop(inner)));
  return body;
}

/**
 * func 0 wsum(rows, w, p0, p1, src, dim, out): out[0..dim) ← Σ_p w[p]·src[rows[p]·dim ..], float32.
 * func 1 wsumSquares(same): the same into `out`, returning Σ out[d]² over the float32 values, d ascending.
 * Pointers are byte addresses; rows/w are indexed by p. dim must be a multiple of BLOCK.
 */
function wsumFunc(squares: boolean): { locals: number[][]; body: number[] } {
  const L = { rows: 0, w: 1, p0: 2, p1: 3, src: 4, dim: 5, out: 6, d: 7, p: 8, base: 9, wp: 10, acc: 11, x: 11 + LANES, gg: 12 + LANES };
  const perLane: number[] = [];
  for (let k = 0; k < LANES; k++) {
    // x = promote(demote(acc)): the float32 value; stored, and (for squares) its lanes added in order.
    perLane.push(...get(L.out), ...get(L.d), ...i32c(2), ...i32.shl, ...i32.add, ...get(L.acc + k), ...v.demoteZero, ...(squares ? [...tee(L.x)] : []), ...v.store64lane0(8 * k));
    if (squares) {
      for (const lane of [0, 1]) {
        perLane.push(...get(L.gg), ...get(L.x), ...v.promoteLow, ...v.extract(lane), ...get(L.x), ...v.promoteLow, ...v.extract(lane), ...f64.mul, ...f64.add, ...set(L.gg));
      }
    }
  }
  const body = [
    ...i32c(0), ...set(L.d),
    ...block(loop([
      ...get(L.d), ...get(L.dim), ...i32.geu, ...brIf(1),
      ...blockSum(L),
      ...perLane,
      ...get(L.d), ...i32c(BLOCK), ...i32.add, ...set(L.d), ...br(0),
    ])),
    ...(squares ? get(L.gg) : []),
  ];
  // locals after the 7 params: d, p, base (i32); wp, acc×LANES, x (v128); gg (f64)
  return { locals: [[3, I32], [2 + LANES, V128], [1, F64]], body };
}

/**
 * func 2 pool(order, n, offsets, rows, w, src, dim, out): wsum for examples order[0..n) into out[b·dim ..].
 */
function poolFunc(): { locals: number[][]; body: number[] } {
  const L = { order: 0, n: 1, offsets: 2, rows: 3, w: 4, src: 5, dim: 6, out: 7, b: 8, ex: 9 };
  const body = [
    ...i32c(0), ...set(L.b),
    ...block(loop([
      ...get(L.b), ...get(L.n), ...i32.geu, ...brIf(1),
      ...get(L.order), ...get(L.b), ...i32c(2), ...i32.shl, ...i32.add, ...i32.load(), ...i32c(2), ...i32.shl, ...get(L.offsets), ...i32.add, ...set(L.ex),
      ...get(L.rows), ...get(L.w), ...get(L.ex), ...i32.load(), ...get(L.ex), ...i32.load(4), ...get(L.src), ...get(L.dim),
      ...get(L.out), ...get(L.b), ...get(L.dim), ...i32.mul, ...i32c(2), ...i32.shl, ...i32.add,
      ...call(0),
      ...get(L.b), ...i32c(1), ...i32.add, ...set(L.b), ...br(0),
    ])),
  ];
  return { locals: [[2, I32]], body };
}

/**
 * func 3 rmsprop(s0, s1, touched, useStart, useExample, useWeight, dPooled, dim, table, v, rowGrad, step,
 * beta2, c2, epsilon): for each slot, the row's gradient and Σg² (wsumSquares), v[r] ← f32(β2·v[r] + c2·Σg²)
 * with c2 = (1 − β2)/dim, then table row −= (step / (√v[r] + ε))·g, as updateSlots does.
 */
function rmspropFunc(): { locals: number[][]; body: number[] } {
  const L = { s0: 0, s1: 1, touched: 2, useStart: 3, useEx: 4, useW: 5, dP: 6, dim: 7, table: 8, v: 9, g: 10, step: 11, beta2: 12, c2: 13, eps: 14, s: 15, r: 16, d: 17, at: 18, vr: 19, gg: 20, scale: 21 };
  const update = [
    // at = table + (r·dim + d)·4; table[at..at+8) = f32(t − scale·g) for both lanes
    ...get(L.table), ...get(L.r), ...get(L.dim), ...i32.mul, ...get(L.d), ...i32.add, ...i32c(2), ...i32.shl, ...i32.add, ...tee(L.at),
    ...get(L.at), ...v.load64zero(0), ...v.promoteLow,
    ...get(L.scale), ...v.splat, ...get(L.g), ...get(L.d), ...i32c(2), ...i32.shl, ...i32.add, ...v.load64zero(0), ...v.promoteLow, ...v.mul,
    ...v.sub, ...v.demoteZero, ...v.store64lane0(0),
    ...get(L.d), ...i32c(2), ...i32.add, ...set(L.d), ...br(0),
  ];
  const perSlot = [
    ...get(L.s), ...get(L.s1), ...i32.geu, ...brIf(1),
    ...get(L.touched), ...get(L.s), ...i32c(2), ...i32.shl, ...i32.add, ...i32.load(), ...set(L.r),
    ...get(L.useEx), ...get(L.useW),
    ...get(L.useStart), ...get(L.s), ...i32c(2), ...i32.shl, ...i32.add, ...i32.load(),
    ...get(L.useStart), ...get(L.s), ...i32c(2), ...i32.shl, ...i32.add, ...i32.load(4),
    ...get(L.dP), ...get(L.dim), ...get(L.g), ...call(1), ...set(L.gg),
    // v[r] = f32(β2·v[r] + c2·gg); vr its float64 value
    ...get(L.v), ...get(L.r), ...i32c(2), ...i32.shl, ...i32.add, ...tee(L.at),
    ...get(L.beta2), ...get(L.at), ...f32load, ...f64.promote, ...f64.mul, ...get(L.c2), ...get(L.gg), ...f64.mul, ...f64.add, ...f64.demote,
    ...f32store,
    ...get(L.at), ...f32load, ...f64.promote, ...set(L.vr),
    ...get(L.step), ...get(L.vr), ...f64.sqrt, ...get(L.eps), ...f64.add, ...f64.div, ...set(L.scale),
    ...i32c(0), ...set(L.d),
    ...block(loop([...get(L.d), ...get(L.dim), ...i32.geu, ...brIf(1), ...update])),
    ...get(L.s), ...i32c(1), ...i32.add, ...set(L.s), ...br(0),
  ];
  const body = [...get(L.s0), ...set(L.s), ...block(loop(perSlot))];
  return { locals: [[4, I32], [3, F64]], body };
}

function moduleBytes(): Uint8Array {
  const fn = (params: number[], results: number[]) => [0x60, ...vec(params.map((p) => [p])), ...vec(results.map((r) => [r]))];
  const types = [
    fn([I32, I32, I32, I32, I32, I32, I32], []),
    fn([I32, I32, I32, I32, I32, I32, I32], [F64]),
    fn([I32, I32, I32, I32, I32, I32, I32, I32], []),
    fn([I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, F64, F64, F64, F64], []),
  ];
  const funcs = [wsumFunc(false), wsumFunc(true), poolFunc(), rmspropFunc()];
  const code = funcs.map((f) => {
    const b = [...vec(f.locals.map(([n, t]) => [...uleb(n), t])), ...f.body, 0x0b];
    return [...uleb(b.length), ...b];
  });
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec([[...str('m'), ...str('memory'), 0x02, 0x00, 0x00]])),
    ...section(3, vec(funcs.map((_, i) => uleb(i)))),
    ...section(7, vec([[...str('pool'), 0x00, 2], [...str('rmsprop'), 0x00, 3]])),
    ...section(10, vec(code)),
  ]);
}

interface Exports {
  pool(order: number, n: number, offsets: number, rows: number, w: number, src: number, dim: number, out: number): void;
  rmsprop(s0: number, s1: number, touched: number, useStart: number, useExample: number, useWeight: number, dPooled: number, dim: number, table: number, v: number, rowGrad: number, step: number, beta2: number, c2: number, epsilon: number): void;
}

let compiled: object | undefined;

/** Whether this runtime runs the module (WebAssembly with SIMD; Node 16.4 and later do). */
export function tableWasmAvailable(): boolean {
  try {
    compiled ??= new WebAssembly.Module(moduleBytes());
    return true;
  } catch {
    return false;
  }
}

const PAGE = 65536;

/** One WebAssembly.Memory and the kernel instance over it; arrays are handed out once, in order. */
export class TableMemory {
  readonly memory: WasmMemory;
  readonly kernel: Exports;
  private used = 0;

  constructor(readonly bytes: number) {
    compiled ??= new WebAssembly.Module(moduleBytes());
    this.memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / PAGE) + 1 });
    this.kernel = new WebAssembly.Instance(compiled, { m: { memory: this.memory } }).exports as unknown as Exports;
  }

  private take(bytes: number): number {
    const at = this.used;
    this.used += Math.ceil(bytes / 16) * 16;
    if (this.used > this.memory.buffer.byteLength) throw new RangeError(`the table's wasm memory (${this.memory.buffer.byteLength} bytes) is too small`);
    return at;
  }

  f32(n: number): Float32Array {
    return new Float32Array(this.memory.buffer, this.take(n * 4), n);
  }

  i32(n: number): Int32Array {
    return new Int32Array(this.memory.buffer, this.take(n * 4), n);
  }

  u32(n: number): Uint32Array {
    return new Uint32Array(this.memory.buffer, this.take(n * 4), n);
  }
}

/** Bytes `TableMemory` takes for `n` elements of 4 bytes (aligned as it aligns them). */
export const wasmArrayBytes = (n: number): number => Math.ceil((n * 4) / 16) * 16;
