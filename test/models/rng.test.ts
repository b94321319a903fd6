/**
 * The job generator's normals (fillNormal, the ziggurat): the standard normal distribution, checked on a
 * million draws, and a sequence the generator's state alone restores.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/models/kernels/rng.js';

/** Φ(x) by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7). */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

describe('Rng.fillNormal', () => {
  const n = 1_000_000;
  const draws = new Float64Array(n);
  new Rng(2024).fillNormal(draws);

  it('has the moments of a standard normal', () => {
    let mean = 0;
    for (const x of draws) mean += x;
    mean /= n;
    let variance = 0;
    let fourth = 0;
    for (const x of draws) {
      variance += (x - mean) ** 2;
      fourth += (x - mean) ** 4;
    }
    variance /= n;
    // Standard errors at n = 1e6: mean 0.001, variance 0.0014, kurtosis 0.01; the bounds are ~5 of them.
    expect(Math.abs(mean)).toBeLessThan(0.005);
    expect(Math.abs(variance - 1)).toBeLessThan(0.007);
    expect(Math.abs(fourth / n / variance ** 2 - 3)).toBeLessThan(0.05);
  });

  it('follows the normal distribution function (Kolmogorov–Smirnov) and reaches into both tails', () => {
    const sorted = draws.slice().sort();
    let ks = 0;
    for (let i = 0; i < n; i++) {
      const p = normalCdf(sorted[i]);
      ks = Math.max(ks, Math.abs(p - i / n), Math.abs(p - (i + 1) / n));
    }
    // The 0.1 % critical value is 1.95/√n.
    expect(ks).toBeLessThan(1.95 / Math.sqrt(n));
    // Beyond the base layer's edge r ≈ 3.654 (the tail sampler): 2·(1 − Φ(r)) ≈ 2.58e-4, ~258 of a million.
    const beyond = draws.filter((x) => Math.abs(x) > 3.6541528853610088).length;
    expect(beyond).toBeGreaterThan(180);
    expect(beyond).toBeLessThan(340);
    expect(sorted[0]).toBeLessThan(-4.3);
    expect(sorted[n - 1]).toBeGreaterThan(4.3);
  });

  it('draws the tail beyond r ≈ 3.654 as often and as far out as the normal distribution does', () => {
    // Tail samples come from their own sampler; 20 million draws give ~5,200 of them.
    const r = 3.6541528853610088;
    const rng = new Rng(77);
    const chunk = new Float64Array(1_000_000);
    let count = 0;
    let excess = 0;
    for (let k = 0; k < 20; k++) {
      rng.fillNormal(chunk);
      for (const x of chunk) {
        if (Math.abs(x) > r) {
          count++;
          excess += Math.abs(x) - r;
        }
      }
    }
    const tail = 1 - normalCdf(r);
    const expected = 2 * tail * 20_000_000;
    expect(Math.abs(count - expected)).toBeLessThan(5 * Math.sqrt(expected));
    // E[X − r | X > r] = φ(r)/(1 − Φ(r)) − r ≈ 0.252; its standard error here is ~0.0035.
    const phi = Math.exp(-r * r / 2) / Math.sqrt(2 * Math.PI);
    expect(Math.abs(excess / count - (phi / tail - r))).toBeLessThan(0.012);
  });

  it('is restored by the generator state alone: split fills and a resumed generator continue the same sequence', () => {
    const whole = new Float32Array(5000);
    new Rng(9).fillNormal(whole);
    const rng = new Rng(9);
    const parts = new Float32Array(5000);
    rng.fillNormal(parts.subarray(0, 1234));
    const resumed = new Rng(1);
    resumed.setState(rng.getState());
    resumed.fillNormal(parts.subarray(1234), 3766);
    expect(parts).toEqual(whole);
  });
});
