/**
 * The coordinator's loop: while jobs are queued and reactor answers, win a grant of training_slot (which
 * hands over the job at the head of the shared queue), run it, repeat. Up to MAX_CONCURRENT_TRAINING_JOBS
 * runners per process, each its own lease holder; any number of processes share the queue and the lock
 * through the database. A runner that waits longer than TRAINING_SLOT_TIMEOUT for the lock says so and
 * starts over, so the wait is visible in the log, never silent.
 */
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClaimResult, RecoveredJob } from './coordinator-store.js';
import type { JobQueue } from './job-queue.js';
import type { JobRunner } from './job-runner.js';
import type { LeaseLock } from './lease-lock.js';
import { describeError, type ReactorLink } from './reactor-link.js';
import type { Lease } from './types.js';

/** Ms between tries for the lock while it is held: a released slot is taken within this. */
export const LOCK_POLL_MS = 250;
/** Ms between looks at an empty queue when no local trigger wakes the loop (jobs added by other processes). */
export const IDLE_POLL_MS = 1_000;

export interface TrainingWorkerOptions {
  queue: JobQueue;
  lock: LeaseLock;
  runner: JobRunner;
  /** The local reactor, asked before the lock is taken so a slot is never held for a reactor that is away. */
  reactor: ReactorLink;
  /** REACTOR_CORE_ENABLED */
  reactorEnabled: boolean;
  /** This process's id; runner i holds leases as `<instanceId>/<i>`. */
  instanceId: string;
  /** Runners in this process (MAX_CONCURRENT_TRAINING_JOBS). */
  concurrency: number;
  /** TRAINING_SLOT_TIMEOUT in ms. */
  slotTimeoutMs: number;
  /** RESOURCE_CHECK_INTERVAL in ms: how often an away reactor is asked again. */
  checkIntervalMs: number;
  now?: () => number;
}

export interface TrainingWorkerEvents {
  /** Reactor became unusable (the reason) or usable again (null). */
  reactor: [problem: string | null];
  claimed: [lease: Lease];
  /** The lock stayed busy for TRAINING_SLOT_TIMEOUT; the runner starts over. */
  slotTimeout: [holders: Lease[], waitedMs: number];
  recovered: [job: RecoveredJob];
  error: [err: unknown];
}

export class TrainingWorker extends EventEmitter<TrainingWorkerEvents> {
  private readonly closed = new AbortController();
  private readonly now: () => number;
  private loops: Promise<void>[] = [];
  private wakers = new Set<() => void>();
  private problem: string | null = null;
  private closing: Promise<void> | null = null;

  constructor(private readonly o: TrainingWorkerOptions) {
    super();
    this.now = o.now ?? Date.now;
  }

  start(): void {
    if (this.loops.length > 0 || this.closing) return;
    this.o.queue.on('added', () => this.wake());
    for (let i = 0; i < this.o.concurrency; i++) this.loops.push(this.loop(`${this.o.instanceId}/${i}`));
  }

  /** This process's last word on the local reactor: why it cannot be used, or null. */
  reactorProblem(): string | null {
    return this.problem;
  }

  /** Ends idle waits at once (a job was queued here). */
  wake(): void {
    for (const w of this.wakers) w();
    this.wakers.clear();
  }

  private async pause(ms: number): Promise<void> {
    const ac = new AbortController();
    const waker = () => ac.abort();
    this.wakers.add(waker);
    try {
      await sleep(Math.max(10, ms), undefined, { signal: AbortSignal.any([ac.signal, this.closed.signal]) });
    } catch {
      // woken or closing: either way the loop looks again
    } finally {
      this.wakers.delete(waker);
    }
  }

  private async loop(holder: string): Promise<void> {
    while (!this.closed.signal.aborted) {
      try {
        await this.cycle(holder);
      } catch (err) {
        if (this.closed.signal.aborted) break;
        if (this.listenerCount('error') > 0) this.emit('error', err);
        await this.pause(this.o.checkIntervalMs);
      }
    }
  }

  private async cycle(holder: string): Promise<void> {
    for (const r of await this.o.lock.recoverOrphans()) this.emit('recovered', r);
    if ((await this.o.queue.length()) === 0) return this.pause(IDLE_POLL_MS);
    if (!(await this.reactorUsable())) return this.pause(this.o.checkIntervalMs);
    const claim = await this.waitForSlot(holder);
    if (!claim) return;
    this.emit('claimed', claim.lease);
    const outcome = await this.o.runner.run(claim.job, claim.lease, this.closed.signal);
    // A job that went back to the queue (resources, reactor) is not retried at once by this runner: the
    // pause lets other holders of the lock have it in between.
    if (outcome.kind === 'requeued') await this.pause(this.o.checkIntervalMs);
  }

  private async reactorUsable(): Promise<boolean> {
    let problem: string | null = null;
    if (!this.o.reactorEnabled) problem = 'waiting: REACTOR_CORE_ENABLED is off';
    else {
      try {
        const h = await this.o.reactor.health(this.closed.signal);
        if (h.status === 'starting') problem = `waiting: Reactor-Core at ${this.o.reactor.baseUrl} is starting`;
      } catch (err) {
        if (this.closed.signal.aborted) return false;
        const cause = this.o.reactor.lastFailure();
        const state = this.o.reactor.breakerState();
        const why = describeError(err) === cause || cause === null ? describeError(err) : `${describeError(err)}; last failure: ${cause}`;
        problem = `waiting: Reactor-Core at ${this.o.reactor.baseUrl} is unavailable (${why}; circuit ${state})`;
      }
    }
    if (problem !== this.problem) {
      this.problem = problem;
      this.emit('reactor', problem);
    }
    return problem === null;
  }

  private async waitForSlot(holder: string): Promise<Extract<ClaimResult, { granted: true }> | null> {
    const started = this.now();
    for (;;) {
      if (this.closed.signal.aborted) return null;
      const c = await this.o.lock.claimNext(holder);
      if (c.granted) return c;
      if (c.queued === 0) return null;
      const waited = this.now() - started;
      if (waited >= this.o.slotTimeoutMs) {
        this.emit('slotTimeout', c.holders, waited);
        return null;
      }
      await this.pause(Math.min(LOCK_POLL_MS, this.o.slotTimeoutMs - waited));
    }
  }

  /**
   * Stops taking jobs; running ones are told to stop, go back to the queue with their reactor job id (the
   * next holder follows it on) and release their leases. Safe to call twice.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed.abort();
      this.wake();
      await Promise.allSettled(this.loops);
    })();
    return this.closing;
  }
}
