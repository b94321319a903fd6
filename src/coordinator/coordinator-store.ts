/**
 * The coordinator's tables (migration 3): the training queue and the leases of the training lock. The
 * only place that knows their SQL. Every jarvis process on one home shares them through trinity.db, so
 * each decision that must be atomic across processes (grant a lease and claim the next job, give a job
 * back and release its lease) is one IMMEDIATE transaction here. Times are unix seconds from the caller.
 */
import type { Statement } from 'better-sqlite3';
import { StoreFailed } from '../errors.js';
import type { CoordinatorJob, JobDetails, JobSource, Lease } from './types.js';
import type { ModelType } from '../model-types.js';
import { isGone, type ProcessIdentity } from '../util/process-identity.js';
import { jobFromRow, leaseFromRow, type JobRow, type LeaseRow } from './coordinator-rows.js';
import type { Db } from '../store/database.js';

export interface NewJob {
  jobId: string;
  modelType: ModelType;
  priority: number;
  epochs: number | null;
  source: JobSource;
  triggerCount: number | null;
}

/** Fields a lease holder may change on its running job. */
export type RunningPatch = Partial<Pick<CoordinatorJob, 'waitingReason' | 'fencingToken' | 'reactorJobId' | 'modelVersion' | 'error' | 'details'>>;

const PATCH_COLUMNS: Record<keyof RunningPatch, string> = {
  waitingReason: 'waiting_reason',
  fencingToken: 'fencing_token',
  reactorJobId: 'reactor_job_id',
  modelVersion: 'model_version',
  error: 'error',
  details: 'details',
};

export type ClaimResult =
  | { granted: true; lease: Lease; job: CoordinatorJob }
  | { granted: false; holders: Lease[]; queued: number };

/** A running job whose holder lost its lease, and what became of it. */
export interface RecoveredJob {
  job: CoordinatorJob;
  requeued: boolean;
}

export interface CoordinatorStoreOptions {
  /** Whether a lease's process has provably ended (default: it ran on this host and is gone). */
  isGone?: (owner: ProcessIdentity) => boolean;
}

/** What putting a running job back did: queued again, failed as superseded, or left running for the next holder. */
type PutBack = 'queued' | 'superseded' | 'kept';

const ORDER_ACTIVE = `ORDER BY CASE status WHEN 'running' THEN 0 ELSE 1 END, CASE status WHEN 'running' THEN started_at END, priority DESC, seq`;

export class CoordinatorStore {
  private readonly s: Record<string, Statement>;
  private readonly isGone: (owner: ProcessIdentity) => boolean;

