/**
 * The embedding trainer: a text encoder trained contrastively on pairs, unit vectors out.
 *
 * Encoder: hashed word + character 2–4-gram features (text-features.ts) with sublinear TF-IDF weights → a
 * bag of table rows (embedding-features.ts) → optionally a linear map, identity at start → L2
 * normalisation. Every row starts as a fixed random ±1/√dim vector, so before training the encoder is a
 * random projection of the TF-IDF vector: the classic baseline, which training then improves on.
 * Loss (embedding-head.ts): symmetric in-batch InfoNCE on positive pairs (`text` + `positive`, or a score
 * ≥ 4) plus a gap-weighted pairwise ranking loss on scored pairs. The table trains with the nlu trainer's
 * lazy sparse Adam on the rows a batch touched, in JS; onnxruntime runs the loss and its gradient w.r.t.
 * the bags as one graph per step.
 *
 * Metrics: accuracy is in-batch recall@1 over training positives; val_accuracy is recall@1 over validation
 * positives (groups of RECALL_GROUP_SIZE); val_spearman, an extra field of every epoch's metrics (and so of
 * the epoch report), is Spearman's correlation of cosine with score over scored validation pairs.
 * validationReport() gives both for the current weights next to the untrained encoder's; the export's
 * model.json records that report under `validation`.
 */
import { fingerprintOf, linearDecay } from '../kernels/schedule.js';
import { TrainingInvalidRequest, TrainingNoData } from '../../errors.js';
import type { Rng } from '../kernels/rng.js';
import { buildFeatureSpace, featurizeTexts, initialTable, poolBags, type EmbeddingBags, type EmbeddingFeatureSpace } from './features.js';
import { readEmbeddingState, writeEmbeddingModel, writeEmbeddingState, type EmbeddingValidation } from './files.js';
import { EmbeddingHead, type PairBatch } from './head.js';
import { EVAL_BATCH_SIZE, resolveEmbeddingSettings, type EmbeddingSettings, type EmbeddingTuning } from './options.js';
import { estimateEmbeddingMemory } from './memory.js';
import { createPairBatch, extractPairs, fillMasks, pairFigures, type PairFigures, type PairSet } from './pairs.js';
import { loadEmbeddingPredictor, unitVector } from './predictor.js';
import { SparseEmbedding } from '../kernels/sparse-embedding.js';
import type { EpochMetrics, Example, ModelTrainer, TrainerModule, TrainerOptions } from '../types.js';

/** The decayed learning rate never drops below this fraction of the initial one. */
const LR_FLOOR = 0.01;

/** onnxruntime intra-op threads for the encoder's step: its [64, 64] similarity matrix is microseconds of work. */
const ORT_THREADS = 1;

/** An epoch's figures plus the validation Spearman correlation (NaN without scored validation pairs). */
export interface EmbeddingEpochMetrics extends EpochMetrics {
  val_spearman: number;
}

interface Prepared {
  settings: EmbeddingSettings;
  space: EmbeddingFeatureSpace;
  train: PairSet;
  val: PairSet;
  trainBags: EmbeddingBags;
  valBags: EmbeddingBags;
  untrained: PairFigures;
  /** Identifies data + settings, so a checkpoint is never loaded into a different model. */
  fingerprint: string;
}

export class EmbeddingTrainer implements ModelTrainer {
  readonly modelType = 'embedding' as const;
  private p?: Prepared;
  private table?: SparseEmbedding;
  private head?: EmbeddingHead;
  private batch: PairBatch = createPairBatch(0, 0);
  /** The text ids of a batch as pooled: its n first texts, then its n second texts. */
  private textOrder = new Int32Array(0);
  private evalBuffer = new Float32Array(0);
  private step = 0;
  private busy = false;

  constructor(private readonly tuning: EmbeddingTuning = {}) {}

