/**
 * Messages between the job runner (parent) and a trainer child process, as unions keyed by `cmd`
 * (parent → child) and `type` (child → parent). The child never touches the database: it reads its
 * dataset file, writes checkpoints and artifacts, and reports through these messages.
 */
import type { ModelType } from '../model-types.js';
import type { EpochMetrics, TrainerOptions } from '../models/types.js';

export interface TrainerJobSpec {
  jobId: string;
  modelType: ModelType;
  /** JSONL of DatasetLine, written by the parent before the first start. */
  datasetPath: string;
  options: TrainerOptions;
  seed: number;
  checkpointsRoot: string;
  checkpointEnabled: boolean;
  checkpointInterval: number;
  /** Where the finished model is exported, for the registry to pick up. */
  exportDir: string;
  /** Continue from the latest checkpoint if there is one. */
  resume: boolean;
  /**
   * Milliseconds without a keepalive from the runner after which the trainer stops on its own (exit 3, no
   * checkpoint): a runner that is paused (SIGSTOP) or hung loses its claim after its lease TTL, and its
   * trainer must then let the job's lock go for the runner that took the job over. Absent: no such check.
   */
  keepaliveTimeoutMs?: number;
}

/** One line of a job's dataset file. */
export interface DatasetLine {
  id: string;
  split: 'train' | 'validation';
  input: Record<string, unknown>;
  label?: string;
  score?: number;
}

export type StopReason = 'cancel' | 'shutdown';

export type ParentMessage = { cmd: 'start'; job: TrainerJobSpec } | { cmd: 'stop'; reason: StopReason } | { cmd: 'keepalive' };

/** A trainer's keepalive timeout for a runner whose claims last `leaseTtlSeconds`: the TTL and 5 s more, at least 10 s. */
export function keepaliveTimeoutMs(leaseTtlSeconds: number): number {
  return Math.max(10_000, leaseTtlSeconds * 1000 + 5_000);
}

export interface EpochReport extends EpochMetrics {
  epoch: number;
  total_epochs: number;
  samples_per_second: number;
  eta_seconds: number;
}

export type ChildMessage =
  | { type: 'ready' }
  | { type: 'started'; resumedFromEpoch: number | null; trainSize: number; validationSize: number }
  | { type: 'epoch'; report: EpochReport }
  | { type: 'checkpoint'; epoch: number; path: string; metrics: EpochReport }
  | {
      type: 'exported';
      dir: string;
      epochs: number;
      metrics: EpochReport;
      trainSize: number;
      validationSize: number;
      /** The child's peak resident memory so far (getrusage ru_maxrss): what the job added to the machine. */
      peakRssBytes: number;
    }
  | { type: 'stopped'; reason: StopReason; epoch: number }
  /** A checkpoint a resume passed over (damaged), newest first; the job resumes from an older one. */
  | { type: 'checkpoint_skipped'; epoch: number; path: string; reason: string }
  /** A checkpoint could not be written (full or read-only disk); training goes on, the next one retries. */
  | { type: 'checkpoint_failed'; epoch: number; code: string; error: string }
  /** Something worth a log line (waiting for an earlier trainer's lock, leftovers removed). */
  | { type: 'notice'; message: string }
  /** `code` is set for storage trouble (ENOSPC, EROFS…): the job can go on once the disk is fixed. */
  | { type: 'failed'; error: string; stack?: string; code?: string };

/**
 * The trainer's niceness. Training is background work: at this niceness the services' requests (and the
 * user's own programs) get a core first when they need one, and the trainer has whatever is left. The
 * result is the same bits.
 */
export const TRAINER_NICENESS = 10;
