/** The training service's options, ports and answers (see training-service.ts). */
import type { Logger } from 'pino';
import type { JobEvent, JobStore } from './jobs-store.js';
import type { ModelType } from '../model-types.js';
import type { Example } from '../models/types.js';
import type { BufferThreadRequest, BufferThreadResult } from './buffer-thread.js';

export interface Dataset {
  train: Example[];
  validation: Example[];
}

/** A dataset in memory, or read a page at a time (the buffer: a job's start never holds all of it). */
export type DatasetSource = Dataset | AsyncIterable<Dataset>;

/** Where training data comes from; implemented over the experience buffer (src/experiences). */
export interface TrainingDataPort {
  /** The whole buffer snapshot in memory (the memory estimate hashes every text). */
  bufferDataset(modelType: ModelType): Promise<Dataset & { maxSeq: number }>;
  /** The same snapshot page by page, read as the pages are taken. */
  bufferPages(modelType: ModelType): Promise<{ maxSeq: number; pages: AsyncIterable<Dataset> }>;
  /** Usable rows of the type in the buffer now (cheap: kept counts). */
  bufferRows(modelType: ModelType): Promise<number>;
  inlineDataset(raw: unknown[], modelType: ModelType): Dataset & { rejected: { index: number; error: string }[] };
  markTrained(modelType: ModelType, seq: number): Promise<void>;
}

/** Where finished models go; implemented by the registry (src/registry). */
export interface VersionPort {
  register(input: {
    modelType: ModelType;
    jobId: string;
    sourceDir: string;
    metrics: Record<string, number>;
    counts: Record<string, number>;
    /** More manifest fields (evaluation, calibration, probe_input). */
    extra?: Record<string, unknown>;
  }): Promise<{ version: string }>;
}

/**
 * What a finished export adds to its manifest before it registers (src/training/evaluation-service.ts):
 * figures of the export and of the stable version on the job's validation split, calibration, probe input.
 */
export interface ExportAssessor {
  assessExport(input: { modelType: ModelType; jobId: string; exportDir: string; datasetPath: string }): Promise<Record<string, unknown>>;
}

export interface TrainingServiceOptions {
  jobs: JobStore;
  data: TrainingDataPort;
  versions: VersionPort;
  /** Evaluates each export before it registers; without it versions register with the trainer's metrics alone. */
  assessor?: ExportAssessor;
  logger: Logger;
  checkpointsRoot: string;
  /**
   * How answers name `checkpointsRoot`, e.g. `$JARVIS_HOME/training_checkpoints`: a checkpoint's path is shown
   * under it, never as the host's absolute path. Default `$TRAINING_CHECKPOINT_DIR`.
   */
  checkpointsName?: string;
  dropboxDir: string;
  /** How messages name `dropboxDir` (see dropboxLabel). Default `TRAINING_DROPBOX_DIR`. */
  dropboxName?: string;
  maxConcurrentJobs: number;
  maxQueuedJobs: number;
  checkpointIntervalEpochs: number;
  autoResume: boolean;
  /** How often a step held up by a full or read-only disk is retried; default STORAGE_RETRY_MS. */
  storageRetryMs?: number;
  /**
   * Writes a job's frozen dataset; default dataset-file.ts. A seam for tests: a full disk cannot be made
   * on demand without mounting a small filesystem, which needs privileges a test run does not have.
   */
  writeDataset?: (path: string, dataset: DatasetSource) => Promise<void> | void;
  /**
   * Runs work over a type's whole buffer off the event loop (SQLite: a thread with its own connection,
   * buffer-thread.ts): a job's dataset file, and the memory estimate. Absent, the dataset is read page by
   * page between turns of the loop and the estimate on the loop.
   */
  bufferThread?: (modelType: ModelType, work: BufferThreadRequest['work']) => Promise<BufferThreadResult>;
  /** Whether this process runs a job runner (TRAINING_WORKERS=reactor); false leaves jobs to workers. Default true. */
  trainHere?: boolean;
  /** The runner's name as a claim holder. Default: runner-<pid>-<random>. */
  workerId?: string;
  /** Seconds a runner's claim on a job lasts unless renewed (TRAINING_LEASE_TTL). Default 30. */
  leaseTtlSeconds?: number;
}

export interface StartResponse {
  job_id: string;
  /** `started` or `queued` for a new job; a repeated job_id answers that job's real state. */
  status: 'started' | 'queued' | 'completed' | 'failed' | 'cancelled';
  message: string;
  started_at: string | null;
  estimated_duration_seconds: number;
  rejected?: { index: number; error: string }[];
}

/** The answer of POST /api/training/estimate; memory null when the trainer gives no estimate. */
export interface EstimateResponse {
  model_type: ModelType;
  memory_bytes: number | null;
  memory_gb: number | null;
  /** What the figure counts, e.g. "nlu estimate: Node runtime 112 MB + … = 320 MB". */
  basis: string;
  /** Examples the job would train and validate on. */
  examples: number;
}

export interface TrainingServiceListener {
  event: (jobId: string, event: JobEvent) => void;
}