  async init(train: Example[], validation: Example[], options: TrainerOptions, rng: Rng): Promise<void> {
    if (this.p) throw TrainingInvalidRequest('init was already called on this embedding trainer');
    const settings = resolveEmbeddingSettings(options, this.tuning);
    const trainPairs = extractPairs(train, settings.positiveThreshold, settings.features);
    if (trainPairs.a.length < 2) {
      throw TrainingNoData('embedding', `${trainPairs.a.length} of ${train.length} training examples are usable pairs (input.text + input.positive, or input.text_a + input.text_b + score); in-batch training needs 2`);
    }
    const val = extractPairs(validation, settings.positiveThreshold, settings.features);
    const space = buildFeatureSpace(trainPairs.texts, settings.features, settings.dim, rng.nextUint32(), settings.minCount, settings.maxRows);
    const { dim } = settings;
    this.table = new SparseEmbedding(space.buckets.length, dim, settings.secondMoment);
    this.table.table.set(initialTable(space));
    this.head = await EmbeddingHead.create(dim, settings.architecture === 'ngram-bag-projection', settings, settings.adam, { threads: ORT_THREADS });
    // One pair more than a batch: a lone last pair joins the batch before it (see runEpoch).
    this.batch = createPairBatch(settings.batchSize + 1, dim);
    this.textOrder = new Int32Array(2 * (settings.batchSize + 1));
    this.evalBuffer = new Float32Array(Math.max(EVAL_BATCH_SIZE, 2 * settings.batchSize) * dim);
    const trainBags = featurizeTexts(trainPairs.texts, space);
    const valBags = featurizeTexts(val.texts, space);
    const partial = { settings, space, train: trainPairs, val, trainBags, valBags };
    this.p = { ...partial, untrained: this.figures(partial.val, valBags, this.table, this.head, dim), fingerprint: fingerprint(settings, space) };
  }

  private ready(): { p: Prepared; table: SparseEmbedding; head: EmbeddingHead } {
    if (!this.p || !this.table || !this.head) throw TrainingInvalidRequest('the embedding trainer was not initialised (call init first) or was disposed');
    return { p: this.p, table: this.table, head: this.head };
  }

  /** Pools pairs `order[start..end)` into the batch buffer and fills its masks; returns the text order used. */
  private loadBatch(pairs: PairSet, bags: EmbeddingBags, table: SparseEmbedding, order: ArrayLike<number>, start: number, end: number): Int32Array {
    const n = end - start;
    for (let i = 0; i < n; i++) {
      this.textOrder[i] = pairs.a[order[start + i]];
      this.textOrder[n + i] = pairs.b[order[start + i]];
    }
    poolBags(table.table, table.dim, bags, this.textOrder, 0, 2 * n, this.batch.x);
    fillMasks(pairs, order, start, end, this.batch);
    return this.textOrder;
  }

  async runEpoch(_epoch: number, rng: Rng, shouldStop: () => boolean): Promise<EmbeddingEpochMetrics> {
    const { p, table, head } = this.ready();
    if (this.busy) throw TrainingInvalidRequest('an epoch is already running on this embedding trainer');
    this.busy = true;
    try {
      const n = p.train.a.length;
      const order = rng.shuffle(Uint32Array.from({ length: n }, (_, i) => i)) as Uint32Array;
      const { batchSize, adam } = p.settings;
      let samples = 0;
      let stopped = false;
      for (let start = 0; start < n && !stopped; start += batchSize) {
        // A last batch of one pair has no negatives and nothing to rank: fold it into the one before.
        const end = n - (start + batchSize) === 1 ? n : Math.min(start + batchSize, n);
        const texts = this.loadBatch(p.train, p.trainBags, table, order, start, end);
        this.step += 1;
        const stepAdam = { ...adam, learningRate: adam.learningRate * this.decay(p) };
        const dPooled = await head.trainStep(this.batch, stepAdam, this.step);
        const tableScale = p.settings.tableLearningRateScale;
        if (tableScale > 0) table.applyGradient(p.trainBags.matrix, texts, 0, 2 * (end - start), dPooled, { ...stepAdam, learningRate: stepAdam.learningRate * tableScale }, this.step);
        samples += end - start;
        if (end === n) break;
        stopped = shouldStop();
      }
      const trained = head.takeTotals();
      // A stopped epoch is discarded by the caller; skip validation so a cancel is quick.
      const val = stopped ? { loss: NaN, figures: undefined } : await this.validate(p, table, head);
      return {
        loss: trained.lossSum / Math.max(samples, 1),
        accuracy: trained.anchors > 0 ? trained.correct / trained.anchors : NaN,
        val_loss: val.loss,
        val_accuracy: val.figures?.recallAt1 ?? NaN,
        val_spearman: val.figures?.spearman ?? NaN,
        samples,
      };
    } finally {
      this.busy = false;
    }
  }

  /** Linear decay to LR_FLOOR over all planned steps (as fastText): the last epochs refine rather than jump. */
  private decay(p: Prepared): number {
    const n = p.train.a.length;
    const { batchSize } = p.settings;
    const stepsPerEpoch = Math.floor(n / batchSize) + (n % batchSize >= 2 ? 1 : 0);
    return linearDecay(this.step, p.settings.epochs * stepsPerEpoch, LR_FLOOR);
  }

