/**
 * Training jobs, their event logs and fencing tokens. The only place that knows their SQL; on the async
 * store seam (src/store/sql.ts), so on SQLite or Postgres.
 * The stored shape (JobRow) is kept apart from the domain shape (JobRecord); convert with fromRow.
 */
import { JobClaims } from './job-claims.js';
import { WorkerRoster } from './worker-roster.js';
import { forUpdate, type Sql, type SqlDb } from '../store/sql.js';
import { DEFAULT_WORKER_POOL, type WorkerPool } from '../worker-pools.js';

export type JobStatus = 'queued' | 'training' | 'completed' | 'failed' | 'cancelled';
export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

export interface JobMetrics {
  loss?: number;
  accuracy?: number;
  val_loss?: number;
  val_accuracy?: number;
  [name: string]: number | undefined;
}

export interface JobCheckpointRef {
  epoch: number;
  checkpoint_path: string;
}

export interface JobRecord {
  jobId: string;
  modelType: string;
  status: JobStatus;
  /** The normalised start request (without inline experiences). */
  request: Record<string, unknown>;
  totalEpochs: number;
  epoch: number;
  metrics: JobMetrics | null;
  modelVersion: string | null;
  error: string | null;
  checkpoint: JobCheckpointRef | null;
  resumedFromEpoch: number | null;
  datasetPath: string | null;
  datasetSize: number | null;
  bufferMaxSeq: number | null;
  createdAt: number;
  startedAt: number | null;
  completedAt: number | null;
  /** The runner that holds (or last held) the job's claim; null before any claim. */
  workerId: string | null;
  /** The pool of runners that may claim it ('local' unless the start named one). */
  workerPool: WorkerPool;
}

/** Appends a runner makes must still be under its claim: the job's holder and fencing token. */
export interface JobFence {
  workerId: string;
  token: number;
}

/** The runner's claim on a job is gone (another runner took it, or a cancel fenced it off). */
export class ClaimLost extends Error {
  constructor(jobId: string, fence: JobFence) {
    super(`job ${jobId} is no longer held by ${fence.workerId} under token ${fence.token}`);
    this.name = 'ClaimLost';
  }
}

export interface JobEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
  createdAt: number;
}

interface JobRow {
  job_id: string;
  model_type: string;
  status: string;
  request: string;
  total_epochs: number;
  epoch: number;
  metrics: string | null;
  model_version: string | null;
  error: string | null;
  checkpoint: string | null;
  resumed_from_epoch: number | null;
  dataset_path: string | null;
  dataset_size: number | null;
  buffer_max_seq: number | null;
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
  worker_id: string | null;
  worker_pool: WorkerPool;
}

interface EventRow {
  seq: number;
  event: string;
  data: string;
  created_at: number;
}

function fromRow(r: JobRow): JobRecord {
  return {
    jobId: r.job_id,
    modelType: r.model_type,
    status: r.status as JobStatus,
    request: JSON.parse(r.request) as Record<string, unknown>,
    totalEpochs: r.total_epochs,
    epoch: r.epoch,
    metrics: r.metrics === null ? null : (JSON.parse(r.metrics) as JobMetrics),
    modelVersion: r.model_version,
    error: r.error,
    checkpoint: r.checkpoint === null ? null : (JSON.parse(r.checkpoint) as JobCheckpointRef),
    resumedFromEpoch: r.resumed_from_epoch,
    datasetPath: r.dataset_path,
    datasetSize: r.dataset_size,
    bufferMaxSeq: r.buffer_max_seq,
    createdAt: r.created_at,
    startedAt: r.started_at,
    completedAt: r.completed_at,
    workerId: r.worker_id,
    workerPool: r.worker_pool,
  };
}

/** Fields a caller may change after creation. */
export type JobPatch = Partial<
  Pick<
    JobRecord,
    | 'status'
    | 'epoch'
    | 'metrics'
    | 'modelVersion'
    | 'error'
    | 'checkpoint'
    | 'resumedFromEpoch'
    | 'datasetPath'
    | 'datasetSize'
    | 'bufferMaxSeq'
    | 'startedAt'
    | 'completedAt'
  >
>;

