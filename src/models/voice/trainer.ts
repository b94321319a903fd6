/**
 * The voice trainer: speaker identification with a calibrated `authenticated` decision.
 *
 * Input is either a speaker embedding (`input.audio_embedding`, used as is) or a base64 PCM16 mono WAV
 * (`input.audio`) turned into pooled MFCC statistics in plain JS (src/models/audio). Features are
 * standardised with the training set's mean and standard deviation; a small dense network (one ReLU layer
 * by default) gives softmax scores over the enrolled users. Training adds Gaussian noise to the
 * standardised features (drawn from the job's Rng) — on a few hundred clips per user it is the regulariser
 * that keeps held-out accuracy at the training accuracy. The learning rate decays linearly over the
 * planned epochs so the last epoch is also the best one. Training steps (forward, backward, Adam) run in
 * onnxruntime, up to 16 of them per run: a Loop graph over stacked batches (dense-head-ort.ts,
 * src/models/graph), the same bits as one run per step; the checkpoint holds the same weights and Adam
 * moments as before, so the state format is unchanged.
 *
 * The threshold for `authenticated` is fitted on the validation split at export (voice-calibration.ts);
 * the export holds it with its false-accept and false-reject rates (model.json and calibration.json).
 *
 * Measured on all of FSDD's train split (6 speakers, 2,700 clips, 10 epochs; test/fixtures/voice-fsdd-measure.mjs,
 * before data/voice-fsdd kept only a 600-clip slice):
 * held-out accuracy 0.992–1.0 on three speaker-stratified splits, FAR/FRR 5–6.5 % at the calibrated
 * threshold, under 1 s CPU to featurise and about 0.5 s CPU to train (the onnxruntime step: 0.45–0.49 s on
 * the three splits against 0.51–0.60 s for the TF.js step it replaced, with the same accuracy, threshold
 * and error rates to the last digit).
 */
import { fingerprintOf, linearDecay } from '../kernels/schedule.js';
import { TrainingInvalidRequest } from '../../errors.js';
import type { Rng } from '../kernels/rng.js';
import { initHeadWeights } from '../kernels/dense-head-weights.js';
import { OrtDenseHead } from '../kernels/dense-head-ort.js';
import { calibrate, type VoiceCalibration } from './calibration.js';
import { prepareVoiceData, type FeatureSet, type VoiceData } from './data.js';
import { readVoiceState, writeVoiceModel, writeVoiceState, type VoiceDataSummary } from './files.js';
import { EVAL_BATCH_SIZE, LR_FLOOR, resolveVoiceSettings, type VoiceSettings, type VoiceTuning } from './options.js';
import { estimateVoiceMemory } from './memory.js';
import { denseLogits, loadVoicePredictor } from './predictor.js';
import type { EpochMetrics, Example, ModelTrainer, TrainerModule, TrainerOptions } from '../types.js';
import { classifierEpochMetrics } from '../kernels/dense-step.js';

/**
 * onnxruntime intra-op threads for the voice step. One: a 120-128-6 step at batch 32 is a few microseconds
 * of arithmetic, and a second thread's hand-off costs more than it saves (docs/decisions.md).
 */
const ORT_THREADS = 1;

/**
 * Training steps per onnxruntime run: one run costs ~100 µs of crossing and copying whatever it holds, a
 * 120-128-6 step at batch 32 ~90 µs (docs/decisions.md), so several steps share one crossing. Capped by
 * rows so the stacked batches stay small (16 × 32 rows × 120 features: 245 KB) and a cancel is seen
 * within a few milliseconds; a batch of 1,024 rows or more runs alone.
 */
const MAX_STEPS_PER_RUN = 16;
const MAX_ROWS_PER_RUN = 1024;
const stepsPerRun = (batchSize: number): number => Math.max(1, Math.min(MAX_STEPS_PER_RUN, Math.floor(MAX_ROWS_PER_RUN / batchSize)));

/** What a finished (or running) voice trainer can tell about its data and calibration. */
export interface VoiceTrainerSummary extends VoiceDataSummary {
  input: VoiceData['featurizer'];
  labels: string[];
  /** Wall-clock seconds init spent decoding and featurising. */
  feature_seconds: number;
  /** Set once exportModel has run. */
  calibration: VoiceCalibration | null;
}