  /** Unit vectors of every text of `bags` ([texts, dim]). */
  private embedAll(bags: EmbeddingBags, table: SparseEmbedding, head: EmbeddingHead, dim: number): Float32Array {
    const count = bags.matrix.count;
    const out = new Float32Array(count * dim);
    const projection = head.getWeights();
    const order = Int32Array.from({ length: count }, (_, i) => i);
    for (let start = 0; start < count; start += EVAL_BATCH_SIZE) {
      const end = Math.min(start + EVAL_BATCH_SIZE, count);
      poolBags(table.table, dim, bags, order, start, end, this.evalBuffer);
      for (let i = 0; i < end - start; i++) unitVector(this.evalBuffer, i * dim, dim, projection, out, (start + i) * dim);
    }
    return out;
  }

  private figures(pairs: PairSet, bags: EmbeddingBags, table: SparseEmbedding, head: EmbeddingHead, dim: number): PairFigures {
    return pairFigures(pairs, this.embedAll(bags, table, head, dim), dim);
  }

  /** Validation loss (the training loss over fixed batches), Spearman and recall@1; NaN when empty. */
  private async validate(p: Prepared, table: SparseEmbedding, head: EmbeddingHead): Promise<{ loss: number; figures: PairFigures }> {
    const n = p.val.a.length;
    const order = Int32Array.from({ length: n }, (_, i) => i);
    const size = p.settings.batchSize;
    let counted = 0;
    for (let start = 0; start < n; start += size) {
      const end = Math.min(start + size, n);
      if (end - start < 2) break;
      this.loadBatch(p.val, p.valBags, table, order, start, end);
      await head.evaluate(this.batch);
      counted += end - start;
    }
    const totals = head.takeTotals();
    return { loss: counted > 0 ? totals.lossSum / counted : NaN, figures: this.figures(p.val, p.valBags, table, head, p.settings.dim) };
  }

  /** Spearman and recall@1 of the current weights on the validation pairs, and of the untrained encoder. */
  validationReport(): EmbeddingValidation {
    const { p, table, head } = this.ready();
    const now = this.figures(p.val, p.valBags, table, head, p.settings.dim);
    const num = (x: number): number | null => (Number.isFinite(x) ? x : null);
    return {
      scored_pairs: now.scored,
      positive_pairs: now.positives,
      spearman: num(now.spearman),
      recall_at_1: num(now.recallAt1),
      untrained_spearman: num(p.untrained.spearman),
      untrained_recall_at_1: num(p.untrained.recallAt1),
    };
  }

  async saveState(dir: string): Promise<void> {
    const { p, table, head } = this.ready();
    await writeEmbeddingState(dir, { step: this.step, fingerprint: p.fingerprint, table: table.table, tableM: table.m, tableV: table.v, head: head.getState() });
  }

  async loadState(dir: string): Promise<void> {
    const { p, table, head } = this.ready();
    const s = await readEmbeddingState(dir, p.fingerprint, { table: table.table.length, tableV: table.v.length, head: head.getState().map((a) => a.length) });
    table.table.set(s.table);
    table.m.set(s.tableM);
    table.v.set(s.tableV);
    head.setState(s.head);
    this.step = s.step;
  }

  async exportModel(dir: string): Promise<void> {
    const { p, table, head } = this.ready();
    await writeEmbeddingModel(dir, { architecture: p.settings.architecture, space: p.space, table: table.table, projection: head.getWeights(), validation: this.validationReport() });
  }

  dispose(): void {
    this.head?.dispose();
    this.head = undefined;
    this.table = undefined;
    this.p = undefined;
  }
}

function fingerprint(settings: EmbeddingSettings, space: EmbeddingFeatureSpace): string {
  const { epochs: _epochs, ...model } = settings;
  return fingerprintOf({ model, seed: space.seed, docCount: space.docCount }, [space.buckets]);
}

/** A fresh embedding trainer; `tuning` overrides knobs the job options do not carry (tests, experiments). */
export function createEmbeddingTrainer(tuning: EmbeddingTuning = {}): EmbeddingTrainer {
  return new EmbeddingTrainer(tuning);
}

export const embeddingTrainerModule: TrainerModule = {
  modelType: 'embedding',
  createTrainer: () => createEmbeddingTrainer(),
  loadPredictor: loadEmbeddingPredictor,
  estimateMemory: estimateEmbeddingMemory,
};

export { EMBEDDING_DEFAULTS } from './options.js';
export { similarity, type EmbeddingPrediction } from './predictor.js';
