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
/** A Host header that is neither a loopback name on the service's port nor in TRINITY_ALLOWED_HOSTS (DNS rebinding). */
export const HttpForbiddenHost = createError(
  'TRN_ERR_HTTP_FORBIDDEN_HOST',
  'Host %s is not allowed; use 127.0.0.1 or localhost with the service port, or add the name to TRINITY_ALLOWED_HOSTS',
  403,
);
/** A browser request from another site (Origin or Sec-Fetch-Site): pages elsewhere may not drive the services. */
export const HttpForbiddenOrigin = createError('TRN_ERR_HTTP_FORBIDDEN_ORIGIN', 'cross-site request refused: %s', 403);
export const HttpNotFound = createError('TRN_ERR_HTTP_NOT_FOUND', 'no route %s %s', 404);
export const HttpBodyTooLarge = createError('TRN_ERR_HTTP_BODY_TOO_LARGE', 'request body is larger than %d bytes', 413);
/** The body is declared JSON but is empty or does not parse. */
export const HttpInvalidJson = createError('TRN_ERR_HTTP_INVALID_JSON', 'request body is not valid JSON: %s', 400);
export const HttpUnsupportedMedia = createError('TRN_ERR_HTTP_UNSUPPORTED_MEDIA', 'content type %s is not supported; send application/json', 415);
/** An unexpected failure inside the service; the log has the stack, the answer only says where to look. */
export const HttpInternal = createError('TRN_ERR_HTTP_INTERNAL', 'internal error', 500);
export const HttpNotReady = createError('TRN_ERR_HTTP_NOT_READY', 'service is %s; retry shortly', 503);
/** A write failed because the disk under JARVIS_HOME is full or read-only (ENOSPC, EROFS, SQLite's FULL…); carries `reason`, `retry_after_seconds`. */
export const StorageUnavailable = createError('TRN_ERR_STORAGE_UNAVAILABLE', 'cannot write to disk (%s); free disk space or make JARVIS_HOME writable, then retry', 503);

// ── experiences ───────────────────────────────────────────────────────────
export const ExperienceInvalid = createError('TRN_ERR_EXPERIENCE_INVALID', '%s', 400);
export const ExperienceFileUnusable = createError('TRN_ERR_EXPERIENCE_FILE_UNUSABLE', 'file %s cannot be used: %s', 422);
/** A caller of ExperienceIntake passed a wrong option (a programming error, not request data). */
export const ExperienceIntakeInvalidOption = createError('TRN_ERR_EXPERIENCE_INTAKE_INVALID_OPTION', 'ExperienceIntake option %s must be %s, got %j', 500);

// ── training ──────────────────────────────────────────────────────────────
export const TrainingInvalidRequest = createError('TRN_ERR_TRAINING_INVALID_REQUEST', '%s', 400);
export const TrainingUnknownModelType = createError('TRN_ERR_TRAINING_UNKNOWN_MODEL_TYPE', 'unknown model_type %j; expected one of %s', 400);
/** A start or estimate option outside its model type's bounds (`<type>-options.ts`); carries `field`, `allowed`, `model_type`. */
export const TrainingInvalidOption = createError('TRN_ERR_TRAINING_INVALID_OPTION', '%s must be %s for model_type %s, got %s', 400);
/** A `config` key no trainer reads: a misspelt option would otherwise be ignored; carries `field`, `allowed`. */
export const TrainingUnknownOption = createError('TRN_ERR_TRAINING_UNKNOWN_OPTION', '%s is not a training option; config takes %s', 400);
export const TrainingInvalidJobId = createError('TRN_ERR_TRAINING_INVALID_JOB_ID', 'job_id must be 1-128 characters of letters, digits, "-", "_" or ".", not starting with "."; got %j', 400);
export const TrainingJobNotFound = createError('TRN_ERR_TRAINING_JOB_NOT_FOUND', 'Training job not found', 404);
export const TrainingJobFinished = createError('TRN_ERR_TRAINING_JOB_FINISHED', 'job %s already ended with status %s', 409);
export const TrainingNoData = createError('TRN_ERR_TRAINING_NO_DATA', 'no usable %s experiences to train on (%s)', 400);
export const TrainingStaleFencingToken = createError('TRN_ERR_TRAINING_STALE_FENCING_TOKEN', 'stale fencing token', 409);
export const TrainingQueueFull = createError('TRN_ERR_TRAINING_QUEUE_FULL', 'training queue is full (%d jobs)', 503);
export const TrainingDatasetPath = createError('TRN_ERR_TRAINING_DATASET_PATH', 'dataset_path %j %s', 400);
/** A drop-box file (training `dataset_path` or evaluation `file`) holds, once unpacked, more JSON than reactor reads; carries `limit_bytes`. */
export const DropboxFileTooLarge = createError('TRN_ERR_DROPBOX_FILE_TOO_LARGE', '%s %j holds more than %d bytes of JSON once unpacked; split it into smaller files', 413);
/** The disk under JARVIS_HOME is full or read-only (ENOSPC, EROFS…); carries `reason`, `path`, `retry_after_seconds`. */
export const TrainingStorageUnavailable = createError('TRN_ERR_TRAINING_STORAGE_UNAVAILABLE', 'cannot write %s (%s); free disk space or make it writable, then retry', 503);
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
/** POST /api/models/{type}/{version}/evaluate: a body that is neither `{experiences}` nor `{file}`. */
export const ModelEvaluationInvalidRequest = createError('TRN_ERR_MODEL_EVALUATION_INVALID_REQUEST', 'invalid evaluation request: %s', 400);
/** The evaluation `file` is outside the allowed folder, missing, or not a list of experiences. */
export const ModelEvaluationFile = createError('TRN_ERR_MODEL_EVALUATION_FILE', 'file %j %s', 400);
/** Not one item of the evaluation set could be used; the details name why. */
export const ModelEvaluationNoData = createError('TRN_ERR_MODEL_EVALUATION_NO_DATA', 'nothing to evaluate %s %s on: %s', 400);
/** A registered version's artifacts could not be loaded (damaged or written by an incompatible trainer). */
export const ModelLoadFailed = createError('TRN_ERR_MODEL_LOAD_FAILED', 'could not load %s %s: %s', 500);
/** A bad option of the evaluation service or its predictor cache (a programming error, caught at construction). */
export const ModelEvaluationInvalidOption = createError('TRN_ERR_MODEL_EVALUATION_INVALID_OPTION', 'evaluation option %s must be %s, got %j', 500);

