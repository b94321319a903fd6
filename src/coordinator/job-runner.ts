/**
 * Runs claimed jobs (one JobRun each) with everything a run needs, and tells listeners what happens:
 * where a job goes and why, what it waits for, its progress, its deployment and how it ended.
 */
import { EventEmitter } from 'node:events';
import { CoordinatorInvalidOption } from '../errors.js';
import type { ModelType } from '../model-types.js';
import type { CoordinatorStore } from './coordinator-store.js';
import type { ForwardedStats } from './outbox-store.js';
import type { DeployPolicy } from './after-training.js';
import { JobRun } from './job-run.js';
import type { LeaseLock } from './lease-lock.js';
import type { PlacementPolicy } from './placement.js';
import type { ReactorLink } from './reactor-link.js';
import type { ResourceGate } from './resource-gate.js';
import type { CoordinatorJob, DeploymentRecord, Lease, Placement, Progress, RunOutcome } from './types.js';

export interface JobRunnerEvents {
  placed: [job: CoordinatorJob, placement: Placement];
  /** The job waits, and why ("waiting: J-Prime has 3 active requests"). */
  waiting: [job: CoordinatorJob, reason: string];
  reserved: [job: CoordinatorJob, summary: string];
  started: [job: CoordinatorJob, reactorJobId: string, fencingToken: number];
  /** A reactor job started by an earlier holder is followed again. */
  resumed: [job: CoordinatorJob, reactorJobId: string];
  progress: [job: CoordinatorJob, progress: Progress];
  deployed: [job: CoordinatorJob, deployment: DeploymentRecord];
  finished: [job: CoordinatorJob, outcome: RunOutcome];
}

export interface JobRunnerOptions {
  store: CoordinatorStore;
  lock: LeaseLock;
  links: { local: ReactorLink; cloud?: ReactorLink };
  gate: ResourceGate;
  placement: PlacementPolicy;
  /** What jarvis forwarded of a type, for the data size estimate. */
  forwarded: (modelType: ModelType) => Promise<ForwardedStats>;
  deployPolicy: DeployPolicy;
  /** AUTO_RESUME_FAILED_TRAINING: retry a failed training once. */
  autoResume: boolean;
  /** TRAINING_MEMORY_RESERVE_GB when set: every job's memory need; null to reserve each job's estimate. */
  memoryReserveGb: number | null;
  /** CHECKPOINT_INTERVAL_EPOCHS, sent as checkpoint_interval. */
  checkpointInterval: number;
  /** REACTOR_API_TIMEOUT in ms: the longest one training is followed. */
  jobTimeoutMs: number;
  /** Ms between checks while reactor is away mid-job (RESOURCE_CHECK_INTERVAL). */
  retryIntervalMs: number;
  now?: () => number;
}

/** What a JobRun reads: the options with defaults filled, plus the emitter it reports through. */
export type RunContext = Required<Omit<JobRunnerOptions, 'now'>> & { now: () => number; events: JobRunner };

export class JobRunner extends EventEmitter<JobRunnerEvents> {
  private readonly ctx: RunContext;

  constructor(o: JobRunnerOptions) {
    super();
    for (const key of ['jobTimeoutMs', 'retryIntervalMs'] as const) {
      if (!(o[key] > 0)) throw CoordinatorInvalidOption('JobRunner', key, 'a positive number of ms', o[key]);
    }
    this.ctx = { ...o, links: o.links, now: o.now ?? Date.now, events: this };
  }

  /** Runs the job to its outcome, which is written to the store and the lease released, before resolving. */
  run(job: CoordinatorJob, lease: Lease, closeSignal: AbortSignal): Promise<RunOutcome> {
    return new JobRun(this.ctx, job, lease).execute(closeSignal);
  }
}
