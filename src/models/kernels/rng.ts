/**
 * The one seeded generator every random choice of a job draws from (initial weights, shuffling,
 * dropout). Its whole state is four 32-bit words, saved in each checkpoint, so a resumed job continues
 * the exact same sequence. Algorithm: sfc32 (small, fast, passes PractRand), seeded through splitmix32.
 */
export type RngState = [number, number, number, number];

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
   * Fills `out[0..count)` with standard normals by Marsaglia's polar method: two per accepted pair of
   * uniforms, with one logarithm and one square root and no trigonometry (~2× normal() per element). Its
   * own sequence, not normal()'s; it keeps no spare value, so the generator's state alone restores it.
   */
  fillNormal(out: Float32Array | Float64Array, count = out.length): void {
    let i = 0;
    while (i < count) {
      let u: number;
      let v: number;
      let s: number;
      do {
        u = 2 * this.next() - 1;
        v = 2 * this.next() - 1;
        s = u * u + v * v;
      } while (s >= 1 || s === 0);
      const m = Math.sqrt((-2 * Math.log(s)) / s);
      out[i++] = u * m;
      if (i < count) out[i++] = v * m;
    }
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