// ── serving (J-Prime) ─────────────────────────────────────────────────────
export const ServingUnknownModelType = createError('TRN_ERR_SERVING_UNKNOWN_MODEL_TYPE', 'no model type %j is served here; expected one of %s', 404);
/** The type is known, prime is ready and no version of it is loaded or loading: nothing is deployed (no Retry-After). */
export const ServingNoModel = createError('TRN_ERR_SERVING_NO_MODEL', 'no %s model is being served; %s', 503);
/** A version of the type is being loaded and nothing else serves it yet; carries `retry_after_seconds` (and the Retry-After header). */
export const ServingModelLoading = createError('TRN_ERR_SERVING_MODEL_LOADING', 'the %s model %s is still loading; retry in a second', 503);
/** The predictor refused the input (bad or missing field); counts as an error of that version. */
export const ServingInvalidInput = createError('TRN_ERR_SERVING_INVALID_INPUT', 'invalid input for %s %s: %s', 400);
/** The predictor threw for another reason; the original error is the cause. */
export const ServingPredictionFailed = createError('TRN_ERR_SERVING_PREDICTION_FAILED', '%s %s failed to predict: %s', 500);
export const ServingPredictionNotFound = createError('TRN_ERR_SERVING_PREDICTION_NOT_FOUND', 'prediction_id %j is unknown; prime remembers its last %d predictions', 404);
export const ServingFeedbackConflict = createError('TRN_ERR_SERVING_FEEDBACK_CONFLICT', 'prediction %s already has feedback success=%s', 409);
/** A version failed its digest check, load or probe prediction; it never receives traffic. */
export const ServingLoadFailed = createError('TRN_ERR_SERVING_LOAD_FAILED', 'could not load %s %s: %s', 422);
export const ServingInvalidSplit = createError('TRN_ERR_SERVING_INVALID_SPLIT', '%s', 400);
/** A caller of the serving classes passed a wrong option (a programming error, not request data). */
export const ServingInvalidOption = createError('TRN_ERR_SERVING_INVALID_OPTION', 'serving option %s must be %s, got %j', 500);
export const ServingClosed = createError('TRN_ERR_SERVING_CLOSED', 'the model server is closed', 503);

// ── store ─────────────────────────────────────────────────────────────────
export const StoreFailed = createError('TRN_ERR_STORE_FAILED', 'database operation failed: %s', 500);
/** SQLite: another process held the file's write lock for the whole wait (a stopped or very slow writer). */
export const StoreBusy = createError('TRN_ERR_STORE_BUSY', 'the database stayed locked by another process for %s s; retry shortly (a Trinity process stopped mid-write, by Ctrl-Z or SIGSTOP, holds the lock until it resumes: trinity doctor names it)', 503);

