/**
 * Training jobs, their event logs and fencing tokens. The only place that knows their SQL.
 * The stored shape (JobRow) is kept apart from the domain shape (JobRecord); convert with fromRow.
 */
import type { Db } from '../store/database.js';
import { JobClaims } from './job-claims.js';
import { WorkerRoster } from './worker-roster.js';
import { SqliteSql, type SqlDb } from '../store/sql.js';
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

export interface JobFilter {
  status?: string;
  modelType?: string;
  limit?: number;
}

export class JobStore {
  private readonly stmts;
  /** The runners' claims on these jobs (job-claims.ts). */
  readonly claims: JobClaims;
  /** The runners alive now, by pool (worker-roster.ts). */
  readonly roster: WorkerRoster;

  /** `sql`: the async seam for the parts already on it (the roster); default: the same SQLite handle. */
  constructor(
    private readonly db: Db,
    sql: SqlDb = new SqliteSql(db),
  ) {
    this.claims = new JobClaims(db);
    this.roster = new WorkerRoster(sql);
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO jobs (job_id, model_type, status, request, total_epochs, created_at, worker_pool)
         VALUES (@job_id, @model_type, @status, @request, @total_epochs, @created_at, @worker_pool)
         ON CONFLICT (job_id) DO NOTHING`,
      ),
      get: db.prepare('SELECT * FROM jobs WHERE job_id = ?'),
      byStatus: db.prepare('SELECT * FROM jobs WHERE status = ? ORDER BY created_at, rowid'),
      countActive: db.prepare("SELECT COUNT(*) AS n FROM jobs WHERE status IN ('queued', 'training')"),
      holder: db.prepare('SELECT worker_id, lease_token FROM jobs WHERE job_id = ?'),
      lastSeq: db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM job_events WHERE job_id = ?'),
      insertEvent: db.prepare('INSERT INTO job_events (job_id, seq, event, data, created_at) VALUES (?, ?, ?, ?, ?)'),
      eventsSince: db.prepare('SELECT seq, event, data, created_at FROM job_events WHERE job_id = ? AND seq > ? ORDER BY seq'),
      fencingGet: db.prepare('SELECT seen FROM fencing_tokens WHERE name = ?'),
      fencingPut: db.prepare(
        `INSERT INTO fencing_tokens (name, seen) VALUES (?, ?)
         ON CONFLICT (name) DO UPDATE SET seen = MAX(seen, excluded.seen)`,
      ),
      samplesPerSecond: db.prepare(
        `SELECT metrics FROM jobs WHERE model_type = ? AND status = 'completed' AND metrics IS NOT NULL
         ORDER BY completed_at DESC LIMIT 1`,
      ),
    };
  }

  /** Inserts the job unless one with the same id exists; returns the stored job and whether it is new. */
  create(job: { jobId: string; modelType: string; request: Record<string, unknown>; totalEpochs: number; workerPool?: WorkerPool }): {
    job: JobRecord;
    created: boolean;
  } {
    const info = this.stmts.insert.run({
      job_id: job.jobId,
      model_type: job.modelType,
      status: 'queued',
      request: JSON.stringify(job.request),
      total_epochs: job.totalEpochs,
      created_at: Date.now() / 1000,
      worker_pool: job.workerPool ?? DEFAULT_WORKER_POOL,
    });
    return { job: this.get(job.jobId)!, created: info.changes === 1 };
  }

  get(jobId: string): JobRecord | undefined {
    const row = this.stmts.get.get(jobId) as JobRow | undefined;
    return row && fromRow(row);
  }

  withStatus(status: JobStatus): JobRecord[] {
    return (this.stmts.byStatus.all(status) as JobRow[]).map(fromRow);
  }

  countActive(): number {
    return (this.stmts.countActive.get() as { n: number }).n;
  }

  list(filter: JobFilter = {}): JobRecord[] {
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
    return (this.db.prepare(sql).all(...args) as JobRow[]).map(fromRow);
  }

  update(jobId: string, patch: JobPatch): JobRecord {
    const sets: string[] = [];
    const args: unknown[] = [];
    for (const [key, value] of Object.entries(patch) as [keyof JobPatch, unknown][]) {
      if (value === undefined) continue;
      const col = PATCH_COLUMNS[key];
      sets.push(`${col.column} = ?`);
      args.push(col.json && value !== null ? JSON.stringify(value) : value);
    }
    if (sets.length > 0) {
      this.db.prepare(`UPDATE jobs SET ${sets.join(', ')} WHERE job_id = ?`).run(...args, jobId);
    }
    return this.get(jobId)!;
  }

  /**
   * Appends an event to the job's log, optionally patching the job in the same transaction. With a fence,
   * only while that runner still holds the job under that token; ClaimLost otherwise, and nothing is written.
   */
  appendEvent(jobId: string, event: string, data: Record<string, unknown>, patch?: JobPatch, fence?: JobFence): JobEvent {
    return this.db
      .transaction((): JobEvent => {
        if (fence) {
          const h = this.stmts.holder.get(jobId) as { worker_id: string | null; lease_token: number } | undefined;
          if (h?.worker_id !== fence.workerId || h.lease_token !== fence.token) throw new ClaimLost(jobId, fence);
        }
        const seq = (this.stmts.lastSeq.get(jobId) as { seq: number }).seq + 1;
        const createdAt = Date.now() / 1000;
        this.stmts.insertEvent.run(jobId, seq, event, JSON.stringify(data), createdAt);
        if (patch) this.update(jobId, patch);
        return { id: seq, event, data, createdAt };
      })
      .immediate();
  }

  eventsSince(jobId: string, afterSeq: number): JobEvent[] {
    return (this.stmts.eventsSince.all(jobId, afterSeq) as EventRow[]).map((r) => ({
      id: r.seq,
      event: r.event,
      data: JSON.parse(r.data) as Record<string, unknown>,
      createdAt: r.created_at,
    }));
  }

  /**
   * Records a fencing token for a lock name. Returns the highest token seen before this call when the
   * given one is older (the caller refuses the request), or null when it is current.
   */
  checkFencingToken(name: string, token: number): number | null {
    return this.db
      .transaction((): number | null => {
        const row = this.stmts.fencingGet.get(name) as { seen: number } | undefined;
        if (row && token < row.seen) return row.seen;
        this.stmts.fencingPut.run(name, token);
        return null;
      })
      .immediate();
  }

  /** The samples/s of the newest completed job of a type, for duration estimates. */
  lastSamplesPerSecond(modelType: string): number | undefined {
    const row = this.stmts.samplesPerSecond.get(modelType) as { metrics: string } | undefined;
    if (!row) return undefined;
    const v = (JSON.parse(row.metrics) as JobMetrics).samples_per_second;
    return typeof v === 'number' && v > 0 ? v : undefined;
  }
}