interface Ready {
  data: VoiceData;
  settings: VoiceSettings;
  head: OrtDenseHead;
  layerSizes: number[];
  fingerprint: string;
}

export class VoiceTrainer implements ModelTrainer {
  readonly modelType = 'voice' as const;
  private state?: Ready;
  private step = 0;
  private batchX = new Float32Array(0);
  /** Standard normals for one batch of input noise. */
  private noise = new Float64Array(0);
  private batchY = new Int32Array(0);
  private learningRates = new Float64Array(0);
  private stepsPerRun = 1;
  private busy = false;
  private featureSeconds = 0;
  private calibration: VoiceCalibration | null = null;

  constructor(private readonly tuning: VoiceTuning = {}) {}

  async init(train: Example[], validation: Example[], options: TrainerOptions, rng: Rng): Promise<void> {
    if (this.state) throw TrainingInvalidRequest('init was already called on this voice trainer');
    const settings = resolveVoiceSettings(options, this.tuning);
    const t0 = performance.now();
    const data = prepareVoiceData(train, validation, this.tuning);
    this.featureSeconds = (performance.now() - t0) / 1000;
    const layerSizes = [data.dim, ...settings.hidden, data.labels.length];
    const weights = initHeadWeights(layerSizes, rng);
    const head = await OrtDenseHead.create(layerSizes, weights, settings.adam, { threads: ORT_THREADS });
    this.state = { data, settings, head, layerSizes, fingerprint: fingerprint(settings, data, layerSizes) };
    this.stepsPerRun = stepsPerRun(settings.batchSize);
    this.batchX = new Float32Array(this.stepsPerRun * settings.batchSize * data.dim);
    this.noise = new Float64Array(settings.batchSize * data.dim);
    this.batchY = new Int32Array(this.stepsPerRun * settings.batchSize);
    this.learningRates = new Float64Array(this.stepsPerRun);
  }

  private ready(): Ready {
    if (!this.state) throw TrainingInvalidRequest('the voice trainer was not initialised (call init first) or was disposed');
    return this.state;
  }

  async runEpoch(_epoch: number, rng: Rng, shouldStop: () => boolean): Promise<EpochMetrics> {
    const { data, settings, head } = this.ready();
    if (this.busy) throw TrainingInvalidRequest('an epoch is already running on this voice trainer');
    this.busy = true;
    try {
      const { n, x, y } = data.train;
      const dim = data.dim;
      const order = rng.shuffle(Uint32Array.from({ length: n }, (_, i) => i)) as Uint32Array;
      const stepsPlanned = settings.epochs * Math.ceil(n / settings.batchSize);
      const scale = settings.inputNoise;
      const batch = settings.batchSize;
      const { batchX, batchY, noise, learningRates } = this;
      let samples = 0;
      let stopped = false;
      let start = 0;
      while (start < n && !stopped) {
        // Up to stepsPerRun full batches go to onnxruntime in one run; the epoch's last, shorter one alone.
        const count = Math.min(batch, n - start);
        const first = this.step + 1;
        let k = 0;
        do {
          rng.fillNormal(noise, count * dim);
          fillBatch(batchX, batchY, k * count, x, y, order, start, count, dim, noise, scale);
          this.step += 1;
          learningRates[k] = settings.adam.learningRate * linearDecay(this.step, stepsPlanned, LR_FLOOR);
          k += 1;
          start += count;
        } while (k < this.stepsPerRun && count === batch && n - start >= batch);
        // The input is fixed features, not a learnt layer: no gradient w.r.t. it.
        await head.trainSteps(batchX, k, count, batchY, settings.adam, learningRates, first);
        samples += k * count;
        stopped = shouldStop();
      }
      const trained = head.takeTotals();
      // A stopped epoch is discarded by the caller; skip the validation pass so a cancel is quick.
      const val = stopped ? { loss: NaN, accuracy: NaN } : await evaluate(head, data.val, dim);
      return classifierEpochMetrics(trained, samples, val);
    } finally {
      this.busy = false;
    }
  }

  async saveState(dir: string): Promise<void> {
    const { head, layerSizes, fingerprint: fp } = this.ready();
    await writeVoiceState(dir, { step: this.step, fingerprint: fp, layerSizes, head: head.getState() });
  }

