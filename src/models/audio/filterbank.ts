/**
 * The per-sample-rate analysis plan: frame and FFT sizes, the window, mel filters placed in Hz (so the
 * same band means the same thing at 8 kHz and at 48 kHz, with no resampling), and the DCT that turns log
 * mel energies into cepstra. A plan is pure data built once per (rate, config) and reused for every clip.
 */
import FFT from 'fft.js';
import type { AudioFeatureConfig } from './types.js';

/** One triangular mel filter over the FFT bins `start .. start + weights.length - 1`. */
export interface MelFilter {
  start: number;
  weights: Float64Array;
}

export interface AnalysisPlan {
  sampleRate: number;
  frameLength: number;
  hop: number;
  fftSize: number;
  window: Float64Array;
  filters: MelFilter[];
  /** [mfcc, melBands] row-major, orthonormal DCT-II rows. */
  dct: Float64Array;
  /** Power spectrum of one real frame of `fftSize` samples into `out` (bins 0..fftSize/2). */
  powerSpectrum(frame: Float64Array, out: Float64Array): void;
}

export function hzToMel(hz: number): number {
  return 2595 * Math.log10(1 + hz / 700);
}

export function melToHz(mel: number): number {
  return 700 * (10 ** (mel / 2595) - 1);
}

function nextPow2(n: number): number {
  let p = 4;
  while (p < n) p *= 2;
  return p;
}

/** The subset of fft.js used here, typed: its own declaration file types everything as `any`. */
interface RealFft {
  createComplexArray(): number[];
  realTransform(out: number[], input: ArrayLike<number>): void;
}

function melFilters(sampleRate: number, fftSize: number, c: AudioFeatureConfig): MelFilter[] {
  const lo = hzToMel(c.minHz);
  const hi = hzToMel(c.maxHz);
  const edges = Array.from({ length: c.melBands + 2 }, (_, i) => melToHz(lo + ((hi - lo) * i) / (c.melBands + 1)));
  const binHz = sampleRate / fftSize;
  const half = fftSize / 2;
  const filters: MelFilter[] = [];
  for (let m = 0; m < c.melBands; m++) {
    const [left, centre, right] = [edges[m], edges[m + 1], edges[m + 2]];
    const first = Math.max(0, Math.ceil(left / binHz));
    const last = Math.min(half, Math.floor(right / binHz));
    const weights: number[] = [];
    for (let k = first; k <= last; k++) {
      const f = k * binHz;
      weights.push(Math.max(0, Math.min((f - left) / (centre - left), (right - f) / (right - centre))));
    }
    // A filter narrower than one bin would always read zero: give it the bin nearest its centre instead.
    if (!weights.some((w) => w > 0)) filters.push({ start: Math.min(half, Math.round(centre / binHz)), weights: Float64Array.of(1) });
    else filters.push({ start: first, weights: Float64Array.from(weights) });
  }
  return filters;
}

function dctMatrix(coeffs: number, bands: number): Float64Array {
  const d = new Float64Array(coeffs * bands);
  for (let k = 0; k < coeffs; k++) {
    const scale = Math.sqrt((k === 0 ? 1 : 2) / bands);
    for (let m = 0; m < bands; m++) d[k * bands + m] = scale * Math.cos((Math.PI * k * (m + 0.5)) / bands);
  }
  return d;
}

export function createAnalysisPlan(sampleRate: number, c: AudioFeatureConfig): AnalysisPlan {
  const frameLength = Math.max(2, Math.round((sampleRate * c.frameMs) / 1000));
  const hop = Math.max(1, Math.round((sampleRate * c.hopMs) / 1000));
  const fftSize = nextPow2(frameLength);
  // Hamming: the usual window for MFCCs; its side lobes are low enough for 40 bands.
  const window = Float64Array.from({ length: frameLength }, (_, i) => 0.54 - 0.46 * Math.cos((2 * Math.PI * i) / (frameLength - 1)));
  const fft = new FFT(fftSize) as unknown as RealFft;
  const spectrum = fft.createComplexArray();
  // Parseval: the bins sum to fftSize · Σ(x·w)². Dividing by fftSize · Σw² makes a band's energy the mean
  // power of the signal in that band, the same number whatever the rate, frame length or zero-padding.
  const scale = 1 / (fftSize * window.reduce((s, w) => s + w * w, 0));
  return {
    sampleRate,
    frameLength,
    hop,
    fftSize,
    window,
    filters: melFilters(sampleRate, fftSize, c),
    dct: dctMatrix(c.mfcc, c.melBands),
    powerSpectrum(frame, out) {
      fft.realTransform(spectrum, frame);
      for (let k = 0; k <= fftSize / 2; k++) out[k] = scale * (spectrum[2 * k] ** 2 + spectrum[2 * k + 1] ** 2);
    },
  };
}

/** Plans by rate and config key; a service sees a handful of rates, so this stays tiny. */
const plans = new Map<string, AnalysisPlan>();
const MAX_CACHED_PLANS = 32;

export function analysisPlan(sampleRate: number, c: AudioFeatureConfig): AnalysisPlan {
  const key = `${sampleRate}|${c.frameMs}|${c.hopMs}|${c.melBands}|${c.mfcc}|${c.minHz}|${c.maxHz}`;
  let plan = plans.get(key);
  if (!plan) {
    if (plans.size >= MAX_CACHED_PLANS) plans.clear();
    plan = createAnalysisPlan(sampleRate, c);
    plans.set(key, plan);
  }
  return plan;
}
