/** Experience intake: normalisation (CONTRACT §2), file intake of the events folder, inline examples for training. */
export type {
  ExperienceKind,
  ExperienceStats,
  ExperienceTotals,
  ExperienceTypeStats,
  InsertCounts,
  IntakeLogger,
  ItemError,
  JsonObject,
  NormalizedExperience,
  Split,
  SplitExample,
} from './types.js';
export { canonicalJson, contentId, sha256Hex, splitFor, VALIDATION_PERCENT } from './identity.js';
export { normalizeExperience, itemError, isUsable, unusableReason, MAX_ID_CHARS, type NormalizeOptions, type NormalizeResult } from './normalize.js';
export { containerFromJson, containerFromText, isShapeError, type Container, type ContainerForm, type ShapeError } from './containers.js';
export { examplesFromExperiences, splitExamples, summarizeItemErrors, type InlineExamples } from './examples.js';
export { createTrainingData, type TrainingData } from './training-data.js';
export {
  ExperienceIntake,
  isCandidateName,
  type IntakeEvents,
  type IngestedEvent,
  type RejectedEvent,
  type DeferredEvent,
  type ReconciledEvent,
} from './intake.js';
export {
  intakeOptionsFromConfig,
  resolveIntakeOptions,
  DEFAULT_BATCH_SIZE,
  DEFAULT_SETTLE_MS,
  DEFAULT_RECONCILE_INTERVAL_MS,
  type ExperienceIntakeOptions,
} from './intake-options.js';
export { MAX_FILE_BYTES, type FileOutcome } from './file-processor.js';
export { REJECTED_DIR_NAME, ERROR_SUFFIX, type RejectionRecord } from './rejected-folder.js';
export { ingestBody, type IngestBodyResult } from './ingest-body.js';
