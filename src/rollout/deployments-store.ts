/**
 * Deployments, their event logs, their accumulated outcome counts and the mark of prime's last stats
 * read: the only place that knows those tables' SQL. Rows (DeploymentRow, CountsRow) stay apart from the
 * rollout's domain shapes; convert with fromRow/toRow.
 */
import { StoreFailed } from '../errors.js';
import type { ModelType } from '../model-types.js';
import type { CountsByVersion, Phase, RolloutSpec, RolloutStatus, VersionCounts } from './types.js';
import type { StatsMark } from './stats-accumulator.js';
import { joinTransaction, storeCall } from '../store/seam-helpers.js';
import { forUpdate, type Sql, type SqlDb } from '../store/sql.js';

export interface DeploymentRecord {
  spec: RolloutSpec;
  status: RolloutStatus;
}

/** One entry of a deployment's log, as streams serve it. */
export interface DeploymentEvent {
  id: number;
  event: string;
  data: Record<string, unknown>;
  createdAt: number;
}

export interface DeploymentFilter {
  modelType?: ModelType;
  phase?: Phase;
  /** 1–500, default 50. */
  limit?: number;
}

interface DeploymentRow {
  deployment_id: string;
  model_type: string;
  model_version: string;
  previous_version: string | null;
  strategy: string;
  phase: string;
  spec: string;
  status: string;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

interface CountsRow {
  version: string;
  requests: number;
  errors: number;
  feedback_success: number;
  feedback_failure: number;
}

interface EventRow {
  seq: number;
  event: string;
  data: string;
  created_at: number;
}

function toRow({ spec, status }: DeploymentRecord): DeploymentRow {
  return {
    deployment_id: spec.deploymentId,
    model_type: spec.modelType,
    model_version: spec.modelVersion,
    previous_version: spec.previousVersion,
    strategy: spec.strategy,
    phase: status.phase,
    spec: JSON.stringify(spec),
    status: JSON.stringify(status),
    created_at: spec.createdAt / 1000,
    updated_at: status.updatedAt / 1000,
    finished_at: status.finishedAt === null ? null : status.finishedAt / 1000,
  };
}

// Both JSON columns were written by toRow from shapes the rollout built and checked; not user input.
function fromRow(r: DeploymentRow): DeploymentRecord {
  return { spec: JSON.parse(r.spec) as RolloutSpec, status: JSON.parse(r.status) as RolloutStatus };
}

/** The prefix of this store's StoreFailed messages. */
const WHAT = 'deployments';

const SQL = {
  // DO NOTHING on either unique key: the id, or the one active deployment per type. A concurrent insert on
  // Postgres waits for the other to commit, then writes nothing instead of failing the transaction.
  insert: `INSERT INTO deployments (deployment_id, model_type, model_version, previous_version, strategy, phase, spec, status, created_at, updated_at, finished_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  get: 'SELECT * FROM deployments WHERE deployment_id = ?',
  active: "SELECT * FROM deployments WHERE phase IN ('deploying', 'paused') ORDER BY created_at, rowid",
  activeFor: "SELECT * FROM deployments WHERE model_type = ? AND phase IN ('deploying', 'paused')",
  lastCompletedAs: `SELECT * FROM deployments WHERE model_type = ? AND model_version = ? AND phase = 'completed'
                    ORDER BY finished_at DESC, rowid DESC LIMIT 1`,
  saveStatus: 'UPDATE deployments SET phase = ?, status = ?, updated_at = ?, finished_at = ? WHERE deployment_id = ?',
  lastSeq: 'SELECT COALESCE(MAX(seq), 0) AS seq FROM deployment_events WHERE deployment_id = ?',
  insertEvent: 'INSERT INTO deployment_events (deployment_id, seq, event, data, created_at) VALUES (?, ?, ?, ?, ?)',
  eventsSince: 'SELECT seq, event, data, created_at FROM deployment_events WHERE deployment_id = ? AND seq > ? ORDER BY seq',
  counts: 'SELECT version, requests, errors, feedback_success, feedback_failure FROM deployment_counts WHERE deployment_id = ?',
  addCounts: `INSERT INTO deployment_counts (deployment_id, version, requests, errors, feedback_success, feedback_failure)
              VALUES (?, ?, ?, ?, ?, ?)
              ON CONFLICT (deployment_id, version) DO UPDATE SET requests = deployment_counts.requests + excluded.requests,
                errors = deployment_counts.errors + excluded.errors,
                feedback_success = deployment_counts.feedback_success + excluded.feedback_success,
                feedback_failure = deployment_counts.feedback_failure + excluded.feedback_failure`,
  mark: 'SELECT instance_id, models FROM prime_stats_mark WHERE id = 1',
  setMark: `INSERT INTO prime_stats_mark (id, instance_id, models, read_at) VALUES (1, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET instance_id = excluded.instance_id, models = excluded.models, read_at = excluded.read_at`,
} as const;

export type InsertDeploymentResult = { inserted: true; events: DeploymentEvent[] } | { inserted: false; activeId: string };

type NewEvents = ReadonlyArray<{ event: string; data: Record<string, unknown> }>;

/**
 * On the async store seam (src/store/sql.ts). Built over the database, or over a transaction's `tx`
 * (transaction() below), whose reads of rows it goes on to write lock them on Postgres (`FOR UPDATE`):
 * SQLite's IMMEDIATE transaction already excludes every other writer.
 */
export class DeploymentsStore {
  readonly #q: Sql | SqlDb;

  /** The database must be migrated. */
  constructor(q: Sql | SqlDb) {
    this.#q = q;
  }

  /** The connection this store runs on: a transaction's when built over one. */
  get sql(): Sql {
    return this.#q;
  }

  /** Runs `fn` with this store bound to one transaction (a store already bound to one joins it), so its writes land together. */
  transaction<T>(fn: (store: DeploymentsStore) => Promise<T>): Promise<T> {
    return storeCall(WHAT, () => joinTransaction(this.#q, (tx) => fn(tx === this.#q ? this : new DeploymentsStore(tx))));
  }

  /** Records a new deployment and its first events, unless its model type already has an active one. */
  insert(rec: DeploymentRecord, events: NewEvents): Promise<InsertDeploymentResult> {
    return this.transaction(async (s): Promise<InsertDeploymentResult> => {
      const active = await s.activeFor(rec.spec.modelType);
      if (active !== undefined) return { inserted: false, activeId: active.spec.deploymentId };
      const r = toRow(rec);
      const row = [r.deployment_id, r.model_type, r.model_version, r.previous_version, r.strategy, r.phase, r.spec, r.status, r.created_at, r.updated_at, r.finished_at];
      if ((await s.#q.run(SQL.insert, row)).changes === 0) {
        // Another deployment of the type became active meanwhile (Postgres), or the id is taken.
        const now = await s.activeFor(rec.spec.modelType);
        if (now !== undefined) return { inserted: false, activeId: now.spec.deploymentId };
        throw StoreFailed(`${WHAT}: deployment id ${rec.spec.deploymentId} is taken`);
      }
      return { inserted: true, events: await s.#append(rec.spec.deploymentId, events, rec.status.updatedAt) };
    });
  }

  /** `lock`: inside a transaction that will write the row, keep others from writing it until commit (Postgres). */
  async get(id: string, lock = false): Promise<DeploymentRecord | undefined> {
    const row = await this.#get<DeploymentRow>(SQL.get + this.#lock(lock), [id]);
    return row && fromRow(row);
  }

  /** Newest first. */
  async list(filter: DeploymentFilter = {}): Promise<DeploymentRecord[]> {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.modelType) {
      where.push('model_type = ?');
      args.push(filter.modelType);
    }
    if (filter.phase) {
      where.push('phase = ?');
      args.push(filter.phase);
    }
    args.push(Math.max(1, Math.min(filter.limit ?? 50, 500)));
    const sql = `SELECT * FROM deployments ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, rowid DESC LIMIT ?`;
    return (await this.#all<DeploymentRow>(sql, args)).map(fromRow);
  }

  /** Deploying or paused, oldest first. `lock`: as for get(). */
  async active(lock = false): Promise<DeploymentRecord[]> {
    return (await this.#all<DeploymentRow>(SQL.active + this.#lock(lock))).map(fromRow);
  }

  async activeFor(type: ModelType): Promise<DeploymentRecord | undefined> {
    const row = await this.#get<DeploymentRow>(SQL.activeFor, [type]);
    return row && fromRow(row);
  }

  /** The latest completed deployment that made `version` stable: its previous_version is what came before. */
  async lastCompletedAs(type: ModelType, version: string): Promise<DeploymentRecord | undefined> {
    const row = await this.#get<DeploymentRow>(SQL.lastCompletedAs, [type, version]);
    return row && fromRow(row);
  }

  /** Writes the new status and appends its events, in one transaction. */
  saveStatus(id: string, status: RolloutStatus, events: NewEvents): Promise<DeploymentEvent[]> {
    return this.transaction(async (s) => {
      // The UPDATE first: it locks the row, so a concurrent append on Postgres numbers its events after these.
      const finishedAt = status.finishedAt === null ? null : status.finishedAt / 1000;
      await s.#q.run(SQL.saveStatus, [status.phase, JSON.stringify(status), status.updatedAt / 1000, finishedAt, id]);
      return s.#append(id, events, status.updatedAt);
    });
  }

  async eventsSince(id: string, afterSeq: number): Promise<DeploymentEvent[]> {
    return (await this.#all<EventRow>(SQL.eventsSince, [id, afterSeq])).map((r) => ({
      id: r.seq,
      event: r.event,
      data: JSON.parse(r.data) as Record<string, unknown>,
      createdAt: r.created_at,
    }));
  }

  async counts(id: string): Promise<CountsByVersion> {
    const out: Record<string, VersionCounts> = {};
    for (const r of await this.#all<CountsRow>(SQL.counts, [id])) {
      out[r.version] = { requests: r.requests, errors: r.errors, feedbackSuccess: r.feedback_success, feedbackFailure: r.feedback_failure };
    }
    return out;
  }

  async addCounts(id: string, version: string, d: VersionCounts): Promise<void> {
    await storeCall(WHAT, () => this.#q.run(SQL.addCounts, [id, version, d.requests, d.errors, d.feedbackSuccess, d.feedbackFailure]));
  }

  /** `lock`: as for get(); the row may not exist yet (setMark's upsert then waits on Postgres's key). */
  async mark(lock = false): Promise<StatsMark | null> {
    const row = await this.#get<{ instance_id: string; models: string }>(SQL.mark + this.#lock(lock), []);
    return row ? { instanceId: row.instance_id, models: JSON.parse(row.models) as StatsMark['models'] } : null;
  }

  async setMark(mark: StatsMark, nowMs: number): Promise<void> {
    await storeCall(WHAT, () => this.#q.run(SQL.setMark, [mark.instanceId, JSON.stringify(mark.models), nowMs / 1000]));
  }

  /** Call inside a transaction. */
  async #append(id: string, events: NewEvents, atMs: number): Promise<DeploymentEvent[]> {
    let seq = (await this.#q.get<{ seq: number }>(SQL.lastSeq, [id]))?.seq ?? 0;
    const out: DeploymentEvent[] = [];
    for (const e of events) {
      seq += 1;
      await this.#q.run(SQL.insertEvent, [id, seq, e.event, JSON.stringify(e.data), atMs / 1000]);
      out.push({ id: seq, event: e.event, data: e.data, createdAt: atMs / 1000 });
    }
    return out;
  }

  #lock(lock: boolean): string {
    return lock ? forUpdate(this.#q.dialect) : '';
  }

  #get<T>(sql: string, args: readonly unknown[]): Promise<T | undefined> {
    return storeCall(WHAT, () => this.#q.get<T>(sql, args));
  }

  #all<T>(sql: string, args: readonly unknown[] = []): Promise<T[]> {
    return storeCall(WHAT, () => this.#q.all<T>(sql, args));
  }
}
