/**
 * Claims on training jobs (migration 6): which runner (a reactor's own, or a `trinity worker`) trains a job,
 * until when, under which fencing token. The only place that knows their SQL.
 *
 * A claim takes the oldest job that is queued, or training without a live holder (its lease ran out, or
 * its process is provably gone: same host, pid gone or reused), in one transaction: a SELECT of the
 * candidate, then an UPDATE guarded by the same condition. SQLite's single writer (BEGIN IMMEDIATE) makes
 * the pair atomic; on Postgres the SELECT is `FOR UPDATE SKIP LOCKED`, so two claimers never get one job.
 * Each claim raises the job's lease_token, and JobStore.appendEvent checks (worker_id, lease_token) when
 * given a fence, so a holder that lost its claim cannot write another event. Times are unix seconds from
 * the caller. On the async store seam (src/store/sql.ts).
 */
import { forUpdate, skipLocked, type Sql, type SqlDb } from '../store/sql.js';
import { isGone, type ProcessIdentity } from '../util/process-identity.js';
import { DEFAULT_WORKER_POOL, type WorkerPool } from '../worker-pools.js';

/** A runner's hold on one job; `token` fences its writes. */
export interface JobClaim {
  jobId: string;
  workerId: string;
  token: number;
  leaseUntil: number;
  /** The job was training before this claim (another holder died, stopped, or lost its lease). */
  interrupted: boolean;
}

/** What a renewal found: still held (and whether the API asked for a cancel), or lost to another. */
export type Renewal = { held: true; cancelRequested: boolean } | { held: false };

/** What a cancel request did: ended a job nobody runs, asked its live holder, or found it already ended. */
export type CancelRequest = 'ended' | 'asked' | 'finished';

export interface JobClaimsOptions {
  /** Whether a holder's process has provably ended (default: it ran on this host and is gone). */
  isGone?: (owner: ProcessIdentity) => boolean;
}

/** The claimable condition; its parameters are claimableParams(pool, now). */
const CLAIMABLE = `cancel_requested_at IS NULL AND worker_pool = ?
  AND (status = 'queued' OR (status = 'training' AND (worker_id IS NULL OR lease_until IS NULL OR lease_until <= ?)))`;
const claimableParams = (pool: WorkerPool, now: number) => [pool, now];

interface HolderRow {
  job_id: string;
  lease_token: number;
  owner_host: string;
  owner_pid: number;
  owner_start: number | null;
}

interface StateRow {
  status: string;
  worker_id: string | null;
  lease_until: number | null;
}

/** What a cancel does to a job nobody runs, in the cancel's transaction (after the job is fenced off). */
export type EndJob = (tx: Sql) => Promise<void>;

export class JobClaims {
  private readonly isGone: (owner: ProcessIdentity) => boolean;

  constructor(
    private readonly db: SqlDb,
    o: JobClaimsOptions = {},
  ) {
    this.isGone = o.isGone ?? isGone;
  }

  /**
   * Ends the leases of holders on this host whose process is gone: their jobs become claimable now. Outside
   * the claim's transaction (isGone reads /proc); the UPDATE is guarded by the token it judged.
   */
  private async expireGone(now: number): Promise<void> {
    const rows = await this.db.all<HolderRow>(
      `SELECT job_id, lease_token, owner_host, owner_pid, owner_start FROM jobs
       WHERE status = 'training' AND worker_id IS NOT NULL AND lease_until > ? AND owner_pid IS NOT NULL`,
      [now],
    );
    for (const r of rows) {
      if (this.isGone({ host: r.owner_host, pid: r.owner_pid, startTime: r.owner_start })) {
        await this.db.run('UPDATE jobs SET lease_until = ? WHERE job_id = ? AND lease_token = ?', [now, r.job_id, r.lease_token]);
      }
    }
  }

