/**
 * The vision trainer: image → label with a small CNN trained on onnxruntime. Inputs are `input.image`
 * (base64 PNG/JPEG) or `input.pixels` (+ width, height); init reads them all once, picks the model's input
 * size and colour from the training data (vision-input.ts), and keeps the normalised images in one
 * Float32Array. Each step is one ONNX graph — forward, hand-written backward, Adam — run up to 16 steps
 * per onnxruntime call in an ONNX Loop, with the first layer's patches cut in JS (vision-train.ts, src/models/graph/cnn-graphs.ts). The served model runs the
 * same network in plain JS (vision-predictor.ts, vision-forward.ts) from the exported parameters.
 *
 * Every random choice (initial weights, shuffling) comes from the Rng the job hands in, and the checkpoint
 * holds parameters, Adam moments and the step, so a resumed job ends with the same weights as one never
 * interrupted. Tests in test/training/vision.test.ts hold those guarantees.
 */
import { fingerprintOf, linearDecay } from '../kernels/schedule.js';
import { TrainingInvalidRequest, TrainingNoData, TrinityError } from '../../errors.js';
import type { Rng } from '../kernels/rng.js';
import { initCnnParams, type CnnLayout } from './cnn.js';
import { firstPatchRows, firstPatchWidth } from '../graph/cnn-graphs.js';
import { readVisionState, writeVisionModel, writeVisionState } from './files.js';
import { chooseGeometry, inputSize, readVisionInput, toModelInput, type RawImage, type VisionGeometry } from './input.js';
import { filtersFor, LR_FLOOR, resolveVisionSettings, VISION_THREADS, type VisionSettings, type VisionTuning } from './options.js';
import { loadVisionPredictor } from './predictor.js';
import { estimateVisionMemory } from './memory.js';
import { CnnOptimizer } from './train.js';
import type { EpochMetrics, Example, ModelTrainer, TrainerModule, TrainerOptions } from '../types.js';
import { classifierEpochMetrics } from '../kernels/dense-step.js';

interface Extracted {
  raws: RawImage[];
  labels: string[];
  /** Examples without a readable input or a label: not trained on, counted. */
  skipped: number;
  firstProblem?: string;
}

/** Reads every example; one with a bad input is skipped (counted), so one broken image never fails a job. */
function extract(examples: readonly Example[]): Extracted {
  const out: Extracted = { raws: [], labels: [], skipped: 0 };
  for (const ex of examples) {
    try {
      if (typeof ex.label !== 'string' || ex.label === '') throw TrainingInvalidRequest('expected_output.label is missing');
      out.raws.push(readVisionInput(ex.input));
      out.labels.push(ex.label);
    } catch (err) {
      if (!(err instanceof TrinityError)) throw err;
      out.skipped += 1;
      out.firstProblem ??= `example ${ex.id}: ${err.message}`;
    }
  }
  return out;
}

/** All images of a set, normalised to `geometry`, back to back. */
function stack(raws: readonly RawImage[], geometry: VisionGeometry): Float32Array {
  const size = inputSize(geometry);
  const data = new Float32Array(raws.length * size);
  raws.forEach((r, i) => toModelInput(r, geometry, data, i * size));
  return data;
}

interface Prepared {
  settings: VisionSettings;
  labels: string[];
  geometry: VisionGeometry;
  layout: CnnLayout;
  train: Float32Array;
  trainY: Int32Array;
  val: Float32Array;
  /** -1 for a validation label the training set never had: always counted wrong, adds no loss. */
  valY: Int32Array;
  valKnown: number;
  /** Identifies data + settings, so a checkpoint is never loaded into a different model. */
  fingerprint: string;
}

/**
 * Training steps per onnxruntime run: each run costs a crossing from JS, its tensors in and out and their
 * garbage, so several steps share one (docs/decisions.md). Capped so the stacked first-layer patches stay
 * within 4 MiB (16 optdigits batches of 64: 2.8 MB; at 32×32 RGB one batch of 64 is 7.4 MB and runs
 * alone) and a cancel is seen within tens of milliseconds.
 */
const MAX_STEPS_PER_RUN = 16;
const MAX_PATCH_BYTES_PER_RUN = 4 * 1024 * 1024;
const stepsPerRun = (batchSize: number, layout: CnnLayout): number => {
  const batchBytes = 4 * batchSize * firstPatchRows(layout) * firstPatchWidth(layout);
  return Math.max(1, Math.min(MAX_STEPS_PER_RUN, Math.floor(MAX_PATCH_BYTES_PER_RUN / batchBytes)));
};

class VisionTrainer implements ModelTrainer {
  readonly modelType = 'vision' as const;
  private p?: Prepared;
  private optimizer?: CnnOptimizer;
  private step = 0;
  private learningRates = new Float64Array(0);
  private busy = false;

  constructor(private readonly tuning: VisionTuning) {}

