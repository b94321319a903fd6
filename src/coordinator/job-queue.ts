/**
 * The training queue (CONTRACT §6), persisted in the shared database: priority first, first in first out
 * within one, at most one queued job per model type, and it survives restarts. The order it shows is the
 * order jobs will run, each with why it waits: the reactor being away, the jobs ahead of it, the lock
 * being held, or what its runner last reported (resources, a slot timeout).
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { CoordinatorJobNotFound } from '../errors.js';
import type { ModelType } from '../model-types.js';
import type { CoordinatorStore } from './coordinator-store.js';
import { toJobWire } from './job-wire.js';
import type { LeaseLock } from './lease-lock.js';
import { priorityName } from './trigger-request.js';
import type { CoordinatorJob, JobSource, Lease, TrainingJobWire } from './types.js';

export interface JobQueueOptions {
  store: CoordinatorStore;
  lock: LeaseLock;
  now?: () => number;
}

export interface EnqueueRequest {
  modelType: ModelType;
  priority: number;
  epochs: number | null;
  source: JobSource;
  triggerCount?: number | null;
}

export interface JobQueueEvents {
  /** A job was added (not when the trigger found one of its type already queued). */
  added: [job: CoordinatorJob];
}

/** Job ids are reactor job ids too, so they follow reactor's pattern: letters, digits, '-'. */
export function newJobId(modelType: ModelType, nowMs: number): string {
  return `${modelType}-${nowMs.toString(36)}-${randomBytes(3).toString('hex')}`;
}

const seconds = (n: number) => `${Math.max(0, Math.round(n * 10) / 10)} s`;

function describeHolders(holders: Lease[], capacity: number, now: number): string {
  const who = holders.map((h) => `${h.holder}${h.jobId ? ` (job ${h.jobId})` : ''}, token ${h.token}, expires in ${seconds(h.expiresAt - now)}`);
  return `training_slot busy (${holders.length}/${capacity}): held by ${who.join('; ')}`;
}

export class JobQueue extends EventEmitter<JobQueueEvents> {
  private readonly now: () => number;

  constructor(private readonly o: JobQueueOptions) {
    super();
    this.now = o.now ?? Date.now;
  }

  /** Queues a job, or returns the one of its type already queued (`created: false`). */
  async enqueue(r: EnqueueRequest): Promise<{ job: CoordinatorJob; created: boolean }> {
    const nowMs = this.now();
    const res = await this.o.store.enqueue(
      { jobId: newJobId(r.modelType, nowMs), modelType: r.modelType, priority: r.priority, epochs: r.epochs, source: r.source, triggerCount: r.triggerCount ?? null },
      nowMs / 1000,
    );
    if (res.created) this.emit('added', res.job);
    return res;
  }

  async get(jobId: string): Promise<CoordinatorJob> {
    const job = await this.o.store.get(jobId);
    if (!job) throw CoordinatorJobNotFound(jobId);
    return job;
  }

  pendingOfType(modelType: ModelType): Promise<CoordinatorJob | undefined> {
    return this.o.store.pendingOfType(modelType);
  }

  lastOfType(modelType: ModelType): Promise<CoordinatorJob | undefined> {
    return this.o.store.lastOfType(modelType);
  }

  recent(limit: number): Promise<CoordinatorJob[]> {
    return this.o.store.recent(limit);
  }

  length(): Promise<number> {
    return this.o.store.countQueued();
  }

  /**
   * Running jobs (position 0), then queued ones in run order (positions 1…n), each with its waiting
   * reason. `reactorProblem` is this process's last word on reactor ("unavailable: …"), which holds up
   * every queued job.
   */
  async view(reactorProblem?: string | null): Promise<TrainingJobWire[]> {
    const now = this.now() / 1000;
    const [jobs, holders] = await Promise.all([this.o.store.active(), this.o.lock.holders()]);
    const full = holders.length >= this.o.lock.capacity;
    let position = 0;
    let first: CoordinatorJob | undefined;
    return jobs.map((job) => {
      if (job.status === 'running') return toJobWire(job, { position: 0 });
      position++;
      first ??= job;
      const reasons: string[] = [];
      if (reactorProblem) reasons.push(reactorProblem);
      if (job !== first) reasons.push(`behind ${position - 1} queued job${position === 2 ? '' : 's'} (next: ${first.jobId}, ${first.modelType} ${priorityName(first.priority)})`);
      if (full) reasons.push(describeHolders(holders, this.o.lock.capacity, now));
      if (reasons.length === 0) reasons.push(job.waitingReason?.replace(/^waiting: /, '') ?? 'next to run');
      return toJobWire(job, { position, waitingReason: `waiting: ${reasons.join('; ')}` });
    });
  }
}
