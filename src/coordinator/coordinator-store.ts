/**
 * The coordinator's tables (migration 3): the training queue and the leases of the training lock and of
 * leadership roles. The only place that knows their SQL, on the async store seam (src/store/sql.ts), the
 * same statements on SQLite and Postgres. Every jarvis (and reactor, for its roles) sharing the database
 * shares them, so each decision that must be atomic across processes (grant a lease and claim the next
 * job, give a job back and release its lease) is one transaction here. On SQLite BEGIN IMMEDIATE already
 * serialises them; on Postgres each first locks its lock name's token row (`lockName`), so grants of one
 * name run one at a time and tokens only grow. Times are unix seconds from the caller.
 */
import { StoreFailed } from '../errors.js';
import type { CoordinatorJob, JobDetails, JobSource, Lease } from './types.js';
import type { ModelType } from '../model-types.js';
import { isGone, type ProcessIdentity } from '../util/process-identity.js';
import { jobFromRow, leaseFromRow, type JobRow, type LeaseRow } from './coordinator-rows.js';
import { forUpdate, greatest, skipLocked, type Sql, type SqlDb } from '../store/sql.js';

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

const JOB_BY_ID = 'SELECT * FROM coordinator_jobs WHERE job_id = ?';
const QUEUED_OF_TYPE = "SELECT * FROM coordinator_jobs WHERE model_type = ? AND status = 'queued'";
/** Running jobs whose holder has no live lease on the name (params: name, now). */
const ORPHANS = `SELECT * FROM coordinator_jobs WHERE status = 'running' AND (holder IS NULL OR holder NOT IN
  (SELECT holder FROM coordinator_leases WHERE name = ? AND expires_at > ?)) ORDER BY started_at, seq`;
const LIVE_LEASES = 'SELECT * FROM coordinator_leases WHERE name = ? AND expires_at > ? ORDER BY token';
const LEASE_OF = 'SELECT * FROM coordinator_leases WHERE name = ? AND holder = ? AND expires_at > ?';
const RELEASE = 'DELETE FROM coordinator_leases WHERE name = ? AND holder = ?';
const TO_FINISHED = `UPDATE coordinator_jobs SET status = ?, holder = NULL, waiting_reason = NULL, error = COALESCE(?, error),
  details = ?, finished_at = ?, updated_at = ? WHERE job_id = ?`;

export class CoordinatorStore {
  private readonly isGone: (owner: ProcessIdentity) => boolean;

  constructor(
    private readonly db: SqlDb,
    o: CoordinatorStoreOptions = {},
  ) {
    this.isGone = o.isGone ?? isGone;
  }

  // ── queue ──────────────────────────────────────────────────────────────
  /** Adds a queued job unless its type already has one; returns the queued job of the type and whether it is new. */
  enqueue(job: NewJob, now: number): Promise<{ job: CoordinatorJob; created: boolean }> {
    return this.db.transaction(async (tx) => {
      // The one-queued-per-type index turns a second job of the type into no row (on Postgres after the
      // other inserter commits); the job then answered is the one queued.
      const info = await tx.run(
        `INSERT INTO coordinator_jobs (job_id, model_type, priority, epochs, source, status, trigger_count, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?) ON CONFLICT DO NOTHING`,
        [job.jobId, job.modelType, job.priority, job.epochs, job.source, job.triggerCount, now, now],
      );
      const row = await tx.get<JobRow>(QUEUED_OF_TYPE, [job.modelType]);
      if (!row) throw StoreFailed(`enqueue ${job.jobId}: the row was neither inserted nor found`);
      return { job: jobFromRow(row), created: info.changes === 1 };
    });
  }

  get(jobId: string): Promise<CoordinatorJob | undefined> {
    return this.one(this.db, JOB_BY_ID, [jobId]);
  }

  /** The queued or running job of a type, if any. */
  pendingOfType(modelType: ModelType): Promise<CoordinatorJob | undefined> {
    return this.one(this.db, "SELECT * FROM coordinator_jobs WHERE model_type = ? AND status IN ('queued', 'running') ORDER BY seq LIMIT 1", [modelType]);
  }

  lastOfType(modelType: ModelType): Promise<CoordinatorJob | undefined> {
    return this.one(this.db, 'SELECT * FROM coordinator_jobs WHERE model_type = ? ORDER BY seq DESC LIMIT 1', [modelType]);
  }

