/**
 * Types of the Advanced Training Coordinator (CONTRACT §5–§6): priorities, the stored job and its wire
 * form, placement, deployment and attempt records, and the messages its classes exchange.
 */
import type { WorkerPool } from '../worker-pools.js';
import type { ModelType } from '../model-types.js';
import type { ProcessIdentity } from '../util/process-identity.js';

/** CONTRACT §6: CRITICAL=3 voice, HIGH=2 nlu, NORMAL=1 vision, LOW=0 embedding. */
export const PRIORITIES = { CRITICAL: 3, HIGH: 2, NORMAL: 1, LOW: 0 } as const;
export type PriorityName = keyof typeof PRIORITIES;

/** The priority a model type gets when a trigger names none. */
export const DEFAULT_PRIORITY: Readonly<Record<ModelType, PriorityName>> = Object.freeze({
  voice: 'CRITICAL',
  nlu: 'HIGH',
  vision: 'NORMAL',
  embedding: 'LOW',
});

export type JobSource = 'manual' | 'auto';
export type CoordinatorJobStatus = 'queued' | 'running' | 'completed' | 'failed';
/** Where a running job is in its run (CONTRACT §6 order). */
export type JobPhase = 'waiting_for_resources' | 'starting' | 'training' | 'deploying';

/** The local-or-cloud decision and why (COST_AWARE_TRAINING). */
export interface Placement {
  target: 'local' | 'cloud';
  reactor_url: string;
  /** The pool of `trinity worker`s that trains it (sent as the start's worker_pool); absent: the reactor's own runners. */
  pool?: WorkerPool;
  /** Estimated size of the training data in MB (MiB). */
  data_size_mb: number;
  reason: string;
  /** Set when the job runs locally although it is larger than LOCAL_TRAINING_MAX_SIZE_MB. */
  warning?: string;
}

/** One start of the job at a reactor. A retry after `failed` uses a new reactor job id. */
export interface AttemptRecord {
  reactor_job_id: string;
  status: 'started' | 'completed' | 'failed' | 'cancelled' | 'refused';
  fencing_token: number;
  started_at: string;
  ended_at?: string;
  error?: string;
  note?: string;
}

/**
 * What came of `POST /api/models/deploy` after training: reactor's own status when it accepted
 * (`deploying`, or `completed` when the version went live at once), else why not.
 */
export interface DeploymentRecord {
  status: 'deploying' | 'completed' | 'refused' | 'not_available' | 'failed';
  strategy: string;
  requested_at: string;
  http_status?: number;
  deployment_id?: string;
  error?: string;
  response?: Record<string, unknown>;
}

export interface Progress {
  epoch?: number | null;
  total_epochs?: number | null;
  loss?: number | null;
  accuracy?: number | null;
  val_accuracy?: number | null;
}

/** The JSON `details` column of a coordinator job. */
export interface JobDetails {
  phase?: JobPhase;
  placement?: Placement;
  attempts?: AttemptRecord[];
  deployment?: DeploymentRecord;
  progress?: Progress;
  metrics?: Record<string, unknown>;
  /** How often the job went back to the queue (slot timeout, reactor lost, holder died). */
  requeues?: number;
  /** How often it waited TRAINING_SLOT_TIMEOUT for resources in vain; later waiting reasons say so. */
  give_ups?: number;
}

/** A coordinator job as stored (src/coordinator/coordinator-store.ts). Times are unix seconds. */
export interface CoordinatorJob {
  seq: number;
  jobId: string;
  modelType: ModelType;
  priority: number;
  epochs: number | null;
  source: JobSource;
  status: CoordinatorJobStatus;
  holder: string | null;
  waitingReason: string | null;
  /** new_since_last_training when the auto-trigger queued it. */
  triggerCount: number | null;
  fencingToken: number | null;
  reactorJobId: string | null;
  modelVersion: string | null;
  error: string | null;
  details: JobDetails;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  updatedAt: number;
}

/** A live lease on a named lock. */
export interface Lease {
  name: string;
  holder: string;
  token: number;
  jobId: string | null;
  acquiredAt: number;
  expiresAt: number;
  /** The process holding it; null when unknown (then only its TTL ends it). */
  owner: ProcessIdentity | null;
}

/** The TrainingJob of the JARVIS API (`POST /api/training/trigger`, `GET /api/training/queue`). */
export interface TrainingJobWire {
  job_id: string;
  model_type: ModelType;
  priority: PriorityName;
  priority_value: number;
  epochs: number | null;
  source: JobSource;
  status: CoordinatorJobStatus;
  phase: JobPhase | null;
  /** 1-based place among queued jobs; 0 for running ones; absent once finished. */
  position?: number;
  waiting_reason: string | null;
  holder: string | null;
  fencing_token: number | null;
  reactor_job_id: string | null;
  placement: Placement | null;
  attempts: AttemptRecord[];
  progress: Progress | null;
  model_version: string | null;
  metrics: Record<string, unknown> | null;
  deployment: DeploymentRecord | null;
  error: string | null;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
}

/** How one run of a claimed job ended: the worker writes it to the store and releases the lease. */
export type RunOutcome =
  | { kind: 'completed'; modelVersion: string | null }
  | { kind: 'failed'; error: string }
  | { kind: 'requeued'; reason: string }
  /** Another holder owns the job now; this process must not touch it. */
  | { kind: 'lost'; reason: string };

/** The resource rule's answer (CONTRACT §6). */
export type ResourceVerdict = { ok: true; summary: string } | { ok: false; reason: string };

/** Circuit breaker state as /health shows it. */
export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';
