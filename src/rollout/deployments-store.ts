/**
 * Deployments, their event logs, their accumulated outcome counts and the mark of prime's last stats
 * read: the only place that knows those tables' SQL. Rows (DeploymentRow, CountsRow) stay apart from the
 * rollout's domain shapes; convert with fromRow/toRow.
 */
import { StoreFailed, TrinityError } from '../errors.js';
import type { ModelType } from '../model-types.js';
import type { CountsByVersion, Phase, RolloutSpec, RolloutStatus, VersionCounts } from './types.js';
import type { StatsMark } from './stats-accumulator.js';
import type { Db } from '../store/database.js';

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

const SQL = {
  insert: `INSERT INTO deployments (deployment_id, model_type, model_version, previous_version, strategy, phase, spec, status, created_at, updated_at, finished_at)
           VALUES (@deployment_id, @model_type, @model_version, @previous_version, @strategy, @phase, @spec, @status, @created_at, @updated_at, @finished_at)`,
  get: 'SELECT * FROM deployments WHERE deployment_id = ?',
  active: "SELECT * FROM deployments WHERE phase IN ('deploying', 'paused') ORDER BY created_at",
  activeFor: "SELECT * FROM deployments WHERE model_type = ? AND phase IN ('deploying', 'paused')",
  lastCompletedAs: `SELECT * FROM deployments WHERE model_type = ? AND model_version = ? AND phase = 'completed'
                    ORDER BY finished_at DESC, rowid DESC LIMIT 1`,
  saveStatus: 'UPDATE deployments SET phase = @phase, status = @status, updated_at = @updated_at, finished_at = @finished_at WHERE deployment_id = @deployment_id',
  lastSeq: 'SELECT COALESCE(MAX(seq), 0) AS seq FROM deployment_events WHERE deployment_id = ?',
  insertEvent: 'INSERT INTO deployment_events (deployment_id, seq, event, data, created_at) VALUES (?, ?, ?, ?, ?)',
  eventsSince: 'SELECT seq, event, data, created_at FROM deployment_events WHERE deployment_id = ? AND seq > ? ORDER BY seq',
  counts: 'SELECT version, requests, errors, feedback_success, feedback_failure FROM deployment_counts WHERE deployment_id = ?',
  addCounts: `INSERT INTO deployment_counts (deployment_id, version, requests, errors, feedback_success, feedback_failure)
              VALUES (@deployment_id, @version, @requests, @errors, @feedback_success, @feedback_failure)
              ON CONFLICT (deployment_id, version) DO UPDATE SET requests = requests + excluded.requests,
                errors = errors + excluded.errors, feedback_success = feedback_success + excluded.feedback_success,
                feedback_failure = feedback_failure + excluded.feedback_failure`,
  mark: 'SELECT instance_id, models FROM prime_stats_mark WHERE id = 1',
  setMark: `INSERT INTO prime_stats_mark (id, instance_id, models, read_at) VALUES (1, ?, ?, ?)
            ON CONFLICT (id) DO UPDATE SET instance_id = excluded.instance_id, models = excluded.models, read_at = excluded.read_at`,
} as const;

function prepare(db: Db) {
  return {
    insert: db.prepare<[DeploymentRow]>(SQL.insert),
    get: db.prepare<[string], DeploymentRow>(SQL.get),
    active: db.prepare<[], DeploymentRow>(SQL.active),
    activeFor: db.prepare<[string], DeploymentRow>(SQL.activeFor),
    lastCompletedAs: db.prepare<[string, string], DeploymentRow>(SQL.lastCompletedAs),
    saveStatus: db.prepare<[Pick<DeploymentRow, 'deployment_id' | 'phase' | 'status' | 'updated_at' | 'finished_at'>]>(SQL.saveStatus),
    lastSeq: db.prepare<[string], { seq: number }>(SQL.lastSeq),
    insertEvent: db.prepare<[string, number, string, string, number]>(SQL.insertEvent),
    eventsSince: db.prepare<[string, number], EventRow>(SQL.eventsSince),
    counts: db.prepare<[string], CountsRow>(SQL.counts),
    addCounts: db.prepare<[CountsRow & { deployment_id: string }]>(SQL.addCounts),
    mark: db.prepare<[], { instance_id: string; models: string }>(SQL.mark),
    setMark: db.prepare<[string, string, number]>(SQL.setMark),
  };
}

export type InsertDeploymentResult = { inserted: true; events: DeploymentEvent[] } | { inserted: false; activeId: string };

export class DeploymentsStore {
  readonly #db: Db;
  readonly #stmt: ReturnType<typeof prepare>;

