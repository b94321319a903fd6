/**
 * The error catalogue: one constructor per failure, each with a stable code, an HTTP status and a
 * message template. Codes follow TRN_ERR_<AREA>_<WHAT>. HTTP answers carry `error` (the short message),
 * `details` (what and where) and `code`, as CONTRACT §3 asks.
 */
import { format } from 'node:util';

export class TrinityError extends Error {
  readonly code: string;
  readonly statusCode: number;
  /** Extra fields for the JSON answer (e.g. `active_job_id`, `seen`). */
  readonly extra: Record<string, unknown>;

  constructor(code: string, statusCode: number, message: string, extra: Record<string, unknown> = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'TrinityError';
    this.code = code;
    this.statusCode = statusCode;
    this.extra = extra;
  }
}

export interface ErrorConstructor {
  (...args: unknown[]): TrinityError;
  readonly code: string;
  readonly statusCode: number;
  readonly template: string;
  /** Same as calling it, plus extra JSON fields and a cause. */
  with(extra: Record<string, unknown>, ...args: unknown[]): TrinityError;
}

const catalogue = new Map<string, ErrorConstructor>();

function createError(code: string, template: string, statusCode: number): ErrorConstructor {
  if (catalogue.has(code)) throw new Error(`duplicate error code ${code}`);
  const make = (...args: unknown[]) => new TrinityError(code, statusCode, format(template, ...args));
  const ctor = Object.assign(make, {
    code,
    statusCode,
    template,
    with(extra: Record<string, unknown>, ...args: unknown[]) {
      const { cause, ...rest } = extra;
      return new TrinityError(code, statusCode, format(template, ...args), rest, cause);
    },
  });
  catalogue.set(code, ctor);
  return ctor;
}

/** Every code, for the catalogue test and docs/errors.md. */
export function listErrorCodes(): ErrorConstructor[] {
  return [...catalogue.values()];
}

// ── config ────────────────────────────────────────────────────────────────
export const ConfigInvalid = createError('TRN_ERR_CONFIG_INVALID', 'invalid configuration: %s', 500);

// ── http (generic request problems) ───────────────────────────────────────
export const HttpBadRequest = createError('TRN_ERR_HTTP_BAD_REQUEST', '%s', 400);
export const HttpUnauthorized = createError('TRN_ERR_HTTP_UNAUTHORIZED', 'missing or wrong bearer token', 401);
export const HttpNotFound = createError('TRN_ERR_HTTP_NOT_FOUND', 'no route %s %s', 404);
export const HttpBodyTooLarge = createError('TRN_ERR_HTTP_BODY_TOO_LARGE', 'request body is larger than %d bytes', 413);
export const HttpUnsupportedMedia = createError('TRN_ERR_HTTP_UNSUPPORTED_MEDIA', 'content type %s is not supported; send application/json', 415);
export const HttpNotReady = createError('TRN_ERR_HTTP_NOT_READY', 'service is %s; retry shortly', 503);

// ── experiences ───────────────────────────────────────────────────────────
export const ExperienceInvalid = createError('TRN_ERR_EXPERIENCE_INVALID', '%s', 400);
export const ExperienceFileUnusable = createError('TRN_ERR_EXPERIENCE_FILE_UNUSABLE', 'file %s cannot be used: %s', 422);
/** A caller of ExperienceIntake passed a wrong option (a programming error, not request data). */
export const ExperienceIntakeInvalidOption = createError('TRN_ERR_EXPERIENCE_INTAKE_INVALID_OPTION', 'ExperienceIntake option %s must be %s, got %j', 500);

// ── training ──────────────────────────────────────────────────────────────
export const TrainingInvalidRequest = createError('TRN_ERR_TRAINING_INVALID_REQUEST', '%s', 400);
export const TrainingUnknownModelType = createError('TRN_ERR_TRAINING_UNKNOWN_MODEL_TYPE', 'unknown model_type %j; expected one of %s', 400);
export const TrainingInvalidJobId = createError('TRN_ERR_TRAINING_INVALID_JOB_ID', 'job_id must be 1-128 characters of letters, digits, "-", "_" or ".", not starting with "."; got %j', 400);
export const TrainingJobNotFound = createError('TRN_ERR_TRAINING_JOB_NOT_FOUND', 'Training job not found', 404);
export const TrainingJobFinished = createError('TRN_ERR_TRAINING_JOB_FINISHED', 'job %s already ended with status %s', 409);
export const TrainingNoData = createError('TRN_ERR_TRAINING_NO_DATA', 'no usable %s experiences to train on (%s)', 400);
export const TrainingStaleFencingToken = createError('TRN_ERR_TRAINING_STALE_FENCING_TOKEN', 'stale fencing token', 409);
export const TrainingQueueFull = createError('TRN_ERR_TRAINING_QUEUE_FULL', 'training queue is full (%d jobs)', 503);
export const TrainingDatasetPath = createError('TRN_ERR_TRAINING_DATASET_PATH', 'dataset_path %j %s', 400);
export const TrainerCrashed = createError('TRN_ERR_TRAINING_TRAINER_CRASHED', 'trainer process exited (%s)', 500);

// ── registry / models ─────────────────────────────────────────────────────
export const ModelNotFound = createError('TRN_ERR_MODEL_NOT_FOUND', 'no model %s %s', 404);
export const ModelInvalidVersion = createError('TRN_ERR_MODEL_INVALID_VERSION', 'model version must look like v1.2.3, got %j', 400);
export const ModelUnknownType = createError('TRN_ERR_MODEL_UNKNOWN_TYPE', 'unknown model_type %j; expected one of %s', 400);
/** Same job id registered again for another model type: the job runner mixed up its jobs. */
export const ModelJobConflict = createError('TRN_ERR_MODEL_JOB_CONFLICT', 'job %s already registered %s %s, not a %s model', 409);
/** The folder a finished job handed over cannot become a version (missing, empty, symlinks, reserved names). */
export const ModelArtifactsInvalid = createError('TRN_ERR_MODEL_ARTIFACTS_INVALID', 'model artifacts in %s cannot be registered: %s', 500);
/** A caller of ModelRegistry passed a wrong option or argument (a programming error, not request data). */
export const ModelRegistryInvalidArgument = createError('TRN_ERR_MODEL_REGISTRY_INVALID_ARGUMENT', 'ModelRegistry %s must be %s, got %j', 500);
/** Copying, syncing or renaming a version folder failed; the original error is the cause. */
export const ModelRegisterFailed = createError('TRN_ERR_MODEL_REGISTER_FAILED', 'could not register a %s model for job %s: %s', 500);

// ── store ─────────────────────────────────────────────────────────────────
export const StoreFailed = createError('TRN_ERR_STORE_FAILED', 'database operation failed: %s', 500);
