/**
 * Claims on training jobs (migration 6): which runner (a reactor's own, or a `trinity worker`) trains a job,
 * until when, under which fencing token. The only place that knows their SQL.
 *
 * A claim takes the oldest job that is queued, or training without a live holder (its lease ran out, or
 * its process is provably gone: same host, pid gone or reused), in one IMMEDIATE transaction: a SELECT of
 * the candidate, then an UPDATE guarded by the same condition. SQLite's single writer makes the pair
 * atomic; on Postgres the SELECT becomes `FOR UPDATE SKIP LOCKED`. Each claim raises the job's
 * lease_token, and JobStore.appendEvent checks (worker_id, lease_token) when given a fence, so a holder
 * that lost its claim cannot write another event. Times are unix seconds from the caller.
 */
import type { Statement } from 'better-sqlite3';
import type { Db } from '../store/database.js';
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

const CLAIMABLE = `cancel_requested_at IS NULL AND worker_pool = @pool
  AND (status = 'queued' OR (status = 'training' AND (worker_id IS NULL OR lease_until IS NULL OR lease_until <= @now)))`;

interface HolderRow {
  job_id: string;
  lease_token: number;
  owner_host: string;
  owner_pid: number;
  owner_start: number | null;
}

export class JobClaims {
  private readonly s: Record<string, Statement>;
  private readonly isGone: (owner: ProcessIdentity) => boolean;

  constructor(
    private readonly db: Db,
    o: JobClaimsOptions = {},
  ) {
    this.isGone = o.isGone ?? isGone;
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      liveHolders: p(`SELECT job_id, lease_token, owner_host, owner_pid, owner_start FROM jobs
        WHERE status = 'training' AND worker_id IS NOT NULL AND lease_until > @now AND owner_pid IS NOT NULL`),
      expire: p('UPDATE jobs SET lease_until = @now WHERE job_id = @job_id AND lease_token = @token'),
      // Postgres: the same SELECT … FOR UPDATE SKIP LOCKED.
      next: p(`SELECT job_id, status FROM jobs WHERE ${CLAIMABLE} ORDER BY created_at, rowid LIMIT 1`),
      take: p(`UPDATE jobs SET status = 'training', worker_id = @worker, lease_until = @until, lease_token = lease_token + 1,
        owner_host = @host, owner_pid = @pid, owner_start = @start, started_at = COALESCE(started_at, @now)
        WHERE job_id = @job_id AND ${CLAIMABLE} RETURNING lease_token`).pluck(),
      renew: p(`UPDATE jobs SET lease_until = @until WHERE job_id = @job_id AND worker_id = @worker AND lease_token = @token
        AND status = 'training' RETURNING cancel_requested_at`).pluck(),
      release: p(`UPDATE jobs SET worker_id = NULL, lease_until = NULL WHERE job_id = @job_id AND worker_id = @worker
        AND lease_token = @token AND status = 'training'`),
      get: p('SELECT status, worker_id, lease_until, lease_token, owner_host, owner_pid, owner_start FROM jobs WHERE job_id = ?'),
      askCancel: p('UPDATE jobs SET cancel_requested_at = COALESCE(cancel_requested_at, @now) WHERE job_id = @job_id'),
      fenceOff: p('UPDATE jobs SET lease_token = lease_token + 1, worker_id = NULL, lease_until = NULL WHERE job_id = ?'),
    };
  }

  /** Ends the leases of holders on this host whose process is gone: their jobs become claimable now. */
  private expireGone(now: number): void {
    for (const r of this.s.liveHolders.all({ now }) as HolderRow[]) {
      if (this.isGone({ host: r.owner_host, pid: r.owner_pid, startTime: r.owner_start })) {
        this.s.expire.run({ now, job_id: r.job_id, token: r.lease_token });
      }
    }
  }

  /** The oldest claimable job of `pool`, now held by `workerId` for `ttlSeconds`; null when there is none. */
  claimNext(workerId: string, owner: ProcessIdentity, ttlSeconds: number, now: number, pool: WorkerPool = DEFAULT_WORKER_POOL): JobClaim | null {
    return this.db
      .transaction((): JobClaim | null => {
        this.expireGone(now);
        const next = this.s.next.get({ now, pool }) as { job_id: string; status: string } | undefined;
        if (!next) return null;
        const until = now + ttlSeconds;
        const token = this.s.take.get({ job_id: next.job_id, worker: workerId, until, now, pool, host: owner.host, pid: owner.pid, start: owner.startTime }) as
          | number
          | undefined;
        if (token === undefined) return null;
        return { jobId: next.job_id, workerId, token, leaseUntil: until, interrupted: next.status === 'training' };
      })
      .immediate();
  }

  /** Extends a claim to now + ttl while it is still this holder's; says whether a cancel was asked for. */
  renew(claim: JobClaim, ttlSeconds: number, now: number): Renewal {
    const until = now + ttlSeconds;
    const rows = this.s.renew.all({ job_id: claim.jobId, worker: claim.workerId, token: claim.token, until }) as (number | null)[];
    if (rows.length === 0) return { held: false };
    claim.leaseUntil = until;
    return { held: true, cancelRequested: rows[0] !== null };
  }

  /** Gives a training job back (a runner shutting down): the next claim resumes it from its checkpoint at once. */
  release(claim: JobClaim): void {
    this.s.release.run({ job_id: claim.jobId, worker: claim.workerId, token: claim.token });
  }

  /**
   * A cancel from the API, for a job this process does not run. A queued job, or one whose holder has no
   * live lease, is ended here by `end` (called inside the transaction, after the job is fenced off from any
   * late holder); a job with a live holder gets cancel_requested_at, which its runner sees on its next check.
   */
  requestCancel(jobId: string, now: number, end: () => void): CancelRequest {
    return this.db
      .transaction((): CancelRequest => {
        this.expireGone(now);
        const row = this.s.get.get(jobId) as { status: string; worker_id: string | null; lease_until: number | null } | undefined;
        if (!row || (row.status !== 'queued' && row.status !== 'training')) return 'finished';
        const live = row.status === 'training' && row.worker_id !== null && row.lease_until !== null && row.lease_until > now;
        if (live) {
          this.s.askCancel.run({ job_id: jobId, now });
          return 'asked';
        }
        this.s.fenceOff.run(jobId);
        end();
        return 'ended';
      })
      .immediate();
  }

  /** Ends a job whose holder did not honour a cancel in time: fenced off first, so its later writes fail. */
  forceEnd(jobId: string, end: () => void): void {
    this.db
      .transaction(() => {
        const row = this.s.get.get(jobId) as { status: string } | undefined;
        if (!row || (row.status !== 'queued' && row.status !== 'training')) return;
        this.s.fenceOff.run(jobId);
        end();
      })
      .immediate();
  }
}
