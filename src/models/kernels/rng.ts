/**
 * The one seeded generator every random choice of a job draws from (initial weights, shuffling,
 * dropout). Its whole state is four 32-bit words, saved in each checkpoint, so a resumed job continues
 * the exact same sequence. Algorithm: sfc32 (small, fast, passes PractRand), seeded through splitmix32.
 */
export type RngState = [number, number, number, number];

const TWO_TO_MINUS_23 = 2 ** -23;
/** Normals per call of fillNormalRange. */
const NORMAL_CHUNK = 256;
/** Where the ziggurat's base layer ends and its tail starts, and each layer's area (Marsaglia & Tsang 2000, 256 layers). */
const ZIGGURAT_R = 3.6541528853610088;
const ZIGGURAT_V = 0.00492867323399;

/**
 * Layer edges of the ziggurat under f(x) = exp(−x²/2): layer i is [0, X[i]] × [F[i], F[i+1]] with F = f(X),
 * each of area ZIGGURAT_V; X[0] is the base layer's width as if its tail were a rectangle, X[256] = 0.
 */
const ZIGGURAT = ((): { X: Float64Array; F: Float64Array } => {
  const f = (x: number): number => Math.exp(-0.5 * x * x);
  const X = new Float64Array(257);
  const F = new Float64Array(257);
  X[0] = ZIGGURAT_V / f(ZIGGURAT_R);
  X[1] = ZIGGURAT_R;
  for (let i = 1; i < 255; i++) X[i + 1] = Math.sqrt(-2 * Math.log(ZIGGURAT_V / X[i] + f(X[i])));
  X[256] = 0;
  for (let i = 0; i <= 256; i++) F[i] = f(X[i]);
  F[0] = 0;
  return { X, F };
})();

export class Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  constructor(seed: number | RngState = 42) {
    if (Array.isArray(seed)) {
      this.setState(seed);
    } else {
      let s = seed >>> 0;
      const split = () => {
        s = (s + 0x9e3779b9) >>> 0;
        let z = s;
        z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
        z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
        return (z ^ (z >>> 16)) >>> 0;
      };
      this.a = split();
      this.b = split();
      this.c = split();
      this.d = split();
      for (let i = 0; i < 12; i++) this.nextUint32();
    }
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box–Muller; draws two uniforms every call so the sequence stays simple to restore). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /**
   * Fills `out[0..count)` with standard normals by the ziggurat method (Marsaglia & Tsang, 256 layers):
   * one 32-bit draw per value in ~99 % of cases — its low 8 bits pick the layer, the other 24 the signed
   * position — and a logarithm or exponential only in the rest (the wedges and the tail beyond r ≈ 3.654).
   * ~5× faster than the polar method it replaced (voice draws 3,840 per training step: ~90 → ~18 µs); its
   * own sequence, not normal()'s. It keeps no spare value, so the generator's state alone restores it.
   */
  fillNormal(out: Float32Array | Float64Array, count = out.length): void {
    // In chunks: V8 optimises a short loop called often by its calls. One long loop was compiled mid-run,
    // without feedback for the code after it, and that compiled code bailed out at the loop's exit call
    // after call (~50 times in a voice job's first epochs).
    for (let start = 0; start < count; start += NORMAL_CHUNK) this.fillNormalRange(out, start, Math.min(count, start + NORMAL_CHUNK));
  }

  private fillNormalRange(out: Float32Array | Float64Array, from: number, to: number): void {
    const { X } = ZIGGURAT;
    // sfc32 inlined on locals (nextUint32's exact sequence): a method call per value cost more than the rest.
    let a = this.a | 0;
    let b = this.b | 0;
    let c = this.c | 0;
    let d = this.d | 0;
    for (let i = from; i < to; ) {
      const t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (((c << 21) | (c >>> 11)) + t) | 0;
      const layer = t & 255;
      // The top 24 bits as a signed number: sign and position in one, no branch on the sign.
      const x = (t >> 8) * TWO_TO_MINUS_23 * X[layer];
      if (Math.abs(x) < X[layer + 1]) {
        out[i++] = x;
        continue;
      }
      this.a = a;
      this.b = b;
      this.c = c;
      this.d = d;
      const value = this.zigguratEdge(layer, Math.abs(x));
      a = this.a | 0;
      b = this.b | 0;
      c = this.c | 0;
      d = this.d | 0;
      if (value === value) out[i++] = x < 0 ? -value : value;
    }
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
  }

  /** The ziggurat's rare cases: a value from the tail (layer 0), or `x` if it falls under the curve in its wedge, else NaN (draw again). */
  private zigguratEdge(layer: number, x: number): number {
    if (layer === 0) {
      let tx: number;
      let ty: number;
      do {
        tx = -Math.log(1 - this.next()) / ZIGGURAT_R;
        ty = -Math.log(1 - this.next());
      } while (ty + ty < tx * tx);
      return ZIGGURAT_R + tx;
    }
    const { F } = ZIGGURAT;
    return F[layer] + this.next() * (F[layer + 1] - F[layer]) < Math.exp(-0.5 * x * x) ? x : NaN;
  }

  /**
   * out[i] = (2 · next() − 1) · limit for every i, in order: the very values a loop over next() gives,
   * with the generator's state in locals (a large table's initialisation was ~0.1 s through next()).
   */
  fillUniform(out: Float32Array, limit: number): void {
    let { a, b, c, d } = this;
    for (let i = 0; i < out.length; i++) {
      const t = (((a + b) | 0) + d) | 0;
      d = (d + 1) | 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) | 0;
      c = (c << 21) | (c >>> 11);
      c = (c + t) | 0;
      out[i] = (2 * ((t >>> 0) / 4294967296) - 1) * limit;
    }
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
  }

  /** A 32-bit seed for libraries that take one (e.g. a native library's initializers). */
  seed(): number {
    return this.nextUint32();
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(items: T[] | Uint32Array | Int32Array): typeof items {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }

  getState(): RngState {
    return [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0];
  }

  setState(s: RngState): void {
    if (!Array.isArray(s) || s.length !== 4 || !s.every((x) => Number.isInteger(x))) {
      throw new TypeError(`rng state must be four 32-bit integers, got ${JSON.stringify(s)}`);
    }
    [this.a, this.b, this.c, this.d] = s.map((x) => x | 0) as RngState;
  }
}
