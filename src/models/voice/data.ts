/**
 * Training data for the voice trainer: picks the model's input kind, featurises every example once and
 * standardises with the training set's mean and standard deviation. An example that cannot be used (no
 * label, the other input kind, a wrong embedding length, undecodable audio) is skipped and counted with
 * its reason, never silently dropped and never allowed to fail the whole job.
 */
import { TrainingNoData } from '../../errors.js';
import { base64WavSampleRate } from '../audio/index.js';
import { audioConfigFor, type VoiceTuning } from './options.js';
import { AUDIO_FIELD, featurizerLength, inputKind, inputVector, type VoiceFeaturizer } from './input.js';
import type { Example } from '../types.js';

/** Reasons kept per split for the export's data summary; more would only repeat themselves. */
const MAX_REASONS_KEPT = 5;
/** A classifier that is to reject voices needs at least one other voice to learn from. */
const MIN_USERS = 2;
/** Standard deviations below this mark a constant feature: it is centred but not scaled. */
const MIN_STD = 1e-6;

export interface FeatureSet {
  /** [n, dim] row-major, standardised. */
  x: Float32Array;
  /** Label ids; -1 for a validation label the training set never had. */
  y: Int32Array;
  n: number;
}

export interface SkipSummary {
  count: number;
  /** The first few reasons, e.g. "input.audio must be mono, got 2 channels". */
  reasons: string[];
}

export interface VoiceData {
  featurizer: VoiceFeaturizer;
  labels: string[];
  dim: number;
  mean: Float32Array;
  std: Float32Array;
  train: FeatureSet;
  val: FeatureSet;
  skipped: { train: SkipSummary; validation: SkipSummary };
}

function skip(s: SkipSummary, reason: string): void {
  s.count += 1;
  if (s.reasons.length < MAX_REASONS_KEPT) s.reasons.push(reason);
}

function usable(ex: Example): boolean {
  return typeof ex.label === 'string' && ex.label !== '' && ex.input !== null && typeof ex.input === 'object';
}

/**
 * The featuriser for this training set: the input kind most training examples carry (audio on a tie);
 * for embeddings the most common length (the shorter on a tie), for audio a mel range every training
 * clip's rate can cover.
 */
function chooseFeaturizer(train: readonly Example[], tuning: VoiceTuning): VoiceFeaturizer {
  const lengths = new Map<number, number>();
  let audio = 0;
  let minRate = Infinity;
  for (const ex of train) {
    if (!usable(ex)) continue;
    const kind = inputKind(ex.input);
    if (kind === 'embedding' && Array.isArray(ex.input.audio_embedding)) {
      const len = ex.input.audio_embedding.length;
      lengths.set(len, (lengths.get(len) ?? 0) + 1);
    } else if (kind === 'audio') {
      audio += 1;
      try {
        minRate = Math.min(minRate, base64WavSampleRate(ex.input.audio, AUDIO_FIELD));
      } catch {
        // Counted when the example is featurised; it must not decide the mel range.
      }
    }
  }
  let bestLength = 0;
  let bestCount = 0;
  for (const [len, count] of lengths) {
    if (count > bestCount || (count === bestCount && len < bestLength)) [bestLength, bestCount] = [len, count];
  }
  const embeddings = [...lengths.values()].reduce((a, b) => a + b, 0);
  if (embeddings > audio && bestLength > 0) return { kind: 'embedding', length: bestLength };
  if (audio === 0 || minRate === Infinity) {
    throw TrainingNoData('voice', `none of ${train.length} training examples has a label and input.audio_embedding or decodable input.audio`);
  }
  return { kind: 'audio', audio: audioConfigFor(minRate, tuning) };
}

function featurise(examples: readonly Example[], f: VoiceFeaturizer, skipped: SkipSummary): { rows: Float32Array[]; labels: string[] } {
  const rows: Float32Array[] = [];
  const labels: string[] = [];
  for (const ex of examples) {
    if (!usable(ex)) {
      skip(skipped, `example ${ex.id}: expected_output.user is missing`);
      continue;
    }
    try {
      rows.push(inputVector(ex.input, f));
      labels.push(ex.label as string);
    } catch (err) {
      skip(skipped, `example ${ex.id}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { rows, labels };
}

/** Mean and standard deviation of each column, in float64 and a fixed order (bit-stable across runs). */
function moments(rows: readonly Float32Array[], dim: number): { mean: Float32Array; std: Float32Array } {
  const sum = new Float64Array(dim);
  for (const r of rows) for (let d = 0; d < dim; d++) sum[d] += r[d];
  const mean = Float64Array.from(sum, (s) => s / rows.length);
  const sq = new Float64Array(dim);
  for (const r of rows) for (let d = 0; d < dim; d++) sq[d] += (r[d] - mean[d]) ** 2;
  const std = Float64Array.from(sq, (s) => Math.sqrt(s / rows.length));
  return { mean: Float32Array.from(mean), std: Float32Array.from(std, (s) => (s < MIN_STD ? 1 : s)) };
}

/** Writes `(row - mean) / std` into `out` at `offset`: the one transformation training and serving share. */
export function standardise(row: ArrayLike<number>, mean: Float32Array, std: Float32Array, out: Float32Array, offset = 0): void {
  for (let d = 0; d < mean.length; d++) out[offset + d] = (row[d] - mean[d]) / std[d];
}

function toSet(rows: readonly Float32Array[], y: Int32Array, mean: Float32Array, std: Float32Array): FeatureSet {
  const dim = mean.length;
  const x = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => standardise(r, mean, std, x, i * dim));
  return { x, y, n: rows.length };
}

export function prepareVoiceData(train: readonly Example[], validation: readonly Example[], tuning: VoiceTuning): VoiceData {
  const featurizer = chooseFeaturizer(train, tuning);
  const skipped = { train: { count: 0, reasons: [] as string[] }, validation: { count: 0, reasons: [] as string[] } };
  const tr = featurise(train, featurizer, skipped.train);
  if (tr.rows.length === 0) throw TrainingNoData('voice', `all ${train.length} training examples were unusable: ${skipped.train.reasons.join('; ')}`);
  const va = featurise(validation, featurizer, skipped.validation);
  const labels = [...new Set(tr.labels)].sort();
  if (labels.length < MIN_USERS) {
    // One user gives a softmax that is always 1: every voice would be "authenticated" as that user.
    throw TrainingNoData('voice', `all ${tr.rows.length} usable training examples are of one user (${JSON.stringify(labels[0])}); telling voices apart needs examples of at least ${MIN_USERS} users`);
  }
  const id = new Map(labels.map((l, i) => [l, i]));
  const dim = featurizerLength(featurizer);
  const { mean, std } = moments(tr.rows, dim);
  return {
    featurizer,
    labels,
    dim,
    mean,
    std,
    train: toSet(tr.rows, Int32Array.from(tr.labels, (l) => id.get(l) as number), mean, std),
    val: toSet(va.rows, Int32Array.from(va.labels, (l) => id.get(l) ?? -1), mean, std),
    skipped,
  };
}
