/**
 * The contract between the job runner and a model type's trainer. A trainer runs inside the trainer
 * child process; it never touches the database or HTTP. Everything random comes from the Rng it is handed,
 * so a run resumed from a checkpoint ends with the same weights as one never interrupted.
 */
import type { ModelType } from '../model-types.js';
import type { Rng } from './kernels/rng.js';
import type { MemoryEstimate } from './kernels/memory-estimate.js';

/** One training example, already extracted from an experience by src/experiences. */
export interface Example {
  /** The experience id (stable; also decides the train/validation split). */
  id: string;
  /** Model-type specific input, e.g. `{text}` for nlu. */
  input: Record<string, unknown>;
  /** The class label (nlu intent, voice user, vision label); for embedding see `input`. */
  label?: string;
  /** Embedding pairs: similarity score 0–5 when given. */
  score?: number;
}

export interface TrainerOptions {
  epochs: number;
  /** Mini-batch size; default chosen by the trainer when absent. */
  batchSize?: number;
  /** Optimizer learning rate; default chosen by the trainer when absent. */
  learningRate?: number;
  /** Free-form architecture name or knob string from `config.model_architecture`. */
  architecture?: string;
}

/** Figures of one finished epoch. Accuracy for embedding trainers is their retrieval accuracy (recall@1). */
export interface EpochMetrics {
  loss: number;
  accuracy: number;
  val_loss: number;
  val_accuracy: number;
  /** Training examples processed in the epoch. */
  samples: number;
}

export interface ModelTrainer {
  readonly modelType: ModelType;
  /**
   * Featurises the data and builds the model with fresh weights drawn from `rng`. Called once per process,
   * before the first epoch or before `loadState`. Must be deterministic given the same data and rng state.
   */
  init(train: Example[], validation: Example[], options: TrainerOptions, rng: Rng): Promise<void>;
  /**
   * Trains one epoch (shuffling with `rng`) and evaluates on the validation set.
   * `shouldStop` is checked after every batch; when it returns true the trainer returns early with
   * the metrics so far (the caller will not checkpoint a partial epoch).
   */
  runEpoch(epoch: number, rng: Rng, shouldStop: () => boolean): Promise<EpochMetrics>;
  /** Writes weights and optimizer state (everything but rng, epoch and metrics) into an existing folder. */
  saveState(dir: string): Promise<void>;
  /** Restores what saveState wrote; called after init. */
  loadState(dir: string): Promise<void>;
  /** Writes the servable artifacts into an existing folder; `loadPredictor` reads them in any process. */
  exportModel(dir: string): Promise<void>;
  /** Frees every tensor the trainer owns. */
  dispose(): void;
}

/**
 * Files an export may carry beside its model, which a finishing job copies into the version's manifest:
 * the trainer's calibration, and `{input}`, an input this model accepts, for the probe prediction that
 * warms a version before it gets traffic (prime's default probe cannot know, say, an embedding's length).
 */
export const EXPORT_CALIBRATION_FILE = 'calibration.json';
export const EXPORT_PROBE_FILE = 'probe.json';

/** A loaded, exported model version. */
export interface Predictor {
  readonly modelType: ModelType;
  /** Predicts one input (the experience `input` shape). Throws TrainingInvalidRequest-like errors on bad input. */
  predict(input: Record<string, unknown>): Record<string, unknown>;
  dispose(): void;
}

export interface TrainerModule {
  modelType: ModelType;
  createTrainer(): ModelTrainer;
  loadPredictor(dir: string): Promise<Predictor>;
  /**
   * The peak memory of the trainer child process for this job (memory-estimate.ts), before it starts; what
   * JARVIS reserves for it. Throws TrainingInvalidRequest for options the trainer would refuse. A trainer
   * without one is reserved the design's 40 GB.
   */
  estimateMemory?(train: readonly Example[], validation: readonly Example[], options: TrainerOptions): MemoryEstimate;
}