  /** Running jobs (oldest start first), then queued ones in the order they will run. */
  async active(): Promise<CoordinatorJob[]> {
    return (await this.db.all<JobRow>(`SELECT * FROM coordinator_jobs WHERE status IN ('queued', 'running') ${ORDER_ACTIVE}`)).map(jobFromRow);
  }

  async recent(limit: number): Promise<CoordinatorJob[]> {
    return (await this.db.all<JobRow>('SELECT * FROM coordinator_jobs ORDER BY seq DESC LIMIT ?', [limit])).map(jobFromRow);
  }

  countQueued(q: Sql = this.db): Promise<number> {
    return q.get<{ n: number }>("SELECT COUNT(*) AS n FROM coordinator_jobs WHERE status = 'queued'").then((r) => r?.n ?? 0);
  }

  /** Changes a running job, only while `holder` still runs it; false when it no longer does. */
  async updateRunning(jobId: string, holder: string, patch: RunningPatch, now: number): Promise<boolean> {
    const sets: string[] = ['updated_at = ?'];
    const args: unknown[] = [now];
    for (const [key, value] of Object.entries(patch) as [keyof RunningPatch, unknown][]) {
      if (value === undefined) continue;
      sets.push(`${PATCH_COLUMNS[key]} = ?`);
      args.push(key === 'details' ? JSON.stringify(value) : value);
    }
    const sql = `UPDATE coordinator_jobs SET ${sets.join(', ')} WHERE job_id = ? AND holder = ? AND status = 'running'`;
    return (await this.db.run(sql, [...args, jobId, holder])).changes === 1;
  }

  /** Ends a running job and releases its holder's lease in one step; false when `holder` no longer runs it. */
  finish(lockName: string, jobId: string, holder: string, end: { status: 'completed' | 'failed'; error: string | null; details: JobDetails }, now: number): Promise<boolean> {
    return this.heldJob(lockName, jobId, holder, async (tx) => {
      await tx.run(TO_FINISHED, [end.status, end.error, JSON.stringify(end.details), now, now, jobId]);
    });
  }

  /**
   * Gives a running job back to the queue (keeping its place: priority and seq do not change) and releases
   * the lease. When its type has been queued again meanwhile, the job fails as superseded instead.
   */
  requeue(lockName: string, jobId: string, holder: string, reason: string, details: JobDetails, now: number): Promise<boolean> {
    return this.heldJob(lockName, jobId, holder, async (tx, job) => {
      await this.putBack(tx, job, reason, details, now);
    });
  }

