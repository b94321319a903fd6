/**
 * Domain types of experience intake: what one normalised experience is, what a file intake reports,
 * and the options of the intake. Row types of the database live in experiences-store.ts.
 */
import type { ModelType } from '../model-types.js';
import type { Example } from '../models/types.js';

/** Any JSON object as received (an experience before normalisation). */
export type JsonObject = Record<string, unknown>;

/** Which side of the train/validation split an experience falls on; stable per id. */
export type Split = 'train' | 'validation';

/**
 * What an experience is good for:
 * - `example`: labelled, trainable;
 * - `correction`: `success: false` with a label: trainable (the label is the right answer);
 * - `negative`: `success: false` without a label: counted as negative feedback, never trained on;
 * - `unusable`: fits no trainer (the reason names the field); kept and counted.
 *
 * A low `quality_score` does not change the kind: quality is applied when the buffer is read, so the
 * threshold can change without re-ingesting.
 */
export type ExperienceKind = 'example' | 'correction' | 'negative' | 'unusable';

/** One experience after normalisation (CONTRACT §2), ready to store. */
export interface NormalizedExperience {
  /** The experience's `id`, else the SHA-256 (hex) of its canonical JSON. */
  id: string;
  /** Resolved model type; null when neither `model_type` nor `type` names a known one. */
  modelType: ModelType | null;
  kind: ExperienceKind;
  /** Why it is not trainable (`negative` and `unusable`), or null. */
  reason: string | null;
  /** `quality_score` (top level or in `metadata`), or null when not given. */
  quality: number | null;
  split: Split;
  /** The trainer example for `example` and `correction`, else null. */
  example: Example | null;
  /** The experience as received. */
  raw: JsonObject;
  /** `raw` as canonical JSON when it was computed for the content hash (saves serialising it twice), else null. */
  rawJson: string | null;
}

/** A problem with one item of a file or request body: it is rejected, not stored. */
export interface ItemError {
  /** Position in the list of experiences (0-based), or the 0-based line number in a JSONL file. */
  index: number;
  error: string;
}

/** An `Example` with the split its id falls on. */
export type SplitExample = Example & { split: Split };

/** Counts of one insert into the buffer. */
export interface InsertCounts {
  /** New rows (usable or not). */
  accepted: number;
  /** Items whose id was already in the buffer. */
  duplicates: number;
}

/** Per model type figures of the buffer (CONTRACT §3 `GET /api/experiences/stats`, plus counts of what is not trained on). */
export interface ExperienceTypeStats {
  total: number;
  /** Trainable now: example or correction with quality at or above the threshold. */
  usable: number;
  /** Everything else: unusable, negative feedback, low quality. */
  unusable: number;
  negative_feedback: number;
  low_quality: number;
  corrections: number;
  /** Usable rows added since the last training of this type. */
  new_since_last_training: number;
  /** ISO 8601 time of the last training, or null. */
  last_trained_at: string | null;
}

/** Counts over every model type, plus rows whose model type is unknown. */
export interface ExperienceTotals {
  total: number;
  usable: number;
  unusable: number;
  negative_feedback: number;
  low_quality: number;
  corrections: number;
  /** Rows with no known model type (counted as unusable). */
  untyped: number;
}

export interface ExperienceStats {
  types: Record<ModelType, ExperienceTypeStats>;
  totals: ExperienceTotals;
}

/** A pino-compatible logger: the intake logs through whatever the service hands it. */
export interface IntakeLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