  async init(train: Example[], validation: Example[], options: TrainerOptions, rng: Rng): Promise<void> {
    if (this.p) throw TrainingInvalidRequest('init was already called on this vision trainer');
    const settings = resolveVisionSettings(options, this.tuning);
    const tr = extract(train);
    if (tr.raws.length === 0) {
      throw TrainingNoData('vision', `none of ${train.length} training examples has a readable input.image or input.pixels and a label${tr.firstProblem ? `; ${tr.firstProblem}` : ''}`);
    }
    const va = extract(validation);
    const labels = [...new Set(tr.labels)].sort();
    const labelId = new Map(labels.map((l, i) => [l, i]));
    const geometry = chooseGeometry(tr.raws, settings.size);
    const filters = filtersFor(settings, geometry.width, geometry.height);
    const layout: CnnLayout = { height: geometry.height, width: geometry.width, channels: geometry.channels, filters, classes: labels.length };
    const trainData = stack(tr.raws, geometry);
    const trainY = Int32Array.from(tr.labels, (l) => labelId.get(l) as number);
    const valY = Int32Array.from(va.labels, (l) => labelId.get(l) ?? -1);
    this.p = {
      settings,
      labels,
      geometry,
      layout,
      train: trainData,
      trainY,
      val: stack(va.raws, geometry),
      valY,
      valKnown: valY.filter((y) => y >= 0).length,
      fingerprint: fingerprint(settings, layout, geometry, labels, trainData, trainY),
    };
    this.optimizer = await CnnOptimizer.create(layout, initCnnParams(layout, rng), settings.adam, this.tuning.threads ?? VISION_THREADS);
  }

  private ready(): { p: Prepared; optimizer: CnnOptimizer } {
    if (!this.p || !this.optimizer) throw TrainingInvalidRequest('the vision trainer was not initialised (call init first) or was disposed');
    return { p: this.p, optimizer: this.optimizer };
  }

  async runEpoch(_epoch: number, rng: Rng, shouldStop: () => boolean): Promise<EpochMetrics> {
    const { p, optimizer } = this.ready();
    if (this.busy) throw TrainingInvalidRequest('an epoch is already running on this vision trainer');
    this.busy = true;
    try {
      const n = p.trainY.length;
      const order = rng.shuffle(Uint32Array.from({ length: n }, (_, i) => i)) as Uint32Array;
      const { batchSize, adam } = p.settings;
      const perRun = stepsPerRun(batchSize, p.layout);
      if (this.learningRates.length < perRun) this.learningRates = new Float64Array(perRun);
      let samples = 0;
      let stopped = false;
      let start = 0;
      while (start < n && !stopped) {
        // Up to perRun full batches go to onnxruntime in one run; the epoch's last, shorter one alone.
        const size = Math.min(batchSize, n - start);
        const steps = size === batchSize ? Math.max(1, Math.min(perRun, Math.floor((n - start) / batchSize))) : 1;
        const first = this.step + 1;
        for (let k = 0; k < steps; k++) this.learningRates[k] = adam.learningRate * this.decay(p, first + k);
        const batches = { labels: p.trainY, order, start, size, steps, labelSmoothing: p.settings.labelSmoothing };
        await optimizer.trainSteps(p.train, batches, adam, this.learningRates, first);
        this.step += steps;
        start += steps * size;
        samples += steps * size;
        stopped = shouldStop();
      }
      const trained = optimizer.takeTotals();
      // A stopped epoch is discarded by the caller; skip the validation pass so a cancel is quick.
      const val = stopped ? { loss: NaN, accuracy: NaN } : await this.evaluate(p, optimizer);
      return classifierEpochMetrics(trained, samples, val);
    } finally {
      this.busy = false;
    }
  }

  /**
   * The learning-rate factor of step `step`: linear decay to LR_FLOOR over all planned epochs. Adam
   * at a constant rate keeps jittering around the optimum; decayed, the last epoch is the best one.
   */
  private decay(p: Prepared, step: number): number {
    return linearDecay(step, p.settings.epochs * Math.ceil(p.trainY.length / p.settings.batchSize), LR_FLOOR);
  }

  /** Loss and accuracy on the validation set; NaN when it is empty. */
  private async evaluate(p: Prepared, optimizer: CnnOptimizer): Promise<{ loss: number; accuracy: number }> {
    const n = p.valY.length;
    if (n === 0) return { loss: NaN, accuracy: NaN };
    await optimizer.evaluate(p.val, p.valY, n);
    const t = optimizer.takeTotals();
    return { loss: p.valKnown > 0 ? t.lossSum / p.valKnown : NaN, accuracy: t.correct / n };
  }

  async saveState(dir: string): Promise<void> {
    const { p, optimizer } = this.ready();
    const { m, v } = optimizer.getMoments();
    await writeVisionState(dir, p.layout, { step: this.step, fingerprint: p.fingerprint, params: optimizer.getParams(), m, v });
  }

  async loadState(dir: string): Promise<void> {
    const { p, optimizer } = this.ready();
    const s = await readVisionState(dir, p.layout, p.fingerprint);
    optimizer.setState(s.params, s.m, s.v);
    this.step = s.step;
  }

  async exportModel(dir: string): Promise<void> {
    const { p, optimizer } = this.ready();
    await writeVisionModel(dir, { architecture: p.settings.architecture, labels: p.labels, geometry: p.geometry, filters: p.layout.filters, params: optimizer.getParams() });
  }

  dispose(): void {
    this.optimizer?.dispose();
    this.optimizer = undefined;
    this.p = undefined;
  }
}

function fingerprint(settings: VisionSettings, layout: CnnLayout, geometry: VisionGeometry, labels: readonly string[], data: Float32Array, y: Int32Array): string {
  return fingerprintOf({ a: settings.architecture, b: settings.batchSize, s: settings.labelSmoothing, layout, geometry, labels }, [data, y]);
}

/** A fresh vision trainer; `tuning` overrides knobs the job options do not carry (tests, experiments). */
export function createVisionTrainer(tuning: VisionTuning = {}): ModelTrainer {
  return new VisionTrainer(tuning);
}

export const visionTrainerModule: TrainerModule = {
  modelType: 'vision',
  createTrainer: () => createVisionTrainer(),
  loadPredictor: loadVisionPredictor,
  estimateMemory: estimateVisionMemory,
};

export { VISION_DEFAULTS } from './options.js';
export type { VisionPrediction } from './predictor.js';
