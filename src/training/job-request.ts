/**
 * The body of POST /api/training/start (CONTRACT §3), checked once with zod, its options (`epochs`,
 * `config`) by the model type's own rules (job-options.ts). Every problem becomes a 400 that names the
 * field and what it got, never a 500.
 */
import { z } from 'zod';
import { MODEL_TYPES, isModelType, type ModelType } from '../model-types.js';
import { WORKER_POOLS, type WorkerPool } from '../worker-pools.js';
import type { TrainerOptions } from '../models/types.js';
import { TrainingInvalidJobId, TrainingInvalidRequest, TrainingUnknownModelType } from '../errors.js';
import { checkJobOptions, MAX_EPOCHS } from './job-options.js';

/** Job ids become folder names: letters, digits, '-', '_' and '.', never starting with a dot. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/** What `config` holds once checkJobOptions has passed it. */
interface JobConfig {
  learning_rate?: number;
  batch_size?: number;
  model_architecture?: string;
  /** Seed of the job's generator; same seed + same data → same weights. Default: derived from job_id. */
  seed?: number;
}

const startSchema = z
  .object({
    job_id: z.string().optional(),
    model_type: z.string(),
    experiences: z.array(z.unknown()).optional(),
    // Checked by the model type's rules once model_type is known.
    config: z.unknown().optional(),
    epochs: z.unknown().optional(),
    checkpoint_enabled: z.boolean().optional(),
    checkpoint_interval: z.number().int().min(1).max(MAX_EPOCHS).optional(),
    dataset_path: z.string().min(1).max(4096).optional(),
    use_dropbox: z.boolean().optional(),
    fencing_token: z.number().int().min(0).optional(),
    priority: z.union([z.string(), z.number()]).optional(),
    // Which `trinity worker --pool` may train it (JARVIS's placement); 'local' when absent.
    worker_pool: z.enum(WORKER_POOLS).optional(),
  })
  .loose();

/** Epochs of a start that names none (CONTRACT §3). */
export const DEFAULT_EPOCHS = 10;

export interface StartRequest {
  jobId?: string;
  modelType: ModelType;
  experiences?: unknown[];
  learningRate?: number;
  batchSize?: number;
  architecture?: string;
  seed?: number;
  epochs: number;
  checkpointEnabled: boolean;
  checkpointInterval: number;
  datasetPath?: string;
  useDropbox: boolean;
  fencingToken?: number;
  workerPool?: WorkerPool;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length ? issue.path.join('.') : 'body';
  return `${path}: ${issue.message}`;
}

export function parseStartRequest(body: unknown, defaults: { checkpointInterval: number }): StartRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw TrainingInvalidRequest('body must be a JSON object with at least model_type');
  }
  const parsed = startSchema.safeParse(body);
  if (!parsed.success) {
    throw TrainingInvalidRequest(parsed.error.issues.map(describeIssue).join('; '));
  }
  const b = parsed.data;
  if (!isModelType(b.model_type)) throw TrainingUnknownModelType(b.model_type, MODEL_TYPES.join(', '));
  checkJobOptions(b.model_type, b);
  const config = (b.config ?? {}) as JobConfig;
  if (b.job_id !== undefined && !JOB_ID_PATTERN.test(b.job_id)) throw TrainingInvalidJobId(b.job_id);
  if (b.dataset_path !== undefined && b.experiences !== undefined) {
    throw TrainingInvalidRequest('send either experiences or dataset_path, not both');
  }
  if (b.dataset_path !== undefined && b.use_dropbox !== true) {
    throw TrainingInvalidRequest('dataset_path needs use_dropbox: true (files are read only from TRAINING_DROPBOX_DIR)');
  }
  return {
    jobId: b.job_id,
    modelType: b.model_type,
    experiences: b.experiences,
    learningRate: config.learning_rate,
    batchSize: config.batch_size,
    architecture: config.model_architecture,
    seed: config.seed,
    epochs: (b.epochs as number | undefined) ?? DEFAULT_EPOCHS,
    checkpointEnabled: b.checkpoint_enabled ?? true,
    checkpointInterval: b.checkpoint_interval ?? defaults.checkpointInterval,
    datasetPath: b.dataset_path,
    useDropbox: b.use_dropbox ?? false,
    fencingToken: b.fencing_token,
    workerPool: b.worker_pool,
  };
}

/** The trainer's options of a request (epochs, batch size, learning rate, architecture). */
export function trainerOptions(req: StartRequest): TrainerOptions {
  return { epochs: req.epochs, batchSize: req.batchSize, learningRate: req.learningRate, architecture: req.architecture };
}

/** Validates a job id from a URL before it reaches the store or a path. */
export function checkJobId(jobId: string): string {
  if (!JOB_ID_PATTERN.test(jobId)) throw TrainingInvalidJobId(jobId);
  return jobId;
}