  constructor(
    private readonly db: Db,
    o: CoordinatorStoreOptions = {},
  ) {
    this.isGone = o.isGone ?? isGone;
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      insertJob: p(`INSERT OR IGNORE INTO coordinator_jobs
        (job_id, model_type, priority, epochs, source, status, trigger_count, created_at, updated_at)
        VALUES (@job_id, @model_type, @priority, @epochs, @source, 'queued', @trigger_count, @now, @now)`),
      getJob: p('SELECT * FROM coordinator_jobs WHERE job_id = ?'),
      queuedOfType: p("SELECT * FROM coordinator_jobs WHERE model_type = ? AND status = 'queued'"),
      pendingOfType: p("SELECT * FROM coordinator_jobs WHERE model_type = ? AND status IN ('queued', 'running') ORDER BY seq LIMIT 1"),
      lastOfType: p('SELECT * FROM coordinator_jobs WHERE model_type = ? ORDER BY seq DESC LIMIT 1'),
      active: p(`SELECT * FROM coordinator_jobs WHERE status IN ('queued', 'running') ${ORDER_ACTIVE}`),
      recent: p('SELECT * FROM coordinator_jobs ORDER BY seq DESC LIMIT ?'),
      countQueued: p("SELECT COUNT(*) FROM coordinator_jobs WHERE status = 'queued'").pluck(),
      head: p("SELECT * FROM coordinator_jobs WHERE status = 'queued' ORDER BY priority DESC, seq LIMIT 1"),
      orphans: p(`SELECT * FROM coordinator_jobs WHERE status = 'running' AND (holder IS NULL OR holder NOT IN
        (SELECT holder FROM coordinator_leases WHERE name = @name AND expires_at > @now)) ORDER BY started_at, seq`),
      toQueued: p(`UPDATE coordinator_jobs SET status = 'queued', holder = NULL, waiting_reason = @reason, details = @details,
        updated_at = @now WHERE job_id = @job_id`),
      toFinished: p(`UPDATE coordinator_jobs SET status = @status, holder = NULL, waiting_reason = NULL, error = COALESCE(@error, error),
        details = @details, finished_at = @now, updated_at = @now WHERE job_id = @job_id`),
      toKept: p('UPDATE coordinator_jobs SET waiting_reason = @reason, details = @details, updated_at = @now WHERE job_id = @job_id'),
      adopt: p(`UPDATE coordinator_jobs SET holder = @holder, fencing_token = @token, waiting_reason = NULL, updated_at = @now
        WHERE job_id = @job_id AND status = 'running'`),
      toRunning: p(`UPDATE coordinator_jobs SET status = 'running', holder = @holder, fencing_token = @token, waiting_reason = NULL,
        started_at = COALESCE(started_at, @now), updated_at = @now WHERE job_id = @job_id AND status = 'queued'`),
      purgeLeases: p('DELETE FROM coordinator_leases WHERE name = ? AND expires_at <= ?'),
      liveLeases: p('SELECT * FROM coordinator_leases WHERE name = ? AND expires_at > ? ORDER BY token'),
      leaseOf: p('SELECT * FROM coordinator_leases WHERE name = ? AND holder = ? AND expires_at > ?'),
      nextToken: p(`INSERT INTO coordinator_lease_tokens (name, last_token) VALUES (?, 1)
        ON CONFLICT (name) DO UPDATE SET last_token = last_token + 1 RETURNING last_token`).pluck(),
      raiseToken: p(`INSERT INTO coordinator_lease_tokens (name, last_token) VALUES (@name, @at_least)
        ON CONFLICT (name) DO UPDATE SET last_token = MAX(last_token, @at_least)`),
      insertLease: p(`INSERT OR REPLACE INTO coordinator_leases
        (name, holder, token, job_id, acquired_at, renewed_at, expires_at, owner_host, owner_pid, owner_start)
        VALUES (@name, @holder, @token, @job_id, @now, @now, @expires_at, @owner_host, @owner_pid, @owner_start)`),
      dropLease: p('DELETE FROM coordinator_leases WHERE name = ? AND holder = ? AND token = ?'),
      renewLease: p('UPDATE coordinator_leases SET renewed_at = @now, expires_at = @expires_at WHERE name = @name AND holder = @holder AND expires_at > @now'),
      retoken: p('UPDATE coordinator_leases SET token = @token WHERE name = @name AND holder = @holder AND expires_at > @now'),
      releaseLease: p('DELETE FROM coordinator_leases WHERE name = ? AND holder = ?'),
    };
  }

  // ── queue ──────────────────────────────────────────────────────────────
  /** Adds a queued job unless its type already has one; returns the queued job of the type and whether it is new. */
  enqueue(job: NewJob, now: number): { job: CoordinatorJob; created: boolean } {
    return this.db
      .transaction(() => {
        const info = this.s.insertJob.run({
          job_id: job.jobId,
          model_type: job.modelType,
          priority: job.priority,
          epochs: job.epochs,
          source: job.source,
          trigger_count: job.triggerCount,
          now,
        });
        const row = this.s.queuedOfType.get(job.modelType) as JobRow | undefined;
        // OR IGNORE only skips the insert for the one-queued-per-type index; anything else is a bug.
        if (!row) throw StoreFailed(`enqueue ${job.jobId}: the row was neither inserted nor found`);
        return { job: jobFromRow(row), created: info.changes === 1 };
      })
      .immediate();
  }

  get(jobId: string): CoordinatorJob | undefined {
    const row = this.s.getJob.get(jobId) as JobRow | undefined;
    return row && jobFromRow(row);
  }

  /** The queued or running job of a type, if any. */
  pendingOfType(modelType: ModelType): CoordinatorJob | undefined {
    const row = this.s.pendingOfType.get(modelType) as JobRow | undefined;
    return row && jobFromRow(row);
  }

  lastOfType(modelType: ModelType): CoordinatorJob | undefined {
    const row = this.s.lastOfType.get(modelType) as JobRow | undefined;
    return row && jobFromRow(row);
  }

  /** Running jobs (oldest start first), then queued ones in the order they will run. */
  active(): CoordinatorJob[] {
    return (this.s.active.all() as JobRow[]).map(jobFromRow);
  }

  recent(limit: number): CoordinatorJob[] {
    return (this.s.recent.all(limit) as JobRow[]).map(jobFromRow);
  }

  countQueued(): number {
    return this.s.countQueued.get() as number;
  }

  /** Changes a running job, only while `holder` still runs it; false when it no longer does. */
  updateRunning(jobId: string, holder: string, patch: RunningPatch, now: number): boolean {
    const sets: string[] = ['updated_at = ?'];
    const args: unknown[] = [now];
    for (const [key, value] of Object.entries(patch) as [keyof RunningPatch, unknown][]) {
      if (value === undefined) continue;
      sets.push(`${PATCH_COLUMNS[key]} = ?`);
      args.push(key === 'details' ? JSON.stringify(value) : value);
    }
    const sql = `UPDATE coordinator_jobs SET ${sets.join(', ')} WHERE job_id = ? AND holder = ? AND status = 'running'`;
    return this.db.prepare(sql).run(...args, jobId, holder).changes === 1;
  }

  /** Ends a running job and releases its holder's lease in one step; false when `holder` no longer runs it. */
  finish(lockName: string, jobId: string, holder: string, end: { status: 'completed' | 'failed'; error: string | null; details: JobDetails }, now: number): boolean {
    return this.db
      .transaction(() => {
        const job = this.get(jobId);
        if (!job || job.holder !== holder || job.status !== 'running') return false;
        this.s.toFinished.run({ job_id: jobId, status: end.status, error: end.error, details: JSON.stringify(end.details), now });
        this.s.releaseLease.run(lockName, holder);
        return true;
      })
      .immediate();
  }

  /**
   * Gives a running job back to the queue (keeping its place: priority and seq do not change) and releases
   * the lease. When its type has been queued again meanwhile, the job fails as superseded instead.
   */
  requeue(lockName: string, jobId: string, holder: string, reason: string, details: JobDetails, now: number): boolean {
    return this.db
      .transaction(() => {
        const job = this.get(jobId);
        if (!job || job.holder !== holder || job.status !== 'running') return false;
        this.putBack(job, reason, details, now);
        this.s.releaseLease.run(lockName, holder);
        return true;
      })
      .immediate();
  }

  private putBack(job: CoordinatorJob, reason: string, details: JobDetails, now: number): PutBack {
    const other = this.s.queuedOfType.get(job.modelType) as JobRow | undefined;
    const next = { ...details, requeues: (details.requeues ?? 0) + 1 };
    if (other && job.reactorJobId !== null) {
      // Its reactor job may still be training: it stays running, without a lease, and the next grant
      // takes it over (claimNext) ahead of the queue, rather than losing that training to a newer job.
      this.s.toKept.run({ job_id: job.jobId, reason: reason.replace(/^requeued: /, 'waiting for a holder: '), details: JSON.stringify(details), now });
      return 'kept';
    }
    if (other) {
      const error = `${reason}; superseded by queued job ${other.job_id}`;
      this.s.toFinished.run({ job_id: job.jobId, status: 'failed', error, details: JSON.stringify(next), now });
      return 'superseded';
    }
    this.s.toQueued.run({ job_id: job.jobId, reason, details: JSON.stringify(next), now });
    return 'queued';
  }

  /** Removes expired leases and those whose process has provably ended (it ran on this host and is gone). */
  private purge(lockName: string, now: number): void {
    this.s.purgeLeases.run(lockName, now);
    for (const lease of this.liveLeases(lockName, now)) {
      if (lease.owner && this.isGone(lease.owner)) this.s.dropLease.run(lockName, lease.holder, lease.token);
    }
  }

  /**
   * Running jobs whose holder has no live lease (it died, or stalled past its TTL) go back to the queue;
   * one whose type was queued again meanwhile and whose reactor job was started stays running for the next
   * grant to take over (not reported: it changed nothing).
   */
  recoverOrphans(lockName: string, now: number): RecoveredJob[] {
    return this.db
      .transaction(() => {
        this.purge(lockName, now);
        const out: RecoveredJob[] = [];
        for (const row of this.s.orphans.all({ name: lockName, now }) as JobRow[]) {
          const job = jobFromRow(row);
          const reason = `requeued: its holder ${job.holder ?? '(none)'} lost its lease on ${lockName}`;
          const done = this.putBack(job, reason, job.details, now);
          if (done !== 'kept') out.push({ job, requeued: done === 'queued' });
        }
        return out;
      })
      .immediate();
  }

  /**
   * One grant of the lock, tied to the job it is for: when fewer than `capacity` live leases exist and a
   * job is queued, the next job (highest priority, then oldest) becomes `holder`'s with a new, larger
   * fencing token. Taking the job in the same transaction as the grant keeps priority order across
   * processes: whoever wins the slot runs the job at the head of the queue, never a job it picked before.
   */
  claimNext(lockName: string, holder: string, capacity: number, ttlSeconds: number, now: number, owner: ProcessIdentity | null = null): ClaimResult {
    return this.db
      .transaction((): ClaimResult => {
        this.recoverOrphans(lockName, now);
        const holders = this.liveLeases(lockName, now);
        // Left running by recoverOrphans: their reactor jobs were started, so they go first.
        const unheld = this.s.orphans.get({ name: lockName, now }) as JobRow | undefined;
        const queued = this.countQueued() + (unheld ? 1 : 0);
        const head = unheld ?? (this.s.head.get() as JobRow | undefined);
        if (!head || holders.length >= capacity) return { granted: false, holders, queued };
        const lease = this.grant(lockName, holder, head.job_id, ttlSeconds, now, owner);
        this.s[unheld ? 'adopt' : 'toRunning'].run({ job_id: head.job_id, holder, token: lease.token, now });
        return { granted: true, lease, job: this.get(head.job_id)! };
      })
      .immediate();
  }

  // ── leases ─────────────────────────────────────────────────────────────
  liveLeases(lockName: string, now: number): Lease[] {
    return (this.s.liveLeases.all(lockName, now) as LeaseRow[]).map(leaseFromRow);
  }

  /** A lease without a job (another service, an operator, a test); null while `capacity` holders are live. */
  acquire(lockName: string, holder: string, capacity: number, ttlSeconds: number, now: number, owner: ProcessIdentity | null = null): Lease | null {
    return this.db
      .transaction((): Lease | null => {
        this.purge(lockName, now);
        const mine = this.s.leaseOf.get(lockName, holder, now) as LeaseRow | undefined;
        if (mine) return this.renew(lockName, holder, ttlSeconds, now);
        if (this.liveLeases(lockName, now).length >= capacity) return null;
        return this.grant(lockName, holder, null, ttlSeconds, now, owner);
      })
      .immediate();
  }

  private grant(lockName: string, holder: string, jobId: string | null, ttlSeconds: number, now: number, owner: ProcessIdentity | null): Lease {
    const token = this.s.nextToken.get(lockName) as number;
    const who = { owner_host: owner?.host ?? null, owner_pid: owner?.pid ?? null, owner_start: owner?.startTime ?? null };
    this.s.insertLease.run({ name: lockName, holder, token, job_id: jobId, now, expires_at: now + ttlSeconds, ...who });
    return { name: lockName, holder, token, jobId, acquiredAt: now, expiresAt: now + ttlSeconds, owner };
  }

  /** Extends a live lease; null when it has already expired (another holder may have it now). */
  renew(lockName: string, holder: string, ttlSeconds: number, now: number): Lease | null {
    const changed = this.s.renewLease.run({ name: lockName, holder, now, expires_at: now + ttlSeconds }).changes === 1;
    if (!changed) return null;
    return leaseFromRow(this.s.leaseOf.get(lockName, holder, now) as LeaseRow);
  }

  /**
   * A new, larger token for a live lease (after reactor refused the old one), above `atLeast` too (the
   * token reactor says it has seen); null when the lease is gone.
   */
  retoken(lockName: string, holder: string, now: number, atLeast = 0): number | null {
    return this.db
      .transaction((): number | null => {
        if (!this.s.leaseOf.get(lockName, holder, now)) return null;
        this.s.raiseToken.run({ name: lockName, at_least: atLeast });
        const token = this.s.nextToken.get(lockName) as number;
        this.s.retoken.run({ name: lockName, holder, token, now });
        return token;
      })
      .immediate();
  }

  release(lockName: string, holder: string): void {
    this.s.releaseLease.run(lockName, holder);
  }
}