// ── deploy (rollouts, rollback, prime's split) ────────────────────────────
export const DeployInvalidRequest = createError('TRN_ERR_DEPLOY_INVALID_REQUEST', '%s', 400);
export const DeployNotFound = createError('TRN_ERR_DEPLOY_NOT_FOUND', 'Deployment not found: %j', 404);
/** One active deployment per model type; the answer carries `active_deployment_id`. */
export const DeployActive = createError('TRN_ERR_DEPLOY_ACTIVE', '%s already has an active deployment %s (%s); abort it or wait for it to end', 409);
/** The same deployment_id was sent for another model type or version. */
export const DeployIdConflict = createError('TRN_ERR_DEPLOY_ID_CONFLICT', 'deployment_id %j already names a deployment of %s %s', 409);
/** The gate: a version clearly less accurate than stable; carries both accuracies and the allowed drop. */
export const DeployAccuracyGate = createError(
  'TRN_ERR_DEPLOY_ACCURACY_GATE',
  '%s %s has accuracy %s, more than %s below stable %s (%s), compared on %s; send force: true to deploy it anyway',
  422,
);
export const DeployFinished = createError('TRN_ERR_DEPLOY_FINISHED', 'deployment %s already ended as %s; it cannot be %s', 409);
export const DeployNoRollbackTarget = createError('TRN_ERR_DEPLOY_NO_ROLLBACK_TARGET', 'no earlier %s version to roll back to from %s; name one with previous_version', 409);
export const DeployPrimeUnreachable = createError('TRN_ERR_DEPLOY_PRIME_UNREACHABLE', 'prime is not reachable at %s (%s)', 503);
/** Prime answered 422: a version of the split failed to load or probe; carries `version`. */
export const DeployPrimeRejected = createError('TRN_ERR_DEPLOY_PRIME_REJECTED', 'prime refused the %s split: %s', 422);
export const DeployPrimeBadResponse = createError('TRN_ERR_DEPLOY_PRIME_BAD_RESPONSE', 'unexpected answer from prime for %s: %s', 502);
/** A caller of DeploymentService or PrimeClient passed a wrong option (a programming error, not request data). */
export const DeployInvalidOption = createError('TRN_ERR_DEPLOY_INVALID_OPTION', '%s option %s must be %s, got %j', 500);

// ── coordinator (JARVIS: queue, training lock, resources, forwarding) ─────
export const CoordinatorInvalidRequest = createError('TRN_ERR_COORDINATOR_INVALID_REQUEST', '%s', 400);
export const CoordinatorUnknownModelType = createError('TRN_ERR_COORDINATOR_UNKNOWN_MODEL_TYPE', 'unknown model_type %j; expected one of %s', 400);
export const CoordinatorInvalidPriority = createError('TRN_ERR_COORDINATOR_INVALID_PRIORITY', 'priority must be one of CRITICAL, HIGH, NORMAL, LOW or 3, 2, 1, 0; got %j', 400);
export const CoordinatorJobNotFound = createError('TRN_ERR_COORDINATOR_JOB_NOT_FOUND', 'no coordinator job %j', 404);
/** A waiting job gave up after TRAINING_SLOT_TIMEOUT; it goes back to the queue with this reason. */
export const CoordinatorSlotTimeout = createError('TRN_ERR_COORDINATOR_SLOT_TIMEOUT', 'gave up after %s s (TRAINING_SLOT_TIMEOUT): %s', 503);
/** The reactor a job needs cannot be reached (circuit open, refused, timed out); the job waits in the queue. */
export const CoordinatorReactorUnavailable = createError('TRN_ERR_COORDINATOR_REACTOR_UNAVAILABLE', 'Reactor-Core at %s is unavailable: %s', 503);
/** Another holder took the training_slot after this process failed to renew its lease in time. */
export const CoordinatorLeaseLost = createError('TRN_ERR_COORDINATOR_LEASE_LOST', 'lease on %s lost by %s (token %d)', 409);
/** No terminal event within REACTOR_API_TIMEOUT: the job is cancelled at reactor and recorded failed. */
export const CoordinatorJobTimeout = createError('TRN_ERR_COORDINATOR_JOB_TIMEOUT', 'reactor job %s did not end within %s s (REACTOR_API_TIMEOUT)', 504);
/** Writing an experience file failed (folder missing or unwritable); the batch stays in the outbox. */
export const CoordinatorForwardFailed = createError('TRN_ERR_COORDINATOR_FORWARD_FAILED', 'could not write experience file in %s: %s', 503);
/** A caller of the coordinator classes passed a wrong option (a programming error, not request data). */
export const CoordinatorInvalidOption = createError('TRN_ERR_COORDINATOR_INVALID_OPTION', '%s option %s must be %s, got %j', 500);