  /** The oldest claimable job of `pool`, now held by `workerId` for `ttlSeconds`; null when there is none. */
  async claimNext(workerId: string, owner: ProcessIdentity, ttlSeconds: number, now: number, pool: WorkerPool = DEFAULT_WORKER_POOL): Promise<JobClaim | null> {
    await this.expireGone(now);
    return this.db.transaction(async (tx) => {
      const next = await tx.get<{ job_id: string; status: string }>(
        `SELECT job_id, status FROM jobs WHERE ${CLAIMABLE} ORDER BY created_at, rowid LIMIT 1${skipLocked(tx.dialect)}`,
        claimableParams(pool, now),
      );
      if (!next) return null;
      const until = now + ttlSeconds;
      const taken = await tx.get<{ lease_token: number }>(
        `UPDATE jobs SET status = 'training', worker_id = ?, lease_until = ?, lease_token = lease_token + 1,
         owner_host = ?, owner_pid = ?, owner_start = ?, started_at = COALESCE(started_at, ?)
         WHERE job_id = ? AND ${CLAIMABLE} RETURNING lease_token`,
        [workerId, until, owner.host, owner.pid, owner.startTime, now, next.job_id, ...claimableParams(pool, now)],
      );
      if (!taken) return null;
      return { jobId: next.job_id, workerId, token: taken.lease_token, leaseUntil: until, interrupted: next.status === 'training' };
    });
  }

  /** Extends a claim to now + ttl while it is still this holder's; says whether a cancel was asked for. */
  async renew(claim: JobClaim, ttlSeconds: number, now: number): Promise<Renewal> {
    const until = now + ttlSeconds;
    const row = await this.db.get<{ cancel_requested_at: number | null }>(
      `UPDATE jobs SET lease_until = ? WHERE job_id = ? AND worker_id = ? AND lease_token = ? AND status = 'training'
       RETURNING cancel_requested_at`,
      [until, claim.jobId, claim.workerId, claim.token],
    );
    if (!row) return { held: false };
    claim.leaseUntil = until;
    return { held: true, cancelRequested: row.cancel_requested_at !== null };
  }

  /** Gives a training job back (a runner shutting down): the next claim resumes it from its checkpoint at once. */
  async release(claim: JobClaim): Promise<void> {
    await this.db.run(
      `UPDATE jobs SET worker_id = NULL, lease_until = NULL WHERE job_id = ? AND worker_id = ? AND lease_token = ? AND status = 'training'`,
      [claim.jobId, claim.workerId, claim.token],
    );
  }

  /**
   * A cancel from the API, for a job this process does not run. A queued job, or one whose holder has no
   * live lease, is ended here by `end` (run inside the transaction, after the job is fenced off from any
   * late holder); a job with a live holder gets cancel_requested_at, which its runner sees on its next check.
   */
  async requestCancel(jobId: string, now: number, end: EndJob): Promise<CancelRequest> {
    await this.expireGone(now);
    return this.db.transaction(async (tx): Promise<CancelRequest> => {
      const row = await this.state(tx, jobId);
      if (!row || (row.status !== 'queued' && row.status !== 'training')) return 'finished';
      const live = row.status === 'training' && row.worker_id !== null && row.lease_until !== null && row.lease_until > now;
      if (live) {
        await tx.run('UPDATE jobs SET cancel_requested_at = COALESCE(cancel_requested_at, ?) WHERE job_id = ?', [now, jobId]);
        return 'asked';
      }
      await this.fenceOff(tx, jobId, end);
      return 'ended';
    });
  }

  /** Ends a job whose holder did not honour a cancel in time: fenced off first, so its later writes fail. */
  async forceEnd(jobId: string, end: EndJob): Promise<void> {
    await this.db.transaction(async (tx) => {
      const row = await this.state(tx, jobId);
      if (row && (row.status === 'queued' || row.status === 'training')) await this.fenceOff(tx, jobId, end);
    });
  }

  /** The job's claim state, locked until the transaction ends (Postgres; SQLite holds the write lock). */
  private state(tx: Sql, jobId: string): Promise<StateRow | undefined> {
    return tx.get<StateRow>(`SELECT status, worker_id, lease_until FROM jobs WHERE job_id = ?${forUpdate(tx.dialect)}`, [jobId]);
  }

  private async fenceOff(tx: Sql, jobId: string, end: EndJob): Promise<void> {
    await tx.run('UPDATE jobs SET lease_token = lease_token + 1, worker_id = NULL, lease_until = NULL WHERE job_id = ?', [jobId]);
    await end(tx);
  }
}