const PATCH_COLUMNS: Record<keyof JobPatch, { column: string; json: boolean }> = {
  status: { column: 'status', json: false },
  epoch: { column: 'epoch', json: false },
  metrics: { column: 'metrics', json: true },
  modelVersion: { column: 'model_version', json: false },
  error: { column: 'error', json: false },
  checkpoint: { column: 'checkpoint', json: true },
  resumedFromEpoch: { column: 'resumed_from_epoch', json: false },
  datasetPath: { column: 'dataset_path', json: false },
  datasetSize: { column: 'dataset_size', json: false },
  bufferMaxSeq: { column: 'buffer_max_seq', json: false },
  startedAt: { column: 'started_at', json: false },
  completedAt: { column: 'completed_at', json: false },
};

export interface NewJob {
  jobId: string;
  modelType: string;
  request: Record<string, unknown>;
  totalEpochs: number;
  workerPool?: WorkerPool;
}

export interface FirstEvent {
  event: string;
  data: Record<string, unknown>;
  patch?: JobPatch;
}

export interface JobFilter {
  status?: string;
  modelType?: string;
  limit?: number;
}

export class JobStore {
  /** The runners' claims on these jobs (job-claims.ts). */
  readonly claims: JobClaims;
  /** The runners alive now, by pool (worker-roster.ts). */
  readonly roster: WorkerRoster;

  constructor(private readonly sql: SqlDb) {
    this.claims = new JobClaims(sql);
    this.roster = new WorkerRoster(sql);
  }

  /**
   * Inserts the job unless one with the same id exists; returns the stored job and whether it is new. A new
   * job's `first` event (and its patch) is written in the same transaction: no runner can claim the job
   * before it has them.
   */
  create(job: NewJob, first?: FirstEvent): Promise<{ job: JobRecord; created: boolean; event?: JobEvent }> {
    return this.sql.transaction(async (tx) => {
      const info = await tx.run(
        `INSERT INTO jobs (job_id, model_type, status, request, total_epochs, created_at, worker_pool) VALUES (?, ?, 'queued', ?, ?, ?, ?)
         ON CONFLICT (job_id) DO NOTHING`,
        [job.jobId, job.modelType, JSON.stringify(job.request), job.totalEpochs, Date.now() / 1000, job.workerPool ?? DEFAULT_WORKER_POOL],
      );
      const created = info.changes === 1;
      const event = created && first ? await this.appendIn(tx, job.jobId, first.event, first.data, first.patch) : undefined;
      return { job: (await this.getIn(tx, job.jobId))!, created, event };
    });
  }

  get(jobId: string): Promise<JobRecord | undefined> {
    return this.getIn(this.sql, jobId);
  }

  /** get in the caller's transaction. */
  async getIn(q: Sql, jobId: string): Promise<JobRecord | undefined> {
    const row = await q.get<JobRow>('SELECT * FROM jobs WHERE job_id = ?', [jobId]);
    return row && fromRow(row);
  }

  async withStatus(status: JobStatus): Promise<JobRecord[]> {
    return (await this.sql.all<JobRow>('SELECT * FROM jobs WHERE status = ? ORDER BY created_at, rowid', [status])).map(fromRow);
  }

  async countActive(): Promise<number> {
    return (await this.sql.get<{ n: number }>("SELECT COUNT(*) AS n FROM jobs WHERE status IN ('queued', 'training')"))!.n;
  }

