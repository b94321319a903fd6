/**
 * One clip → one fixed-length vector: MFCCs with deltas and delta-deltas per frame, pooled into their
 * mean and standard deviation over the frames that are not silence. Statistics of short-term cepstra
 * describe the speaker's vocal tract and say little about the words, which is what speaker identification
 * wants from a short utterance (the classic "MFCC mean + std" speaker features).
 *
 * Plain float64 JS in a fixed order: training and every predictor compute bit-identical features.
 */
import { TrainingInvalidRequest } from '../../errors.js';
import { analysisPlan, type AnalysisPlan } from './filterbank.js';
import { featureLength, type AudioFeatureConfig } from './types.js';
import type { DecodedAudio } from './wav.js';

/** Floor under filter energies before the log: digital silence must give a finite (very low) value. */
const ENERGY_FLOOR = 1e-10;

/** The lowest sample rate whose Nyquist frequency covers the config's mel range. */
export function minSampleRate(c: AudioFeatureConfig): number {
  return Math.ceil(2 * c.maxHz);
}

/**
 * Per-frame cepstra into `cep` ([frames, mfcc]) and log energies into `logEnergy`. It returns nothing: V8
 * compiles this loop mid-run, and code after it that builds an object it has not seen built yet (the
 * result it used to return) threw that compiled code away on one clip in ten.
 */
function cepstra(x: Float32Array, n: number, plan: AnalysisPlan, c: AudioFeatureConfig, frames: number, cep: Float64Array, logEnergy: Float64Array): void {
  const { frameLength, hop, fftSize, window, filters, dct } = plan;
  const frame = new Float64Array(fftSize);
  const power = new Float64Array(fftSize / 2 + 1);
  const logMel = new Float64Array(c.melBands);
  for (let f = 0; f < frames; f++) {
    const start = f * hop;
    let energy = 0;
    for (let i = 0; i < frameLength; i++) {
      const at = start + i;
      // Frames past the end read as zeros. No pre-emphasis: its tilt depends on the sample rate (it would
      // make one voice look different at 8 and 16 kHz), and a fixed tilt only shifts cepstral means, which
      // standardisation removes anyway.
      const w = (at < n ? x[at] : 0) * window[i];
      frame[i] = w;
      energy += w * w;
    }
    frame.fill(0, frameLength);
    logEnergy[f] = Math.log(energy + ENERGY_FLOOR);
    plan.powerSpectrum(frame, power);
    for (let m = 0; m < filters.length; m++) {
      const { start: b0, weights } = filters[m];
      let e = 0;
      for (let k = 0; k < weights.length; k++) e += weights[k] * power[b0 + k];
      logMel[m] = Math.log(e + ENERGY_FLOOR);
    }
    for (let k = 0; k < c.mfcc; k++) {
      let s = 0;
      const row = k * c.melBands;
      for (let m = 0; m < c.melBands; m++) s += dct[row + m] * logMel[m];
      cep[f * c.mfcc + k] = s;
    }
  }
}

/** Regression deltas over ±width frames, edges clamped (as HTK and librosa's 'nearest' mode do), into `out`. */
function deltas(v: Float64Array, frames: number, dim: number, width: number, out: Float64Array): Float64Array {
  let norm = 0;
  for (let k = 1; k <= width; k++) norm += 2 * k * k;
  for (let t = 0; t < frames; t++) {
    for (let d = 0; d < dim; d++) {
      let s = 0;
      for (let k = 1; k <= width; k++) {
        const ahead = Math.min(frames - 1, t + k);
        const behind = Math.max(0, t - k);
        s += k * (v[ahead * dim + d] - v[behind * dim + d]);
      }
      out[t * dim + d] = s / norm;
    }
  }
  return out;
}

/** Mean and standard deviation of each column of `v` over the frames in `keep`, written at `at` and `at + dim`. */
function pool(v: Float64Array, dim: number, keep: readonly number[], out: Float32Array, at: number): void {
  for (let d = 0; d < dim; d++) {
    let sum = 0;
    for (const t of keep) sum += v[t * dim + d];
    const mean = sum / keep.length;
    let sq = 0;
    for (const t of keep) sq += (v[t * dim + d] - mean) ** 2;
    out[at + d] = mean;
    out[at + dim + d] = Math.sqrt(sq / keep.length);
  }
}

/** Per-clip work arrays, kept between clips (featurising is synchronous): a training set is hundreds of clips. */
let scratch = { cep: new Float64Array(0), d1: new Float64Array(0), d2: new Float64Array(0), logEnergy: new Float64Array(0) };

function scratchFor(frames: number, dim: number): typeof scratch {
  if (scratch.logEnergy.length < frames || scratch.cep.length < frames * dim) {
    // Grown to the longest clip seen, up to maxSeconds of frames; every element used is written before it is read.
    const size = Math.max(frames, 2 * scratch.logEnergy.length);
    scratch = { cep: new Float64Array(size * dim), d1: new Float64Array(size * dim), d2: new Float64Array(size * dim), logEnergy: new Float64Array(size) };
  }
  return scratch;
}

/**
 * The feature vector of one decoded clip (length `featureLength(c)`, blocks in FEATURE_BLOCKS order).
 * Throws TrainingInvalidRequest naming `field` when the clip's rate cannot cover the mel range.
 */
export function audioFeatures(audio: DecodedAudio, c: AudioFeatureConfig, field: string): Float32Array {
  const { sampleRate, samples } = audio;
  if (sampleRate < minSampleRate(c)) {
    throw TrainingInvalidRequest(
      `${field} sample rate ${sampleRate} Hz is too low: this model analyses up to ${c.maxHz} Hz, which needs at least ${minSampleRate(c)} Hz`,
    );
  }
  const plan = analysisPlan(sampleRate, c);
  const n = Math.min(samples.length, Math.round(c.maxSeconds * sampleRate));
  const frames = n <= plan.frameLength ? 1 : 1 + Math.floor((n - plan.frameLength) / plan.hop);
  const s = scratchFor(frames, c.mfcc);
  const [cep, d1, d2] = [s.cep, s.d1, s.d2].map((a) => a.subarray(0, frames * c.mfcc));
  const logEnergy = s.logEnergy.subarray(0, frames);
  cepstra(samples, n, plan, c, frames, cep, logEnergy);
  deltas(cep, frames, c.mfcc, c.deltaWidth, d1);
  deltas(d1, frames, c.mfcc, c.deltaWidth, d2);
  let loudest = -Infinity;
  for (const e of logEnergy) loudest = Math.max(loudest, e);
  // vadDb is a power ratio in dB; log energies are natural logs of power.
  const floor = loudest - (c.vadDb / 10) * Math.LN10;
  const keep: number[] = [];
  for (let t = 0; t < frames; t++) if (logEnergy[t] >= floor) keep.push(t);
  const out = new Float32Array(featureLength(c));
  pool(cep, c.mfcc, keep, out, 0);
  pool(d1, c.mfcc, keep, out, 2 * c.mfcc);
  pool(d2, c.mfcc, keep, out, 4 * c.mfcc);
  return out;
}