  async loadState(dir: string): Promise<void> {
    const { head, layerSizes, fingerprint: fp } = this.ready();
    const s = await readVoiceState(dir, fp, layerSizes);
    head.setState(s.head);
    this.step = s.step;
  }

  /** Calibrates the threshold on the validation split (the training set when it is empty) and writes the export. */
  async exportModel(dir: string): Promise<void> {
    const { data, settings, head, layerSizes } = this.ready();
    const weights = head.getWeights();
    const on = data.val.n > 0 ? data.val : data.train;
    const logits = Array.from({ length: on.n }, (_, i) => denseLogits(layerSizes, weights, on.x.subarray(i * data.dim, (i + 1) * data.dim)));
    this.calibration = calibrate(logits, on.y, data.val.n > 0 ? 'validation' : 'train');
    const model = { architecture: settings.architecture, labels: data.labels, featurizer: data.featurizer, mean: data.mean, std: data.std, layerSizes, head: weights, calibration: this.calibration };
    await writeVoiceModel(dir, model, this.dataSummary(data));
  }

  private dataSummary(data: VoiceData): VoiceDataSummary {
    return { train: data.train.n, validation: data.val.n, skipped: data.skipped };
  }

  /** Data counts, featurisation time and (after export) the calibration: the figures a version's manifest reports. */
  summary(): VoiceTrainerSummary {
    const { data } = this.ready();
    return { ...this.dataSummary(data), input: data.featurizer, labels: data.labels, feature_seconds: this.featureSeconds, calibration: this.calibration };
  }

  dispose(): void {
    this.state?.head.dispose();
    this.state = undefined;
  }
}

/**
 * Rows `order[start .. start + count)` of `x` plus `scale` × `noise` into `batchX` from row `at`, their
 * labels into `batchY`. A function of its own so V8 optimises it by its calls (inlined in runEpoch's
 * loop it was compiled mid-loop and bailed out at the loop's exit, batch after batch).
 */
function fillBatch(batchX: Float32Array, batchY: Int32Array, at: number, x: Float32Array, y: Int32Array, order: Uint32Array, start: number, count: number, dim: number, noise: Float64Array, scale: number): void {
  for (let b = 0; b < count; b++) {
    const row = order[start + b] * dim;
    const o = b * dim;
    const out = (at + b) * dim;
    for (let d = 0; d < dim; d++) batchX[out + d] = x[row + d] + scale * noise[o + d];
    batchY[at + b] = y[order[start + b]];
  }
}

/** Loss (over known users) and accuracy (over all) of a feature set; NaN when it is empty. */
async function evaluate(head: OrtDenseHead, set: FeatureSet, dim: number): Promise<{ loss: number; accuracy: number }> {
  if (set.n === 0) return { loss: NaN, accuracy: NaN };
  for (let start = 0; start < set.n; start += EVAL_BATCH_SIZE) {
    const count = Math.min(EVAL_BATCH_SIZE, set.n - start);
    await head.evaluate(set.x.subarray(start * dim), count, set.y.subarray(start));
  }
  const t = head.takeTotals();
  const known = set.y.reduce((k, y) => k + (y >= 0 ? 1 : 0), 0);
  return { loss: known > 0 ? t.lossSum / known : NaN, accuracy: t.correct / set.n };
}

/** Identifies settings + data, so a checkpoint is never loaded into a different model. */
function fingerprint(settings: VoiceSettings, data: VoiceData, layerSizes: readonly number[]): string {
  return fingerprintOf(
    { a: settings.architecture, noise: settings.inputNoise, batch: settings.batchSize, input: data.featurizer, labels: data.labels, layerSizes },
    [data.mean, data.std, data.train.x, data.train.y],
  );
}

/** A fresh voice trainer; `tuning` overrides knobs the job options do not carry (tests, experiments). */
export function createVoiceTrainer(tuning: VoiceTuning = {}): VoiceTrainer {
  return new VoiceTrainer(tuning);
}

export const voiceTrainerModule: TrainerModule = {
  modelType: 'voice',
  createTrainer: () => createVoiceTrainer(),
  loadPredictor: loadVoicePredictor,
  estimateMemory: estimateVoiceMemory,
};

export { VOICE_DEFAULTS, AUDIO_FEATURE_DEFAULTS } from './options.js';
export type { VoiceTuning } from './options.js';
export type { VoiceCalibration } from './calibration.js';
export type { VoicePrediction } from './predictor.js';