  /** Runs `change` on a job `holder` still runs, then releases its lease; false when it no longer runs it. */
  private heldJob(lockName: string, jobId: string, holder: string, change: (tx: Sql, job: CoordinatorJob) => Promise<void>): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      await this.lockName(tx, lockName);
      const job = await this.one(tx, JOB_BY_ID + forUpdate(tx.dialect), [jobId]);
      if (!job || job.holder !== holder || job.status !== 'running') return false;
      await change(tx, job);
      await tx.run(RELEASE, [lockName, holder]);
      return true;
    });
  }

  private async putBack(tx: Sql, job: CoordinatorJob, reason: string, details: JobDetails, now: number): Promise<PutBack> {
    const other = await tx.get<JobRow>(QUEUED_OF_TYPE, [job.modelType]);
    const next = JSON.stringify({ ...details, requeues: (details.requeues ?? 0) + 1 });
    if (other && job.reactorJobId !== null) {
      // Its reactor job may still be training: it stays running, without a lease, and the next grant
      // takes it over (claimNext) ahead of the queue, rather than losing that training to a newer job.
      const waiting = reason.replace(/^requeued: /, 'waiting for a holder: ');
      await tx.run('UPDATE coordinator_jobs SET waiting_reason = ?, details = ?, updated_at = ? WHERE job_id = ?', [waiting, JSON.stringify(details), now, job.jobId]);
      return 'kept';
    }
    if (other) {
      await tx.run(TO_FINISHED, ['failed', `${reason}; superseded by queued job ${other.job_id}`, next, now, now, job.jobId]);
      return 'superseded';
    }
    await tx.run("UPDATE coordinator_jobs SET status = 'queued', holder = NULL, waiting_reason = ?, details = ?, updated_at = ? WHERE job_id = ?", [
      reason,
      next,
      now,
      job.jobId,
    ]);
    return 'queued';
  }

  /**
   * Serialises the lease decisions on one name across Postgres connections: every transaction that reads
   * leases or jobs to decide a write first locks the name's token row (created at its first use). On
   * SQLite BEGIN IMMEDIATE already holds the only write lock, so nothing is sent.
   */
  private async lockName(tx: Sql, lockName: string): Promise<void> {
    if (tx.dialect !== 'postgres') return;
    await tx.run('INSERT INTO coordinator_lease_tokens (name, last_token) VALUES (?, 0) ON CONFLICT (name) DO NOTHING', [lockName]);
    await tx.get(`SELECT last_token FROM coordinator_lease_tokens WHERE name = ?${forUpdate(tx.dialect)}`, [lockName]);
  }

  /** Removes expired leases and those whose process has provably ended (it ran on this host and is gone). */
  private async purge(tx: Sql, lockName: string, now: number): Promise<void> {
    await tx.run('DELETE FROM coordinator_leases WHERE name = ? AND expires_at <= ?', [lockName, now]);
    for (const lease of await this.liveLeases(lockName, now, tx)) {
      if (lease.owner && this.isGone(lease.owner)) await tx.run(`${RELEASE} AND token = ?`, [lockName, lease.holder, lease.token]);
    }
  }

  /**
   * Running jobs whose holder has no live lease (it died, or stalled past its TTL) go back to the queue;
   * one whose type was queued again meanwhile and whose reactor job was started stays running for the next
   * grant to take over (not reported: it changed nothing).
   */
  recoverOrphans(lockName: string, now: number): Promise<RecoveredJob[]> {
    return this.db.transaction(async (tx) => {
      await this.lockName(tx, lockName);
      return this.recoverIn(tx, lockName, now);
    });
  }

  private async recoverIn(tx: Sql, lockName: string, now: number): Promise<RecoveredJob[]> {
    await this.purge(tx, lockName, now);
    const out: RecoveredJob[] = [];
    for (const row of await tx.all<JobRow>(ORPHANS + forUpdate(tx.dialect), [lockName, now])) {
      const job = jobFromRow(row);
      const reason = `requeued: its holder ${job.holder ?? '(none)'} lost its lease on ${lockName}`;
      const done = await this.putBack(tx, job, reason, job.details, now);
      if (done !== 'kept') out.push({ job, requeued: done === 'queued' });
    }
    return out;
  }

  /**
   * One grant of the lock, tied to the job it is for: when fewer than `capacity` live leases exist and a
   * job is queued, the next job (highest priority, then oldest) becomes `holder`'s with a new, larger
   * fencing token. Taking the job in the same transaction as the grant keeps priority order across
   * processes: whoever wins the slot runs the job at the head of the queue, never a job it picked before.
   */
  claimNext(lockName: string, holder: string, capacity: number, ttlSeconds: number, now: number, owner: ProcessIdentity | null = null): Promise<ClaimResult> {
    return this.db.transaction(async (tx): Promise<ClaimResult> => {
      await this.lockName(tx, lockName);
      await this.recoverIn(tx, lockName, now);
      const holders = await this.liveLeases(lockName, now, tx);
      // Left running by recoverOrphans: their reactor jobs were started, so they go first.
      const unheld = await tx.get<JobRow>(`${ORPHANS} LIMIT 1${forUpdate(tx.dialect)}`, [lockName, now]);
      const queued = (await this.countQueued(tx)) + (unheld ? 1 : 0);
      const head =
        unheld ?? (await tx.get<JobRow>(`SELECT * FROM coordinator_jobs WHERE status = 'queued' ORDER BY priority DESC, seq LIMIT 1${skipLocked(tx.dialect)}`));
      if (!head || holders.length >= capacity) return { granted: false, holders, queued };
      const lease = await this.grant(tx, lockName, holder, head.job_id, ttlSeconds, now, owner);
      const set = unheld ? 'holder = ?, fencing_token = ?' : "status = 'running', holder = ?, fencing_token = ?, started_at = COALESCE(started_at, ?)";
      const args = unheld ? [holder, lease.token] : [holder, lease.token, now];
      await tx.run(`UPDATE coordinator_jobs SET ${set}, waiting_reason = NULL, updated_at = ? WHERE job_id = ? AND status = ?`, [
        ...args,
        now,
        head.job_id,
        unheld ? 'running' : 'queued',
      ]);
      return { granted: true, lease, job: (await this.one(tx, JOB_BY_ID, [head.job_id]))! };
    });
  }

  // ── leases ─────────────────────────────────────────────────────────────
  async liveLeases(lockName: string, now: number, q: Sql = this.db): Promise<Lease[]> {
    return (await q.all<LeaseRow>(LIVE_LEASES, [lockName, now])).map(leaseFromRow);
  }

  /** A lease without a job (another service, an operator, a test); null while `capacity` holders are live. */
  acquire(lockName: string, holder: string, capacity: number, ttlSeconds: number, now: number, owner: ProcessIdentity | null = null): Promise<Lease | null> {
    return this.db.transaction(async (tx): Promise<Lease | null> => {
      await this.lockName(tx, lockName);
      await this.purge(tx, lockName, now);
      if (await tx.get(LEASE_OF, [lockName, holder, now])) return this.renewIn(tx, lockName, holder, ttlSeconds, now);
      if ((await this.liveLeases(lockName, now, tx)).length >= capacity) return null;
      return this.grant(tx, lockName, holder, null, ttlSeconds, now, owner);
    });
  }

  private async grant(tx: Sql, lockName: string, holder: string, jobId: string | null, ttlSeconds: number, now: number, owner: ProcessIdentity | null): Promise<Lease> {
    const token = await this.nextToken(tx, lockName);
    await tx.run(
      `INSERT INTO coordinator_leases (name, holder, token, job_id, acquired_at, renewed_at, expires_at, owner_host, owner_pid, owner_start)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name, holder) DO UPDATE SET token = excluded.token, job_id = excluded.job_id,
      acquired_at = excluded.acquired_at, renewed_at = excluded.renewed_at, expires_at = excluded.expires_at,
      owner_host = excluded.owner_host, owner_pid = excluded.owner_pid, owner_start = excluded.owner_start`,
      [lockName, holder, token, jobId, now, now, now + ttlSeconds, owner?.host ?? null, owner?.pid ?? null, owner?.startTime ?? null],
    );
    return { name: lockName, holder, token, jobId, acquiredAt: now, expiresAt: now + ttlSeconds, owner };
  }

  private async nextToken(tx: Sql, lockName: string): Promise<number> {
    const row = await tx.get<{ last_token: number }>(
      `INSERT INTO coordinator_lease_tokens (name, last_token) VALUES (?, 1)
      ON CONFLICT (name) DO UPDATE SET last_token = coordinator_lease_tokens.last_token + 1 RETURNING last_token`,
      [lockName],
    );
    return row!.last_token;
  }

  /** Extends a live lease; null when it has already expired (another holder may have it now). */
  renew(lockName: string, holder: string, ttlSeconds: number, now: number): Promise<Lease | null> {
    return this.renewIn(this.db, lockName, holder, ttlSeconds, now);
  }

  private async renewIn(q: Sql, lockName: string, holder: string, ttlSeconds: number, now: number): Promise<Lease | null> {
    // One statement: the lease is extended only while it is still live, and answered as it now stands.
    const row = await q.get<LeaseRow>('UPDATE coordinator_leases SET renewed_at = ?, expires_at = ? WHERE name = ? AND holder = ? AND expires_at > ? RETURNING *', [
      now,
      now + ttlSeconds,
      lockName,
      holder,
      now,
    ]);
    return row ? leaseFromRow(row) : null;
  }

  /**
   * A new, larger token for a live lease (after reactor refused the old one), above `atLeast` too (the
   * token reactor says it has seen); null when the lease is gone.
   */
  retoken(lockName: string, holder: string, now: number, atLeast = 0): Promise<number | null> {
    return this.db.transaction(async (tx): Promise<number | null> => {
      await this.lockName(tx, lockName);
      if (!(await tx.get(LEASE_OF, [lockName, holder, now]))) return null;
      await tx.run(
        `INSERT INTO coordinator_lease_tokens (name, last_token) VALUES (?, ?)
        ON CONFLICT (name) DO UPDATE SET last_token = ${greatest(tx.dialect, 'coordinator_lease_tokens.last_token', 'excluded.last_token')}`,
        [lockName, atLeast],
      );
      const token = await this.nextToken(tx, lockName);
      await tx.run('UPDATE coordinator_leases SET token = ? WHERE name = ? AND holder = ? AND expires_at > ?', [token, lockName, holder, now]);
      return token;
    });
  }

  async release(lockName: string, holder: string): Promise<void> {
    await this.db.run(RELEASE, [lockName, holder]);
  }

  private async one(q: Sql, sql: string, params: readonly unknown[]): Promise<CoordinatorJob | undefined> {
    const row = await q.get<JobRow>(sql, params);
    return row && jobFromRow(row);
  }
}