  async list(filter: JobFilter = {}): Promise<JobRecord[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.status) {
      where.push('status = ?');
      args.push(filter.status);
    }
    if (filter.modelType) {
      where.push('model_type = ?');
      args.push(filter.modelType);
    }
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY created_at DESC, rowid DESC LIMIT ?`;
    args.push(Math.max(1, Math.min(filter.limit ?? 50, 500)));
    return (await this.sql.all<JobRow>(sql, args)).map(fromRow);
  }

  async update(jobId: string, patch: JobPatch): Promise<JobRecord> {
    await patchJob(this.sql, jobId, patch);
    return (await this.get(jobId))!;
  }

  /**
   * Appends an event to the job's log, optionally patching the job in the same transaction. With a fence,
   * only while that runner still holds the job under that token; ClaimLost otherwise, and nothing is written.
   */
  appendEvent(jobId: string, event: string, data: Record<string, unknown>, patch?: JobPatch, fence?: JobFence): Promise<JobEvent> {
    return this.sql.transaction((tx) => this.appendIn(tx, jobId, event, data, patch, fence));
  }

  /**
   * appendEvent inside the caller's transaction (a cancel that ends the job where it fences it off). The
   * job row is locked first (FOR UPDATE on Postgres, the write lock on SQLite): the fence check holds until
   * commit, and appenders of one job take turns, so each reads the last seq the previous one wrote and ids
   * stay gapless with no duplicate.
   */
  async appendIn(tx: Sql, jobId: string, event: string, data: Record<string, unknown>, patch?: JobPatch, fence?: JobFence): Promise<JobEvent> {
    const h = await tx.get<{ worker_id: string | null; lease_token: number }>(`SELECT worker_id, lease_token FROM jobs WHERE job_id = ?${forUpdate(tx.dialect)}`, [jobId]);
    if (fence && (h?.worker_id !== fence.workerId || h.lease_token !== fence.token)) throw new ClaimLost(jobId, fence);
    const createdAt = Date.now() / 1000;
    const row = await tx.get<{ seq: number }>(
      `INSERT INTO job_events (job_id, seq, event, data, created_at)
       SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, CAST(? AS DOUBLE PRECISION) FROM job_events WHERE job_id = ? RETURNING seq`,
      [jobId, event, JSON.stringify(data), createdAt, jobId],
    );
    if (patch) await patchJob(tx, jobId, patch);
    return { id: row!.seq, event, data, createdAt };
  }

  async eventsSince(jobId: string, afterSeq: number): Promise<JobEvent[]> {
    const rows = await this.sql.all<EventRow>('SELECT seq, event, data, created_at FROM job_events WHERE job_id = ? AND seq > ? ORDER BY seq', [jobId, afterSeq]);
    return rows.map((r) => ({ id: r.seq, event: r.event, data: JSON.parse(r.data) as Record<string, unknown>, createdAt: r.created_at }));
  }

  /**
   * Records a fencing token for a lock name. Returns the highest token seen before this call when the
   * given one is older (the caller refuses the request), or null when it is current.
   */
  checkFencingToken(name: string, token: number): Promise<number | null> {
    return this.sql.transaction(async (tx) => {
      // The first token of a name inserts its row; any later one locks that row before comparing.
      if ((await tx.run('INSERT INTO fencing_tokens (name, seen) VALUES (?, ?) ON CONFLICT (name) DO NOTHING', [name, token])).changes === 1) return null;
      const row = await tx.get<{ seen: number }>(`SELECT seen FROM fencing_tokens WHERE name = ?${forUpdate(tx.dialect)}`, [name]);
      if (token < row!.seen) return row!.seen;
      await tx.run('UPDATE fencing_tokens SET seen = ? WHERE name = ?', [token, name]);
      return null;
    });
  }

  /** The samples/s of the newest completed job of a type, for duration estimates. */
  async lastSamplesPerSecond(modelType: string): Promise<number | undefined> {
    const row = await this.sql.get<{ metrics: string }>(
      `SELECT metrics FROM jobs WHERE model_type = ? AND status = 'completed' AND metrics IS NOT NULL
       ORDER BY completed_at DESC LIMIT 1`,
      [modelType],
    );
    if (!row) return undefined;
    const v = (JSON.parse(row.metrics) as JobMetrics).samples_per_second;
    return typeof v === 'number' && v > 0 ? v : undefined;
  }
}

/** Job fields in the caller's statement runner (the store, or a transaction). */
async function patchJob(q: Sql, jobId: string, patch: JobPatch): Promise<void> {
  const sets: string[] = [];
  const args: unknown[] = [];
  for (const [key, value] of Object.entries(patch) as [keyof JobPatch, unknown][]) {
    if (value === undefined) continue;
    const col = PATCH_COLUMNS[key];
    sets.push(`${col.column} = ?`);
    args.push(col.json && value !== null ? JSON.stringify(value) : value);
  }
  if (sets.length > 0) await q.run(`UPDATE jobs SET ${sets.join(', ')} WHERE job_id = ?`, [...args, jobId]);
}