  /** The database must be migrated (openDatabase does it). */
  constructor(db: Db) {
    this.#db = db;
    this.#stmt = this.#run(() => prepare(db));
  }

  /** Runs `fn` in one IMMEDIATE transaction (nested calls join it), so a tick's writes land together. */
  transaction<T>(fn: () => T): T {
    return this.#run(() => (this.#db.inTransaction ? fn() : this.#db.transaction(fn).immediate()));
  }

  /** Records a new deployment and its first events, unless its model type already has an active one. */
  insert(rec: DeploymentRecord, events: ReadonlyArray<{ event: string; data: Record<string, unknown> }>): InsertDeploymentResult {
    return this.transaction((): InsertDeploymentResult => {
      const active = this.#stmt.activeFor.get(rec.spec.modelType);
      if (active !== undefined) return { inserted: false, activeId: active.deployment_id };
      this.#stmt.insert.run(toRow(rec));
      return { inserted: true, events: this.#append(rec.spec.deploymentId, events, rec.status.updatedAt) };
    });
  }

  get(id: string): DeploymentRecord | undefined {
    const row = this.#run(() => this.#stmt.get.get(id));
    return row && fromRow(row);
  }

  /** Newest first. */
  list(filter: DeploymentFilter = {}): DeploymentRecord[] {
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
    return this.#run(() => this.#db.prepare<(string | number)[], DeploymentRow>(sql).all(...args)).map(fromRow);
  }

  /** Deploying or paused, oldest first. */
  active(): DeploymentRecord[] {
    return this.#run(() => this.#stmt.active.all()).map(fromRow);
  }

  activeFor(type: ModelType): DeploymentRecord | undefined {
    const row = this.#run(() => this.#stmt.activeFor.get(type));
    return row && fromRow(row);
  }

  /** The latest completed deployment that made `version` stable: its previous_version is what came before. */
  lastCompletedAs(type: ModelType, version: string): DeploymentRecord | undefined {
    const row = this.#run(() => this.#stmt.lastCompletedAs.get(type, version));
    return row && fromRow(row);
  }

  /** Writes the new status and appends its events, in one transaction. */
  saveStatus(id: string, status: RolloutStatus, events: ReadonlyArray<{ event: string; data: Record<string, unknown> }>): DeploymentEvent[] {
    return this.transaction(() => {
      this.#stmt.saveStatus.run({
        deployment_id: id,
        phase: status.phase,
        status: JSON.stringify(status),
        updated_at: status.updatedAt / 1000,
        finished_at: status.finishedAt === null ? null : status.finishedAt / 1000,
      });
      return this.#append(id, events, status.updatedAt);
    });
  }

  eventsSince(id: string, afterSeq: number): DeploymentEvent[] {
    return this.#run(() => this.#stmt.eventsSince.all(id, afterSeq)).map((r) => ({
      id: r.seq,
      event: r.event,
      data: JSON.parse(r.data) as Record<string, unknown>,
      createdAt: r.created_at,
    }));
  }

  counts(id: string): CountsByVersion {
    const out: Record<string, VersionCounts> = {};
    for (const r of this.#run(() => this.#stmt.counts.all(id))) {
      out[r.version] = { requests: r.requests, errors: r.errors, feedbackSuccess: r.feedback_success, feedbackFailure: r.feedback_failure };
    }
    return out;
  }

  addCounts(id: string, version: string, d: VersionCounts): void {
    const row = { deployment_id: id, version, requests: d.requests, errors: d.errors, feedback_success: d.feedbackSuccess, feedback_failure: d.feedbackFailure };
    this.#run(() => this.#stmt.addCounts.run(row));
  }

  mark(): StatsMark | null {
    const row = this.#run(() => this.#stmt.mark.get());
    return row ? { instanceId: row.instance_id, models: JSON.parse(row.models) as StatsMark['models'] } : null;
  }

  setMark(mark: StatsMark, nowMs: number): void {
    this.#run(() => this.#stmt.setMark.run(mark.instanceId, JSON.stringify(mark.models), nowMs / 1000));
  }

  #append(id: string, events: ReadonlyArray<{ event: string; data: Record<string, unknown> }>, atMs: number): DeploymentEvent[] {
    let seq = this.#stmt.lastSeq.get(id)?.seq ?? 0;
    return events.map((e) => {
      seq += 1;
      this.#stmt.insertEvent.run(id, seq, e.event, JSON.stringify(e.data), atMs / 1000);
      return { id: seq, event: e.event, data: e.data, createdAt: atMs / 1000 };
    });
  }

  /** Driver errors get the project's code, with the original kept as cause. */
  #run<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof TrinityError) throw err;
      throw StoreFailed.with({ cause: err }, `deployments: ${(err as Error).message}`);
    }
  }
}
